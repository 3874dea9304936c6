/**
 * Plain TypeScript kernels: the ground truth the WASM kernels are tested against. On a float64 heap they give
 * the float64 results the gradient checks need. Written for clarity first; nothing here is on a hot path
 * except when no WASM backend can be had.
 */
import type {
  AdamUpdate, AdaptivePoolParams, Backend, BinaryOp, Conv2dParams, GemmParams, Pool2dParams, SgdUpdate, UnaryOp,
} from '../backend.js';
import type { Heap } from '../heap.js';
import { erf } from '../math.js';
import * as pool from './reference-pool.js';

export class ReferenceBackend implements Backend {
  readonly name: 'wasm' | 'reference' = 'reference';
  readonly threads: number = 1;
  profile?: Map<string, { calls: number; ms: number }>;

  constructor(readonly heap: Heap) {}

  gemm(p: GemmParams): void {
    const f = this.heap.f;
    for (let bi = 0; bi < p.batch; bi++) {
      const a0 = p.a + bi * p.strideA, b0 = p.b + bi * p.strideB, c0 = p.c + bi * p.strideC;
      for (let i = 0; i < p.m; i++) {
        for (let j = 0; j < p.n; j++) {
          let acc = 0;
          for (let q = 0; q < p.k; q++) {
            const av = p.transA ? f[a0 + q * p.lda + i]! : f[a0 + i * p.lda + q]!;
            const bv = p.transB ? f[b0 + j * p.ldb + q]! : f[b0 + q * p.ldb + j]!;
            acc += av * bv;
          }
          const ci = c0 + i * p.ldc + j;
          f[ci] = p.accumulate ? f[ci]! + acc : acc;
        }
      }
    }
  }

  conv2d(p: Conv2dParams, x: number, w: number, b: number, y: number): void {
    const f = this.heap.f;
    const plane = p.oh * p.ow;
    for (let n = 0; n < p.n; n++) {
      for (let o = 0; o < p.oc; o++) f.fill(b >= 0 ? f[b + o]! : 0, y + (n * p.oc + o) * plane, y + (n * p.oc + o + 1) * plane);
    }
    this.forEachConvTap(p, (xi, wi, yi) => { f[y + yi] = f[y + yi]! + f[x + xi]! * f[w + wi]!; });
  }

  conv2dBackwardInput(p: Conv2dParams, dy: number, w: number, dx: number): void {
    const f = this.heap.f;
    f.fill(0, dx, dx + p.n * p.c * p.h * p.w);
    this.forEachConvTap(p, (xi, wi, yi) => { f[dx + xi] = f[dx + xi]! + f[dy + yi]! * f[w + wi]!; });
  }

  conv2dBackwardWeight(p: Conv2dParams, x: number, dy: number, dw: number, db: number): void {
    const f = this.heap.f;
    f.fill(0, dw, dw + p.oc * (p.c / p.groups) * p.kh * p.kw);
    this.forEachConvTap(p, (xi, wi, yi) => { f[dw + wi] = f[dw + wi]! + f[dy + yi]! * f[x + xi]!; });
    if (db >= 0) {
      const plane = p.oh * p.ow;
      for (let o = 0; o < p.oc; o++) {
        let acc = 0;
        for (let n = 0; n < p.n; n++) for (let i = 0; i < plane; i++) acc += f[dy + (n * p.oc + o) * plane + i]!;
        f[db + o] = acc;
      }
    }
  }

  /** Visits every (input, weight, output) index triple that contributes to a convolution. */
  private forEachConvTap(p: Conv2dParams, visit: (xi: number, wi: number, yi: number) => void): void {
    const cg = p.c / p.groups, ocg = p.oc / p.groups;
    for (let n = 0; n < p.n; n++) {
      for (let o = 0; o < p.oc; o++) {
        const g = Math.floor(o / ocg);
        for (let oy = 0; oy < p.oh; oy++) {
          for (let ox = 0; ox < p.ow; ox++) {
            const yi = ((n * p.oc + o) * p.oh + oy) * p.ow + ox;
            for (let ci = 0; ci < cg; ci++) {
              for (let ky = 0; ky < p.kh; ky++) {
                const iy = oy * p.sh - p.ph + ky * p.dh;
                if (iy < 0 || iy >= p.h) continue;
                for (let kx = 0; kx < p.kw; kx++) {
                  const ix = ox * p.sw - p.pw + kx * p.dw;
                  if (ix < 0 || ix >= p.w) continue;
                  visit(((n * p.c + g * cg + ci) * p.h + iy) * p.w + ix, ((o * cg + ci) * p.kh + ky) * p.kw + kx, yi);
                }
              }
            }
          }
        }
      }
    }
  }

