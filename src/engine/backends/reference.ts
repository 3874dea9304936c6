/**
 * Plain TypeScript kernels: the ground truth the WASM kernels are tested against. On a float64 heap they give
 * the float64 results the gradient checks need. Written for clarity first; nothing here is on a hot path
 * except when no WASM backend can be had.
 */
import type {
  AdamUpdate, AdaptivePoolParams, Backend, BackendName, BinaryOp, Conv2dParams, GemmParams, Pool2dParams, SgdUpdate, UnaryOp,
} from '../backend.js';
import type { Heap } from '../heap.js';
import { BINARY, UNARY, UNARY_DERIVATIVE } from './reference-ops.js';
import { forEachAdaptiveWindow, forEachAvgWindow, forEachConvTap, forEachStridedPair } from './reference-windows.js';

export class ReferenceBackend implements Backend {
  readonly name: BackendName = 'reference';
  readonly isa: string = 'typescript';
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
    forEachConvTap(p, (xi, wi, yi) => { f[y + yi] = f[y + yi]! + f[x + xi]! * f[w + wi]!; });
  }

  conv2dBackwardInput(p: Conv2dParams, dy: number, w: number, dx: number): void {
    const f = this.heap.f;
    f.fill(0, dx, dx + p.n * p.c * p.h * p.w);
    forEachConvTap(p, (xi, wi, yi) => { f[dx + xi] = f[dx + xi]! + f[dy + yi]! * f[w + wi]!; });
  }

  conv2dBackwardWeight(p: Conv2dParams, x: number, dy: number, dw: number, db: number): void {
    const f = this.heap.f;
    f.fill(0, dw, dw + p.oc * (p.c / p.groups) * p.kh * p.kw);
    forEachConvTap(p, (xi, wi, yi) => { f[dw + wi] = f[dw + wi]! + f[dy + yi]! * f[x + xi]!; });
    if (db >= 0) {
      const plane = p.oh * p.ow;
      for (let o = 0; o < p.oc; o++) {
        let acc = 0;
        for (let n = 0; n < p.n; n++) for (let i = 0; i < plane; i++) acc += f[dy + (n * p.oc + o) * plane + i]!;
        f[db + o] = acc;
      }
    }
  }

  maxPool2d(p: Pool2dParams, x: number, y: number, idx: number): void {
    const f = this.heap.f, ix = this.heap.i;
    for (let plane = 0; plane < p.n * p.c; plane++) {
      const xp = x + plane * p.h * p.w;
      for (let oy = 0; oy < p.oh; oy++) {
        for (let ox = 0; ox < p.ow; ox++) {
          let best = -Infinity, bestAt = -1;
          for (let ky = 0; ky < p.kh; ky++) {
            const iy = oy * p.sh - p.ph + ky;
            if (iy < 0 || iy >= p.h) continue;
            for (let kx = 0; kx < p.kw; kx++) {
              const jx = ox * p.sw - p.pw + kx;
              if (jx < 0 || jx >= p.w) continue;
              const v = f[xp + iy * p.w + jx]!;
              // NaN wins, as in PyTorch, so that a NaN is never silently hidden by pooling.
              if (v > best || Number.isNaN(v) || bestAt < 0) { best = v; bestAt = iy * p.w + jx; if (Number.isNaN(v)) break; }
            }
          }
          const o = (plane * p.oh + oy) * p.ow + ox;
          f[y + o] = best;
          ix[idx + o] = bestAt;
        }
      }
    }
  }

  maxPool2dBackward(p: Pool2dParams, dy: number, idx: number, dx: number): void {
    const f = this.heap.f, ix = this.heap.i;
    const inPlane = p.h * p.w, outPlane = p.oh * p.ow;
    f.fill(0, dx, dx + p.n * p.c * inPlane);
    for (let plane = 0; plane < p.n * p.c; plane++) {
      for (let o = 0; o < outPlane; o++) {
        const at = dx + plane * inPlane + ix[idx + plane * outPlane + o]!;
        f[at] = f[at]! + f[dy + plane * outPlane + o]!;
      }
    }
  }

  avgPool2d(p: Pool2dParams, x: number, y: number): void {
    const f = this.heap.f;
    forEachAvgWindow(p, (plane, o, taps, divisor) => {
      let acc = 0;
      for (const t of taps) acc += f[x + plane * p.h * p.w + t]!;
      f[y + plane * p.oh * p.ow + o] = acc / divisor;
    });
  }

  avgPool2dBackward(p: Pool2dParams, dy: number, dx: number): void {
    const f = this.heap.f;
    f.fill(0, dx, dx + p.n * p.c * p.h * p.w);
    forEachAvgWindow(p, (plane, o, taps, divisor) => {
      const g = f[dy + plane * p.oh * p.ow + o]! / divisor;
      for (const t of taps) f[dx + plane * p.h * p.w + t] = f[dx + plane * p.h * p.w + t]! + g;
    });
  }

  adaptiveAvgPool2d(p: AdaptivePoolParams, x: number, y: number): void {
    const f = this.heap.f;
    forEachAdaptiveWindow(p, (plane, o, taps) => {
      let acc = 0;
      for (const t of taps) acc += f[x + plane * p.h * p.w + t]!;
      f[y + plane * p.oh * p.ow + o] = acc / taps.length;
    });
  }

  adaptiveAvgPool2dBackward(p: AdaptivePoolParams, dy: number, dx: number): void {
    const f = this.heap.f;
    f.fill(0, dx, dx + p.n * p.c * p.h * p.w);
    forEachAdaptiveWindow(p, (plane, o, taps) => {
      const g = f[dy + plane * p.oh * p.ow + o]! / taps.length;
      for (const t of taps) f[dx + plane * p.h * p.w + t] = f[dx + plane * p.h * p.w + t]! + g;
    });
  }

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
    let o = out;
    forEachStridedPair(shape, a, aStrides, b, bStrides, (ai, bi) => { f[o++] = fn(f[ai]!, f[bi]!); });
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
    forEachStridedPair(shape, src, srcStrides, dst, dstStrides, (si, di) => { f[di] = f[si]!; });
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
