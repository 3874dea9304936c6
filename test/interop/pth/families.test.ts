/**
 * Every zoo family loads torchvision-layout weights from a file written by torch.save and reproduces PyTorch's eval
 * logits within 1e-4 × max(1, max |logit|):
 * - the full named configurations (1000 classes) of scripts/fixtures/pth_families.py: float16 storages in deflated
 *   zips, loaded through `loadWeights` as a user's `--weights model.pth` is;
 * - DenseNet, EfficientNet and ViT at the reduced settings of their safetensors parity fixtures, re-saved as .pth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../../src/engine/index.js';
import { createModel } from '../../../src/models/index.js';
import { EfficientNet, mbconvConfig } from '../../../src/models/efficientnet.js';
import { VisionTransformer } from '../../../src/models/vit.js';
import type { Module } from '../../../src/nn/index.js';
import { readPth } from '../../../src/interop/pth/index.js';
import { loadWeights } from '../../../src/train/weights.js';
import { formulaInput } from '../../models/mobilenet-helpers.js';
import { assertLogitsClose, readZooTensors } from '../../models/zoo-helpers.js';
import { pthFixture } from './helpers.js';

await E.initEngine();

const TIMEOUT = { timeout: 120_000 };
const INPUT_SHAPE = [2, 3, 64, 64];
const torchLogits = readPth(pthFixture('families/logits.pth')).entries;

/** Loads `file` into `model` as `--weights` does, then checks every tensor was used and the eval logits match. */
function assertPthLogits(model: Module, file: string, input: E.Tensor, expected: ArrayLike<number>, label: string): void {
  try {
    const { loaded } = loadWeights(model, file);
    assert.equal(loaded, model.stateDict().size, `${label}: every state-dict entry loaded`);
    model.eval();
    E.tidy(() => assertLogitsClose(E.noGrad(() => model.forward(input)).toArray(), expected, 1e-4, label));
  } finally {
    input.dispose();
    model.dispose();
  }
}

const families: [name: string, extra: Record<string, unknown>][] = [
  ['googlenet', { auxLogits: true, transformInput: true }],
  ['mobilenet_v1', {}],
  ['mobilenet_v2', {}],
  ['mobilenet_v3_small', {}],
  ['mobilenet_v3_large', {}],
  ['efficientnet_b0', {}],
];

for (const [name, extra] of families) {
  test(`${name}.pth (torch.save, float16, deflated): the full torchvision layout gives PyTorch's eval logits`, TIMEOUT, () => {
    const expected = torchLogits.get(name);
    assert.ok(expected, `logits.pth has ${name}`);
    assert.deepEqual(expected.shape, [2, 1000]);
    assertPthLogits(createModel(name, { numClasses: 1000, extra }), pthFixture(`families/${name}.pth`), formulaInput(INPUT_SHAPE), expected.data, name);
  });
}

const fromSafetensorsFixture = (name: string, input: string, logits: string, make: () => Module): void => {
  test(`${name}.pth (torch.save copy of the parity fixture): PyTorch's eval logits`, TIMEOUT, () => {
    const fx = readZooTensors(`${name}.safetensors`);
    const x = fx.get(input)!;
    assertPthLogits(make(), pthFixture(`${name}.pth`), E.tensor(x.data, x.shape), fx.get(logits)!.data, name);
  });
};

fromSafetensorsFixture('efficientnet_small', '__input__', '__logits__', () => new EfficientNet({
  setting: [mbconvConfig(1, 3, 1, 8, 8, 1), mbconvConfig(6, 3, 2, 8, 16, 2), mbconvConfig(6, 5, 2, 16, 24, 1)], numClasses: 10,
}));
fromSafetensorsFixture('vit_small', '__input__', '__logits__', () => new VisionTransformer({
  imageSize: 32, patchSize: 8, numLayers: 2, numHeads: 2, hiddenDim: 32, mlpDim: 64, numClasses: 10,
}));
