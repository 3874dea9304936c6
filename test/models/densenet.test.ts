/**
 * DenseNet-121/161/169/201 (torchvision) and DenseNet-BC-100 (the paper's CIFAR net): parameter counts,
 * torchvision's state-dict names and shapes, the legacy `norm.1` key mapping, logits parity with torchvision's
 * own DenseNet class in small configurations (fixtures by scripts/fixtures/zoo_densenet.py), multiply-adds,
 * smoke training, and the error for an input too small for the network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { initEngine } from '../../src/engine/engine.js';
import { createModel, getModelSpec } from '../../src/models/index.js';
import { DenseNet, mapLegacyDenseNetKeys, remapStateDictKey, type DenseNetOptions } from '../../src/models/densenet.js';
import { assertLogitsMatch, loadZooJson, readZooTensors, stateShapes, stdOf, tensorOf, trainSteps, withModel } from './zoo-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 120_000 };
const NAMED = ['densenet121', 'densenet161', 'densenet169', 'densenet201'] as const;
const COUNTS = { densenet121: 7_978_856, densenet161: 28_681_000, densenet169: 14_149_480, densenet201: 20_013_928 };
type KeyLists = Record<(typeof NAMED)[number] | 'densenet-bc-100', [string, number[]][]>;


test("densenet121/161/169/201: torchvision's parameter counts and state dict (names, order, shapes); [2, 1000] logits from 32×32", TIMEOUT, () => {
  const keys = loadZooJson<KeyLists>('densenet_state_keys.json');
  for (const name of NAMED) {
    withModel(() => createModel(name, { numClasses: 1000 }), (m) => {
      assert.equal(m.parameterCount(), COUNTS[name], name);
      assert.deepEqual(stateShapes(m), keys[name], name);
      m.eval();
      const y = E.noGrad(() => m.forward(E.randNormal([2, 3, 32, 32], 0, 1, { rng: new E.Rng(2) })));
      assert.deepEqual([...y.shape], [2, 1000], name);
      assert.ok(y.toArray().every(Number.isFinite), name);
    });
  }
});

test('densenet-bc-100: 769,162 parameters (the paper\'s 0.8 M, within 1 %), named as torchvision\'s DenseNet with a 3×3 stem', TIMEOUT, () => {
  withModel(() => createModel('densenet-bc-100'), (m) => {
    const reference = 769_162;
    assert.ok(Math.abs(m.parameterCount() - reference) <= 0.01 * reference, `${m.parameterCount()} parameters`);
    assert.equal(m.parameterCount(), reference);
    assert.deepEqual(stateShapes(m), loadZooJson<KeyLists>('densenet_state_keys.json')['densenet-bc-100']);
  });
});

test("densenet-bc-100: torchvision's init: kaiming_normal_ (fan_in) convs, classifier bias 0, batch norm 1/0", TIMEOUT, () => {
  withModel(() => createModel('densenet-bc-100'), (m) => {
    // 48 × 330 values: the std's sampling error is ~0.6 %.
    const name = 'features.denseblock3.denselayer16.conv1.weight';
    assert.ok(Math.abs(stdOf(m, name) / Math.sqrt(2 / 330) - 1) < 0.03, `${name}: std ${stdOf(m, name)}`);
    assert.ok(m.stateDict().get('classifier.bias')!.toArray().every((b) => b === 0), 'classifier bias 0');
    const w = m.stateDict().get('classifier.weight')!.toArray();
    assert.ok(w.every((v) => Math.abs(v) <= 1 / Math.sqrt(342)) && w.some((v) => v !== 0), "classifier weight keeps torch's U(±1/sqrt(342))");
    assert.ok(m.stateDict().get('features.norm5.weight')!.toArray().every((v) => v === 1), 'batch norm weight 1');
  });
});

test("old checkpoints' dense-layer keys map as torchvision's _load_state_dict maps them", TIMEOUT, () => {
  const table: [string, string][] = [
    ['features.denseblock1.denselayer1.norm.1.weight', 'features.denseblock1.denselayer1.norm1.weight'],
    ['features.denseblock4.denselayer16.norm.2.running_var', 'features.denseblock4.denselayer16.norm2.running_var'],
    ['features.denseblock2.denselayer3.conv.2.weight', 'features.denseblock2.denselayer3.conv2.weight'],
    ['features.denseblock2.denselayer3.norm.1.num_batches_tracked', 'features.denseblock2.denselayer3.norm.1.num_batches_tracked'],
    ['features.denseblock1.denselayer1.norm1.weight', 'features.denseblock1.denselayer1.norm1.weight'],
    ['features.transition1.norm.weight', 'features.transition1.norm.weight'],
    ['features.denseblock1.denselayer1.norm.3.weight', 'features.denseblock1.denselayer1.norm.3.weight'],
    ['features.norm5.bias', 'features.norm5.bias'],
  ];
  for (const [old, current] of table) assert.equal(remapStateDictKey(old), current, old);
  assert.deepEqual(mapLegacyDenseNetKeys(table.map(([k]) => k)), table.map(([, k]) => k));
  for (const name of [...NAMED, 'densenet-bc-100']) assert.equal(getModelSpec(name).stateDictKeyMap, remapStateDictKey, name);
});

/** Loads a fixture's weights (renamed by `rename`) into a convlab DenseNet and compares eval-mode logits. */
function checkParity(file: string, opts: DenseNetOptions, rename: (key: string) => string): void {
  const fx = readZooTensors(file);
  withModel(() => new DenseNet(opts), (m) => {
    const weights = new Map([...fx].filter(([k]) => k !== 'input' && k !== 'logits').map(([k, a]) => [rename(k), a.data]));
    const shapes = new Map([...fx].map(([k, a]) => [rename(k), a.shape]));
    m.loadStateDict(weights, shapes);
    m.eval();
    assertLogitsMatch(E.noGrad(() => m.forward(tensorOf(fx.get('input')!))), fx.get('logits')!, file);
  });
}

