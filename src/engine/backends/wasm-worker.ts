/**
 * Worker entry of the WASM thread pool. Instantiates the kernel module over the shared memory, then loops: wait for
 * the job sequence number to change, claim and run chunks of that job until none is left. Never returns to the
 * event loop; the pool stops it with the quit flag (and terminate()).
 * Runs as a Node worker_thread (its data in workerData) or as a browser module Worker (its data in the first message).
 */
import {
  CTRL_BYTES, CTRL_ERROR, CTRL_QUIT, CTRL_SEQ, CTRL_TEST_GROW, CTRL_TEST_STALL, CTRL_WQ, TRAP_TEXT, TRAP_TEXT_BYTES,
} from './wasm-abi.js';

interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
  spin: number;
  /** Byte address of the pool's control block. */
  base: number;
}

/** The browser side of a dedicated worker's global scope: just what this file uses. */
interface BrowserWorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
}

let memory: WebAssembly.Memory, tid = 0, base = 0;

function main({ module, memory: mem, tid: id, spin, base: at }: WorkerInit, post: (message: string) => void): void {
  memory = mem; tid = id; base = at;
  rand = 0x9e3779b9 ^ tid;
  let instance: WebAssembly.Instance;
  try {
    const abort = (): never => { throw new Error('wasm abort'); };
    instance = new WebAssembly.Instance(module, { env: { memory, abort, testPause } });
  } catch (e) {
    post(`wasm worker ${tid} failed to instantiate: ${(e as Error).message}`);
    return;
  }
  const run = instance.exports.run as (base: number, tid: number, seq: number) => number;
  const ctrl = new Int32Array(memory.buffer, base, CTRL_BYTES >> 2);
  const SEQ = CTRL_SEQ >> 2, QUIT = CTRL_QUIT >> 2;
  let seq = Atomics.load(ctrl, SEQ);
  post('ready');
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, SEQ) === seq) {
      if (++spins > spin) Atomics.wait(ctrl, SEQ, seq);
    }
    seq = Atomics.load(ctrl, SEQ);
    if (Atomics.load(ctrl, QUIT) !== 0) break;
    // Test hook (off unless a test sets it): grow the memory from this thread as the job starts.
    const grow = Atomics.load(ctrl, CTRL_TEST_GROW >> 2);
    if (grow !== 0 && random() % 1000 < grow) memory.grow(1);
    try {
      run(base, tid, seq);
    } catch (e) {
      // A job that is over when its trap is caught was never this worker's: had it held a chunk, the main thread
      // would still be waiting for it. It read a half-written next job before its first claim (wrote nothing).
      if (jobIsCurrent(seq)) reportTrap(e, ctrl);
    }
  }
}

let rand = 0x9e3779b9;
function random(): number {
  rand ^= rand << 13; rand ^= rand >>> 17; rand ^= rand << 5;
  return rand >>> 0;
}

/** Bound on a stall's wait for the work-queue word to move on. */
const STALL_LIMIT = 1 << 16;

/**
 * Test hook, called by the kernel module just before it enters a job's function, when stalls are on: with the
 * chance set by the pool, waits until the main thread has begun another job (bounded: a thread that holds a chunk
 * holds the job open), then a random few more spins. A thread held here between waking and claiming arrives at the job
 * function late, while the next job is being written.
 */
function testPause(): void {
  const ctrl = new Int32Array(memory.buffer, base, CTRL_BYTES >> 2);
  const r = random();
  if (r % 1000 >= Atomics.load(ctrl, CTRL_TEST_STALL >> 2)) return;
  const wq = new BigInt64Array(memory.buffer, base + CTRL_WQ, 1);
  const job = Atomics.load(wq, 0) >> 32n;
  for (let i = 0; i < STALL_LIMIT && Atomics.load(wq, 0) >> 32n === job; i++);
  const extra = ((r >>> 10) & 1023) >>> ((r >>> 20) & 15);
  for (let i = 0; i < extra; i++) Atomics.load(ctrl, 0);
}

/** Whether job `seq` is still the one in the work-queue word. */
function jobIsCurrent(seq: number): boolean {
  const wq = new BigInt64Array(memory.buffer, base + CTRL_WQ, 1);
  return Number(Atomics.load(wq, 0) >> 32n) === seq;
}

/** Leaves the trap's message for the main thread, then flags the error. */
function reportTrap(e: unknown, ctrl: Int32Array): void {
  const text = String(e instanceof Error ? e.message : e).slice(0, TRAP_TEXT_BYTES - 1);
  const bytes = new Uint8Array(ctrl.buffer, base + TRAP_TEXT, TRAP_TEXT_BYTES);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0x7f;
  bytes[text.length] = 0;
  Atomics.store(ctrl, CTRL_ERROR >> 2, tid);
}

if (typeof process !== 'undefined' && !!process.versions?.node) {
  const { parentPort, workerData } = await import('node:worker_threads');
  main(workerData as WorkerInit, (m) => parentPort!.postMessage(m));
} else {
  const scope = globalThis as unknown as BrowserWorkerScope;
  scope.onmessage = (e) => {
    scope.onmessage = null;
    main(e.data as WorkerInit, (m) => scope.postMessage(m));
  };
}
