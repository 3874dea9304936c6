/**
 * The late-worker race, pinned down without timing: a thread that runs a job after the main thread has retired it
 * and begun writing the next one. It must find nothing to do, whatever the control block holds (here the next
 * job's half-written arguments under the old kernel id), and traps must reach the caller as one line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Heap } from '../../../src/engine/heap.js';
import * as abi from '../../../src/engine/backends/wasm-abi.js';
import { WasmPool } from '../../../src/engine/backends/wasm-pool.js';
import { WasmBackend } from '../../../src/engine/backends/wasm.js';

let heap: Heap;
let base: number;
let pool: WasmPool;

before(async () => {
  heap = new Heap();
  base = heap.alloc(abi.CTRL_BYTES);
  const module = await WebAssembly.compile(await readFile(new URL('../../../../build/kernels.wasm', import.meta.url)));
  pool = await WasmPool.create(module, heap.memory, 1, base);
});

after(async () => {
  await pool.dispose();
  heap.free(base);
});

describe('a worker that arrives after its job is over', () => {
  const kernels: [string, number][] = [
    ['gemm', abi.K_GEMM], ['conv forward', abi.K_CONV_FWD], ['conv input grad', abi.K_CONV_BWD_INPUT],
    ['conv weight grad', abi.K_CONV_BWD_WEIGHT], ['max pool', abi.K_MAXPOOL], ['unary', abi.K_UNARY],
  ];
  for (const [name, kernel] of kernels) {
    it(`${name}: does nothing when the next job's arguments are half written`, () => {
      // Job n is over; job n+1 has begun: a relu's arguments (op 0, pointers, length) over zeros, old kernel id.
      pool.begin();
      const args = new Float64Array(heap.memory.buffer, base + abi.ARGS, abi.MAX_ARGS);
      args.fill(0);
      args.set([abi.U_RELU, 300_000, 400_000, 5000, 0]);
      const ctrl = new Int32Array(heap.memory.buffer, base, abi.CTRL_BYTES >> 2);
      ctrl[abi.CTRL_KERNEL >> 2] = kernel;
      ctrl[abi.CTRL_NTH >> 2] = 2;
      const done = ctrl[abi.CTRL_DONE >> 2];
      const seq = currentSeq() - 1;
      assert.equal(pool.exports.run(base, 1, seq), 0);
      assert.equal(ctrl[abi.CTRL_DONE >> 2], done, 'no chunk was done');
    });
  }
});

/** The job number in the work-queue word (the pool's current job). */
function currentSeq(): number {
  return Number(new BigInt64Array(heap.memory.buffer, base + abi.CTRL_WQ, 1)[0]! >> 32n);
}

describe('traps', () => {
  it('reach the caller as one line naming the kernel and thread, and the backend refuses further work', async () => {
    const h = new Heap();
    const be = await WasmBackend.create(h, { threads: 2 });
    try {
      const outside = h.memory.buffer.byteLength / 4 + 1000;
      const expected = /^wasm backend: kernel fill trapped on the calling thread \(memory access out of bounds\); the backend cannot be used after a trap$/;
      assert.throws(() => be.fill(outside, 10, 0), { message: expected });
      assert.throws(() => be.fill(0, 10, 0), { message: expected });
    } finally {
      be.dispose();
    }
  });
});
