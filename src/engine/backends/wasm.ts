/**
 * WebAssembly SIMD kernels (AssemblyScript, assembly/) on a pool of worker threads sharing the heap's memory.
 * Kernels not yet ported fall through to the ReferenceBackend they extend, which works on the same heap views.
 */
import type { GemmParams } from '../backend.js';
import type { Heap } from '../heap.js';
import { ReferenceBackend } from './reference.js';
import { ARGS, GEMM_KC, GEMM_MC, GEMM_NC, K_GEMM, MAX_ARGS, MAX_THREADS, SCRATCH_TABLE } from './wasm-abi.js';
import { platform, threadsFromEnv } from './wasm-platform.js';
import { WasmPool } from './wasm-pool.js';

export interface WasmBackendOptions {
  /** Threads including the main thread; default CONVLAB_THREADS, else the host's available parallelism. */
  threads?: number;
}

/** Below this many flops a GEMM stays on one thread (waking a worker costs more than it saves). */
const GEMM_PARALLEL_FLOPS = 1 << 21;

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** build/kernels.wasm (shared memory) or build/kernels-single.wasm, relative to the package root. */
function compileKernels(shared: boolean): Promise<WebAssembly.Module> {
  // This file is dist/src/engine/backends/wasm.js: the package root is four levels up.
  const url = new URL(`../../../../build/${shared ? 'kernels.wasm' : 'kernels-single.wasm'}`, import.meta.url);
  let p = moduleCache.get(url.href);
  if (!p) {
    p = platform().then(async (pl) => WebAssembly.compile(await pl.readBinary(url)));
    moduleCache.set(url.href, p);
    p.catch(() => moduleCache.delete(url.href));
  }
  return p;
}

export class WasmBackend extends ReferenceBackend {
  override readonly name: 'wasm' | 'reference' = 'wasm';
  override readonly threads: number;
  private argBuffer: ArrayBufferLike | null = null;
  private argv!: Float64Array;
  private readonly scratch: number[] = [];

  private constructor(heap: Heap, private readonly pool: WasmPool) {
    super(heap);
    this.threads = pool.threads;
  }

  static async create(heap: Heap, opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    if (heap.floatBytes !== 4) throw new Error('wasm backend: needs a float32 heap');
    const pl = await platform();
    let threads = Math.max(1, Math.floor(opts.threads ?? threadsFromEnv(pl)));
    if (!heap.shared) threads = 1;
    threads = Math.min(threads, MAX_THREADS);
    const module = await compileKernels(heap.shared);
    // Per-thread scratch (packed GEMM panels). Allocating first also grows a tiny heap past the module's minimum.
    const bytes = SCRATCH_BYTES;
    const ptrs: number[] = [];
    for (let t = 0; t < threads; t++) ptrs.push(heap.alloc(bytes));
    let pool: WasmPool;
    try {
      pool = await WasmPool.create(module, heap.memory, threads);
    } catch (e) {
      for (const p of ptrs) heap.free(p);
      throw e;
    }
    if (pool.exports.scratchBytesPerThread() > bytes) {
      void pool.dispose();
      for (const p of ptrs) heap.free(p);
      throw new Error('wasm backend: kernel module needs more scratch than wasm-abi.ts provides (rebuild?)');
    }
    const backend = new WasmBackend(heap, pool);
    backend.scratch.push(...ptrs);
    const table = new Uint32Array(heap.memory.buffer, SCRATCH_TABLE, 2 * MAX_THREADS);
    ptrs.forEach((p, t) => { table[2 * t] = p; table[2 * t + 1] = bytes; });
    return backend;
  }

  dispose(): void {
    void this.pool.dispose();
    for (const p of this.scratch.splice(0)) this.heap.free(p);
  }

  // -------------------------------------------------------------------------------------------------------------

  /** The argument slots, re-viewed whenever the memory grew (a non-shared buffer is detached by growth). */
  private args(): Float64Array {
    const buf = this.heap.memory.buffer;
    if (buf !== this.argBuffer) {
      this.argBuffer = buf;
      this.argv = new Float64Array(buf, ARGS, MAX_ARGS);
    }
    return this.argv;
  }

  /** Runs kernel `id` (arguments already written) on `nth` threads, timing it when profiling is on. */
  private dispatch(name: string, id: number, nth: number): void {
    const prof = this.profile;
    if (!prof) { this.pool.run(id, nth); return; }
    const t0 = performance.now();
    this.pool.run(id, nth);
    const ms = performance.now() - t0;
    const e = prof.get(name);
    if (e) { e.calls++; e.ms += ms; } else prof.set(name, { calls: 1, ms });
  }

  private par(work: number, threshold: number): number {
    return work >= threshold ? this.threads : 1;
  }

  // -------------------------------------------------------------------------------------------------------------

  override gemm(p: GemmParams): void {
    if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return;
    const a = this.args();
    a[0] = p.transA ? 1 : 0; a[1] = p.transB ? 1 : 0;
    a[2] = p.m; a[3] = p.n; a[4] = p.k;
    a[5] = p.a; a[6] = p.lda; a[7] = p.b; a[8] = p.ldb; a[9] = p.c; a[10] = p.ldc;
    a[11] = p.accumulate ? 1 : 0;
    a[12] = p.batch; a[13] = p.strideA; a[14] = p.strideB; a[15] = p.strideC;
    this.dispatch('gemm', K_GEMM, this.par(2 * p.m * p.n * p.k * p.batch, GEMM_PARALLEL_FLOPS));
  }
}

/** Per-thread scratch: packed A block, packed B block, edge tile (checked against the module at startup). */
const SCRATCH_BYTES = (GEMM_MC * GEMM_KC + GEMM_KC * GEMM_NC + 128) * 4;
