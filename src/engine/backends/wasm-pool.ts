/**
 * The kernel module instantiated on the main thread and on N−1 workers over one shared WebAssembly.Memory.
 * A job is dispatched through the pool's control block in the heap: the main thread resets the chunk queue (tagged
 * with the job's sequence number), writes the kernel id and arguments, bumps the sequence word and notifies;
 * workers (spinning briefly, then parked in Atomics.wait) wake and claim chunks alongside the main thread, which
 * then waits until every chunk is done. A worker that is not scheduled in time simply finds nothing left to do;
 * one that wakes after the job is over may read the next job's half-written arguments, so job functions write
 * nothing before their first claim and such a worker's trap is discarded (assembly/common.ts, wasm-worker.ts).
 * A trap on any thread fails the pool with one line. Test hooks: setTestHooks, chunkCounts.
 * Without shared memory there are no workers and every job runs on the main thread.
 */
import {
  CTRL_BYTES, CTRL_DONE, CTRL_ERROR, CTRL_KERNEL, CTRL_NTH, CTRL_QUIT, CTRL_SEQ, CTRL_TEST_FLAGS, CTRL_TEST_GROW,
  CTRL_TEST_STALL, CTRL_WQ, TEST_EVERY_THREAD, THREAD_CHUNKS, TRAP_TEXT, TRAP_TEXT_BYTES,
} from './wasm-abi.js';
import { platform, type WorkerHandle } from './wasm-platform.js';

export interface KernelExports {
  run(base: number, tid: number, seq: number): number;
  scratchBytesPerThread(): number;
  staticEnd(): number;
  convWorkspace(base: number, kind: number, slot: number, nth: number): number;
  gemmWorkspace(base: number, nth: number): number;
}

/** Iterations a waiting thread spins on the control word before it sleeps. */
const WORKER_SPIN = 1 << 15;
const MAIN_SPIN = 1 << 14;

