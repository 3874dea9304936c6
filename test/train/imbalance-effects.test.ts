/**
 * Each imbalance option, shown to change what the trainer does, through `train()` itself.
 *
 * The trick: learning rate 0. The model then never moves, so every epoch's training loss is the configured
 * loss function applied to one fixed model, and can be computed here exactly from that model's per-image
 * log-probabilities: the class weights used, the per-class counts the sampler drew, the focal term, and the
 * epoch at which deferred re-weighting switches the weights on. Each expectation differs from the
 * alternatives (plain loss, plain sampler, weights from the start) by far more than the tolerance, which the
 * tests check too, so ignoring an option fails them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { DataLoader, classCounts, type ImageDataset } from '../../src/data/index.js';
import { classWeights, type LossConfig } from '../../src/train/losses.js';
import { train, type TrainConfig, type TrainResult } from '../../src/train/trainer.js';
import { baseConfig, quadrantDataset, tempDir, useReferenceBackend } from './helpers.js';

useReferenceBackend();

// 4 classes with 24, 12, 6 and 3 images: a long tail.
const COUNTS = [24, 12, 6, 3];
const labels = COUNTS.flatMap((n, c) => new Array<number>(n).fill(c));
const TRAIN: ImageDataset = quadrantDataset(labels.length, { classes: 4, labels, seed: 31 });
const VAL: ImageDataset = quadrantDataset(8, { classes: 4, seed: 32 });
const N = TRAIN.length;
const RTOL = 1e-5;

function frozenConfig(over: Partial<TrainConfig>): TrainConfig {
  // lr 0 freezes the model; one batch of the whole set per epoch makes each epoch's loss one exact formula.
  return baseConfig({ epochs: 3, batchSize: N, optimizer: { name: 'sgd', lr: 0, momentum: 0.9 }, seed: 5, ...over });
}

function run(over: Partial<TrainConfig>): TrainResult {
  return train(frozenConfig(over), { train: TRAIN, val: VAL }, tempDir());
}

/** log p(y_i | x_i) for every training image under the (frozen) model of a finished run, by dataset index. */
function logProbTrue(r: TrainResult): Float64Array {
  const loader = new DataLoader(TRAIN, { batchSize: N, seed: 0, mean: r.meta.mean, std: r.meta.std });
  const out = new Float64Array(N);
  for (const b of loader.batches(0)) {
    const logp = E.noGrad(() => E.tidy(() => E.logSoftmax(r.model.forward(E.tensor(b.x.slice(0, b.size * 100), [b.size, 1, 10, 10]))).toArray()));
    for (let k = 0; k < b.size; k++) out[b.indices[k]!] = logp[k * 4 + b.y[k]!]!;
  }
  return out;
}

/** Σ w_y · term_i / Σ w_y over the drawn indices: the 'mean' reduction of a weighted loss. */
function weightedMean(indices: ArrayLike<number>, term: (i: number) => number, weight: number[] | null): number {
  let num = 0, den = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!, w = weight ? weight[TRAIN.labels[i]!]! : 1;
    num += w * term(i);
    den += w;
  }
  return num / den;
}

const all = Array.from({ length: N }, (_, i) => i);
const close = (a: number, b: number): boolean => Math.abs(a - b) <= RTOL * Math.abs(b);

function assertLosses(r: TrainResult, expected: number[], label: string): void {
  const got = r.history.map((h) => h.train_loss);
  assert.equal(got.length, expected.length);
  got.forEach((g, e) => assert.ok(close(g, expected[e]!), `${label}: epoch ${e + 1} train loss ${g}, expected ${expected[e]}`));
}

/** The expectation must be distinguishable from what ignoring the option would give. */
function assertDistinct(expected: number, alternative: number, what: string): void {
  assert.ok(Math.abs(expected - alternative) > 100 * RTOL * Math.abs(alternative), `${what}: ${expected} vs ${alternative} is too close to tell apart`);
}

test('class weights: inverse frequency and effective number match their formulas, normalised to sum to C', () => {
  const inv = COUNTS.map((n) => 1 / n), invSum = inv.reduce((a, b) => a + b, 0);
  const beta = 0.9, eff = COUNTS.map((n) => (1 - beta) / (1 - beta ** n)), effSum = eff.reduce((a, b) => a + b, 0);
  const cases: [string, number[], number[]][] = [
    ['none', classWeights(COUNTS, 'none'), [1, 1, 1, 1]],
    ['inverse', classWeights(COUNTS, 'inverse'), inv.map((w) => (4 * w) / invSum)],
    ['effective β=0.9', classWeights(COUNTS, 'effective', beta), eff.map((w) => (4 * w) / effSum)],
  ];
  for (const [name, got, want] of cases) got.forEach((w, c) => assert.ok(Math.abs(w - want[c]!) < 1e-12, `${name} class ${c}: ${w} vs ${want[c]}`));
  // The rarest class weighs most: 3 images → inverse weight 8× the 24-image class's.
  assert.ok(Math.abs(cases[1]![1][3]! / cases[1]![1][0]! - 8) < 1e-12);
  assert.throws(() => classWeights([3, 0], 'inverse'), /^Error: class weights: every class needs at least one training sample, counts are \[3, 0\]$/);
  assert.throws(() => classWeights([3, 1], 'effective', 1), /^Error: class weights: β must be in \[0, 1\), got 1$/);
});