  maxPool2d(p: Pool2dParams, x: number, y: number, idx: number): void { pool.maxPool2d(this.heap, p, x, y, idx); }
  maxPool2dBackward(p: Pool2dParams, dy: number, idx: number, dx: number): void { pool.maxPool2dBackward(this.heap, p, dy, idx, dx); }
  avgPool2d(p: Pool2dParams, x: number, y: number): void { pool.avgPool2d(this.heap, p, x, y); }
  avgPool2dBackward(p: Pool2dParams, dy: number, dx: number): void { pool.avgPool2dBackward(this.heap, p, dy, dx); }
  adaptiveAvgPool2d(p: AdaptivePoolParams, x: number, y: number): void { pool.adaptiveAvgPool2d(this.heap, p, x, y); }
  adaptiveAvgPool2dBackward(p: AdaptivePoolParams, dy: number, dx: number): void { pool.adaptiveAvgPool2dBackward(this.heap, p, dy, dx); }

  unary(op: UnaryOp, x: number, y: number, len: number, alpha: number): void {
    const f = this.heap.f;
    const fn = UNARY[op];
    for (let i = 0; i < len; i++) f[y + i] = fn(f[x + i]!, alpha);
  }

  unaryBackward(op: UnaryOp, x: number, y: number, dy: number, dx: number, len: number, alpha: number): void {
    const f = this.heap.f;
    const d = UNARY_DERIVATIVE[op];
    for (let i = 0; i < len; i++) f[dx + i] = f[dy + i]! * d(f[x + i]!, f[y + i]!, alpha);
  }

  binary(op: BinaryOp, a: number, aStrides: readonly number[], b: number, bStrides: readonly number[], out: number, shape: readonly number[]): void {
    const f = this.heap.f;
    const fn = BINARY[op];
    const rank = shape.length;
    const total = shape.reduce((s, d) => s * d, 1);
    const index = new Array<number>(rank).fill(0);
    let ai = a, bi = b;
    for (let o = 0; o < total; o++) {
      f[out + o] = fn(f[ai]!, f[bi]!);
      // Odometer increment over the output shape, moving both input cursors by their strides.
      for (let d = rank - 1; d >= 0; d--) {
        index[d]!++;
        ai += aStrides[d]!; bi += bStrides[d]!;
        if (index[d]! < shape[d]!) break;
        ai -= aStrides[d]! * shape[d]!; bi -= bStrides[d]! * shape[d]!;
        index[d] = 0;
      }
    }
  }

