/**
 * The worker-pool stress run: many short kernel calls of every kind, random shapes, on a 2-thread WasmBackend
 * against the ReferenceBackend on the same heap. Between calls the heap grows (fresh tensors, ballast) and the
 * pool's test hooks make workers arrive late for jobs (they run a job after the main thread has begun the next
 * one) and grow the memory from the worker thread during jobs. Used by test/engine/stress.test.ts (bounded) and
 * scripts/stress.mjs (`npm run stress -- --minutes N`).
 */
import type { Backend, Conv2dParams, Pool2dParams, UnaryOp } from '../../src/engine/backend.js';
import { ReferenceBackend } from '../../src/engine/backends/reference.js';
import { WasmBackend, type PoolTestHooks } from '../../src/engine/backends/wasm.js';
import { NativeBackend } from '../../src/engine/backends/native.js';
import { Heap } from '../../src/engine/heap.js';

const FLOAT32_EPSILON = 2 ** -23;

export interface StressOptions {
  /** Stop after this many kernel calls … */
  calls?: number;
  /** … or at this Date.now() value, whichever comes first. */
  deadline?: number;
  seed?: number;
  hooks?: PoolTestHooks;
  /** Kernel calls per backend pair before both are disposed and recreated on a fresh, small heap. */
  callsPerHeap?: number;
  /** Only these kernels (default: all). */
  kernels?: readonly KernelName[];
  /** The backend under test (default wasm); the pool hooks apply to the WASM backend only. */
  backend?: 'wasm' | 'native';
}

export interface StressResult {
  calls: number;
  /** Calls per kernel name. */
  kernels: Map<string, number>;
  /** Heaps (backend pairs) used. */
  heaps: number;
}

