/**
 * EfficientNet: torchvision's parameter counts and state-dict keys for B0–B3, eval-mode logits against
 * torchvision's own EfficientNet class at a reduced setting (test/fixtures/zoo/efficientnet_small.safetensors),
 * the B0 multiply-adds (torchvision: 0.386 GFLOPS), the CIFAR port's count against kuangliu's, and three SGD steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { initEngine } from '../../src/engine/engine.js';
import { createModel } from '../../src/models/index.js';
import { EfficientNet, mbconvConfig, efficientnetSetting } from '../../src/models/efficientnet.js';
import { makeDivisible } from '../../src/models/blocks.js';
import { gradcheck } from '../engine/gradcheck.js';
import { assertLogitsClose, loadState, loadZooJson, loadZooSafetensors, stateShapes, trainSteps, withModel } from './zoo-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 60_000 };
const keys = loadZooJson<Record<string, [string, number[]][] | number>>('efficientnet_keys.json');


test('makeDivisible rounds like torchvision\'s _make_divisible', TIMEOUT, () => {
  const cases: [number, number][] = [[32, 32], [35.2, 32], [17.6, 16], [12, 16], [3, 8], [44.8, 48], [13.2, 16], [220.8, 224]];
  for (const [v, want] of cases) assert.equal(makeDivisible(v), want, `makeDivisible(${v})`);
  assert.deepEqual(efficientnetSetting(1.1, 1.2).map((s) => [s.inputChannels, s.outChannels, s.numLayers]),
    [[32, 16, 2], [16, 24, 3], [24, 48, 3], [48, 88, 4], [88, 120, 4], [120, 208, 5], [208, 352, 2]]);
});

for (const name of ['efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3']) {
  test(`${name}: torchvision's ${(keys[`${name}.num_params`] as number).toLocaleString('en')} parameters and state-dict keys, in order`, TIMEOUT, () => {
    withModel(() => createModel(name, { numClasses: 1000 }), (m) => {
      assert.equal(m.parameterCount(), keys[`${name}.num_params`]);
      assert.deepEqual(stateShapes(m), keys[name]);
    });
  });
}

test('the published parameter counts (torchvision docs) are the ones the fixture recorded', TIMEOUT, () => {
  assert.deepEqual(['b0', 'b1', 'b2', 'b3'].map((v) => keys[`efficientnet_${v}.num_params`]), [5_288_548, 7_794_184, 9_109_994, 12_233_232]);
});

test('eval logits match torchvision\'s EfficientNet at a reduced setting (1×3×64×64)', TIMEOUT, () => {
  const { state, extras } = loadZooSafetensors('efficientnet_small.safetensors');
  const setting = [mbconvConfig(1, 3, 1, 8, 8, 1), mbconvConfig(6, 3, 2, 8, 16, 2), mbconvConfig(6, 5, 2, 16, 24, 1)];
  withModel(() => new EfficientNet({ setting, numClasses: 10 }), (m) => {
    loadState(m, state);
    m.eval();
    const input = extras.get('__input__')!;
    const logits = E.noGrad(() => m.forward(E.tensor(input.data, input.shape)));
    assertLogitsClose(logits.toArray(), extras.get('__logits__')!.data);
  });
});

test('efficientnet_b0: 0.386 GMACs at 224×224 (torchvision\'s published GFLOPS) within 2 %', TIMEOUT, () => {
  withModel(() => createModel('efficientnet_b0', { numClasses: 1000 }), (m) => {
    m.eval();
    const macs = E.noGrad(() => E.countMacs(() => { m.forward(E.zeros([1, 3, 224, 224])); }));
    assert.ok(Math.abs(macs / 0.386e9 - 1) < 0.02, `${macs} MACs`);
  });
});

test('efficientnet_b0-cifar: 3,598,598 parameters, within 1 % of kuangliu\'s 3,599,686; [2, 10] logits from 32×32', TIMEOUT, () => {
  withModel(() => createModel('efficientnet_b0-cifar'), (m) => {
    assert.equal(m.parameterCount(), 3_598_598);
    assert.ok(Math.abs(m.parameterCount() / 3_599_686 - 1) < 0.01);
    assert.deepEqual(stateShapes(m).slice(0, 4).map(([k]) => k), ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean']);
    assert.ok(stateShapes(m).some(([k]) => k === 'layers.1.se.se1.weight'), 'kuangliu\'s names');
    m.eval();
    const y = E.noGrad(() => m.forward(E.randNormal([2, 3, 32, 32], 0, 1, { rng: new E.Rng(1) })));
    assert.deepEqual([...y.shape], [2, 10]);
    assert.ok([...y.toArray()].every(Number.isFinite));
  });
});

test('a 1×1 input never reaches a zero spatial size (every stride-2 conv is padded): logits, not an error', TIMEOUT, () => {
  withModel(() => createModel('efficientnet_b0', { extra: { width: 0.25 } }), (m) => {
    m.eval();
    const y = E.noGrad(() => m.forward(E.randNormal([1, 3, 1, 1], 0, 1, { rng: new E.Rng(2) })));
    assert.deepEqual([...y.shape], [1, 10]);
  });
});

test('registry options: an unknown option is refused with the ones it takes', TIMEOUT, () => {
  assert.throws(() => createModel('efficientnet_b1', { extra: { lrn: true } }), {
    message: "model 'efficientnet_b1' has no option 'lrn' (it takes: dropout, stochasticDepthProb, width)",
  });
  assert.throws(() => createModel('efficientnet_b1', { extra: { width: 0 } }), { message: 'efficientnet_b1: width must be a positive multiplier, got 0' });
  assert.throws(() => createModel('efficientnet_b0-cifar', { extra: { width: -1 } }), { message: 'efficientnet_b0-cifar: width must be positive, got -1' });
});

// 64×64 for the ImageNet models: at 32×32 their last stages are 1×1, and BatchNorm over 4 values makes 3 steps erratic.
for (const [name, size, width] of [['efficientnet_b0', 64, 0.25], ['efficientnet_b3', 64, 0.25], ['efficientnet_b0-cifar', 32, 0.25]] as const) {
  test(`${name} (width ×${width}): three SGD steps on a repeated 4×3×${size}×${size} batch lower the loss`, TIMEOUT, () => {
    E.manualSeed(1);
    withModel(() => createModel(name, { extra: { width, dropout: 0, stochasticDepthProb: 0 } }), (m) => {
      const losses = trainSteps(m, [4, 3, size, size], 10, { lr: 0.01 });
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[2]! < losses[0]!, `losses ${losses}`);
    });
  });
}

/** Standard deviation of a tensor's values about zero. */
const rms = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);