  reduceSum(x: number, y: number, outer: number, reduce: number, inner: number): void {
    const f = this.heap.f;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = 0;
        for (let r = 0; r < reduce; r++) acc += f[x + (o * reduce + r) * inner + i]!;
        f[y + o * inner + i] = acc;
      }
    }
  }

  softmax(x: number, y: number, rows: number, cols: number, log: boolean): void {
    const f = this.heap.f;
    for (let r = 0; r < rows; r++) {
      const xr = x + r * cols, yr = y + r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) max = Math.max(max, f[xr + j]!);
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(f[xr + j]! - max);
      const logSum = Math.log(sum);
      for (let j = 0; j < cols; j++) f[yr + j] = log ? f[xr + j]! - max - logSum : Math.exp(f[xr + j]! - max) / sum;
    }
  }

  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number, log: boolean): void {
    const f = this.heap.f;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += log ? f[dy + o + j]! : f[dy + o + j]! * f[y + o + j]!;
      for (let j = 0; j < cols; j++) {
        f[dx + o + j] = log
          ? f[dy + o + j]! - Math.exp(f[y + o + j]!) * dot
          : f[y + o + j]! * (f[dy + o + j]! - dot);
      }
    }
  }

  batchNormStats(x: number, n: number, c: number, hw: number, eps: number, mean: number, invstd: number): void {
    const f = this.heap.f;
    const count = n * hw;
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sum += f[x + (b * c + ch) * hw + i]!;
      const mu = sum / count;
      let sq = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) { const d = f[x + (b * c + ch) * hw + i]! - mu; sq += d * d; }
      f[mean + ch] = mu;
      f[invstd + ch] = 1 / Math.sqrt(sq / count + eps);
    }
  }

  batchNormApply(x: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number, beta: number, y: number): void {
    const f = this.heap.f;
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const scale = f[invstd + ch]! * (gamma >= 0 ? f[gamma + ch]! : 1);
        const shift = (beta >= 0 ? f[beta + ch]! : 0) - f[mean + ch]! * scale;
        const o = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) f[y + o + i] = f[x + o + i]! * scale + shift;
      }
    }
  }

  batchNormBackward(
    x: number, dy: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number,
    training: boolean, dx: number, dgamma: number, dbeta: number,
  ): void {
    const f = this.heap.f;
    const count = n * hw;
    for (let ch = 0; ch < c; ch++) {
      const mu = f[mean + ch]!, is = f[invstd + ch]!, g = gamma >= 0 ? f[gamma + ch]! : 1;
      let sumDy = 0, sumDyXhat = 0;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) { const d = f[dy + o + i]!; sumDy += d; sumDyXhat += d * (f[x + o + i]! - mu) * is; }
      }
      if (dgamma >= 0) f[dgamma + ch] = sumDyXhat;
      if (dbeta >= 0) f[dbeta + ch] = sumDy;
      if (dx < 0) continue;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) {
          const d = f[dy + o + i]!;
          f[dx + o + i] = training
            ? (g * is / count) * (count * d - sumDy - (f[x + o + i]! - mu) * is * sumDyXhat)
            : d * g * is;
        }
      }
    }
  }

  layerNorm(x: number, rows: number, cols: number, eps: number, gamma: number, beta: number, y: number, mean: number, invstd: number): void {
    const f = this.heap.f;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += f[x + o + j]!;
      const mu = sum / cols;
      let sq = 0;
      for (let j = 0; j < cols; j++) { const d = f[x + o + j]! - mu; sq += d * d; }
      const is = 1 / Math.sqrt(sq / cols + eps);
      f[mean + r] = mu;
      f[invstd + r] = is;
      for (let j = 0; j < cols; j++) {
        const xhat = (f[x + o + j]! - mu) * is;
        f[y + o + j] = xhat * (gamma >= 0 ? f[gamma + j]! : 1) + (beta >= 0 ? f[beta + j]! : 0);
      }
    }
  }

  layerNormBackward(
    x: number, dy: number, rows: number, cols: number, mean: number, invstd: number, gamma: number,
    dx: number, dgamma: number, dbeta: number,
  ): void {
    const f = this.heap.f;
    if (dgamma >= 0) f.fill(0, dgamma, dgamma + cols);
    if (dbeta >= 0) f.fill(0, dbeta, dbeta + cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols, mu = f[mean + r]!, is = f[invstd + r]!;
      let sumG = 0, sumGXhat = 0;
      for (let j = 0; j < cols; j++) {
        const xhat = (f[x + o + j]! - mu) * is, d = f[dy + o + j]!;
        const g = d * (gamma >= 0 ? f[gamma + j]! : 1);
        sumG += g; sumGXhat += g * xhat;
        if (dgamma >= 0) f[dgamma + j] = f[dgamma + j]! + d * xhat;
        if (dbeta >= 0) f[dbeta + j] = f[dbeta + j]! + d;
      }
      if (dx < 0) continue;
      for (let j = 0; j < cols; j++) {
        const xhat = (f[x + o + j]! - mu) * is;
        const g = f[dy + o + j]! * (gamma >= 0 ? f[gamma + j]! : 1);
        f[dx + o + j] = (is / cols) * (cols * g - sumG - xhat * sumGXhat);
      }
    }
  }

  copy(src: number, srcStrides: readonly number[], dst: number, dstStrides: readonly number[], shape: readonly number[]): void {
    const f = this.heap.f;
    const rank = shape.length;
    const total = shape.reduce((s, d) => s * d, 1);
    if (total === 0) return;
    const index = new Array<number>(rank).fill(0);
    let si = src, di = dst;
    for (let o = 0; o < total; o++) {
      f[di] = f[si]!;
      for (let d = rank - 1; d >= 0; d--) {
        index[d]!++;
        si += srcStrides[d]!; di += dstStrides[d]!;
        if (index[d]! < shape[d]!) break;
        si -= srcStrides[d]! * shape[d]!; di -= dstStrides[d]! * shape[d]!;
        index[d] = 0;
      }
    }
  }

  fill(dst: number, len: number, value: number): void {
    this.heap.f.fill(value, dst, dst + len);
  }

  axpy(x: number, y: number, len: number, alpha: number): void {
    const f = this.heap.f;
    for (let i = 0; i < len; i++) f[y + i] = f[y + i]! + alpha * f[x + i]!;
  }

  sgdStep(p: number, g: number, buf: number, len: number, o: SgdUpdate): void {
    const f = this.heap.f;
    for (let i = 0; i < len; i++) {
      let d = f[g + i]! + o.weightDecay * f[p + i]!;
      if (o.momentum !== 0) {
        const m = o.firstStep ? d : o.momentum * f[buf + i]! + (1 - o.dampening) * d;
        f[buf + i] = m;
        d = o.nesterov ? d + o.momentum * m : m;
      }
      f[p + i] = f[p + i]! - o.lr * d;
    }
  }

  adamStep(p: number, g: number, m: number, v: number, len: number, o: AdamUpdate): void {
    const f = this.heap.f;
    const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
    const stepSize = o.lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    for (let i = 0; i < len; i++) {
      let grad = f[g + i]!;
      let w = f[p + i]!;
      if (o.decoupled) w *= 1 - o.lr * o.weightDecay;
      else grad += o.weightDecay * w;
      const mi = o.beta1 * f[m + i]! + (1 - o.beta1) * grad;
      const vi = o.beta2 * f[v + i]! + (1 - o.beta2) * grad * grad;
      f[m + i] = mi; f[v + i] = vi;
      f[p + i] = w - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + o.eps);
    }
  }
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

