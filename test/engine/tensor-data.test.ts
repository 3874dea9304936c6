/**
 * The tensor data API that every layer above the engine uses instead of the heap: copyFrom, readInto, fill,
 * argmaxRows and zeroGrad, with their error messages, on the reference backend and (once built) on WASM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Backend, Tensor } from '../../src/engine/index.js';
import { argmaxRows } from '../../src/metrics/index.js';
import { loadWasmBackend } from '../fixtures.js';

const TIMEOUT = { timeout: 20_000 };

/** The whole message, with the tensor's id (which depends on test order) left open. */
const message = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('#ID', '#\\d+')}$`);

/** Runs fn on `backend` (a fresh reference heap by default) and checks that it frees all it allocates. */
function onHeap(fn: () => void, backend: () => Backend = () => new E.ReferenceBackend(new E.Heap({ shared: false }))): () => void {
  return () => E.withBackend(backend(), () => {
    const before = E.liveBuffers(); // the WASM backend keeps scratch buffers of its own on the heap
    E.tidy(fn);
    assert.equal(E.liveBuffers(), before, 'live buffers at the end of the test');
  });
}

/** Allocates a first tensor so that the one under test does not sit at the heap's first address. */
function offsetTensor(shape: number[], dtype: 'float32' | 'int32' = 'float32'): Tensor {
  E.empty(E.getBackend(), [3]);
  return E.empty(E.getBackend(), shape, dtype);
}

function dataRoundTrips(): void {
  const t = offsetTensor([2, 3]);
  const sources: [string, ArrayLike<number>][] = [
    ['Float32Array', new Float32Array([1, -2, 3.5, 4, 5, 6])],
    ['Float64Array', new Float64Array([0.25, 2, -3, 4, 5, 7])],
    ['number[]', [9, 8, 7, 6, 5, 4]],
  ];
  for (const [name, source] of sources) {
    assert.equal(t.copyFrom(source), t, `${name}: copyFrom returns the tensor`);
    assert.deepEqual([...t.readInto(new Float32Array(6))], [...Float32Array.from(source)], `${name}: readInto(Float32Array)`);
    assert.deepEqual([...t.readInto(new Float64Array(6))], [...Float32Array.from(source)], `${name}: readInto(Float64Array)`);
    assert.deepEqual([...t.toArray()], [...Float32Array.from(source)], `${name}: toArray`);
  }
  const target = new Float32Array(6);
  assert.equal(t.readInto(target), target, 'readInto returns its target');

  // A neighbour written after t must not be touched by t's writes, and t must read its own block.
  const neighbour = E.empty(E.getBackend(), [4]).fill(-1);
  t.fill(2.5);
  assert.deepEqual([...t.toArray()], [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  assert.deepEqual([...neighbour.toArray()], [-1, -1, -1, -1]);

  const labels = offsetTensor([4], 'int32');
  labels.copyFrom(new Int32Array([3, -1, 0, 2 ** 31 - 1]));
  assert.deepEqual([...labels.readInto(new Int32Array(4))], [3, -1, 0, 2 ** 31 - 1]);
  labels.copyFrom([7, 6, 5, 4]);
  assert.deepEqual([...labels.readInto(new Float64Array(4))], [7, 6, 5, 4], 'an int32 tensor reads into floats');
  labels.fill(-7);
  assert.deepEqual([...labels.toArray()], [-7, -7, -7, -7]);
}

test('tensor data: copyFrom, readInto and fill round-trip on the reference backend', TIMEOUT, onHeap(dataRoundTrips));

test('tensor data: copyFrom, readInto and fill round-trip on the WASM backend', TIMEOUT, async (t) => {
  const wasm = await loadWasmBackend(1);
  if (typeof wasm === 'string') return t.skip(wasm);
  try {
    onHeap(dataRoundTrips, () => wasm)();
  } finally {
    wasm.dispose?.();
  }
});

test('tensor data: wrong lengths, dtypes and disposed tensors are refused with one clear line', TIMEOUT, onHeap(() => {
  const f = E.empty(E.getBackend(), [2, 3]);
  const i = E.empty(E.getBackend(), [3], 'int32');
  const dead = E.empty(E.getBackend(), [2]);
  dead.dispose();
  const cases: [string, () => unknown, string][] = [
    ['copyFrom too short', () => f.copyFrom([1, 2, 3, 4, 5]), 'copyFrom: float32 tensor #ID [2, 3] has 6 elements, source has 5'],
    ['copyFrom too long', () => f.copyFrom(new Float32Array(7)), 'copyFrom: float32 tensor #ID [2, 3] has 6 elements, source has 7'],
    ['readInto wrong length', () => f.readInto(new Float32Array(5)), 'readInto: float32 tensor #ID [2, 3] has 6 elements, target has 5'],
    ['readInto float into int', () => f.readInto(new Int32Array(6)), 'readInto: float32 tensor #ID [2, 3] cannot be read into an Int32Array; pass a Float32Array or Float64Array'],
    ['copyFrom float array into int', () => i.copyFrom(new Float32Array(3)), 'copyFrom: int32 tensor #ID [3] cannot take Float32Array data; pass an Int32Array or integers'],
    ['copyFrom fraction into int', () => i.copyFrom([1, 2.5, 3]), 'copyFrom: int32 tensor #ID [3] got 2.5 at index 1; expected a 32-bit integer'],
    ['copyFrom out of int32 range', () => i.copyFrom([2 ** 31, 0, 0]), 'copyFrom: int32 tensor #ID [3] got 2147483648 at index 0; expected a 32-bit integer'],
    ['fill int with a fraction', () => i.fill(0.5), 'fill: int32 tensor #ID [3] needs a 32-bit integer, got 0.5'],
    ['argmaxRows of a 1-D tensor', () => i.argmaxRows(), 'argmaxRows: expected a 2-D tensor [rows, columns], got [3]'],
    ['argmaxRows of a 3-D tensor', () => E.empty(E.getBackend(), [2, 2, 2]).argmaxRows(), 'argmaxRows: expected a 2-D tensor [rows, columns], got [2, 2, 2]'],
    ['argmaxRows without columns', () => E.empty(E.getBackend(), [2, 0]).argmaxRows(), 'argmaxRows: float32 tensor #ID [2, 0] has no columns to choose from'],
    ['copyFrom after dispose', () => dead.copyFrom([1, 2]), 'copyFrom: tensor #ID [2] was disposed'],
    ['readInto after dispose', () => dead.readInto(new Float32Array(2)), 'readInto: tensor #ID [2] was disposed'],
    ['fill after dispose', () => dead.fill(0), 'fill: tensor #ID [2] was disposed'],
  ];
  for (const [name, fn, expected] of cases) assert.throws(fn, { message: message(expected) }, name);
  // A refused write leaves the data as it was.
  i.copyFrom([4, 5, 6]);
  assert.throws(() => i.copyFrom([1, 2.5, 3]));
  assert.deepEqual([...i.toArray()], [4, 5, 6]);
}));

test('tensor data: argmaxRows picks each row\'s largest value, ties to the lowest column, as the metrics do', TIMEOUT, onHeap(() => {
  const cases: [string, number[], number[], number[]][] = [
    ['one per row', [2, 3], [0.1, 0.7, 0.2, 5, -1, 4], [1, 0]],
    ['ties go to the lowest column', [2, 4], [1, 3, 3, 0, 2, 2, 2, 2], [1, 0]],
    ['all negative', [1, 3], [-5, -2, -3], [1]],
    ['the last column', [3, 2], [0, 1, -1, 0, 1e-7, 2e-7], [1, 1, 1]],
    ['a NaN never wins', [2, 3], [Number.NaN, 1, 2, 0, Number.NaN, -1], [0, 0]],
    ['one column', [3, 1], [4, 5, 6], [0, 0, 0]],
    ['no rows', [0, 4], [], []],
  ];
  for (const [name, shape, values, expected] of cases) {
    const columns = shape[1] ?? 0;
    const scores = offsetTensor(shape).copyFrom(values);
    assert.deepEqual([...scores.argmaxRows()], expected, `${name}: Tensor.argmaxRows`);
    if (columns > 0) assert.deepEqual([...argmaxRows(values, columns)], expected, `${name}: metrics argmaxRows`);
  }
  const labels = offsetTensor([2, 3], 'int32').copyFrom([1, 9, 9, -4, -3, -8]);
  assert.deepEqual([...labels.argmaxRows()], [1, 1], 'int32 tensors too');
}));

test('tensor data: zeroGrad drops and frees every gradient', TIMEOUT, onHeap(() => {
  const a = E.tensor([1, 2, 3], [3], { requiresGrad: true }).keep();
  const b = E.tensor([4, 5], [2], { requiresGrad: true }).keep();
  E.backward(E.add(E.sum(E.mul(a, a)), E.sum(b)));
  const grads = [a.grad, b.grad];
  assert.ok(grads.every((g) => g !== null && !g.isDisposed), 'backward left gradients');
  E.zeroGrad([a, b]);
  assert.equal(a.grad, null);
  assert.equal(b.grad, null);
  assert.ok(grads.every((g) => g?.isDisposed), 'the old gradients were freed');
  a.dispose();
  b.dispose();
}));
