/**
 * Models built from plain torchvision-layout weights (predict --model) and what fine-tuning from them needs:
 * GoogLeNet's transform_input is switched on for ImageNet weights and its auxiliary heads follow the file;
 * ImageNet weights get ImageNet's normalisation, 256/224 and class names; a checkpoint gives its own statistics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { GoogLeNet } from '../../src/models/googlenet.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/data/index.js';
import { modelFromWeights } from '../../src/train/pretrained.js';
import { pretrainedInputs } from '../../src/train/finetune.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { saveWeights } from '../../src/train/weights.js';
import { tempDir, useReferenceBackend } from './helpers.js';

useReferenceBackend();
const TIMEOUT = { timeout: 120_000 };

test('googlenet from ImageNet weights without the aux heads (torchvision\'s state_dict()): transform_input on, no aux, ImageNet preprocessing', TIMEOUT, () => {
  const file = join(tempDir('convlab-pretrained-'), 'googlenet.safetensors');
  E.manualSeed(4);
  const source = createModel('googlenet', { numClasses: 1000, extra: { auxLogits: false } });
  saveWeights(source, file);
  source.dispose();
  const p = modelFromWeights('googlenet', file);
  assert.ok(p.model instanceof GoogLeNet);
  assert.deepEqual([p.model.transformInput, p.model.aux1, p.model.training], [true, null, false]);
  assert.deepEqual([p.resize, p.crop, p.channels, p.mean, p.std, p.classes.length, p.classes[0], p.classes[999]], [256, 224, 3, IMAGENET_MEAN, IMAGENET_STD, 1000, 'tench', 'toilet tissue']);
  assert.deepEqual([p.load.missing, p.load.unexpected], [[], []]);
  p.model.dispose();
  assert.deepEqual(pretrainedInputs('googlenet', file, 3), {
    mean: IMAGENET_MEAN, std: IMAGENET_STD, extra: { auxLogits: false, transformInput: true },
    message: `normalising with ImageNet's mean and std (${file} has 1000 classes: ImageNet weights); transform_input on, as torchvision sets it for them`,
  });
  assert.deepEqual(pretrainedInputs('googlenet', file, 1), { extra: { auxLogits: false } }, 'grey data: not ImageNet input');
});

test('other class counts: --imagenet names classes by index; without it one line; a convlab checkpoint gives its own statistics', TIMEOUT, () => {
  const dir = tempDir('convlab-pretrained-');
  const file = join(dir, 'seven.safetensors'), ckpt = join(dir, 'ckpt.safetensors');
  const m = createModel('mobilenet_v3-cifar', { numClasses: 7 });
  saveWeights(m, file);
  saveCheckpoint(ckpt, m, { model: { name: 'mobilenet_v3-cifar', numClasses: 7, inChannels: 3, imageSize: 32 }, classes: 'abcdefg'.split(''), mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6] });
  m.dispose();
  assert.throws(() => modelFromWeights('mobilenet_v3-cifar', file), { message: `${file}: a state dict with 7 classes and no convlab metadata: predict needs a convlab checkpoint (classes, normalisation), or --imagenet to prepare images as for ImageNet weights` });
  const p = modelFromWeights('mobilenet_v3-cifar', file, { imagenet: true });
  assert.deepEqual([p.classes.length, p.classes[6], p.crop, p.resize], [7, 'class 6', 32, 37]);
  p.model.dispose();
  assert.throws(() => modelFromWeights('mobilenet_v3-cifar', ckpt), { message: `${ckpt}: is a convlab checkpoint; pass it as the checkpoint argument instead of --model and --weights` });
  const fromCkpt = pretrainedInputs('mobilenet_v3-cifar', ckpt, 3);
  assert.deepEqual([fromCkpt.mean, fromCkpt.std, fromCkpt.message], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], `normalising with ${ckpt}'s mean and std, as it was trained`]);
  assert.deepEqual(pretrainedInputs('mobilenet_v3-cifar', file, 3), {}, 'not ImageNet weights: the dataset\'s statistics');
});
