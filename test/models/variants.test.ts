/**
 * The model options the parameter-count tests do not exercise: lenet5-classic's tanh and average pooling,
 * AlexNet's and AlexNet-CIFAR's `lrn` and `dropout`, and AlexNet-CIFAR's `width`. Each variant's forward pass
 * is compared with the same computation written out op by op, so a variant that quietly fell back to the
 * default layers fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { AlexNet, AlexNetCifar, LeNet5 } from '../../src/models/index.js';
import type { Module, Sequential } from '../../src/nn/index.js';

const onReference = (fn: () => void) => (): void => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => { fn(); }));
const values = (t: Tensor): number[] => Array.from(t.toArray());
const param = (m: Module, name: string): Tensor => m.stateDict().get(name)!;
const input = (shape: number[], seed: number): Tensor => E.randNormal(shape, 0, 1, { rng: new E.Rng(seed) });

test('lenet5-classic: tanh and 2×2 average pooling, as in the paper; lenet5: ReLU and max pooling', onReference(() => {
  const classic = createModel('lenet5-classic') as LeNet5;
  const modern = createModel('lenet5') as LeNet5;
  assert.deepEqual([classic.variant, modern.variant], ['classic', 'modern']);
  modern.loadStateDict(new Map([...classic.stateDict()].map(([k, t]) => [k, t.toFloat32()])));
  const x = input([2, 1, 28, 28], 1);
  const byHand = (act: (t: Tensor) => Tensor, pool: (t: Tensor) => Tensor): number[] => {
    const p = (n: string): Tensor => param(classic, n);
    let h = pool(act(E.conv2d(x, p('c1.weight'), p('c1.bias'), { padding: 2 })));
    h = pool(act(E.conv2d(h, p('c3.weight'), p('c3.bias'))));
    h = act(E.linear(E.flatten(h), p('c5.weight'), p('c5.bias')));
    h = act(E.linear(h, p('f6.weight'), p('f6.bias')));
    return values(E.linear(h, p('output.weight'), p('output.bias')));
  };
  const classicOut = values(classic.forward(x)), modernOut = values(modern.forward(x));
  assert.deepEqual(classicOut, byHand(E.tanh, (t) => E.avgPool2d(t, 2)));
  assert.deepEqual(modernOut, byHand(E.relu, (t) => E.maxPool2d(t, 2)));
  assert.notDeepEqual(classicOut, modernOut);
  classic.dispose();
  modern.dispose();
}));

/** The class names of a Sequential's layers, as printed (e.g. "ReLU()", "Dropout(p=0.3)"). */
const layerNames = (s: Sequential): string[] => s.layers.map((l) => l.toString().split('\n')[0]!.replace(/\(\s*$/, ''));
const LRN = 'LocalResponseNorm(5, α=0.0001, β=0.75, k=2)';

test('alexnet-cifar lrn: the paper\'s LRN (n=5, α=1e-4, β=0.75, k=2) after the first two ReLUs; forward equals the ops written out', onReference(() => {
  const m = new AlexNetCifar({ width: 1 / 16, lrn: true, dropout: 0 });
  const names = layerNames(m.features);
  assert.deepEqual(names.slice(0, 8), ['Conv2d(3 → 4, 3×3, padding 1)', 'ReLU()', LRN, 'MaxPool2d(2)', 'Conv2d(4 → 12, 3×3, padding 1)', 'ReLU()', LRN, 'MaxPool2d(2)']);
  assert.equal(names.filter((n) => n === LRN).length, 2);
  assert.ok(!layerNames(new AlexNetCifar({ width: 1 / 16 }).features).includes(LRN), 'no LRN by default');
  const x = input([2, 3, 32, 32], 2);
  const p = (n: string): Tensor => param(m, n);
  const lrn = (t: Tensor): Tensor => E.localResponseNorm(t, { size: 5, alpha: 1e-4, beta: 0.75, k: 2 });
  let h = E.maxPool2d(lrn(E.relu(E.conv2d(x, p('features.0.weight'), p('features.0.bias'), { padding: 1 }))), 2);
  h = E.maxPool2d(lrn(E.relu(E.conv2d(h, p('features.4.weight'), p('features.4.bias'), { padding: 1 }))), 2);
  for (const i of [8, 10, 12]) h = E.relu(E.conv2d(h, p(`features.${i}.weight`), p(`features.${i}.bias`), { padding: 1 }));
  h = E.flatten(E.maxPool2d(h, 2));
  h = E.relu(E.linear(h, p('classifier.2.weight'), p('classifier.2.bias')));
  h = E.relu(E.linear(h, p('classifier.5.weight'), p('classifier.5.bias')));
  const expected = values(E.linear(h, p('classifier.7.weight'), p('classifier.7.bias')));
  m.eval();
  assert.deepEqual(values(m.forward(x)), expected);
  m.dispose();
}));

test('alexnet-cifar dropout: p reaches both classifier dropouts; training draws masks, eval and p=0 do not', onReference(() => {
  const m = new AlexNetCifar({ width: 1 / 16, dropout: 0.3 });
  assert.deepEqual(layerNames(m.classifier).filter((n) => n.startsWith('Dropout')), ['Dropout(p=0.3)', 'Dropout(p=0.3)']);
  assert.deepEqual(layerNames(new AlexNetCifar({ width: 1 / 16 }).classifier).filter((n) => n.startsWith('Dropout')), ['Dropout(p=0.5)', 'Dropout(p=0.5)'], 'torchvision\'s 0.5 by default');
  const x = input([2, 3, 32, 32], 3);
  const run = (model: Module, training: boolean): number[] => { model.train(training); return values(model.forward(x)); };
  const a = run(m, true), b = run(m, true), evalA = run(m, false), evalB = run(m, false);
  assert.notDeepEqual(a, b, 'two training passes draw different masks');
  assert.deepEqual(evalA, evalB);
  assert.notDeepEqual(a, evalA);
  const none = new AlexNetCifar({ width: 1 / 16, dropout: 0 });
  none.loadStateDict(new Map([...m.stateDict()].map(([k, t]) => [k, t.toFloat32()])));
  assert.deepEqual(run(none, true), evalA, 'p = 0 trains without masks');
  m.dispose();
  none.dispose();
}));

test('alexnet-cifar width: scales every conv and the classifier; invalid widths are refused with the value', onReference(() => {
  const m = createModel('alexnet-cifar', { extra: { width: 1 / 16 } });
  assert.deepEqual([...m.namedParameters()].filter(([n]) => n.endsWith('weight')).map(([, t]) => t.shape),
    [[4, 3, 3, 3], [12, 4, 3, 3], [24, 12, 3, 3], [16, 24, 3, 3], [16, 16, 3, 3], [256, 256], [256, 256], [10, 256]]);
  m.dispose();
  for (const width of [0, -1, 0.3]) {
    assert.throws(() => new AlexNetCifar({ width }), { message: `alexnet-cifar: width must be a positive multiple of 1/64, got ${width}` });
  }
}));

test('alexnet (224×224) lrn and dropout: LRN after the first two ReLUs, the given dropout in the classifier', onReference(() => {
  // The only 61 M-parameter model built here besides params.test.ts: the option plumbing of the other class.
  const m = new AlexNet({ numClasses: 10, lrn: true, dropout: 0.2 });
  const names = layerNames(m.features);
  assert.deepEqual([names[2], names[6]], [LRN, LRN]);
  assert.deepEqual([names[1], names[5]], ['ReLU()', 'ReLU()']);
  assert.deepEqual(layerNames(m.classifier).filter((n) => n.startsWith('Dropout')), ['Dropout(p=0.2)', 'Dropout(p=0.2)']);
  m.dispose();
}));

test('a family-specific option the model does not take is refused, not ignored', { timeout: 10_000 }, () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['lenet5', { lrn: true }, "model 'lenet5' has no option 'lrn' (it takes: none)"],
    ['lenet5-classic', { dropout: 0.3 }, "model 'lenet5-classic' has no option 'dropout' (it takes: none)"],
    ['alexnet', { width: 0.5 }, "model 'alexnet' has no option 'width' (it takes: lrn, dropout)"],
    ['alexnet-cifar', { lrm: true }, "model 'alexnet-cifar' has no option 'lrm' (it takes: lrn, dropout, width)"],
  ];
  for (const [model, extra, message] of cases) assert.throws(() => createModel(model, { extra }), { message }, model);
});
