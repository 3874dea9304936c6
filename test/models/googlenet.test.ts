/**
 * GoogLeNet (torchvision) and GoogLeNet-CIFAR (kuangliu/pytorch-cifar): parameter counts, torchvision's
 * state-dict names and shapes, logits parity with PyTorch on formula weights (test/models/googlenet-helpers.ts,
 * fixture by scripts/fixtures/zoo_googlenet.py), training-mode auxiliary heads, multiply-adds, a smoke
 * training run, and the error for an input too small for the network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { initEngine } from '../../src/engine/engine.js';
import { createModel } from '../../src/models/index.js';
import { GoogLeNet } from '../../src/models/googlenet.js';
import { formulaStateDict } from './googlenet-helpers.js';
import { assertLogitsMatch, loadZooJson, readZooTensors, stateShapes, stdOf, tensorOf, trainSteps, withModel } from './zoo-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 120_000 };
type KeyLists = Record<'googlenet' | 'googlenet_no_aux' | 'googlenet-cifar', [string, number[]][]>;


test("googlenet: torchvision's parameter counts and state dict (names, order, shapes), with and without the auxiliary heads", TIMEOUT, () => {
  const keys = loadZooJson<KeyLists>('googlenet_state_keys.json');
  for (const [aux, count, expected] of [[true, 13_004_888, keys.googlenet], [false, 6_624_904, keys.googlenet_no_aux]] as const) {
    withModel(() => createModel('googlenet', { numClasses: 1000, extra: { auxLogits: aux } }), (m) => {
      assert.equal(m.parameterCount(), count, `auxLogits ${aux}`);
      assert.deepEqual(stateShapes(m), expected, `auxLogits ${aux}`);
    });
  }
});

test('googlenet-cifar: 6,166,250 parameters (kuangliu/pytorch-cifar, within 1 %), named as its modules', TIMEOUT, () => {
  withModel(() => createModel('googlenet-cifar'), (m) => {
    const cited = 6_166_250;
    assert.ok(Math.abs(m.parameterCount() - cited) <= 0.01 * cited, `${m.parameterCount()} parameters`);
    assert.equal(m.parameterCount(), cited);
    assert.deepEqual(stateShapes(m), loadZooJson<KeyLists>('googlenet_state_keys.json')['googlenet-cifar']);
  });
});

test('googlenet: eval-mode logits match torchvision (transform_input off and on) on a 57×57 input', TIMEOUT, () => {
  const fx = readZooTensors('googlenet_parity.safetensors');
  for (const [transformInput, key] of [[false, 'eval_logits'], [true, 'eval_logits_transform_input']] as const) {
    withModel(() => new GoogLeNet({ numClasses: 10, transformInput }), (m) => {
      m.loadStateDict(formulaStateDict(m));
      m.eval();
      const logits = E.noGrad(() => m.forward(tensorOf(fx.get('input')!)));
      assertLogitsMatch(logits, fx.get(key)!, key);
      assert.deepEqual(m.auxiliaryOutputs(), [], 'eval mode has no auxiliary outputs');
    });
  }
});

test('googlenet: training mode adds aux1 (after inception4a) and aux2 (after inception4d), each weighted 0.3, matching torchvision', TIMEOUT, () => {
  const fx = readZooTensors('googlenet_parity.safetensors');
  withModel(() => new GoogLeNet({ numClasses: 10, dropout: 0, dropoutAux: 0 }), (m) => {
    m.loadStateDict(formulaStateDict(m));
    m.train();
    const logits = E.noGrad(() => m.forward(tensorOf(fx.get('input')!)));
    // Batch statistics over a batch of two (8 values per channel at inception5b) amplify float32 rounding, so the
    // training-mode outputs get 5e-4 rather than the eval-mode target's 1e-4.
    assertLogitsMatch(logits, fx.get('train_logits')!, 'train_logits', 5e-4);
    const aux = m.auxiliaryOutputs();
    assert.deepEqual(aux.map((a) => a.weight), [0.3, 0.3]);
    assertLogitsMatch(aux[0]!.logits, fx.get('train_aux1')!, 'aux1', 5e-4);
    assertLogitsMatch(aux[1]!.logits, fx.get('train_aux2')!, 'aux2', 5e-4);
  });
});

test("googlenet: torchvision's init_weights: conv and linear weights N(0, 0.01²) cut at ±2, biases as torch's defaults", TIMEOUT, () => {
  withModel(() => createModel('googlenet', { numClasses: 10 }), (m) => {
    // Sampling error of the std is ~1/sqrt(2n): 0.1 % for the 3×3 conv (663,552 values), 0.7 % for fc (10,240).
    for (const [name, tolerance] of [['inception5b.branch2.1.conv.weight', 0.01], ['fc.weight', 0.03], ['aux1.fc1.weight', 0.01]] as const) {
      assert.ok(Math.abs(stdOf(m, name) / 0.01 - 1) < tolerance, `${name}: std ${stdOf(m, name)}`);
    }
    const fcBias = m.stateDict().get('fc.bias')!.toArray();
    assert.ok(fcBias.every((b) => Math.abs(b) <= 1 / 32) && fcBias.some((b) => b !== 0), 'fc.bias keeps U(±1/sqrt(1024))');
    assert.ok(m.stateDict().get('conv1.bn.weight')!.toArray().every((w) => w === 1), 'batch norm weight 1');
  });
});

test('googlenet: 1.498 G multiply-adds at 224×224 (torchvision\'s figure, within 2 %)', TIMEOUT, () => {
  withModel(() => createModel('googlenet', { numClasses: 1000 }), (m) => {
    m.eval();
    const macs = E.noGrad(() => E.countMacs(() => { m.forward(E.zeros([1, 3, 224, 224])); }));
    assert.ok(Math.abs(macs / 1.498e9 - 1) <= 0.02, `${(macs / 1e9).toFixed(4)} G`);
  });
});

for (const [name, size, numClasses] of [['googlenet', 32, 10], ['googlenet-cifar', 32, 10]] as const) {
  test(`${name}: 3 SGD steps on a repeated batch of two ${size}×${size} images lower the loss`, TIMEOUT, () => {
    withModel(() => createModel(name, { numClasses, imageSize: size }), (m) => {
      const losses = trainSteps(m, [2, 3, size, size], numClasses, { lr: name === 'googlenet' ? 0.01 : 0.02, momentum: 0.9, seed: 11 });
      assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
      assert.ok(losses[2]! < losses[0]!, `losses ${losses.join(', ')}`);
    });
  });
}

test("googlenet: an 8×8 input is refused at the layer where the spatial size reaches zero (torchvision's minimum is 15×15)", TIMEOUT, () => {
  withModel(() => createModel('googlenet', { numClasses: 10 }), (m) => {
    m.eval();
    assert.throws(() => E.noGrad(() => m.forward(E.zeros([1, 3, 8, 8]))),
      { message: "googlenet: the input is too small: the spatial size reaches zero at layer 'maxpool3' (its input is 1×1, [1, 480, 1, 1])" });
    assert.deepEqual([...E.noGrad(() => m.forward(E.zeros([1, 3, 15, 15]))).shape], [1, 10]);
  });
});

test('googlenet: option errors name the option and the expected value', TIMEOUT, () => {
  assert.throws(() => createModel('googlenet', { extra: { auxLogits: 'yes' } }), { message: `googlenet: option 'auxLogits' must be true or false, got "yes"` });
  assert.throws(() => createModel('googlenet', { extra: { width: 2 } }), { message: "model 'googlenet' has no option 'width' (it takes: dropout, auxLogits, transformInput)" });
});
