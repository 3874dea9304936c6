/**
 * The imbalanced-data workflow end to end on a tiny long-tailed subset of the bundled real MNIST sample:
 * the class counts follow the profile, the balanced sampler draws classes evenly, the class-weighted loss
 * equals a hand computation, and a few training steps of every loss and sampler run and stay finite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { DataLoader, classCounts, epochClassCounts, loadDataset, makeImbalanced, subset } from '../../src/data/index.js';
import { classWeights, lossForEpoch, type LossConfig } from '../../src/train/losses.js';
import { train, type TrainConfig } from '../../src/train/trainer.js';
import { initEngine } from '../../src/engine/engine.js';
import { tempDir } from './helpers.js';

// The fast backend when it is built (it is, under `npm test`); the reference backend otherwise.
await initEngine();

async function tinyLongTailed() {
  const full = await loadDataset('mnist-sample', { split: 'train' });
  // 40 images per class first, so that exp:10 gives n_i = floor(40 · 10^(−i/9)).
  const perClass = new Map<number, number[]>();
  for (let i = 0; i < full.length; i++) {
    const y = full.labels[i]!;
    const list = perClass.get(y) ?? [];
    if (list.length < 40) list.push(i);
    perClass.set(y, list);
  }
  const balanced = subset(full, [...perClass.values()].flat().sort((a, b) => a - b));
  return makeImbalanced(balanced, 'exp:10', 3);
}

test('exp:10 class counts follow n_i = floor(n_max · r^(−i/(C−1)))', async () => {
  const lt = await tinyLongTailed();
  const expected = Array.from({ length: 10 }, (_, i) => Math.floor(40 * 10 ** (-i / 9)));
  assert.deepEqual(lt.counts, expected);
  assert.deepEqual(classCounts(lt.dataset), expected);
});

test('the balanced sampler draws every class about equally often', async () => {
  const lt = await tinyLongTailed();
  const loader = new DataLoader(lt.dataset, { batchSize: 50, sampler: 'balanced', epochSize: 5000, seed: 1 });
  const drawn = epochClassCounts(loader, 1);
  for (const n of drawn) assert.ok(Math.abs(n - 500) < 75, `class drawn ${n} times of 5000, expected about 500: [${drawn.join(', ')}]`);
});

test('inverse-frequency weighted cross-entropy equals a hand computation', async () => {
  const counts = [4, 2, 1];
  const w = classWeights(counts, 'inverse'); // ∝ 1/n, normalised to sum to C = 3
  const raw = [1 / 4, 1 / 2, 1];
  const norm = raw.reduce((a, b) => a + b, 0);
  raw.forEach((r, i) => assert.ok(Math.abs(w[i]! - (3 * r) / norm) < 1e-12));
  const logits = [[2, 0, 0], [0, 1, 0]];
  const target = [0, 2];
  const loss = lossForEpoch({ kind: 'cross-entropy', weighting: 'inverse' }, counts, 1)(E.tensor(logits.flat(), [2, 3]), E.intTensor(target)).item();
  const nll = (row: number[], y: number): number => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[y]!;
  const expected = (w[0]! * nll(logits[0]!, 0) + w[2]! * nll(logits[1]!, 2)) / (w[0]! + w[2]!);
  assert.ok(Math.abs(loss - expected) < 1e-6, `loss ${loss}, expected ${expected}`);
});

const losses: [string, LossConfig, 'uniform' | 'balanced'][] = [
  ['plain cross-entropy', { kind: 'cross-entropy', weighting: 'none' }, 'uniform'],
  ['inverse-frequency weights', { kind: 'cross-entropy', weighting: 'inverse' }, 'uniform'],
  ['effective-number weights', { kind: 'cross-entropy', weighting: 'effective', beta: 0.99 }, 'uniform'],
  ['deferred re-weighting from epoch 2', { kind: 'cross-entropy', weighting: 'effective', beta: 0.99, drwEpoch: 2 }, 'uniform'],
  ['focal loss', { kind: 'focal', weighting: 'none', focalGamma: 2 }, 'uniform'],
  ['class-balanced sampler', { kind: 'cross-entropy', weighting: 'none' }, 'balanced'],
];

for (const [name, loss, sampler] of losses) {
  test(`a few training steps with ${name}`, async () => {
    const lt = await tinyLongTailed();
    const config: TrainConfig = {
      model: 'lenet5', dataset: 'mnist-sample-lt', epochs: 2, batchSize: 32, seed: 0,
      optimizer: { name: 'sgd', lr: 0.02, momentum: 0.9 }, schedule: { name: 'constant' }, loss,
      augment: {}, sampler, monitor: 'val.macro_recall', patience: 0, checkpointEvery: 0,
    };
    const result = train(config, { train: lt.dataset, val: lt.dataset }, tempDir());
    assert.equal(result.history.length, 2);
    for (const row of result.history) assert.ok(Number.isFinite(row.train_loss) && Number.isFinite(row.val_macro_recall));
    result.model.dispose();
  });
}
