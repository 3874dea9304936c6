/**
 * `convlab train airbench94`: --micro-batch reaches the recipe (and is refused for other models); the recipe's
 * defaults fill whatever the flags leave unset, and --lr / --momentum / --weight-decay set the decoupled values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseTrainFlags, type RawFlags } from '../../src/cli/flags.js';
import { trainOptions } from '../../src/cli/commands/train.js';
import { airbenchConfig } from '../../src/api-airbench.js';
import { AIRBENCH94 } from '../../src/train/airbench-recipe.js';

const base: RawFlags = { dataset: 'cifar10' };

test('--micro-batch: refused for models without the airbench recipe, passed on for airbench94', { timeout: 10_000 }, () => {
  assert.throws(() => parseTrainFlags('lenet5', { ...base, microBatch: '32' }), (err: unknown) => {
    assert.ok(err instanceof FlagError);
    assert.equal(err.message, "--micro-batch: only the airbench94 recipe accumulates gradients, not 'lenet5'");
    return true;
  });
  const o = trainOptions(parseTrainFlags('airbench94', { ...base, microBatch: '256' }));
  assert.equal(o.microBatch, 256);
  assert.equal(airbenchConfig(o).microBatch, 256);
});

test('airbench94 defaults: the published recipe unless a flag says otherwise', { timeout: 10_000 }, () => {
  const plain = airbenchConfig(trainOptions(parseTrainFlags('airbench94', base)));
  assert.deepEqual(plain, { ...AIRBENCH94, model: 'airbench94', dataset: 'cifar10' });
  assert.deepEqual([plain.epochs, plain.batchSize, plain.microBatch, plain.lr, plain.momentum, plain.weightDecay, plain.labelSmoothing, plain.ttaLevel],
    [9.9, 1024, 1024, 11.5, 0.85, 0.0153, 0.2, 2]);
  const tuned = airbenchConfig(trainOptions(parseTrainFlags('airbench94', { ...base, lr: '10', epochs: '2', batchSize: '512', seed: '3' })));
  assert.deepEqual([tuned.lr, tuned.momentum, tuned.weightDecay, tuned.epochs, tuned.batchSize, tuned.microBatch, tuned.seed], [10, 0.85, 0.0153, 2, 512, 512, 3]);
});
