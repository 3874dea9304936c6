/**
 * WebAssembly SIMD kernels (AssemblyScript, assembly/) on a pool of worker threads sharing the heap's memory.
 *
 * Every Backend kernel runs in WASM; the class extends ReferenceBackend (which works on the same heap views) only
 * as a fallback for shapes the WASM side does not take (strided copies/broadcasts of more than MAX_RANK collapsed
 * axes). A kernel call writes its arguments into this backend's control block in the heap, then the pool runs the
 * job on up to `threads` threads (see wasm-pool.ts); small jobs stay on the calling thread.
 */
import type {
  AdamUpdate, AdaptivePoolParams, BackendName, BinaryOp, Conv2dParams, GemmParams, Pool2dParams, SgdUpdate, UnaryOp,
} from '../backend.js';
import { convFlops, writeConvArgs, writeGemmArgs, writePoolArgs } from './kernel-args.js';
import type { Heap } from '../heap.js';
import { collapseAxes } from '../shape-utils.js';
import { ReferenceBackend } from './reference.js';
import * as abi from './wasm-abi.js';
import {
  ARGS, CTRL_BYTES, K_CONV_BWD_INPUT, K_CONV_BWD_WEIGHT, K_CONV_FWD, K_GEMM, MAX_ARGS,
  MAX_THREADS, SCRATCH_TABLE, SHARED_TABLE,
} from './wasm-abi.js';
import { UNARY_ID, BINARY_ID, unaryCost } from './wasm-ops.js';
import { compileKernels, platform, threadsFromEnv } from './wasm-platform.js';
import { WasmPool } from './wasm-pool.js';

export interface WasmBackendOptions {
  /** Threads including the main thread; default CONVLAB_THREADS, else the host's available parallelism. */
  threads?: number;
  /** A compiled kernel module to use instead of build/kernels*.wasm (benchmarks of alternative builds). */
  module?: WebAssembly.Module;
  /** Work below which a kernel stays on one thread: flops (default 2^19), elements touched (default 2^14). */
  parallelFlops?: number;
  parallelElements?: number;
}

/** Test-only hooks of the thread pool; see WasmPool.setTestHooks. */
export type PoolTestHooks = Parameters<WasmPool['setTestHooks']>[0];

/** Below this many flops (elements touched, for memory-bound kernels) waking a worker costs more than it saves. */
const GEMM_PARALLEL_FLOPS = 1 << 19, ELEMENTWISE_PARALLEL = 1 << 14;

/** Most axes a strided kernel takes after collapsing (three stride arrays must fit the argument slots). */
const MAX_RANK = Math.floor((MAX_ARGS - 8) / 3);

export class WasmBackend extends ReferenceBackend {
  override readonly name: BackendName = 'wasm';
  override readonly isa: string = 'wasm-simd128';
  override readonly threads: number;
  /** Tuning knobs: work (flops, or elements touched) below which a kernel runs on the calling thread only. */
  parallelFlops = GEMM_PARALLEL_FLOPS;
  parallelElements = ELEMENTWISE_PARALLEL;
  private argBuffer: ArrayBufferLike | null = null;
  private argv!: Float64Array;
  private readonly scratch: number[] = [];

  private constructor(heap: Heap, private readonly pool: WasmPool) {
    super(heap);
    this.threads = pool.threads;
  }