const UNARY: Record<UnaryOp, (x: number, a: number) => number> = {
  relu: (x) => (x > 0 ? x : x === x ? 0 : x), // keeps NaN as NaN
  leaky_relu: (x, a) => (x > 0 ? x : a * x),
  tanh: (x) => Math.tanh(x),
  sigmoid,
  gelu: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
  silu: (x) => x * sigmoid(x),
  hardswish: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  hardsigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  neg: (x) => -x,
  sqrt: (x) => Math.sqrt(x),
  square: (x) => x * x,
  abs: (x) => Math.abs(x),
  pow: (x, a) => x ** a,
  add_scalar: (x, a) => x + a,
  mul_scalar: (x, a) => x * a,
};

/** f'(x), given x and y = f(x). Boundary conventions follow PyTorch's backward kernels. */
const UNARY_DERIVATIVE: Record<UnaryOp, (x: number, y: number, a: number) => number> = {
  relu: (x) => (x > 0 ? 1 : 0),
  leaky_relu: (x, _y, a) => (x > 0 ? 1 : a),
  tanh: (_x, y) => 1 - y * y,
  sigmoid: (_x, y) => y * (1 - y),
  gelu: (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  silu: (x) => { const s = sigmoid(x); return s * (1 + x * (1 - s)); },
  hardswish: (x) => (x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1),
  hardsigmoid: (x) => (x > -3 && x < 3 ? 1 / 6 : 0),
  exp: (_x, y) => y,
  log: (x) => 1 / x,
  neg: () => -1,
  sqrt: (_x, y) => 0.5 / y,
  square: (x) => 2 * x,
  abs: (x) => Math.sign(x),
  pow: (x, _y, a) => a * x ** (a - 1),
  add_scalar: () => 1,
  mul_scalar: (_x, _y, a) => a,
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};
