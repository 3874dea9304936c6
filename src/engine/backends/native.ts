/**
 * Native CPU kernels (C++, native/) through a Node-API addon, on the same heap as everything else: the addon
 * reads and writes the heap's memory in place, so tensors are never copied. Every Backend method runs natively;
 * what the kernels do not take (strided ops of more than MAX_RANK axes, layer norm of empty rows) goes to a
 * WasmBackend on the same heap. A call writes its arguments into this backend's argument block in the heap (the
 * WASM backend's layouts) and runs synchronously: the calling thread works alongside the addon's own thread
 * pool, and small calls stay on the calling thread.
 */
import type {
  AdamUpdate, AdaptivePoolParams, Backend, BinaryOp, Conv2dParams, GemmParams, Pool2dParams, SgdUpdate, UnaryOp,
} from '../backend.js';
import { convFlops, writeConvArgs, writeGemmArgs, writePoolArgs } from './kernel-args.js';
import type { Heap } from '../heap.js';
import { chooseIsa, loadNativeAddon, type NativeAddon, type NativeIsa } from './native-addon.js';
import { platform, threadsFromEnv } from './wasm-platform.js';
import { WasmBackend } from './wasm.js';
import { unaryCost } from './wasm-ops.js';
import * as K from './native-kernels.js';
import { collapseAxes } from '../shape-utils.js';

export interface NativeBackendOptions {
  /** Threads including the calling thread; default CONVLAB_THREADS, else the host's available parallelism. */
  threads?: number;
  /** Kernel set; default CONVLAB_NATIVE_ISA, else the best this CPU runs. */
  isa?: NativeIsa;
  /**
   * Work below which a kernel runs on the calling thread only: flops (default 2^20), elements (default 2^15).
   */
  parallelFlops?: number;
  parallelElements?: number;
}

const ARG_SLOTS = 192;
const MAX_THREADS = 64;

/** The buffer the addon's kernels currently read and write (one binding per addon instance, i.e. per thread). */
let addonBoundTo: ArrayBufferLike | null = null;

