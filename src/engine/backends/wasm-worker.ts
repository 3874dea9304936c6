/**
 * Worker entry of the WASM thread pool. Instantiates the kernel module over the shared memory, then loops: wait for
 * the job sequence number to change, claim and run chunks of that job until none is left. Never returns to the
 * event loop; the pool stops it with the quit flag (and terminate()).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTRL_BYTES, CTRL_ERROR, CTRL_QUIT, CTRL_SEQ } from './wasm-abi.js';

interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
  spin: number;
  /** Byte address of the pool's control block. */
  base: number;
}

const { module, memory, tid, spin, base } = workerData as WorkerInit;

function main(): void {
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  } catch (e) {
    parentPort!.postMessage(`wasm worker ${tid} failed to instantiate: ${(e as Error).message}`);
    return;
  }
  const run = instance.exports.run as (base: number, tid: number, seq: number) => number;
  const ctrl = new Int32Array(memory.buffer, base, CTRL_BYTES >> 2);
  const SEQ = CTRL_SEQ >> 2, QUIT = CTRL_QUIT >> 2, ERROR = CTRL_ERROR >> 2;
  let seq = Atomics.load(ctrl, SEQ);
  parentPort!.postMessage('ready');
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, SEQ) === seq) {
      if (++spins > spin) Atomics.wait(ctrl, SEQ, seq);
    }
    seq = Atomics.load(ctrl, SEQ);
    if (Atomics.load(ctrl, QUIT) !== 0) break;
    try {
      run(base, tid, seq);
    } catch {
      Atomics.store(ctrl, ERROR, tid);
    }
  }
}

main();