export class WasmPool {
  private ctrlView: Int32Array;
  private queueView: BigInt64Array;
  private seq = 0;
  private disposed = false;
  /** Set by the first trap: every later run throws it again. */
  private failure: string | null = null;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly exports: KernelExports,
    private readonly workers: WorkerHandle[],
    /** Byte address of this pool's control block. */
    readonly base: number,
  ) {
    this.ctrlView = new Int32Array(memory.buffer, base, CTRL_BYTES >> 2);
    this.queueView = new BigInt64Array(memory.buffer, base + CTRL_WQ, 1);
  }

  /** The control words; re-viewed after growth, which detaches a non-shared buffer. */
  private get ctrl(): Int32Array {
    if (this.ctrlView.buffer !== this.memory.buffer) {
      this.ctrlView = new Int32Array(this.memory.buffer, this.base, CTRL_BYTES >> 2);
      this.queueView = new BigInt64Array(this.memory.buffer, this.base + CTRL_WQ, 1);
    }
    return this.ctrlView;
  }

  /** Total threads: the main thread plus the workers. */
  get threads(): number {
    return this.workers.length + 1;
  }

  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, base: number): Promise<WasmPool> {
    const imports = { env: { memory, abort: () => { throw new Error('wasm abort'); }, testPause: () => {} } };
    const instance = await WebAssembly.instantiate(module, imports);
    const exports = instance.exports as unknown as KernelExports;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const workers: WorkerHandle[] = [];
    new Int32Array(memory.buffer, base, CTRL_BYTES >> 2).fill(0);
    if (shared && threads > 1) {
      const p = await platform();
      const url = new URL('./wasm-worker.js', import.meta.url);
      const started: WorkerHandle[] = [];
      try {
        for (let i = 1; i < threads; i++) started.push(await p.startWorker(url, { module, memory, tid: i, spin: WORKER_SPIN, base }));
        await Promise.all(started.map((w) => w.ready));
        workers.push(...started);
      } catch (e) {
        // No workers on this host (or they failed to start): run single-threaded rather than not at all.
        await Promise.all(started.map((w) => w.terminate()));
        console.warn(`convlab: wasm worker threads unavailable (${(e as Error).message}); running on one thread`);
      }
    }
    return new WasmPool(memory, exports, workers, base);
  }

  /**
   * Starts a new job: retires the previous job's chunk queue. Must precede writing the job's arguments, so that a
   * thread still working from the previous job's arguments can no longer claim anything.
   */
  begin(): void {
    const ctrl = this.ctrl;
    this.seq = (this.seq + 1) | 0;
    Atomics.store(this.queueView, 0, BigInt.asIntN(64, BigInt(this.seq >>> 0) << 32n));
    Atomics.store(ctrl, CTRL_DONE >> 2, 0);
  }

  /**
   * Runs the job begun with begin() (kernel id `kernel`, arguments written) on up to nth threads. A trap, on any
   * thread, becomes one line naming the kernel and the thread; the pool is unusable after it (other threads may
   * still hold chunks of the failed job). A worker's trap is never cleared: the first job to see it reports it.
   */
  run(kernel: number, nth: number, name: string): void {
    if (this.failure !== null) throw new Error(this.failure);
    const ctrl = this.ctrl;
    const threads = Math.max(1, Math.min(nth, this.threads));
    Atomics.store(ctrl, CTRL_KERNEL >> 2, kernel);
    Atomics.store(ctrl, CTRL_NTH >> 2, threads);
    if (threads > 1) {
      if (this.disposed) throw new Error('wasm backend: used after dispose()');
      Atomics.store(ctrl, CTRL_SEQ >> 2, this.seq);
      Atomics.notify(ctrl, CTRL_SEQ >> 2);
    }
    const total = this.onThisThread(name, () => this.exports.run(this.base, 0, this.seq));
    const DONE = CTRL_DONE >> 2, ERROR = CTRL_ERROR >> 2;
    let spins = 0;
    for (;;) {
      const failed = Atomics.load(ctrl, ERROR);
      if (failed !== 0) this.fail(`kernel ${name} trapped on worker ${failed} (${this.trapText()})`);
      const done = Atomics.load(ctrl, DONE);
      if (done >= total) break;
      if (++spins > MAIN_SPIN) Atomics.wait(ctrl, DONE, done, 5);
    }
  }

  /** Calls into the module on this thread, turning a trap into the pool's failure. */
  private onThisThread(name: string, call: () => number): number {
    try {
      return call();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) this.fail(`kernel ${name} trapped on the calling thread (${e.message})`);
      throw e;
    }
  }

  private fail(what: string): never {
    this.failure = `wasm backend: ${what}; the backend cannot be used after a trap`;
    throw new Error(this.failure);
  }

  /** The message a worker left with its trap. */
  private trapText(): string {
    const bytes = new Uint8Array(this.memory.buffer, this.base + TRAP_TEXT, TRAP_TEXT_BYTES);
    const end = bytes.indexOf(0);
    return String.fromCharCode(...bytes.subarray(0, end < 0 ? bytes.length : end));
  }

  /**
   * Test hooks, off by default. everyThread: a job on nth ≥ 2 threads gives its first chunk to thread 0, its second
   * to thread 1, …, so every thread provably works on it when it has that many chunks (a thread waits for the
   * others' first claims: tests only). stallPerMille: chance that a worker, after reading the kernel id and before
   * the job function, waits until the main thread has begun another job (bounded): the late-worker race. growPerMille: chance that a worker grows the memory by a page as it wakes up.
   */
  setTestHooks(h: { everyThread?: boolean; stallPerMille?: number; growPerMille?: number }): void {
    const ctrl = this.ctrl;
    Atomics.store(ctrl, CTRL_TEST_FLAGS >> 2, h.everyThread ? TEST_EVERY_THREAD : 0);
    Atomics.store(ctrl, CTRL_TEST_STALL >> 2, h.stallPerMille ?? 0);
    Atomics.store(ctrl, CTRL_TEST_GROW >> 2, h.growPerMille ?? 0);
  }

  /** Chunks each thread (0 = the calling thread) has finished since the last resetChunkCounts(). */
  chunkCounts(): number[] {
    return Array.from(new Int32Array(this.memory.buffer, this.base + THREAD_CHUNKS, this.threads));
  }

  resetChunkCounts(): void {
    new Int32Array(this.memory.buffer, this.base + THREAD_CHUNKS, this.threads).fill(0);
  }

  /** Stops the workers (they leave their loop at once; termination completes asynchronously). */
  dispose(): Promise<unknown> {
    if (this.disposed || this.workers.length === 0) { this.disposed = true; return Promise.resolve(); }
    this.disposed = true;
    const ctrl = this.ctrl;
    Atomics.store(ctrl, CTRL_QUIT >> 2, 1);
    Atomics.add(ctrl, CTRL_SEQ >> 2, 1);
    Atomics.notify(ctrl, CTRL_SEQ >> 2);
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}