test("eval-mode logits match torchvision's DenseNet (growth 8, blocks 2-3-2-2, bn_size 2) loaded from old-style keys", TIMEOUT, () => {
  const fx = readZooTensors('densenet_small_legacy.safetensors');
  assert.ok(fx.has('features.denseblock1.denselayer1.norm.1.weight'), 'the fixture uses the old key names');
  checkParity('densenet_small_legacy.safetensors', { growthRate: 8, blockConfig: [2, 3, 2, 2], numInitFeatures: 16, bnSize: 2, numClasses: 7 }, remapStateDictKey);
});

test("eval-mode logits match torchvision's DenseNet with the CIFAR stem (growth 6, blocks 2-2-2)", TIMEOUT, () => {
  checkParity('densenet_small_cifar.safetensors', { growthRate: 6, blockConfig: [2, 2, 2], numInitFeatures: 12, bnSize: 4, numClasses: 5, stem: 'cifar' }, (k) => k);
});

test("densenet121: 2.834 G multiply-adds at 224×224 (torchvision's figure, within 2 %)", TIMEOUT, () => {
  withModel(() => createModel('densenet121', { numClasses: 1000 }), (m) => {
    m.eval();
    const macs = E.noGrad(() => E.countMacs(() => { m.forward(E.zeros([1, 3, 224, 224])); }));
    assert.ok(Math.abs(macs / 2.834e9 - 1) <= 0.02, `${(macs / 1e9).toFixed(4)} G`);
  });
});

for (const name of ['densenet121', 'densenet-bc-100'] as const) {
  test(`${name}: 3 SGD steps on a repeated batch of two 32×32 images lower the loss`, TIMEOUT, () => {
    withModel(() => createModel(name, { numClasses: 10, imageSize: 32 }), (m) => {
      const losses = trainSteps(m, [2, 3, 32, 32], 10, { lr: 0.02, momentum: 0.9, seed: 11 });
      assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
      assert.ok(losses[2]! < losses[0]!, `losses ${losses.join(', ')}`);
    });
  });
}

test('densenet121: an 8×8 input is refused at the layer where the spatial size reaches zero', TIMEOUT, () => {
  withModel(() => createModel('densenet121', { numClasses: 10 }), (m) => {
    m.eval();
    assert.throws(() => E.noGrad(() => m.forward(E.zeros([1, 3, 8, 8]))),
      { message: "densenet: the input is too small: the spatial size reaches zero at layer 'features.transition2' (its input is 1×1, [1, 512, 1, 1])" });
  });
});

test('densenet: bad options name the option and the expected value', TIMEOUT, () => {
  assert.throws(() => createModel('densenet121', { extra: { dropout: 1.5 } }), { message: "densenet: option 'dropout' (dropout after each dense layer) must be a number in [0, 1), got 1.5" });
  assert.throws(() => new DenseNet({ blockConfig: [6, 0] }), { message: 'densenet: blockConfig[1] must be a positive integer, got 0' });
});