  static async create(heap: Heap, opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    if (heap.floatBytes !== 4) throw new Error('wasm backend: needs a float32 heap');
    const parallelFlops = positiveOption('parallelFlops', opts.parallelFlops, GEMM_PARALLEL_FLOPS);
    const parallelElements = positiveOption('parallelElements', opts.parallelElements, ELEMENTWISE_PARALLEL);
    const pl = await platform();
    let threads = Math.max(1, Math.floor(opts.threads ?? threadsFromEnv(pl)));
    if (!heap.shared) threads = 1;
    threads = Math.min(threads, MAX_THREADS);
    const module = opts.module ?? await compileKernels(heap.shared);
    // The module's static data sits at 64 KiB in the heap's reserved first MiB; it declares 1 MiB of memory.
    const have = heap.memory.buffer.byteLength;
    if (have < MODULE_MIN_BYTES) heap.memory.grow(Math.ceil((MODULE_MIN_BYTES - have) / 65536));
    const ctrl = heap.alloc(CTRL_BYTES);
    let pool: WasmPool;
    try {
      pool = await WasmPool.create(module, heap.memory, threads, ctrl);
    } catch (e) {
      heap.free(ctrl);
      throw e;
    }
    if (ctrl < pool.exports.staticEnd()) {
      void pool.dispose();
      heap.free(ctrl);
      throw new Error('wasm backend: the heap must reserve its first MiB for the kernels (HeapOptions.reservedBytes)');
    }
    // Per-thread scratch (packed GEMM panels), sized by the module.
    const bytes = pool.exports.scratchBytesPerThread();
    const backend = new WasmBackend(heap, pool);
    backend.parallelFlops = parallelFlops;
    backend.parallelElements = parallelElements;
    backend.scratch.push(ctrl);
    for (let t = 0; t < pool.threads; t++) backend.scratch.push(heap.alloc(bytes));
    const table = new Uint32Array(heap.memory.buffer, ctrl + SCRATCH_TABLE, 2 * MAX_THREADS);
    backend.scratch.slice(1).forEach((p, t) => { table[2 * t] = p; table[2 * t + 1] = bytes; });
    return backend;
  }

  /** Stops the workers and returns the control block and scratch to the heap. */
  dispose(): void {
    void this.pool.dispose();
    for (const p of this.scratch.splice(0)) this.heap.free(p);
  }

