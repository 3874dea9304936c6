/**
 * The kernel module instantiated on the main thread and on N−1 workers over one shared WebAssembly.Memory.
 * A job is dispatched through the control block in the heap's reserved first MiB: the main thread writes the
 * kernel id and arguments, bumps the sequence word and notifies; workers (spinning briefly, then parked in
 * Atomics.wait) run their share while the main thread runs share 0, then the main thread waits for the done count.
 * Without shared memory there are no workers and every job runs on the main thread.
 */
import { CTRL_BYTES, CTRL_DONE, CTRL_ERROR, CTRL_KERNEL, CTRL_NTH, CTRL_QUIT, CTRL_SEQ } from './wasm-abi.js';
import { platform, type WorkerHandle } from './wasm-platform.js';

export interface KernelExports {
  run(base: number, tid: number, nth: number): void;
  scratchBytesPerThread(): number;
  convWorkspace(base: number, kind: number, slot: number, nth: number): number;
}

/** Iterations a waiting thread spins on the control word before it sleeps. */
const WORKER_SPIN = 1 << 16;
const MAIN_SPIN = 1 << 16;

export class WasmPool {
  private ctrlView: Int32Array;
  private disposed = false;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly exports: KernelExports,
    private readonly workers: WorkerHandle[],
    /** Byte address of this pool's control block. */
    readonly base: number,
  ) {
    this.ctrlView = new Int32Array(memory.buffer, base, CTRL_BYTES >> 2);
  }

  /** The control words; re-viewed after growth, which detaches a non-shared buffer. */
  private get ctrl(): Int32Array {
    if (this.ctrlView.buffer !== this.memory.buffer) this.ctrlView = new Int32Array(this.memory.buffer, this.base, CTRL_BYTES >> 2);
    return this.ctrlView;
  }

  /** Total threads: the main thread plus the workers. */
  get threads(): number {
    return this.workers.length + 1;
  }

  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, base: number): Promise<WasmPool> {
    const imports = { env: { memory, abort: () => { throw new Error('wasm abort'); } } };
    const instance = await WebAssembly.instantiate(module, imports);
    const exports = instance.exports as unknown as KernelExports;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const workers: WorkerHandle[] = [];
    new Int32Array(memory.buffer, base, CTRL_BYTES >> 2).fill(0);
    if (shared && threads > 1) {
      const p = await platform();
      const url = new URL('./wasm-worker.js', import.meta.url);
      const started = await Promise.all(
        Array.from({ length: threads - 1 }, (_, i) => p.startWorker(url, { module, memory, tid: i + 1, spin: WORKER_SPIN, base })),
      );
      try {
        await Promise.all(started.map((w) => w.ready));
      } catch (e) {
        await Promise.all(started.map((w) => w.terminate()));
        throw e;
      }
      workers.push(...started);
    }
    return new WasmPool(memory, exports, workers, base);
  }

  /**
   * Runs the kernel whose arguments are already in the argument slots on `nth` threads (1 ≤ nth ≤ threads) and
   * returns when every thread is done.
   */
  run(kernel: number, nth: number): void {
    const ctrl = this.ctrl;
    ctrl[CTRL_KERNEL >> 2] = kernel;
    if (nth <= 1 || this.workers.length === 0) {
      this.exports.run(this.base, 0, 1);
      return;
    }
    if (this.disposed) throw new Error('wasm backend: used after dispose()');
    const DONE = CTRL_DONE >> 2;
    Atomics.store(ctrl, CTRL_NTH >> 2, Math.min(nth, this.threads));
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CTRL_ERROR >> 2, 0);
    Atomics.add(ctrl, CTRL_SEQ >> 2, 1);
    Atomics.notify(ctrl, CTRL_SEQ >> 2);
    let error: unknown = null;
    try {
      this.exports.run(this.base, 0, Math.min(nth, this.threads));
    } catch (e) {
      error = e;
    }
    const want = this.workers.length;
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done >= want) break;
      if (++spins > MAIN_SPIN) Atomics.wait(ctrl, DONE, done, 100);
    }
    if (error) throw error;
    const failed = Atomics.load(ctrl, CTRL_ERROR >> 2);
    if (failed !== 0) throw new Error(`wasm backend: kernel ${kernel} trapped on worker ${failed}`);
  }

  /** Stops the workers (they leave their loop at once; termination completes asynchronously). */
  dispose(): Promise<unknown> {
    if (this.disposed || this.workers.length === 0) { this.disposed = true; return Promise.resolve(); }
    this.disposed = true;
    Atomics.store(this.ctrl, CTRL_QUIT >> 2, 1);
    Atomics.add(this.ctrl, CTRL_SEQ >> 2, 1);
    Atomics.notify(this.ctrl, CTRL_SEQ >> 2);
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}