export const KERNEL_NAMES = [
  'gemm', 'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'maxPool2d', 'maxPool2dBackward', 'avgPool2d',
  'avgPool2dBackward', 'adaptiveAvgPool2d', 'adaptiveAvgPool2dBackward', 'unary', 'unaryBackward', 'binary',
  'reduceSum', 'softmax', 'softmaxBackward', 'batchNormStats', 'batchNormApply', 'batchNormBackward', 'layerNorm',
  'layerNormBackward', 'copy', 'fill', 'axpy', 'sgdStep', 'adamStep',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

const UNARY_OPS: UnaryOp[] = [
  'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu', 'silu', 'hardswish', 'hardsigmoid', 'exp', 'log', 'neg', 'sqrt',
  'square', 'abs', 'pow', 'add_scalar', 'mul_scalar', 'relu6',
];

/** Kernel calls of one backend pair on one heap. */
class Session {
  private readonly ptrs: number[] = [];
  private seed: number;

  constructor(readonly heap: Heap, readonly ref: ReferenceBackend, readonly wasm: WasmBackend | NativeBackend, seed: number) {
    this.seed = seed >>> 0 || 1;
  }

  rnd(): number {
    let s = this.seed;
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    this.seed = s;
    return s / 4294967296;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.rnd() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.rnd() * xs.length)]!; }

  /** A float tensor (element index) of n uniform values in [lo, hi). */
  rand(n: number, lo = -1, hi = 1): number {
    const p = this.alloc(n);
    const f = this.heap.f;
    for (let i = 0; i < n; i++) f[p + i] = lo + (hi - lo) * this.rnd();
    return p;
  }
  alloc(n: number): number {
    const byte = this.heap.alloc(Math.max(1, n) * 4);
    this.ptrs.push(byte);
    return byte / 4;
  }
  copyOf(src: number, n: number): number {
    const p = this.alloc(n);
    this.heap.f.copyWithin(p, src, src + n);
    return p;
  }
  freeAll(): void {
    for (const p of this.ptrs.splice(0)) this.heap.free(p);
  }

  /**
   * Runs `call` on both backends over copies of the outputs (initialised from `outs`), then compares. `k` is the
   * length of the sums the kernel computes (sets the tolerance).
   */
  check(
    name: string, outs: { init: number; n: number }[], k: number, call: (be: Backend, o: number[]) => void,
    termMagnitude?: (output: number, i: number) => number,
  ): void {
    const results = [this.ref, this.wasm].map((be) => {
      const o = outs.map((x) => this.copyOf(x.init, x.n));
      call(be, o);
      return o;
    });
    const f = this.heap.f;
    const atol = 2e-5 * Math.sqrt(Math.max(1, k)), rtol = 1e-4;
    outs.forEach((out, j) => {
      const r = results[0]![j]!, w = results[1]![j]!;
      for (let i = 0; i < out.n; i++) {
        const want = f[r + i]!, got = f[w + i]!;
        // A float32 kernel that adds terms larger than the result loses their low bits: allow a few ulps of them.
        const cancellation = termMagnitude ? 4 * FLOAT32_EPSILON * termMagnitude(j, i) : 0;
        if (Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) <= atol + rtol * Math.abs(want) + cancellation) continue;
        throw new Error(`${name} output ${j}[${i}]: wasm ${got}, reference ${want}`);
      }
    });
  }

  call(name: KernelName): void {
    switch (name) {
      case 'gemm': return this.gemm();
      case 'conv2d': case 'conv2dBackwardInput': case 'conv2dBackwardWeight': return this.conv(name);
      case 'maxPool2d': case 'maxPool2dBackward': case 'avgPool2d': case 'avgPool2dBackward': return this.pool(name);
      case 'adaptiveAvgPool2d': case 'adaptiveAvgPool2dBackward': return this.adaptive(name);
      case 'unary': case 'unaryBackward': return this.unary(name);
      case 'binary': return this.binary();
      case 'reduceSum': return this.reduceSum();
      case 'softmax': case 'softmaxBackward': return this.softmax(name);
      case 'batchNormStats': case 'batchNormApply': case 'batchNormBackward': return this.batchNorm(name);
      case 'layerNorm': case 'layerNormBackward': return this.layerNorm(name);
      case 'copy': return this.copy();
      case 'fill': case 'axpy': case 'sgdStep': case 'adamStep': return this.update(name);
    }
  }

  private gemm(): void {
    const m = this.int(1, 70), n = this.int(1, 70), k = this.int(1, 90), batch = this.pick([1, 1, 2, 3]);
    const transA = this.rnd() < 0.5, transB = this.rnd() < 0.5, accumulate = this.rnd() < 0.3;
    const strideA = this.rnd() < 0.8 ? m * k : 0, strideB = this.rnd() < 0.8 ? k * n : 0, strideC = m * n;
    const a = this.rand(m * k * batch), b = this.rand(k * n * batch), c0 = this.rand(m * n * batch);
    const p = { transA, transB, m, n, k, a, lda: transA ? m : k, b, ldb: transB ? k : n, c: 0, ldc: n, accumulate, batch, strideA, strideB, strideC };
    try {
      this.check('gemm', [{ init: c0, n: m * n * batch }], k, (be, [c]) => be.gemm({ ...p, c: c! }));
    } catch (e) {
      throw new Error(`${(e as Error).message} (${JSON.stringify({ ...p, a: undefined, b: undefined })})`);
    }
  }

  private convParams(): Conv2dParams {
    const family = this.pick(['dense', 'depthwise', 'direct', 'pointwise', 'grouped']);
    const n = this.int(1, 4), kh = family === 'pointwise' ? 1 : this.int(1, 5), kw = family === 'pointwise' ? 1 : this.int(1, 5);
    const s = family === 'direct' || family === 'pointwise' ? 1 : this.int(1, 2);
    const d = family === 'direct' || family === 'pointwise' ? 1 : this.int(1, 2);
    const ph = family === 'pointwise' ? 0 : this.int(0, 2), pw = family === 'pointwise' ? 0 : this.int(0, 2);
    let c: number, oc: number, groups: number;
    if (family === 'depthwise') { c = this.int(1, 12); oc = c; groups = c; }
    else if (family === 'grouped') { groups = this.int(2, 3); c = groups * this.int(1, 4); oc = groups * this.int(1, 4); }
    else if (family === 'direct') { c = this.int(1, 6); oc = this.int(1, 16); groups = 1; }
    else { c = this.int(1, 24); oc = this.int(1, 24); groups = 1; }
    const h = this.int(Math.max(1, d * (kh - 1) + 1 - 2 * ph), 18), w = this.int(Math.max(1, d * (kw - 1) + 1 - 2 * pw), 18);
    const oh = Math.floor((h + 2 * ph - d * (kh - 1) - 1) / s) + 1, ow = Math.floor((w + 2 * pw - d * (kw - 1) - 1) / s) + 1;
    return { n, c, h, w, oc, kh, kw, sh: s, sw: s, ph, pw, dh: d, dw: d, groups, oh, ow };
  }

  private conv(name: 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight'): void {
    const p = this.convParams();
    try {
      this.convCall(name, p);
    } catch (e) {
      throw new Error(`${(e as Error).message} (${JSON.stringify(p)})`);
    }
  }

  private convCall(name: 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight', p: Conv2dParams): void {
    const cg = p.c / p.groups, wn = p.oc * cg * p.kh * p.kw;
    const xn = p.n * p.c * p.h * p.w, yn = p.n * p.oc * p.oh * p.ow;
    const x = this.rand(xn), wt = this.rand(wn), dy = this.rand(yn);
    if (name === 'conv2d') {
      const bias = this.rnd() < 0.5 ? this.rand(p.oc) : -1;
      this.check(name, [{ init: this.rand(yn), n: yn }], cg * p.kh * p.kw, (be, [y]) => be.conv2d(p, x, wt, bias, y!));
    } else if (name === 'conv2dBackwardInput') {
      this.check(name, [{ init: this.rand(xn), n: xn }], (p.oc / p.groups) * p.kh * p.kw, (be, [dx]) => be.conv2dBackwardInput(p, dy, wt, dx!));
    } else {
      const withDb = this.rnd() < 0.5;
      this.check(name, [{ init: this.rand(wn), n: wn }, { init: this.rand(p.oc), n: p.oc }], p.n * p.oh * p.ow,
        (be, [dw, db]) => be.conv2dBackwardWeight(p, x, dy, dw!, withDb ? db! : -1));
    }
  }

  private pool(name: 'maxPool2d' | 'maxPool2dBackward' | 'avgPool2d' | 'avgPool2dBackward'): void {
    const kh = this.int(1, 3), kw = this.int(1, 3), sh = this.int(1, 3), sw = this.int(1, 3);
    const ph = this.int(0, kh >> 1), pw = this.int(0, kw >> 1);
    const n = this.int(1, 4), c = this.int(1, 8), h = this.int(kh, 20), w = this.int(kw, 20);
    const p: Pool2dParams = {
      n, c, h, w, kh, kw, sh, sw, ph, pw, oh: Math.floor((h + 2 * ph - kh) / sh) + 1, ow: Math.floor((w + 2 * pw - kw) / sw) + 1,
      countIncludePad: this.rnd() < 0.5,
    };
    const xn = n * c * h * w, yn = n * c * p.oh * p.ow;
    const x = this.rand(xn), dy = this.rand(yn);
    if (name === 'maxPool2d') {
      const idx = this.alloc(yn);
      this.check(name, [{ init: this.rand(yn), n: yn }], 1, (be, [y]) => be.maxPool2d(p, x, y!, idx));
    } else if (name === 'maxPool2dBackward') {
      const y = this.alloc(yn), idx = this.alloc(yn);
      this.ref.maxPool2d(p, x, y, idx);
      this.check(name, [{ init: this.rand(xn), n: xn }], kh * kw, (be, [dx]) => be.maxPool2dBackward(p, dy, idx, dx!));
    } else if (name === 'avgPool2d') {
      this.check(name, [{ init: this.rand(yn), n: yn }], kh * kw, (be, [y]) => be.avgPool2d(p, x, y!));
    } else {
      this.check(name, [{ init: this.rand(xn), n: xn }], kh * kw, (be, [dx]) => be.avgPool2dBackward(p, dy, dx!));
    }
  }

  private adaptive(name: 'adaptiveAvgPool2d' | 'adaptiveAvgPool2dBackward'): void {
    const p = { n: this.int(1, 4), c: this.int(1, 8), h: this.int(1, 16), w: this.int(1, 16), oh: this.int(1, 7), ow: this.int(1, 7) };
    const xn = p.n * p.c * p.h * p.w, yn = p.n * p.c * p.oh * p.ow;
    const k = p.h * p.w;
    if (name === 'adaptiveAvgPool2d') {
      const x = this.rand(xn);
      this.check(name, [{ init: this.rand(yn), n: yn }], k, (be, [y]) => be.adaptiveAvgPool2d(p, x, y!));
    } else {
      const dy = this.rand(yn);
      this.check(name, [{ init: this.rand(xn), n: xn }], k, (be, [dx]) => be.adaptiveAvgPool2dBackward(p, dy, dx!));
    }
  }

  private unary(name: 'unary' | 'unaryBackward'): void {
    const op = this.pick(UNARY_OPS), len = this.int(1, 5000);
    const positive = op === 'log' || op === 'sqrt' || op === 'pow';
    const alpha = op === 'pow' ? this.pick([2, 3, 0.5, -1.5]) : this.rnd() * 2 - 1;
    const x = positive ? this.rand(len, 0.1, 3) : this.rand(len, -4, 4);
    if (name === 'unary') {
      this.check(name, [{ init: this.rand(len), n: len }], 1, (be, [y]) => be.unary(op, x, y!, len, alpha));
    } else {
      const y = this.alloc(len), dy = this.rand(len);
      this.ref.unary(op, x, y, len, alpha);
      this.check(name, [{ init: this.rand(len), n: len }], 1, (be, [dx]) => be.unaryBackward(op, x, y, dy, dx!, len, alpha));
    }
  }

  private binary(): void {
    const rank = this.int(1, 4);
    const shape = Array.from({ length: rank }, () => this.int(1, 9));
    const strides = (): { strides: number[]; size: number } => {
      const keep = shape.map(() => this.rnd() < 0.7);
      const s = new Array<number>(rank);
      let acc = 1;
      for (let d = rank - 1; d >= 0; d--) { s[d] = keep[d] ? acc : 0; if (keep[d]) acc *= shape[d]!; }
      return { strides: s, size: acc };
    };
    const sa = strides(), sb = strides();
    const a = this.rand(sa.size), b = this.rand(sb.size, 0.5, 2);
    const total = shape.reduce((s, d) => s * d, 1);
    const op = this.pick(['add', 'sub', 'mul', 'div'] as const);
    this.check('binary', [{ init: this.rand(total), n: total }], 1, (be, [o]) => be.binary(op, a, sa.strides, b, sb.strides, o!, shape));
  }

  private reduceSum(): void {
    const outer = this.int(1, 20), reduce = this.int(1, 60), inner = this.int(1, 40);
    const x = this.rand(outer * reduce * inner);
    this.check('reduceSum', [{ init: this.rand(outer * inner), n: outer * inner }], reduce, (be, [y]) => be.reduceSum(x, y!, outer, reduce, inner));
  }

  private softmax(name: 'softmax' | 'softmaxBackward'): void {
    const rows = this.int(1, 40), cols = this.int(1, 120), log = this.rnd() < 0.5, n = rows * cols;
    const x = this.rand(n, -6, 6);
    if (name === 'softmax') {
      this.check(name, [{ init: this.rand(n), n }], cols, (be, [y]) => be.softmax(x, y!, rows, cols, log));
    } else {
      const y = this.alloc(n), dy = this.rand(n);
      this.ref.softmax(x, y, rows, cols, log);
      this.check(name, [{ init: this.rand(n), n }], cols, (be, [dx]) => be.softmaxBackward(y, dy, dx!, rows, cols, log));
    }
  }

  private batchNorm(name: 'batchNormStats' | 'batchNormApply' | 'batchNormBackward'): void {
    const n = this.int(1, 8), c = this.int(1, 16), hw = this.int(1, 60), len = n * c * hw;
    const x = this.rand(len, -2, 3), affine = this.rnd() < 0.5;
    const gamma = affine ? this.rand(c, 0.5, 1.5) : -1, beta = affine ? this.rand(c) : -1;
    const mean = this.alloc(c), invstd = this.alloc(c);
    this.ref.batchNormStats(x, n, c, hw, 1e-5, mean, invstd);
    if (name === 'batchNormStats') {
      this.check(name, [{ init: this.rand(c), n: c }, { init: this.rand(c), n: c }], n * hw,
        (be, [m, s]) => be.batchNormStats(x, n, c, hw, 1e-5, m!, s!));
    } else if (name === 'batchNormApply') {
      // The kernel folds the statistics into y = x·scale + shift in float32, as PyTorch's CPU kernel does; with a
      // near-constant channel (large invstd) both terms dwarf y, so its error is relative to them, not to y.
      const scale = (ch: number): number => this.heap.f[invstd + ch]! * (gamma >= 0 ? this.heap.f[gamma + ch]! : 1);
      this.check(name, [{ init: this.rand(len), n: len }], 1, (be, [y]) => be.batchNormApply(x, n, c, hw, mean, invstd, gamma, beta, y!),
        (_, i) => {
          const ch = Math.floor(i / hw) % c, f = this.heap.f;
          return Math.abs(f[x + i]! * scale(ch)) + Math.abs(f[mean + ch]! * scale(ch)) + (beta >= 0 ? Math.abs(f[beta + ch]!) : 0);
        });
    } else {
      const dy = this.rand(len), training = this.rnd() < 0.5;
      this.check(name, [{ init: this.rand(len), n: len }, { init: this.rand(c), n: c }, { init: this.rand(c), n: c }], n * hw * 4,
        (be, [dx, dg, db]) => be.batchNormBackward(x, dy, n, c, hw, mean, invstd, gamma, training, dx!, dg!, db!));
    }
  }

  private layerNorm(name: 'layerNorm' | 'layerNormBackward'): void {
    const rows = this.int(1, 30), cols = this.int(1, 200), len = rows * cols;
    const x = this.rand(len, -2, 3), affine = this.rnd() < 0.5;
    const gamma = affine ? this.rand(cols, 0.5, 1.5) : -1, beta = affine ? this.rand(cols) : -1;
    if (name === 'layerNorm') {
      this.check(name, [{ init: this.rand(len), n: len }, { init: this.rand(rows), n: rows }, { init: this.rand(rows), n: rows }], cols,
        (be, [y, m, s]) => be.layerNorm(x, rows, cols, 1e-5, gamma, beta, y!, m!, s!));
    } else {
      const y = this.alloc(len), mean = this.alloc(rows), invstd = this.alloc(rows), dy = this.rand(len);
      this.ref.layerNorm(x, rows, cols, 1e-5, gamma, beta, y, mean, invstd);
      this.check(name, [{ init: this.rand(len), n: len }, { init: this.rand(cols), n: cols }, { init: this.rand(cols), n: cols }], cols * 4,
        (be, [dx, dg, db]) => be.layerNormBackward(x, dy, rows, cols, mean, invstd, gamma, dx!, dg!, db!));
    }
  }

  private copy(): void {
    const rank = this.int(1, 4);
    const shape = Array.from({ length: rank }, () => this.int(1, 9));
    const total = shape.reduce((s, d) => s * d, 1);
    // Source: a random permutation of a contiguous layout, with some axes broadcast.
    const order = shape.map((_, d) => d).sort(() => this.rnd() - 0.5);
    const src = new Array<number>(rank);
    let acc = 1;
    for (const d of order) { src[d] = this.rnd() < 0.2 ? 0 : acc; acc *= shape[d]!; }
    const dst = new Array<number>(rank);
    acc = 1;
    for (let d = rank - 1; d >= 0; d--) { dst[d] = acc; acc *= shape[d]!; }
    const s = this.rand(total);
    this.check('copy', [{ init: this.rand(total), n: total }], 1, (be, [o]) => be.copy(s, src, o!, dst, shape));
  }

  private update(name: 'fill' | 'axpy' | 'sgdStep' | 'adamStep'): void {
    const len = this.int(1, 6000);
    const x = this.rand(len), y0 = this.rand(len), m0 = this.rand(len, -0.1, 0.1), v0 = this.rand(len, 0, 0.01);
    if (name === 'fill') {
      const value = this.rnd();
      this.check(name, [{ init: y0, n: len }], 1, (be, [y]) => be.fill(y!, len, value));
    } else if (name === 'axpy') this.check(name, [{ init: y0, n: len }], 1, (be, [y]) => be.axpy(x, y!, len, 0.37));
    else if (name === 'sgdStep') {
      const momentum = this.pick([0, 0.9]);
      const o = { lr: 0.05, momentum, dampening: 0.1, weightDecay: 5e-4, nesterov: this.rnd() < 0.5, firstStep: this.rnd() < 0.3 };
      this.check(name, [{ init: y0, n: len }, { init: m0, n: len }], 1, (be, [p, m]) => be.sgdStep(p!, x, momentum === 0 ? -1 : m!, len, o));
    } else {
      const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: this.rnd() < 0.5, step: this.int(1, 20) };
      this.check(name, [{ init: y0, n: len }, { init: m0, n: len }, { init: v0, n: len }], 1, (be, [p, m, v]) => be.adamStep(p!, x, m!, v!, len, o));
    }
  }
}