  /** Test-only: the pool's hooks and its per-thread chunk counters (see WasmPool.setTestHooks). */
  get testing(): Pick<WasmPool, 'setTestHooks' | 'chunkCounts' | 'resetChunkCounts'> {
    return this.pool;
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * Begins a job and returns its argument slots (re-viewed whenever the memory grew: growth detaches a non-shared
   * buffer). Every kernel call starts here.
   */
  private args(): Float64Array {
    if (this.scratch.length === 0) throw new Error('wasm backend: used after dispose()');
    this.pool.begin();
    const buf = this.heap.memory.buffer;
    if (buf !== this.argBuffer) {
      this.argBuffer = buf;
      this.argv = new Float64Array(buf, this.pool.base + ARGS, MAX_ARGS);
    }
    return this.argv;
  }

  /** Runs kernel `id` (arguments already written) on `nth` threads, timing it when profiling is on. */
  private dispatch(name: string, id: number, nth: number): void {
    const prof = this.profile;
    if (!prof) { this.pool.run(id, nth, name); return; }
    const t0 = performance.now();
    this.pool.run(id, nth, name);
    const ms = performance.now() - t0;
    const e = prof.get(name);
    if (e) { e.calls++; e.ms += ms; } else prof.set(name, { calls: 1, ms });
  }

  /** Threads for a job of `work` units against a threshold expressed in units of parallelElements/parallelFlops. */
  private par(work: number, threshold: number): number {
    return work >= threshold ? this.threads : 1;
  }

  // -------------------------------------------------------------------------------------------------------------

  override gemm(p: GemmParams): void {
    if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return;
    const a = this.args();
    writeGemmArgs(a, p);
    const nth = this.par(2 * p.m * p.n * p.k * p.batch, this.parallelFlops);
    const bytes = this.pool.exports.gemmWorkspace(this.pool.base, nth);
    if (bytes === 0) { this.dispatch('gemm', K_GEMM, nth); return; }
    const ws = this.heap.alloc(bytes);
    try {
      new Uint32Array(this.heap.memory.buffer, this.pool.base + SHARED_TABLE, 1)[0] = ws;
      this.dispatch('gemm', K_GEMM, nth);
    } finally {
      this.heap.free(ws);
    }
  }

  override conv2d(p: Conv2dParams, x: number, w: number, b: number, y: number): void {
    this.conv('conv2d', K_CONV_FWD, 0, p, x, w, b, y);
  }

  override conv2dBackwardInput(p: Conv2dParams, dy: number, w: number, dx: number): void {
    this.conv('conv2dBackwardInput', K_CONV_BWD_INPUT, 1, p, dy, w, dx, 0);
  }

  override conv2dBackwardWeight(p: Conv2dParams, x: number, dy: number, dw: number, db: number): void {
    this.conv('conv2dBackwardWeight', K_CONV_BWD_WEIGHT, 2, p, x, dy, dw, db);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pooling.

  private poolArgs(p: Pool2dParams, t0: number, t1: number, t2: number): Float64Array {
    const a = this.args();
    writePoolArgs(a, p, t0, t1, t2);
    return a;
  }

  private poolThreads(p: { n: number; c: number; h: number; w: number; oh: number; ow: number }, taps: number): number {
    return this.par(p.n * p.c * (p.h * p.w + p.oh * p.ow * taps), this.parallelElements);
  }

  override maxPool2d(p: Pool2dParams, x: number, y: number, idx: number): void {
    if (p.n * p.c * p.oh * p.ow <= 0) return;
    this.poolArgs(p, x, y, idx);
    this.dispatch('maxPool2d', abi.K_MAXPOOL, this.poolThreads(p, p.kh * p.kw));
  }

  override maxPool2dBackward(p: Pool2dParams, dy: number, idx: number, dx: number): void {
    if (p.n * p.c * p.h * p.w <= 0) return;
    this.poolArgs(p, dy, idx, dx);
    this.dispatch('maxPool2dBackward', abi.K_MAXPOOL_BWD, this.poolThreads(p, 1));
  }

  override avgPool2d(p: Pool2dParams, x: number, y: number): void {
    if (p.n * p.c * p.oh * p.ow <= 0) return;
    this.poolArgs(p, x, y, 0);
    this.dispatch('avgPool2d', abi.K_AVGPOOL, this.poolThreads(p, p.kh * p.kw));
  }

  override avgPool2dBackward(p: Pool2dParams, dy: number, dx: number): void {
    if (p.n * p.c * p.h * p.w <= 0) return;
    this.poolArgs(p, dy, dx, 0);
    this.dispatch('avgPool2dBackward', abi.K_AVGPOOL_BWD, this.poolThreads(p, p.kh * p.kw));
  }

  override adaptiveAvgPool2d(p: AdaptivePoolParams, x: number, y: number): void {
    if (p.n * p.c * p.oh * p.ow <= 0) return;
    this.argList(p.n, p.c, p.h, p.w, p.oh, p.ow, x, y);
    this.dispatch('adaptiveAvgPool2d', abi.K_ADAPTIVE_AVGPOOL, this.poolThreads(p, 1));
  }

  override adaptiveAvgPool2dBackward(p: AdaptivePoolParams, dy: number, dx: number): void {
    if (p.n * p.c * p.h * p.w <= 0) return;
    this.argList(p.n, p.c, p.h, p.w, p.oh, p.ow, dy, dx);
    this.dispatch('adaptiveAvgPool2dBackward', abi.K_ADAPTIVE_AVGPOOL_BWD, this.poolThreads(p, 1));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Elementwise and reductions.

  private argList(...values: number[]): void {
    this.args().set(values);
  }

  override unary(op: UnaryOp, x: number, y: number, len: number, alpha: number): void {
    if (len <= 0) return;
    this.argList(UNARY_ID[op], x, y, len, alpha);
    this.dispatch('unary', abi.K_UNARY, this.par(len * unaryCost(op), this.parallelElements));
  }

  override unaryBackward(op: UnaryOp, x: number, y: number, dy: number, dx: number, len: number, alpha: number): void {
    if (len <= 0) return;
    this.argList(UNARY_ID[op], x, y, dy, dx, len, alpha);
    this.dispatch('unaryBackward', abi.K_UNARY_BWD, this.par(len * unaryCost(op), this.parallelElements));
  }

  /** Callers collapse the axes first (Backend.binary's contract), so this does not collapse them again. */
  override binary(op: BinaryOp, a: number, aStrides: readonly number[], b: number, bStrides: readonly number[], out: number, shape: readonly number[]): void {
    const total = shape.reduce((s, d) => s * d, 1);
    if (total <= 0) return;
    const r = shape.length;
    if (r > MAX_RANK) { super.binary(op, a, aStrides, b, bStrides, out, shape); return; }
    const args = this.args();
    args[0] = BINARY_ID[op]; args[1] = a; args[2] = b; args[3] = out; args[4] = r;
    for (let d = 0; d < r; d++) {
      args[5 + d] = shape[d]!; args[5 + r + d] = aStrides[d]!; args[5 + 2 * r + d] = bStrides[d]!;
    }
    this.dispatch('binary', abi.K_BINARY, this.par(total, this.parallelElements));
  }

  override reduceSum(x: number, y: number, outer: number, reduce: number, inner: number): void {
    if (outer * inner <= 0) return;
    if (reduce <= 0) { this.fill(y, outer * inner, 0); return; }
    this.argList(x, y, outer, reduce, inner);
    this.dispatch('reduceSum', abi.K_REDUCE_SUM, this.par(outer * reduce * inner, this.parallelElements));
  }

  override softmax(x: number, y: number, rows: number, cols: number, log: boolean): void {
    if (rows * cols <= 0) return;
    this.argList(x, y, rows, cols, log ? 1 : 0);
    this.dispatch('softmax', abi.K_SOFTMAX, this.par(rows * cols * 4, this.parallelElements));
  }

  override softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number, log: boolean): void {
    if (rows * cols <= 0) return;
    this.argList(y, dy, dx, rows, cols, log ? 1 : 0);
    this.dispatch('softmaxBackward', abi.K_SOFTMAX_BWD, this.par(rows * cols * 2, this.parallelElements));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Normalisation.

  override batchNormStats(x: number, n: number, c: number, hw: number, eps: number, mean: number, invstd: number): void {
    if (c <= 0) return;
    if (n * hw <= 0) { super.batchNormStats(x, n, c, hw, eps, mean, invstd); return; }
    this.argList(x, n, c, hw, eps, mean, invstd);
    this.dispatch('batchNormStats', abi.K_BN_STATS, this.par(n * c * hw * 2, this.parallelElements));
  }

  override batchNormApply(
    x: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number, beta: number, y: number,
  ): void {
    if (n * c * hw <= 0) return;
    this.argList(x, n, c, hw, mean, invstd, gamma, beta, y);
    this.dispatch('batchNormApply', abi.K_BN_APPLY, this.par(n * c * hw, this.parallelElements));
  }

  override batchNormBackward(
    x: number, dy: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number,
    training: boolean, dx: number, dgamma: number, dbeta: number,
  ): void {
    if (c <= 0) return;
    this.argList(x, dy, n, c, hw, mean, invstd, gamma, training ? 1 : 0, dx, dgamma, dbeta);
    this.dispatch('batchNormBackward', abi.K_BN_BWD, this.par(n * c * hw * 3, this.parallelElements));
  }

  override layerNorm(
    x: number, rows: number, cols: number, eps: number, gamma: number, beta: number, y: number, mean: number, invstd: number,
  ): void {
    if (rows <= 0) return;
    if (cols <= 0) { super.layerNorm(x, rows, cols, eps, gamma, beta, y, mean, invstd); return; }
    this.argList(x, rows, cols, eps, gamma, beta, y, mean, invstd);
    this.dispatch('layerNorm', abi.K_LN, this.par(rows * cols * 3, this.parallelElements));
  }

  override layerNormBackward(
    x: number, dy: number, rows: number, cols: number, mean: number, invstd: number, gamma: number,
    dx: number, dgamma: number, dbeta: number,
  ): void {
    if (cols <= 0) return;
    this.argList(x, dy, rows, cols, mean, invstd, gamma, dx, dgamma, dbeta);
    this.dispatch('layerNormBackward', abi.K_LN_BWD, this.par(rows * cols * 3, this.parallelElements));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Memory and optimisers.

  override copy(src: number, srcStrides: readonly number[], dst: number, dstStrides: readonly number[], shape: readonly number[]): void {
    const total = shape.reduce((s, d) => s * d, 1);
    if (total <= 0) return;
    const c = collapseAxes(shape, [srcStrides, dstStrides]);
    if (c.shape.length > MAX_RANK) { super.copy(src, srcStrides, dst, dstStrides, shape); return; }
    const r = c.shape.length;
    const args = this.args();
    args[0] = src; args[1] = dst; args[2] = r;
    for (let d = 0; d < r; d++) {
      args[3 + d] = c.shape[d]!; args[3 + r + d] = c.strides[0]![d]!; args[3 + 2 * r + d] = c.strides[1]![d]!;
    }
    this.dispatch('copy', abi.K_COPY, this.par(total, this.parallelElements));
  }

  override fill(dst: number, len: number, value: number): void {
    if (len <= 0) return;
    this.argList(dst, len, value);
    this.dispatch('fill', abi.K_FILL, this.par(len, this.parallelElements * 4));
  }

  override axpy(x: number, y: number, len: number, alpha: number): void {
    if (len <= 0) return;
    this.argList(x, y, len, alpha);
    this.dispatch('axpy', abi.K_AXPY, this.par(len, this.parallelElements));
  }

  override sgdStep(p: number, g: number, momentumBuf: number, len: number, o: SgdUpdate): void {
    if (len <= 0) return;
    this.argList(p, g, momentumBuf, len, o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov ? 1 : 0, o.firstStep ? 1 : 0);
    this.dispatch('sgdStep', abi.K_SGD, this.par(len * 2, this.parallelElements));
  }

  override adamStep(p: number, g: number, m: number, v: number, len: number, o: AdamUpdate): void {
    if (len <= 0) return;
    const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
    this.argList(p, g, m, v, len, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.decoupled ? 1 : 0, o.lr / bc1, Math.sqrt(bc2));
    this.dispatch('adamStep', abi.K_ADAM, this.par(len * 4, this.parallelElements));
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Writes the geometry and four tensor arguments, allocates the kernel's shared workspace, runs, frees. */
  private conv(name: string, id: number, kind: number, p: Conv2dParams, t0: number, t1: number, t2: number, t3: number): void {
    if (p.n <= 0 || p.oc <= 0 || p.c <= 0) return;
    const nth = this.par(convFlops(p), this.parallelFlops);
    const a = this.args();
    writeConvArgs(a, p, t0, t1, t2, t3);
    const ws: number[] = [];
    for (let slot = 0; slot < 3; slot++) {
      const bytes = this.pool.exports.convWorkspace(this.pool.base, kind, slot, nth);
      ws.push(bytes > 0 ? this.heap.alloc(bytes) : 0);
    }
    try {
      new Uint32Array(this.heap.memory.buffer, this.pool.base + SHARED_TABLE, 4).set(ws);
      this.dispatch(name, id, nth);
    } finally {
      for (const ptr of ws) if (ptr) this.heap.free(ptr);
    }
  }
}

/** The kernel module's declared minimum memory (asconfig.json initialMemory: 16 pages). */
const MODULE_MIN_BYTES = 16 * 65536;

function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= 1)) throw new Error(`wasm backend: ${name} must be a number >= 1, got ${value}`);
  return value;
}
