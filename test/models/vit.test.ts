/**
 * Vision Transformer: torchvision's parameter counts and state-dict keys for ViT-B/16 and B/32, their multiply-adds
 * (torchvision: 17.564 and 4.409 GFLOPS, attention's two matmuls included), eval-mode logits against torchvision's
 * own VisionTransformer at a reduced configuration (test/fixtures/zoo/vit_small.safetensors), the position-embedding
 * resize against torchvision's interpolate_embeddings, the CIFAR variant's count, and three SGD steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Shape } from '../../src/engine/index.js';
import { initEngine } from '../../src/engine/engine.js';
import { createModel } from '../../src/models/index.js';
import { VisionTransformer, interpolatePosEmbedding } from '../../src/models/vit.js';
import type { Module } from '../../src/nn/index.js';
import { gradcheck } from '../engine/gradcheck.js';
import { assertLogitsClose, loadState, loadZooJson, loadZooSafetensors, stateShapes, trainSteps, withModel } from './zoo-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 120_000 };
const keys = loadZooJson<Record<string, [string, number[]][] | number>>('vit_keys.json');
const fixture = loadZooSafetensors('vit_small.safetensors');
const small = (imageSize: number): VisionTransformer =>
  new VisionTransformer({ imageSize, patchSize: 8, numLayers: 2, numHeads: 2, hiddenDim: 32, mlpDim: 64, numClasses: 10 });


const logitsOf = (m: Module, name: string): ArrayLike<number> => {
  const x = fixture.extras.get(name)!;
  m.eval();
  return E.noGrad(() => m.forward(E.tensor(x.data, x.shape))).toArray();
};

for (const [name, gmacs] of [['vit_b_16', 17.564], ['vit_b_32', 4.409]] as const) {
  test(`${name}: torchvision's parameters and state-dict keys in order; ${gmacs} GMACs at 224×224 within 2 %`, TIMEOUT, () => {
    withModel(() => createModel(name, { numClasses: 1000 }), (m) => {
      assert.equal(m.parameterCount(), keys[`${name}.num_params`]);
      assert.deepEqual(stateShapes(m), keys[name]);
      m.eval();
      const macs = E.noGrad(() => E.countMacs(() => { m.forward(E.zeros([1, 3, 224, 224])); }));
      assert.ok(Math.abs(macs / (gmacs * 1e9) - 1) < 0.02, `${macs} MACs`);
    });
  });
}

test('the published parameter counts (torchvision docs) are the ones the fixture recorded', TIMEOUT, () => {
  assert.deepEqual([keys['vit_b_16.num_params'], keys['vit_b_32.num_params']], [86_567_656, 88_224_232]);
});

test('vit-cifar: 6,268,810 parameters, within 1 % of omihub777/ViT-CIFAR\'s 6.3 M', TIMEOUT, () => {
  withModel(() => createModel('vit-cifar'), (m) => {
    assert.equal(m.parameterCount(), 6_268_810);
    assert.ok(Math.abs(m.parameterCount() / 6.3e6 - 1) < 0.01);
  });
});

test('eval logits match torchvision\'s VisionTransformer(32, patch 8, 2 layers, 2 heads, hidden 32, MLP 64)', TIMEOUT, () => {
  withModel(() => small(32), (m) => {
    loadState(m, fixture.state);
    assertLogitsClose(logitsOf(m, '__input__'), fixture.extras.get('__logits__')!.data);
  });
});

test('interpolatePosEmbedding equals torchvision\'s interpolate_embeddings (grid 4 → 6 and 4 → 3)', TIMEOUT, () => {
  const pos = fixture.state.get('encoder.pos_embedding')!;
  for (const [grid, name] of [[6, '__pos48__'], [3, '__pos24__']] as const) {
    const want = fixture.extras.get(name)!;
    const got = interpolatePosEmbedding(pos.data, 32, 17, grid);
    assert.deepEqual([1, got.length / 32, 32], want.shape);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.data[i]!));
    assert.ok(worst < 1e-5, `${name}: worst difference ${worst}`);
  }
});

test('adaptStateDict: a 32×32 checkpoint loads into a 48×48 model and gives torchvision\'s logits', TIMEOUT, () => {
  withModel(() => small(48), (m) => {
    const vit = m as VisionTransformer;
    const values = new Map<string, ArrayLike<number>>(), shapes = new Map<string, Shape>();
    for (const [k, v] of fixture.state) { values.set(k, v.data); shapes.set(k, v.shape); }
    assert.throws(() => vit.loadStateDict(values, shapes), { message: 'loadStateDict: encoder.pos_embedding has shape [1, 17, 32], model expects [1, 37, 32]' });
    const entries = new Map([...fixture.state].map(([k, v]) => [k, { data: Float32Array.from(v.data), shape: [...v.shape] }]));
    vit.adaptStateDict(entries, '');
    assert.deepEqual(entries.get('encoder.pos_embedding')!.shape, [1, 37, 32]);
    vit.loadStateDict(new Map([...entries].map(([k, e]) => [k, e.data])), new Map([...entries].map(([k, e]) => [k, e.shape])));
    assertLogitsClose(logitsOf(vit, '__input48__'), fixture.extras.get('__logits48__')!.data);
  });
});

test('bad sizes are refused: image not divisible by the patch, a wrong input size, a non-square grid', TIMEOUT, () => {
  assert.throws(() => small(36), { message: 'VisionTransformer: image size 36 must be a positive multiple of the patch size 8' });
  assert.throws(() => createModel('vit_b_16', { imageSize: 8 }), { message: 'VisionTransformer: image size 8 must be a positive multiple of the patch size 16' });
  withModel(() => small(32), (m) => {
    assert.throws(() => m.forward(E.zeros([1, 3, 24, 24])), {
      message: "VisionTransformer: expected input [n, c, 32, 32], got [1, 3, 24, 24] (construct the model with this image size; adaptStateDict resizes a checkpoint's position embeddings)",
    });
  });
  assert.throws(() => interpolatePosEmbedding(new Float32Array(6 * 2), 2, 6, 3), { message: 'interpolatePosEmbedding: 5 patch embeddings do not form a square grid' });
});

const smokeCases: [string, () => Module, number][] = [
  ['vit_b_16 layout (patch 16, 32×32) at hidden 64, 2 layers', () => new VisionTransformer({ imageSize: 32, patchSize: 16, numLayers: 2, numHeads: 4, hiddenDim: 64, mlpDim: 128, numClasses: 10 }), 32],
  ['vit_b_32 layout (patch 32, 64×64) at hidden 64, 2 layers', () => new VisionTransformer({ imageSize: 64, patchSize: 32, numLayers: 2, numHeads: 4, hiddenDim: 64, mlpDim: 128, numClasses: 10 }), 64],
  ['vit-cifar (full size)', () => createModel('vit-cifar'), 32],
];
for (const [name, make, size] of smokeCases) {
  test(`${name}: three SGD steps on a repeated batch of 2 lower the loss`, TIMEOUT, () => {
    E.manualSeed(1);
    withModel(make, (m) => {
      const losses = trainSteps(m, [2, 3, size, size], 10, { lr: 0.05 });
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[2]! < losses[0]!, `losses ${losses}`);
    });
  });
}

const rms = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);

test('initialisation is torchvision\'s: zero class token and head, N(0, 0.02) positions, √(1/fan_in) patch projection', TIMEOUT, () => {
  withModel(() => new VisionTransformer({ imageSize: 64, patchSize: 16, numLayers: 1, numHeads: 4, hiddenDim: 256, mlpDim: 512, numClasses: 10 }), (m) => {
    const s = m.stateDict();
    for (const k of ['class_token', 'heads.head.weight', 'heads.head.bias', 'conv_proj.bias', 'encoder.layers.encoder_layer_0.self_attention.in_proj_bias']) {
      assert.ok(s.get(k)!.toArray().every((v) => v === 0), k);
    }
    assert.ok(Math.abs(rms(s.get('encoder.pos_embedding')!.toArray()) / 0.02 - 1) < 0.05);
    assert.ok(Math.abs(rms(s.get('conv_proj.weight')!.toArray()) / Math.sqrt(1 / (3 * 16 * 16)) - 1) < 0.02);
    const mlpBias = s.get('encoder.layers.encoder_layer_0.mlp.0.bias')!.toArray();
    assert.ok(rms(mlpBias) > 0 && rms(mlpBias) < 3e-6, 'MLP biases ~ N(0, 1e-6)');
    // xavier-uniform: U(±√(6/(fan_in + fan_out))), variance 2/(fan_in + fan_out).
    assert.ok(Math.abs(rms(s.get('encoder.layers.encoder_layer_0.mlp.3.weight')!.toArray()) / Math.sqrt(2 / (256 + 512)) - 1) < 0.02);
  });
});

test('the whole model\'s input gradient passes gradcheck (float64), with dropout off in training mode', TIMEOUT, () => {
  for (const training of [false, true]) {
    const built: { m?: VisionTransformer } = {};
    const { maxError, worst } = gradcheck({
      name: 'vit', shapes: [[2, 3, 8, 8]],
      fn: (x) => {
        let m = built.m;
        if (!m) {
          m = built.m = new VisionTransformer({ imageSize: 8, patchSize: 4, numLayers: 1, numHeads: 2, hiddenDim: 8, mlpDim: 16, numClasses: 3 });
          E.init.normal_(m.head.weight, 0, 1); // torchvision zeroes the head, which would hide every other gradient
        }
        return m.train(training).forward(x);
      },
    });
    built.m?.dispose();
    assert.ok(maxError < 1e-6, `training ${training}: ${worst}`);
  }
});
