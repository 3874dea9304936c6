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
