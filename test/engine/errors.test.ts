/**
 * Error messages for misuse, one table per family: every shape error names the op and both shapes, loss inputs
 * are validated, and backward refuses what it cannot do. Then NaN propagation: a NaN is never turned into a
 * number by relu, max pooling, softmax or cross-entropy (on the reference backend, and on WASM once built).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Backend, Tensor } from '../../src/engine/index.js';
import { Conv2d, Linear, type Module } from '../../src/nn/index.js';
import { createModel } from '../../src/models/index.js';
import { loadWasmBackend } from '../fixtures.js';

/** The whole message, literally. */
const exact = (message: string): RegExp => new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

const z = (shape: number[]): Tensor => E.zeros(shape);
const g = (shape: number[]): Tensor => E.zeros(shape, { requiresGrad: true });

/** Runs fn on a throwaway module and frees the module's parameters whatever happens. */
function withModule(make: () => Module, fn: (m: Module) => unknown): () => void {
  return () => {
    const m = make();
    try { fn(m); } finally { m.dispose(); }
  };
}

const families: Record<string, [string, () => unknown, string][]> = {
  broadcasting: [
    ['add', () => E.add(z([2, 3]), z([4])), 'add: shapes [2, 3] and [4] cannot be broadcast together'],
    ['sub', () => E.sub(z([2, 3]), z([3, 2])), 'sub: shapes [2, 3] and [3, 2] cannot be broadcast together'],
    ['mul', () => E.mul(z([5, 1, 4]), z([2, 3])), 'mul: shapes [5, 1, 4] and [2, 3] cannot be broadcast together'],
    ['div', () => E.div(z([3]), z([2, 4])), 'div: shapes [3] and [2, 4] cannot be broadcast together'],
    ['add int32', () => E.add(E.intTensor([1, 2]), z([2])), 'add: expected a float32 tensor, got int32 [2]'],
    ['expand', () => E.expand(z([3, 2]), [2, 4, 4]), 'expand: cannot expand: [3, 2] and [2, 4, 4]'],
  ],
  matmul: [
    ['inner dimensions', () => E.matmul(z([2, 3]), z([4, 5])), 'matmul: inner dimensions differ (3 vs 4): [2, 3] and [4, 5]'],
    ['batched inner dimensions', () => E.matmul(z([2, 3, 4]), z([2, 5, 6])), 'matmul: inner dimensions differ (4 vs 5): [2, 3, 4] and [2, 5, 6]'],
    ['batch dimensions', () => E.matmul(z([2, 3, 4]), z([3, 4, 5])), 'matmul: batch dimensions cannot be broadcast together: [2, 3, 4] and [3, 4, 5]'],
    ['1-d operand', () => E.matmul(z([3]), z([3, 4])), 'matmul: operands must have at least 2 dimensions: [3] and [3, 4]'],
  ],
  conv2d: [
    ['channel mismatch', () => E.conv2d(z([1, 3, 5, 5]), z([2, 4, 3, 3])), 'conv2d: input has 3 channels but weight expects 4: [1, 3, 5, 5] and [2, 4, 3, 3]'],
    ['channel mismatch with groups', () => E.conv2d(z([1, 4, 5, 5]), z([4, 1, 3, 3]), null, { groups: 2 }),
      'conv2d: input has 4 channels but weight expects 2: [1, 4, 5, 5] and [4, 1, 3, 3]'],
    ['groups do not divide channels', () => E.conv2d(z([1, 3, 5, 5]), z([2, 1, 3, 3]), null, { groups: 2 }),
      'conv2d: channels are not divisible by groups=2: [1, 3, 5, 5] and [2, 1, 3, 3]'],
    ['bias length', () => E.conv2d(z([1, 3, 5, 5]), z([2, 3, 3, 3]), z([3])), 'conv2d: bias does not match weight: [3] and [2, 3, 3, 3]'],
    ['kernel larger than input', () => E.conv2d(z([1, 3, 2, 2]), z([2, 3, 3, 3])), 'conv2d: kernel is larger than the padded input: [1, 3, 2, 2] and [2, 3, 3, 3]'],
    ['input rank', () => E.conv2d(z([3, 5, 5]), z([2, 3, 3, 3])), 'conv2d: input must be [n, c, h, w]: [3, 5, 5]'],
    ['Conv2d module', withModule(() => new Conv2d(3, 8, 3), (m) => m.forward(z([2, 1, 8, 8]))),
      'conv2d: input has 1 channels but weight expects 3: [2, 1, 8, 8] and [8, 3, 3, 3]'],
    ['LeNet-5 on RGB input', withModule(() => createModel('lenet5'), (m) => m.forward(z([2, 3, 28, 28]))),
      'conv2d: input has 3 channels but weight expects 1: [2, 3, 28, 28] and [6, 1, 5, 5]'],
  ],
  linear: [
    ['feature mismatch', () => E.linear(z([2, 3]), z([5, 4])), 'linear: input features 3 do not match weight: [2, 3] and [5, 4]'],
    ['bias length', () => E.linear(z([2, 4]), z([5, 4]), z([4])), 'linear: bias does not match weight: [4] and [5, 4]'],
    ['Linear module', withModule(() => new Linear(4, 5), (m) => m.forward(z([2, 3]))), 'linear: input features 3 do not match weight: [2, 3] and [5, 4]'],
    ['LeNet-5 on 32×32 input', withModule(() => createModel('lenet5'), (m) => m.forward(z([2, 1, 32, 32]))),
      'linear: input features 576 do not match weight: [2, 576] and [120, 400]'],
  ],
  shape: [
    ['concat', () => E.concat([z([2, 3]), z([2, 4])], 0), 'concat: shapes differ outside axis 0: [2, 3] and [2, 4]'],
    ['concat rank', () => E.concat([z([2, 3]), z([2, 3, 1])], 0), 'concat: shapes differ outside axis 0: [2, 3] and [2, 3, 1]'],
    ['concat axis 1', () => E.concat([z([2, 3]), z([4, 1])], 1), 'concat: shapes differ outside axis 1: [2, 3] and [4, 1]'],
    ['reshape', () => E.reshape(z([2, 3]), [4]), 'reshape: cannot reshape: [2, 3] and [4]'],
    ['reshape with -1', () => E.reshape(z([2, 3]), [4, -1]), 'reshape: cannot reshape: [2, 3] and [4, -1]'],
  ],
  normalisation: [
    ['batchNorm running mean', () => E.batchNorm(z([2, 3, 4, 4]), z([4]), z([4]), null, null, { training: true }),
      'batchNorm: expected [3] per-channel tensors: [2, 3, 4, 4] and [4]'],
    ['batchNorm weight', () => E.batchNorm(z([2, 3, 4, 4]), null, null, z([2]), null, { training: true }),
      'batchNorm: expected [3] per-channel tensors: [2, 3, 4, 4] and [2]'],
    ['layerNorm', () => E.layerNorm(z([2, 3, 8]), [4], null, null), 'layerNorm: normalized shape does not match the input: [2, 3, 8] and [4]'],
  ],
  crossEntropy: [
    ['target too large', () => E.crossEntropy(z([2, 5]), E.intTensor([1, 5])), 'crossEntropy: target 5 at index 1 is out of range for 5 classes'],
    ['negative target', () => E.crossEntropy(z([2, 5]), E.intTensor([-1, 0])), 'crossEntropy: target -1 at index 0 is out of range for 5 classes'],
    ['float target', () => E.crossEntropy(z([2, 5]), E.tensor([1, 0])), 'crossEntropy: target must be an int32 tensor of class indices, got float32'],
    ['class weights', () => E.crossEntropy(z([2, 5]), E.intTensor([1, 0]), { weight: [1, 2, 3] }),
      'crossEntropy: class weights have 3 entries but logits have 5 classes'],
    ['class weights tensor', () => E.crossEntropy(z([2, 5]), E.intTensor([1, 0]), { weight: z([6]) }),
      'crossEntropy: class weights have 6 entries but logits have 5 classes'],
    ['target length', () => E.crossEntropy(z([2, 5]), E.intTensor([1, 0, 2])), 'crossEntropy: target [3] does not match logits [2, 5]'],
    ['logits rank', () => E.crossEntropy(z([2, 5, 1]), E.intTensor([1, 0])), 'crossEntropy: logits must be [N, C], got [2, 5, 1]'],
  ],
  backward: [
    ['non-scalar root', () => E.backward(E.relu(g([2, 3]))), 'backward: gradient can be implied only for a scalar, got shape [2, 3]'],
    ['root without grad', () => E.backward(E.sum(z([2, 3]))), 'backward: tensor does not require grad (no parameter or input with requiresGrad reached it)'],
    ['gradient of the wrong shape', () => E.backward(E.relu(g([2, 3])), z([3])), 'backward: gradient of shape [3] given for a tensor of shape [2, 3]'],
  ],
};

