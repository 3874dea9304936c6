/**
 * The model zoo's contract: parameter counts, forward output shapes, state-dict names (torchvision's for
 * AlexNet) and the registry's error for unknown names. AlexNet at 1000 classes (61M parameters, ~245 MB) is
 * created once and its 224×224 forward pass runs once, on the reference backend (~10 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { createModel, getModelSpec, listModels } from '../../src/models/index.js';
import type { Module } from '../../src/nn/index.js';

const shapesOf = (m: Module): [string, number[]][] => [...m.namedState()].map(([name, t]) => [name, [...t.shape]]);

/** Runs fn with a fresh reference backend and a model that is disposed afterwards. */
function withModel<T>(name: string, opts: Parameters<typeof createModel>[1], fn: (m: Module) => T): T {
  return E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => {
    const m = createModel(name, opts);
    try {
      return fn(m);
    } finally {
      m.dispose();
      assert.equal(E.liveBuffers(), 0, `${name}: buffers left after dispose`);
    }
  });
}

function forwardShape(m: Module, input: number[]): number[] {
  m.eval();
  return E.noGrad(() => E.tidy(() => {
    const y = m.forward(E.randNormal(input, 0, 1, { rng: new E.Rng(5) }));
    assert.ok([...y.toArray()].every(Number.isFinite), 'outputs are finite');
    return [...y.shape];
  }));
}

const LENET_STATE: [string, number[]][] = [
  ['c1.weight', [6, 1, 5, 5]], ['c1.bias', [6]], ['c3.weight', [16, 6, 5, 5]], ['c3.bias', [16]],
  ['c5.weight', [120, 400]], ['c5.bias', [120]], ['f6.weight', [84, 120]], ['f6.bias', [84]],
  ['output.weight', [10, 84]], ['output.bias', [10]],
];

for (const name of ['lenet5', 'lenet5-classic']) {
  test(`${name}: 61,706 parameters, [2, 10] logits from [2, 1, 28, 28], named like the paper's layers`, () => {
    withModel(name, {}, (m) => {
      assert.equal(m.parameterCount(), 61_706);
      assert.deepEqual(shapesOf(m), LENET_STATE);
      assert.deepEqual(forwardShape(m, [2, 1, 28, 28]), [2, 10]);
    });
  });
}

test('lenet5: registry options (32×32 input without padding, 3 channels, 5 classes)', () => {
  withModel('lenet5', { imageSize: 32, inChannels: 3, numClasses: 5 }, (m) => {
    assert.equal(m.parameterCount(), 61_706 + 2 * 6 * 25 - 5 * 85);
    assert.deepEqual(forwardShape(m, [2, 3, 32, 32]), [2, 5]);
  });
});

/** torchvision.models.alexnet(num_classes=1000).state_dict(): names and shapes, in order. */
const TORCHVISION_ALEXNET: [string, number[]][] = [
  ['features.0.weight', [64, 3, 11, 11]], ['features.0.bias', [64]],
  ['features.3.weight', [192, 64, 5, 5]], ['features.3.bias', [192]],
  ['features.6.weight', [384, 192, 3, 3]], ['features.6.bias', [384]],
  ['features.8.weight', [256, 384, 3, 3]], ['features.8.bias', [256]],
  ['features.10.weight', [256, 256, 3, 3]], ['features.10.bias', [256]],
  ['classifier.1.weight', [4096, 9216]], ['classifier.1.bias', [4096]],
  ['classifier.4.weight', [4096, 4096]], ['classifier.4.bias', [4096]],
  ['classifier.6.weight', [1000, 4096]], ['classifier.6.bias', [1000]],
];

test('alexnet (1000 classes): 61,100,840 parameters, torchvision state-dict names, [1, 1000] logits from 224×224', async (t) => {
  // withBackend is synchronous and the subtests are not, so the default backend is swapped for the duration.
  const previous = E.getBackend();
  E.setBackend(new E.ReferenceBackend(new E.Heap({ shared: false })));
  try {
    const m = createModel('alexnet', { numClasses: 1000 });
    try {
      await t.test('parameter count', () => assert.equal(m.parameterCount(), 61_100_840));
      await t.test("state dict matches torchvision's names and shapes", () => assert.deepEqual(shapesOf(m), TORCHVISION_ALEXNET));
      await t.test('forward [1, 3, 224, 224] → [1, 1000]', () => assert.deepEqual(forwardShape(m, [1, 3, 224, 224]), [1, 1000]));
    } finally {
      m.dispose();
    }
    assert.equal(E.liveBuffers(), 0);
  } finally {
    E.setBackend(previous);
  }
});

test('alexnet-cifar: 35,855,178 parameters, [2, 10] logits from [2, 3, 32, 32]', () => {
  withModel('alexnet-cifar', {}, (m) => {
    assert.equal(m.parameterCount(), 35_855_178);
    assert.deepEqual(shapesOf(m).map(([n]) => n), [
      'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.6.weight', 'features.6.bias',
      'features.8.weight', 'features.8.bias', 'features.10.weight', 'features.10.bias',
      'classifier.2.weight', 'classifier.2.bias', 'classifier.5.weight', 'classifier.5.bias', 'classifier.7.weight', 'classifier.7.bias',
    ]);
    assert.deepEqual(forwardShape(m, [2, 3, 32, 32]), [2, 10]);
  });
});

test('registry: every listed model can be looked up; unknown names list the valid ones', () => {
  const names = listModels().map((s) => s.name);
  for (const expected of ['lenet5', 'lenet5-classic', 'alexnet', 'alexnet-cifar']) assert.ok(names.includes(expected), expected);
  for (const name of names) assert.equal(getModelSpec(name).name, name);
  const message = `unknown model 'resnet9000'. Valid models: ${names.join(', ')}`;
  assert.throws(() => createModel('resnet9000'), { message });
  assert.throws(() => getModelSpec('LeNet5'), { message: /^unknown model 'LeNet5'\. Valid models: lenet5, lenet5-classic, alexnet, alexnet-cifar/ });
});