export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly isa: NativeIsa;
  readonly threads: number;
  parallelFlops: number;
  parallelElements: number;
  private argvBuffer: ArrayBufferLike | null = null;
  private argv!: Float64Array;
  private disposed = false;

  private constructor(
    readonly heap: Heap,
    /** Runs the calls the addon's kernels do not take. */
    readonly wasm: WasmBackend,
    private readonly addon: NativeAddon,
    private readonly isaIndex: number,
    isa: NativeIsa,
    threads: number,
    /** Byte address of the argument block. */
    private readonly argsAt: number,
    opts: NativeBackendOptions,
  ) {
    this.isa = isa;
    this.threads = threads;
    this.parallelFlops = opts.parallelFlops ?? 1 << 20;
    this.parallelElements = opts.parallelElements ?? 1 << 15;
  }

  /** Throws one line when the addon is missing or the requested kernel set cannot run here. */
  static async create(heap: Heap, opts: NativeBackendOptions = {}): Promise<NativeBackend> {
    if (heap.floatBytes !== 4) throw new Error('native backend: needs a float32 heap');
    const load = await loadNativeAddon();
    if (!load.addon) throw new Error(`native backend unavailable: ${load.reason}`);
    const fromOption = opts.isa !== undefined;
    const { index, name } = chooseIsa(load.addon, fromOption ? opts.isa : process.env.CONVLAB_NATIVE_ISA?.trim(), fromOption ? 'native isa' : 'CONVLAB_NATIVE_ISA');
    const threads = Math.min(MAX_THREADS, Math.max(1, Math.floor(opts.threads ?? threadsFromEnv(await platform()))));
    // One thread: it only takes the rare calls the native kernels do not, and needs no idle workers for them.
    const wasm = await WasmBackend.create(heap, { threads: 1 });
    const argsAt = heap.alloc(ARG_SLOTS * 8);
    return new NativeBackend(heap, wasm, load.addon, index, name, threads, argsAt, opts);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.heap.free(this.argsAt);
    this.wasm.dispose();
  }

  /** Profiling covers both the native kernels and the delegated ones. */
  get profile(): Map<string, { calls: number; ms: number }> | undefined {
    return this.wasm.profile;
  }

  set profile(map: Map<string, { calls: number; ms: number }> | undefined) {
    this.wasm.profile = map;
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * The argument block. Binds the addon to this heap's memory first when it is bound to another buffer: another
   * heap's (several backends may share the addon) or this heap's before it grew (growth makes a new buffer object).
   */
  private args(): Float64Array {
    if (this.disposed) throw new Error('native backend: used after dispose()');
    const buffer = this.heap.memory.buffer;
    if (buffer !== addonBoundTo) {
      this.addon.setHeap(new Float32Array(buffer));
      addonBoundTo = buffer;
    }
    if (buffer !== this.argvBuffer) {
      this.argvBuffer = buffer;
      this.argv = new Float64Array(buffer, this.argsAt, ARG_SLOTS);
    }
    return this.argv;
  }

  private run(name: string, id: number, nth: number): void {
    const prof = this.profile;
    if (!prof) { this.addon.run(id, this.argsAt, this.isaIndex, nth); return; }
    const t0 = performance.now();
    this.addon.run(id, this.argsAt, this.isaIndex, nth);
    const ms = performance.now() - t0;
    const e = prof.get(name);
    if (e) { e.calls++; e.ms += ms; } else prof.set(name, { calls: 1, ms });
  }

  private par(work: number, threshold: number): number {
    return work >= threshold ? this.threads : 1;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Native kernels.

  gemm(p: GemmParams): void {
    if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return;
    const a = this.args();
    writeGemmArgs(a, p);
    this.run('gemm', K.GEMM, this.par(2 * p.m * p.n * p.k * p.batch, this.parallelFlops));
  }

  conv2d(p: Conv2dParams, x: number, w: number, b: number, y: number): void {
    this.conv('conv2d', K.CONV_FWD, p, x, w, b, y);
  }

  conv2dBackwardInput(p: Conv2dParams, dy: number, w: number, dx: number): void {
    this.conv('conv2dBackwardInput', K.CONV_BWD_INPUT, p, dy, w, dx, -1);
  }

  conv2dBackwardWeight(p: Conv2dParams, x: number, dy: number, dw: number, db: number): void {
    this.conv('conv2dBackwardWeight', K.CONV_BWD_WEIGHT, p, x, dy, dw, db);
  }

  private conv(name: string, id: number, p: Conv2dParams, t0: number, t1: number, t2: number, t3: number): void {
    if (p.n <= 0 || p.oc <= 0 || p.c <= 0) return;
    writeConvArgs(this.args(), p, t0, t1, t2, t3);
    this.run(name, id, this.par(convFlops(p), this.parallelFlops));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pooling.

  private poolArgs(p: Pool2dParams, t0: number, t1: number, t2: number): void {
    writePoolArgs(this.args(), p, t0, t1, t2);
  }

  private poolThreads(p: Pool2dParams, taps: number): number {
    return this.par(p.n * p.c * (p.h * p.w + p.oh * p.ow * taps), this.parallelElements);
  }

  maxPool2d(p: Pool2dParams, x: number, y: number, idx: number): void {
    if (p.n * p.c * p.oh * p.ow <= 0) return;
    this.poolArgs(p, x, y, idx);
    this.run('maxPool2d', K.MAXPOOL, this.poolThreads(p, p.kh * p.kw));
  }

  maxPool2dBackward(p: Pool2dParams, dy: number, idx: number, dx: number): void {
    if (p.n * p.c * p.h * p.w <= 0) return;
    this.poolArgs(p, dy, idx, dx);
    this.run('maxPool2dBackward', K.MAXPOOL_BWD, this.poolThreads(p, 1));
  }

  avgPool2d(p: Pool2dParams, x: number, y: number): void {
    if (p.n * p.c * p.oh * p.ow <= 0) return;
    this.poolArgs(p, x, y, 0);
    this.run('avgPool2d', K.AVGPOOL, this.poolThreads(p, p.kh * p.kw));
  }

  avgPool2dBackward(p: Pool2dParams, dy: number, dx: number): void {
    if (p.n * p.c * p.h * p.w <= 0) return;
    this.poolArgs(p, dy, dx, 0);
    this.run('avgPool2dBackward', K.AVGPOOL_BWD, this.poolThreads(p, p.kh * p.kw));
  }

  adaptiveAvgPool2d(p: AdaptivePoolParams, x: number, y: number): void {
    if (p.n * p.c * p.oh * p.ow <= 0) return;
    this.argList(p.n, p.c, p.h, p.w, p.oh, p.ow, x, y);
    this.run('adaptiveAvgPool2d', K.ADAPTIVE_AVGPOOL, this.par(p.n * p.c * (p.h * p.w + p.oh * p.ow), this.parallelElements));
  }

  adaptiveAvgPool2dBackward(p: AdaptivePoolParams, dy: number, dx: number): void {
    if (p.n * p.c * p.h * p.w <= 0) return;
    this.argList(p.n, p.c, p.h, p.w, p.oh, p.ow, dy, dx);
    this.run('adaptiveAvgPool2dBackward', K.ADAPTIVE_AVGPOOL_BWD, this.par(p.n * p.c * (p.h * p.w + p.oh * p.ow), this.parallelElements));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Elementwise, reductions and softmax.

  private argList(...values: number[]): void {
    this.args().set(values);
  }

  unary(op: UnaryOp, x: number, y: number, len: number, alpha: number): void {
    if (len <= 0) return;
    this.argList(K.UNARY_ID[op], x, y, len, alpha);
    this.run('unary', K.UNARY, this.par(len * unaryCost(op), this.parallelElements));
  }

  unaryBackward(op: UnaryOp, x: number, y: number, dy: number, dx: number, len: number, alpha: number): void {
    if (len <= 0) return;
    this.argList(K.UNARY_ID[op], x, y, dy, dx, len, alpha);
    this.run('unaryBackward', K.UNARY_BWD, this.par(len * unaryCost(op), this.parallelElements));
  }

  /** Callers collapse the axes first (Backend.binary's contract). */
  binary(op: BinaryOp, a: number, aStrides: readonly number[], b: number, bStrides: readonly number[], out: number, shape: readonly number[]): void {
    const total = shape.reduce((s, d) => s * d, 1);
    if (total <= 0) return;
    if (shape.length > K.MAX_RANK) { this.wasm.binary(op, a, aStrides, b, bStrides, out, shape); return; }
    this.argList(K.BINARY_OPS.indexOf(op), a, b, out, shape.length, ...shape, ...aStrides, ...bStrides);
    this.run('binary', K.BINARY, this.par(total, this.parallelElements));
  }

  reduceSum(x: number, y: number, outer: number, reduce: number, inner: number): void {
    if (outer * inner <= 0) return;
    this.argList(x, y, outer, reduce, inner);
    this.run('reduceSum', K.REDUCE_SUM, this.par(outer * Math.max(reduce, 1) * inner, this.parallelElements));
  }

  softmax(x: number, y: number, rows: number, cols: number, log: boolean): void {
    if (rows * cols <= 0) return;
    this.argList(x, y, rows, cols, log ? 1 : 0);
    this.run('softmax', K.SOFTMAX, this.par(rows * cols * 4, this.parallelElements));
  }

  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number, log: boolean): void {
    if (rows * cols <= 0) return;
    this.argList(y, dy, dx, rows, cols, log ? 1 : 0);
    this.run('softmaxBackward', K.SOFTMAX_BWD, this.par(rows * cols * 2, this.parallelElements));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Normalisation.

  batchNormStats(x: number, n: number, c: number, hw: number, eps: number, mean: number, invstd: number): void {
    if (c <= 0) return;
    this.argList(x, n, c, hw, eps, mean, invstd);
    this.run('batchNormStats', K.BN_STATS, this.par(n * c * hw * 2, this.parallelElements));
  }

  batchNormApply(x: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number, beta: number, y: number): void {
    if (n * c * hw <= 0) return;
    this.argList(x, n, c, hw, mean, invstd, gamma, beta, y);
    this.run('batchNormApply', K.BN_APPLY, this.par(n * c * hw, this.parallelElements));
  }

  batchNormBackward(
    x: number, dy: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number,
    training: boolean, dx: number, dgamma: number, dbeta: number,
  ): void {
    if (c <= 0) return;
    this.argList(x, dy, n, c, hw, mean, invstd, gamma, training ? 1 : 0, dx, dgamma, dbeta);
    this.run('batchNormBackward', K.BN_BWD, this.par(n * c * hw * 3, this.parallelElements));
  }

  layerNorm(x: number, rows: number, cols: number, eps: number, gamma: number, beta: number, y: number, mean: number, invstd: number): void {
    if (rows <= 0) return;
    // Empty rows: only the statistics (NaN) are written; not worth a kernel.
    if (cols <= 0) { this.wasm.layerNorm(x, rows, cols, eps, gamma, beta, y, mean, invstd); return; }
    this.argList(x, rows, cols, eps, gamma, beta, y, mean, invstd);
    this.run('layerNorm', K.LAYER_NORM, this.par(rows * cols * 3, this.parallelElements));
  }

  layerNormBackward(
    x: number, dy: number, rows: number, cols: number, mean: number, invstd: number, gamma: number,
    dx: number, dgamma: number, dbeta: number,
  ): void {
    if (cols <= 0) return;
    this.argList(x, dy, rows, cols, mean, invstd, gamma, dx, dgamma, dbeta);
    this.run('layerNormBackward', K.LAYER_NORM_BWD, this.par(rows * cols * 3, this.parallelElements));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Memory and optimisers.

  copy(src: number, srcStrides: readonly number[], dst: number, dstStrides: readonly number[], shape: readonly number[]): void {
    const total = shape.reduce((s, d) => s * d, 1);
    if (total <= 0) return;
    const c = collapseAxes(shape, [srcStrides, dstStrides]);
    if (c.shape.length > K.MAX_RANK) { this.wasm.copy(src, srcStrides, dst, dstStrides, shape); return; }
    this.argList(src, dst, c.shape.length, ...c.shape, ...c.strides[0]!, ...c.strides[1]!);
    this.run('copy', K.COPY, this.par(total, this.parallelElements));
  }

  fill(dst: number, len: number, value: number): void {
    if (len <= 0) return;
    this.argList(dst, len, value);
    this.run('fill', K.FILL, this.par(len, this.parallelElements * 4));
  }

  axpy(x: number, y: number, len: number, alpha: number): void {
    if (len <= 0) return;
    this.argList(x, y, len, alpha);
    this.run('axpy', K.AXPY, this.par(len, this.parallelElements));
  }

  sgdStep(p: number, g: number, momentumBuf: number, len: number, o: SgdUpdate): void {
    if (len <= 0) return;
    this.argList(p, g, momentumBuf, len, o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov ? 1 : 0, o.firstStep ? 1 : 0);
    this.run('sgdStep', K.SGD, this.par(len * 2, this.parallelElements));
  }

  adamStep(p: number, g: number, m: number, v: number, len: number, o: AdamUpdate): void {
    if (len <= 0) return;
    const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
    this.argList(p, g, m, v, len, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.decoupled ? 1 : 0, o.lr / bc1, Math.sqrt(bc2));
    this.run('adamStep', K.ADAM, this.par(len * 4, this.parallelElements));
  }
}