const reference = new E.ReferenceBackend(new E.Heap({ shared: false }));

for (const [family, cases] of Object.entries(families)) {
  test(`errors: ${family}`, async (t) => {
    for (const [name, fn, message] of cases) {
      await t.test(name, () => {
        E.withBackend(reference, () => {
          const before = reference.heap.liveBuffers;
          assert.throws(() => E.tidy(() => { fn(); }), { message: exact(message) });
          // A scope that throws frees what it allocated.
          assert.equal(reference.heap.liveBuffers, before, 'live buffers after the failed op');
        });
      });
    }
  });
}

const isNaNArray = (a: ArrayLike<number>): boolean => Array.prototype.every.call(a, (v: number) => Number.isNaN(v));
const isFiniteArray = (a: ArrayLike<number>): boolean => Array.prototype.every.call(a, (v: number) => Number.isFinite(v));

/** NaN never becomes a number; the elements it does not reach stay finite. */
const nanCases: [string, () => void][] = [
  ['relu', () => {
    const y = E.relu(E.tensor([1, NaN, -2, 3, NaN, -0.5], [2, 3])).toArray();
    assert.ok(Number.isNaN(y[1]!) && Number.isNaN(y[4]!), `relu(NaN) must be NaN, got ${y[1]} and ${y[4]}`);
    assert.deepEqual([y[0], y[2], y[3], y[5]], [1, 0, 3, 0]);
  }],
  ...[0, 1, 2, 3].map((at): [string, () => void] => [`maxPool2d, NaN at window position ${at}`, () => {
    // Two 2×2 windows side by side; the NaN sits at position `at` of the first, among larger and smaller values.
    const data = [5, -1, 7, 8, 2, 3, 1, 9];
    const flat = [0, 1, 4, 5][at]!;
    data[flat] = NaN;
    const y = E.maxPool2d(E.tensor(data, [1, 1, 2, 4]), 2).toArray();
    assert.ok(Number.isNaN(y[0]!), `the window holding NaN gave ${y[0]}`);
    assert.equal(y[1], 9);
  }]),
  ['maxPool2d with stride 1 and padding', () => {
    const data = Array.from({ length: 16 }, (_, i) => i);
    data[5] = NaN; // row 1, column 1: inside the four 3×3 windows centred on rows/columns 0–2
    const y = E.maxPool2d(E.tensor(data, [1, 1, 4, 4]), 3, { stride: 1, padding: 1 }).toArray();
    for (let oy = 0; oy < 4; oy++) {
      for (let ox = 0; ox < 4; ox++) {
        const covered = oy <= 2 && ox <= 2;
        const v = y[oy * 4 + ox]!;
        assert.equal(Number.isNaN(v), covered, `output (${oy}, ${ox}) = ${v}`);
      }
    }
  }],
  ['softmax and logSoftmax', () => {
    for (const fn of [E.softmax, E.logSoftmax]) {
      const y = fn(E.tensor([1, NaN, 2, 1, 2, 3], [2, 3])).toArray();
      assert.ok(isNaNArray(y.subarray(0, 3)), `the row holding NaN gave ${[...y.subarray(0, 3)]}`);
      assert.ok(isFiniteArray(y.subarray(3)), `the clean row gave ${[...y.subarray(3)]}`);
    }
  }],
  ['crossEntropy', () => {
    const logits = E.tensor([1, NaN, 2, 1, 2, 3], [2, 3], { requiresGrad: true });
    const target = E.intTensor([0, 1]);
    for (const reduction of ['mean', 'sum'] as const) {
      const loss = E.crossEntropy(logits, target, { reduction }).item();
      assert.ok(Number.isNaN(loss), `${reduction} loss with a NaN logit gave ${loss}`);
    }
    const perSample = E.crossEntropy(logits, target, { reduction: 'none' }).toArray();
    assert.ok(Number.isNaN(perSample[0]!) && Number.isFinite(perSample[1]!), `per-sample losses ${[...perSample]}`);
    const loss = E.crossEntropy(logits, target, { labelSmoothing: 0.1, weight: [1, 2, 3] });
    assert.ok(Number.isNaN(loss.item()));
    E.backward(loss);
    const grad = logits.grad!.toArray();
    assert.ok(isNaNArray(grad.subarray(0, 3)), `gradient of the NaN row ${[...grad.subarray(0, 3)]}`);
    // With 'mean' the normaliser is finite, so the clean row's gradient stays a number.
    assert.ok(isFiniteArray(grad.subarray(3)), `gradient of the clean row ${[...grad.subarray(3)]}`);
  }],
];

async function runNaN(t: import('node:test').TestContext, backend: Backend): Promise<void> {
  for (const [name, fn] of nanCases) {
    await t.test(name, () => E.withBackend(backend, () => E.tidy(fn)));
  }
}

test('NaN propagation: reference backend', async (t) => {
  await runNaN(t, reference);
});

for (const threads of [1, 2]) {
  test(`NaN propagation: WASM backend with ${threads} thread${threads > 1 ? 's' : ''}`, async (t) => {
    const backend = await loadWasmBackend(threads);
    if (typeof backend === 'string') {
      t.skip(backend);
      return;
    }
    try {
      await runNaN(t, backend);
    } finally {
      backend.dispose?.();
    }
  });
}