test('initialisation is torchvision\'s: kaiming-normal fan-out convs, U(±1/√out) classifier, zero biases, unit BN', TIMEOUT, () => {
  withModel(() => createModel('efficientnet_b0', { numClasses: 1000 }), (m) => {
    const state = m.stateDict();
    // features.8.0: the 1×1 head conv 320 → 1280, fan_out = 1280: std √(2/1280) = 0.0395 over 409,600 values.
    assert.ok(Math.abs(rms(state.get('features.8.0.weight')!.toArray()) / Math.sqrt(2 / 1280) - 1) < 0.01);
    // A depthwise conv's fan_out is weight.shape[0]·k·k (torch ignores groups): 672·25 for this 5×5 one.
    assert.ok(Math.abs(rms(state.get('features.6.0.block.1.0.weight')!.toArray()) / Math.sqrt(2 / (672 * 25)) - 1) < 0.03);
    const w = state.get('classifier.1.weight')!.toArray();
    assert.ok(Array.from(w).every((v) => Math.abs(v) <= 1 / Math.sqrt(1000)) && Math.abs(rms(w) / (1 / Math.sqrt(3000)) - 1) < 0.01);
    for (const k of ['classifier.1.bias', 'features.1.0.block.1.fc1.bias', 'features.0.1.bias']) assert.ok(state.get(k)!.toArray().every((v) => v === 0), k);
    assert.ok(state.get('features.0.1.weight')!.toArray().every((v) => v === 1));
  });
});

test('the whole model\'s input gradient passes gradcheck (float64), in eval and in training mode', TIMEOUT, () => {
  for (const training of [false, true]) {
    const built: { m?: EfficientNet } = {};
    const { maxError, worst } = gradcheck({
      name: 'efficientnet', shapes: [[2, 3, 8, 8]],
      fn: (x) => {
        const m = (built.m ??= new EfficientNet({ setting: [mbconvConfig(1, 3, 1, 8, 8, 1), mbconvConfig(6, 3, 2, 8, 16, 2)], numClasses: 3, dropout: 0, stochasticDepthProb: 0 }));
        return m.train(training).forward(x);
      },
    });
    built.m?.dispose();
    assert.ok(maxError < 1e-6, `training ${training}: ${worst}`);
  }
});
