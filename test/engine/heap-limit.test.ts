/** The heap's configurable maximum (a shared memory reserves it up front; mobile browsers refuse a large one). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as E from '../../src/engine/index.js';

const MiB = 2 ** 20;

test('a heap grows up to its maximum and no further, saying which limit it hit', { timeout: 10_000 }, () => {
  for (const shared of [true, false]) {
    const heap = new E.Heap({ shared, maximumBytes: 24 * MiB });
    assert.equal(heap.maximumBytes, 24 * MiB);
    assert.throws(() => heap.alloc(40 * MiB), { message: 'heap: out of memory growing from 16 to 41 MiB (limit 24 MiB)' });
    heap.alloc(20 * MiB); // doubling 16 MiB would pass the maximum: growth stops at it instead of failing
    assert.equal(heap.memory.buffer.byteLength, 24 * MiB);
  }
  assert.throws(() => new E.Heap({ maximumBytes: 0 }), { message: 'heap: maximumBytes must be at least 64 KiB, got 0' });
  assert.equal(new E.Heap().maximumBytes, 4096 * MiB, 'default: wasm32\'s 4 GiB');
});

test('the WASM backend runs on 2 threads over a small shared heap', { timeout: 30_000 }, async () => {
  const backend = await E.WasmBackend.create(new E.Heap({ maximumBytes: 24 * MiB }), { threads: 2 });
  try {
    assert.equal(backend.threads, 2);
    const y = E.withBackend(backend, () => E.tidy(() => E.matmul(E.ones([64, 64]), E.ones([64, 64])).toArray()));
    assert.ok(y.every((v) => v === 64));
  } finally {
    backend.dispose();
  }
});

test('a full heap merges free blocks of other sizes to serve an allocation, never overlapping a live one', { timeout: 10_000 }, () => {
  const heap = new E.Heap({ shared: false, initialBytes: 4 * MiB, maximumBytes: 4 * MiB });
  // Fill the heap with 1 MiB-ish blocks, then free every other pair: the free space is in 2-block runs of a size no
  // later request has.
  const block = 0.75 * MiB;
  const ptrs: number[] = [];
  for (;;) {
    try { ptrs.push(heap.alloc(block)); } catch (err) { assert.ok(err instanceof E.HeapExhausted); break; }
  }
  assert.ok(ptrs.length >= 4, `${ptrs.length} blocks`);
  const live = new Set(ptrs);
  for (let i = 0; i + 1 < ptrs.length; i += 3) { heap.free(ptrs[i]!); heap.free(ptrs[i + 1]!); live.delete(ptrs[i]!); live.delete(ptrs[i + 1]!); }
  const big = heap.alloc(1.25 * MiB); // fits only in two merged neighbours
  for (const p of live) assert.ok(big + 1.25 * MiB <= p || p + block <= big, `block at ${big} overlaps live ${p}`);
  // Everything freed: the heap gives the whole space back, so one allocation of nearly all of it succeeds.
  heap.free(big);
  for (const p of live) heap.free(p);
  heap.alloc(2.5 * MiB);
  assert.equal(heap.liveBuffers, 1);
});