/** Runs kernel calls until `calls` or `deadline`; throws on the first mismatch or trap. */
export async function runStress(o: StressOptions): Promise<StressResult> {
  const kernels = new Map<string, number>();
  let calls = 0, heaps = 0, seed = o.seed ?? 1;
  const perHeap = o.callsPerHeap ?? 400;
  const more = (): boolean => (o.calls === undefined || calls < o.calls) && (o.deadline === undefined || Date.now() < o.deadline);
  while (more()) {
    // A small heap, so that new tensors keep growing it.
    const heap = new Heap({ initialBytes: 2 << 20 });
    if (!heap.shared) throw new Error('needs shared WebAssembly memory');
    const wasm = await (o.backend === 'native' ? NativeBackend : WasmBackend).create(heap, { threads: 2, parallelFlops: 1, parallelElements: 1 });
    if (wasm.threads !== 2) { wasm.dispose(); throw new Error(`the ${wasm.name} backend came up with ${wasm.threads} thread(s), not 2`); }
    if (wasm instanceof WasmBackend) wasm.testing.setTestHooks(o.hooks ?? {});
    const s = new Session(heap, new ReferenceBackend(heap), wasm, seed++);
    heaps++;
    const ballast: number[] = [];
    try {
      for (let i = 0; i < perHeap && more(); i++) {
        // Mostly 2-thread jobs; some stay on the calling thread, as small jobs do in real runs.
        const single = s.rnd() < 0.25;
        wasm.parallelElements = single ? Number.MAX_SAFE_INTEGER : 1;
        wasm.parallelFlops = single ? Number.MAX_SAFE_INTEGER : 1;
        const name = s.pick(o.kernels ?? KERNEL_NAMES);
        s.call(name);
        kernels.set(name, (kernels.get(name) ?? 0) + 1);
        calls++;
        s.freeAll();
        // Ballast of new sizes grows the heap between jobs; released now and then.
        if (s.rnd() < 0.05) ballast.push(heap.alloc(s.int(1, 64) * 16384));
        if (ballast.length > 8) for (const p of ballast.splice(0)) heap.free(p);
      }
    } finally {
      s.freeAll();
      for (const p of ballast) heap.free(p);
      wasm.dispose();
    }
  }
  return { calls, kernels, heaps };
}