test('the trainer uses the configured class weights (plain, inverse, effective) in its loss', () => {
  const plain = run({});
  const lp = logProbTrue(plain);
  const nll = (i: number): number => -lp[i]!;
  const expectedPlain = weightedMean(all, nll, null);
  assertLosses(plain, [expectedPlain, expectedPlain, expectedPlain], 'plain cross-entropy');
  plain.model.dispose();
  const weightings: [string, LossConfig, number[]][] = [
    ['inverse', { kind: 'cross-entropy', weighting: 'inverse' }, classWeights(COUNTS, 'inverse')],
    ['effective β=0.9', { kind: 'cross-entropy', weighting: 'effective', beta: 0.9 }, classWeights(COUNTS, 'effective', 0.9)],
  ];
  for (const [name, loss, weights] of weightings) {
    const r = run({ loss });
    const expected = weightedMean(all, nll, weights);
    assertDistinct(expected, expectedPlain, `${name} against plain`);
    assertLosses(r, [expected, expected, expected], name);
    r.model.dispose();
  }
});

test('deferred re-weighting: plain loss before the DRW epoch, weighted from it on', () => {
  const weights = classWeights(COUNTS, 'effective', 0.9);
  const cases: [number, boolean[]][] = [[2, [false, true, true]], [3, [false, false, true]], [0, [true, true, true]], [4, [false, false, false]]];
  for (const [drwEpoch, weighted] of cases) {
    const r = run({ loss: { kind: 'cross-entropy', weighting: 'effective', beta: 0.9, drwEpoch } });
    const lp = logProbTrue(r);
    const plainLoss = weightedMean(all, (i) => -lp[i]!, null), weightedLoss = weightedMean(all, (i) => -lp[i]!, weights);
    assertDistinct(weightedLoss, plainLoss, 'weighted against plain');
    assertLosses(r, weighted.map((w) => (w ? weightedLoss : plainLoss)), `DRW from epoch ${drwEpoch}`);
    r.model.dispose();
  }
});

test('focal loss: the trainer minimises mean (1 − p)^γ · (−log p), not cross-entropy', () => {
  const r = run({ loss: { kind: 'focal', weighting: 'none', focalGamma: 2 } });
  const lp = logProbTrue(r);
  const focal = weightedMean(all, (i) => (1 - Math.exp(lp[i]!)) ** 2 * -lp[i]!, null);
  assertDistinct(focal, weightedMean(all, (i) => -lp[i]!, null), 'focal against cross-entropy');
  assertLosses(r, [focal, focal, focal], 'focal γ=2');
  r.model.dispose();
});

test('balanced sampler: the trainer draws every class about equally often, and its loss is over those draws', () => {
  const config = frozenConfig({ sampler: 'balanced' });
  const r = train(config, { train: TRAIN, val: VAL }, tempDir());
  const lp = logProbTrue(r);
  // The trainer's loader, rebuilt with its options: the draws of epoch e are epochOrder(e).
  const loader = new DataLoader(TRAIN, { batchSize: N, seed: config.seed, sampler: 'balanced' });
  for (let epoch = 1; epoch <= 3; epoch++) {
    const drawn = loader.epochOrder(epoch);
    assert.equal(drawn.length, N);
    const perClass = [0, 0, 0, 0];
    for (const i of drawn) perClass[TRAIN.labels[i]!]!++;
    // 45 draws over 4 classes: about 11 each, where the plain sampler would give 24, 12, 6, 3.
    for (const n of perClass) assert.ok(n >= 5 && n <= 18, `epoch ${epoch}: per-class draws [${perClass.join(', ')}]`);
    assert.ok(perClass[3]! > COUNTS[3]!, `the 3-image class is drawn ${perClass[3]} times`);
    const expected = weightedMean(drawn, (i) => -lp[i]!, null);
    assertDistinct(expected, weightedMean(all, (i) => -lp[i]!, null), `epoch ${epoch}: balanced draws against the plain epoch`);
    const got = r.history[epoch - 1]!.train_loss;
    assert.ok(close(got, expected), `epoch ${epoch}: train loss ${got}, expected ${expected} over the balanced draws`);
  }
  assert.deepEqual(classCounts(TRAIN), COUNTS);
  r.model.dispose();
});
