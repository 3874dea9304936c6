/**
 * The default recipes: what `convlab train <model> --dataset <name>` does with no other option, as the README
 * states it, and that an explicit option replaces only its own field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRecipe } from '../../src/train/recipes.js';

test('default recipes by model and dataset', () => {
  type Row = [string, string, { epochs: number; batchSize: number; optimizer: object; schedule: object; augment: object }];
  const digits = { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
  const cases: Row[] = [
    // README: "SGD with Nesterov momentum 0.9, weight decay 5e-4, one-cycle learning rate peaking at 0.05, batch 64", 10 epochs.
    ['lenet5', 'mnist', { epochs: 10, batchSize: 64, optimizer: digits, schedule: { name: 'onecycle' }, augment: {} }],
    ['lenet5', 'fashion-mnist', { epochs: 10, batchSize: 64, optimizer: digits, schedule: { name: 'onecycle' }, augment: {} }],
    // README quickstart: 8 epochs on the bundled sample.
    ['lenet5', 'mnist-sample', { epochs: 8, batchSize: 64, optimizer: digits, schedule: { name: 'onecycle' }, augment: {} }],
    ['lenet5-classic', 'mnist', { epochs: 10, batchSize: 64, optimizer: { ...digits, lr: 0.1 }, schedule: { name: 'onecycle' }, augment: {} }],
    ['alexnet', 'mnist', { epochs: 10, batchSize: 64, optimizer: { ...digits, lr: 0.01 }, schedule: { name: 'onecycle' }, augment: {} }],
    // README: "lr 0.02 with half an epoch of linear warmup and cosine decay, batch 64, random crop (4-pixel padding) and horizontal flip", 7 epochs.
    ['alexnet-cifar', 'cifar10', {
      epochs: 7, batchSize: 64, optimizer: { ...digits, lr: 0.02 }, schedule: { name: 'cosine', warmupEpochs: 0.5 }, augment: { cropPadding: 4, hflip: true },
    }],
    ['lenet5', 'cifar10', {
      epochs: 7, batchSize: 64, optimizer: { ...digits, lr: 0.02 }, schedule: { name: 'cosine', warmupEpochs: 0.5 }, augment: { cropPadding: 4, hflip: true },
    }],
  ];
  for (const [model, dataset, expected] of cases) {
    const r = defaultRecipe(model, dataset);
    assert.deepEqual({ epochs: r.epochs, batchSize: r.batchSize, optimizer: r.optimizer, schedule: r.schedule, augment: r.augment }, expected, `${model} on ${dataset}`);
    assert.deepEqual([r.loss, r.sampler, r.monitor, r.patience, r.checkpointEvery], [{ kind: 'cross-entropy', weighting: 'none' }, 'uniform', 'val.accuracy', 0, 0]);
  }
});

test('zoo families get their reference recipe: optimiser, decay, label smoothing, warmup + cosine', () => {
  const sgd = (lr: number, weightDecay: number): object => ({ name: 'sgd', lr, momentum: 0.9, nesterov: true, weightDecay });
  const cosine = { name: 'cosine', warmupEpochs: 0.5 };
  type Row = [string, string, object, object, number | undefined, number];
  const cases: Row[] = [
    // GoogLeNet and DenseNet at batch 32 (64 outgrows the 4 GiB heap), with the learning rate halved to match.
    ['googlenet-cifar', 'cifar10', sgd(0.025, 5e-4), cosine, undefined, 32],
    ['densenet-bc-100', 'cifar10', sgd(0.05, 1e-4), cosine, undefined, 32],
    ['densenet121', 'cifar10', sgd(0.05, 1e-4), cosine, undefined, 32],
    ['mobilenet_v2-cifar', 'cifar10', sgd(0.05, 5e-4), cosine, undefined, 64],
    ['mobilenet_v3_small', 'mnist', sgd(0.05, 4e-5), cosine, undefined, 64],
    ['efficientnet_b0-cifar', 'cifar10', sgd(0.05, 5e-4), cosine, 0.1, 64],
    ['efficientnet_b2', 'mnist', sgd(0.05, 1e-5), cosine, 0.1, 64],
    ['vit-cifar', 'cifar10', { name: 'adamw', lr: 1e-3, weightDecay: 0.05 }, { name: 'cosine', warmupEpochs: 1 }, 0.1, 64],
    ['vit_b_16', 'mnist', { name: 'adamw', lr: 1e-3, weightDecay: 0.05 }, { name: 'cosine', warmupEpochs: 1 }, 0.1, 64],
  ];
  for (const [model, dataset, optimizer, schedule, smoothing, batchSize] of cases) {
    const r = defaultRecipe(model, dataset);
    assert.deepEqual([r.optimizer, r.schedule, r.loss.labelSmoothing, r.batchSize], [optimizer, schedule, smoothing, batchSize], `${model} on ${dataset}`);
  }
  assert.deepEqual(defaultRecipe('densenet-bc-100', 'cifar10').augment, { cropPadding: 4, hflip: true });
});

test('a recipe is a fresh copy: changing one does not change the next', () => {
  const a = defaultRecipe('alexnet-cifar', 'cifar10');
  a.optimizer.lr = 123;
  a.augment.hflip = false;
  const b = defaultRecipe('alexnet-cifar', 'cifar10');
  assert.deepEqual([b.optimizer.lr, b.augment.hflip], [0.02, true]);
});
