/** countMacs: the multiply-accumulates of conv2d, linear and matmul during one call, from a real forward pass. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';

const onReference = (fn: () => void) => (): void => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.noGrad(() => E.tidy(() => { fn(); })));

test('countMacs: each op counts its multiply-accumulates', onReference(() => {
  const x = (shape: number[]): E.Tensor => E.zeros(shape);
  const cases: [string, () => void, number][] = [
    ['conv2d 2×3×6×6 → 4 channels, 3×3, padding 1: n·oc·oh·ow·c·kh·kw', () => E.conv2d(x([2, 3, 6, 6]), x([4, 3, 3, 3]), null, { padding: 1 }), 2 * 4 * 6 * 6 * 3 * 9],
    ['depthwise conv2d (groups 4) counts c/groups inputs per output', () => E.conv2d(x([1, 4, 6, 6]), x([4, 1, 3, 3]), null, { padding: 1, groups: 4 }), 4 * 36 * 9],
    ['strided conv2d counts output positions', () => E.conv2d(x([1, 1, 7, 7]), x([2, 1, 3, 3]), null, { stride: 2 }), 2 * 9 * 9],
    ['linear 3×7 → 5 (the bias adds no MACs)', () => E.linear(x([3, 7]), x([5, 7]), x([5])), 3 * 5 * 7],
    ['batched matmul [2,4,6]·[2,6,5]', () => E.matmul(x([2, 4, 6]), x([2, 6, 5])), 2 * 4 * 5 * 6],
    ['elementwise ops and pooling count nothing', () => E.maxPool2d(E.relu(E.add(x([1, 2, 4, 4]), x([1, 2, 4, 4]))), 2), 0],
  ];
  for (const [name, fn, expected] of cases) assert.equal(E.countMacs(fn), expected, name);
}));

test('countMacs: LeNet-5 has 416,520 MACs per 28×28 image, and a batch of 3 three times that', onReference(() => {
  // conv1 6·28·28·25 + conv2 16·10·10·150 + fc 400·120 + 120·84 + 84·10
  const perImage = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10;
  assert.equal(perImage, 416520);
  const m = createModel('lenet5').eval();
  assert.equal(E.countMacs(() => { m.forward(E.zeros([1, 1, 28, 28])); }), perImage);
  assert.equal(E.countMacs(() => { m.forward(E.zeros([3, 1, 28, 28])); }), 3 * perImage);
  m.dispose();
}));

test('outside countMacs nothing is counted; errors pass through', onReference(() => {
  E.conv2d(E.zeros([1, 1, 4, 4]), E.zeros([1, 1, 3, 3])); // no count active: must not leak into the next one
  assert.equal(E.countMacs(() => { E.matmul(E.zeros([2, 3]), E.zeros([3, 4])); }), 24);
  assert.equal(E.countMacs(() => undefined), 0);
  assert.throws(() => E.countMacs(() => { throw new Error('boom'); }), /^Error: boom$/, 'errors pass through');
}));

test('countMacs nests: an inner count reports its own MACs and they also add to the enclosing count', { timeout: 10_000 }, onReference(() => {
  const x = (shape: number[]): E.Tensor => E.zeros(shape);
  let inner = -1;
  const outer = E.countMacs(() => {
    E.linear(x([1, 3]), x([2, 3]));                                    // 6
    inner = E.countMacs(() => { E.linear(x([1, 4]), x([5, 4])); });    // 20
    E.countMacs(() => E.countMacs(() => { E.matmul(x([2, 2]), x([2, 2])); })); // 8, two levels down
  });
  assert.equal(inner, 20);
  assert.equal(outer, 6 + 20 + 8);
}));
