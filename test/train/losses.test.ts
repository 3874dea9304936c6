/** Class weights (inverse frequency, effective number of samples), deferred re-weighting and the weighted losses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { classWeights, lossForEpoch, type LossConfig } from '../../src/train/losses.js';
import { useReferenceBackend } from './helpers.js';

useReferenceBackend();

function closeAll(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: expected ${expected[i]}, got ${a}`));
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

test('classWeights: none, inverse frequency, effective number (β = 0.9999) on counts [5000, 500, 50]', () => {
  const counts = [5000, 500, 50];
  assert.deepEqual(classWeights(counts, 'none'), [1, 1, 1]);
  // Inverse: 1/n = [0.0002, 0.002, 0.02], sum 0.0222; times C/sum = 3/0.0222 → [1/37, 10/37, 100/37].
  closeAll(classWeights(counts, 'inverse'), [3 / 111, 30 / 111, 300 / 111], 1e-14, 'inverse');
  // Effective number (Cui et al. 2019): w ∝ (1 − β)/(1 − β^n). Raw values (40-digit decimal arithmetic):
  //   n = 5000: 1e-4 / (1 − 0.9999^5000) = 2.541396138553726e-4
  //   n =  500: 1e-4 / (1 − 0.9999^500)  = 2.050316668471957e-3
  //   n =   50: 1e-4 / (1 − 0.9999^50)   = 2.004904165206528e-2
  // normalised to sum to 3:
  const effective = [0.034107361800994767, 0.27516722543688133, 2.6907254127621239];
  closeAll(classWeights(counts, 'effective', 0.9999), effective, 1e-12, 'effective');
  closeAll(classWeights(counts, 'effective'), effective, 1e-12, 'effective with the default β');
  for (const w of ['inverse', 'effective'] as const) assert.ok(Math.abs(sum(classWeights(counts, w)) - 3) < 1e-12, `${w} sums to C`);
  // β = 0 weighs every class the same; β → 1 approaches inverse frequency.
  closeAll(classWeights(counts, 'effective', 0), [1, 1, 1], 1e-15, 'β = 0');
  closeAll(classWeights(counts, 'effective', 1 - 1e-9), classWeights(counts, 'inverse'), 1e-4, 'β → 1');
});

test('classWeights errors: a class without samples, β outside [0, 1), unknown weighting', () => {
  assert.throws(() => classWeights([5, 0, 3], 'inverse'),
    { message: 'class weights: every class needs at least one training sample, counts are [5, 0, 3]' });
  assert.throws(() => classWeights([5, 0, 3], 'effective'), /counts are \[5, 0, 3\]/);
  assert.deepEqual(classWeights([5, 0, 3], 'none'), [1, 1, 1], 'no weighting needs no counts');
  for (const beta of [1, 1.5, -0.1, Number.NaN]) {
    assert.throws(() => classWeights([5, 2, 3], 'effective', beta), { message: `class weights: β must be in [0, 1), got ${beta}` });
  }
  assert.throws(() => classWeights([1, 2], 'sqrt' as never), /unknown weighting 'sqrt'\. Valid: none, inverse, effective/);
});

// The 2×3 example: row 0 has logits [0, 0, 0] (p = 1/3 each) and target 0, so −log p = ln 3;
// row 1 has logits [0, ln 3, 0] (p = [1/5, 3/5, 1/5]) and target 1, so −log p = ln(5/3).
const LOGITS = [0, 0, 0, 0, Math.log(3), 0];
const TARGET = [0, 1];
const LN3 = Math.log(3), LN53 = Math.log(5 / 3);

function lossOf(fn: (logits: E.Tensor, target: E.Tensor) => E.Tensor): number {
  return E.tidy(() => fn(E.tensor(LOGITS, [2, 3]), E.intTensor(TARGET)).item());
}

test('crossEntropy with class weights on a 2×3 example equals the hand-computed value', () => {
  // PyTorch's weighted mean: Σ w[y_i]·l_i / Σ w[y_i] = (1·ln 3 + 2·ln(5/3)) / 3.
  const weighted = lossOf((x, y) => E.crossEntropy(x, y, { weight: [1, 2, 3] }));
  assert.ok(Math.abs(weighted - (LN3 + 2 * LN53) / 3) < 1e-6, `${weighted} vs ${(LN3 + 2 * LN53) / 3}`);
  assert.ok(Math.abs(weighted - 0.706754512066697) < 1e-6);
  const plain = lossOf((x, y) => E.crossEntropy(x, y));
  assert.ok(Math.abs(plain - (LN3 + LN53) / 2) < 1e-6, `${plain}`);
});

test('lossForEpoch: inverse weights, DRW switches them on at drwEpoch, label smoothing and focal loss', () => {
  // counts [1, 2, 4] → inverse weights [12/7, 6/7, 3/7]; weighted loss = (12/7·ln 3 + 6/7·ln(5/3)) / (18/7).
  const counts = [1, 2, 4];
  const weighted = (2 * LN3 + LN53) / 3, unweighted = (LN3 + LN53) / 2;
  const drw: LossConfig = { kind: 'cross-entropy', weighting: 'inverse', drwEpoch: 3 };
  const expected = [unweighted, unweighted, weighted, weighted]; // epochs 1..4
  expected.forEach((want, i) => {
    const got = lossOf(lossForEpoch(drw, counts, i + 1));
    assert.ok(Math.abs(got - want) < 1e-6, `DRW epoch ${i + 1}: expected ${want}, got ${got}`);
  });
  const always = lossOf(lossForEpoch({ kind: 'cross-entropy', weighting: 'inverse' }, counts, 1));
  assert.ok(Math.abs(always - weighted) < 1e-6, 'without drwEpoch the weights apply from epoch 1');
  const none = lossOf(lossForEpoch({ kind: 'cross-entropy', weighting: 'none', drwEpoch: 1 }, counts, 5));
  assert.ok(Math.abs(none - unweighted) < 1e-6, 'weighting none ignores DRW');

  // Label smoothing 0.1: q = 0.9·onehot + 0.1/3. Row 0 stays ln 3; row 1 = 2·(0.1/3)·ln 5 + (0.9 + 0.1/3)·ln(5/3).
  const smooth = lossOf(lossForEpoch({ kind: 'cross-entropy', weighting: 'none', labelSmoothing: 0.1 }, counts, 1));
  const smoothWant = (LN3 + 2 * (0.1 / 3) * Math.log(5) + (0.9 + 0.1 / 3) * LN53) / 2;
  assert.ok(Math.abs(smooth - smoothWant) < 1e-6, `label smoothing: ${smooth} vs ${smoothWant}`);

  // Focal, γ = 2: −(1 − p)^2 log p → ((2/3)^2·ln 3 + (2/5)^2·ln(5/3)) / 2; γ = 0 is plain cross-entropy.
  const focal = lossOf(lossForEpoch({ kind: 'focal', weighting: 'none', focalGamma: 2 }, counts, 1));
  assert.ok(Math.abs(focal - ((4 / 9) * LN3 + 0.16 * LN53) / 2) < 1e-6, `focal: ${focal}`);
  const focal0 = lossOf(lossForEpoch({ kind: 'focal', weighting: 'none', focalGamma: 0 }, counts, 1));
  assert.ok(Math.abs(focal0 - unweighted) < 1e-6);
  // Weighted focal with DRW: the same normalisation by Σ w[y_i].
  const focalW = lossOf(lossForEpoch({ kind: 'focal', weighting: 'inverse', focalGamma: 2, drwEpoch: 2 }, counts, 2));
  const focalWWant = ((12 / 7) * (4 / 9) * LN3 + (6 / 7) * 0.16 * LN53) / (18 / 7);
  assert.ok(Math.abs(focalW - focalWWant) < 1e-6, `weighted focal: ${focalW} vs ${focalWWant}`);
});

test('lossForEpoch surfaces class-weight errors', () => {
  assert.throws(() => lossForEpoch({ kind: 'cross-entropy', weighting: 'effective', beta: 1 }, [3, 4], 1), /β must be in \[0, 1\), got 1/);
  assert.throws(() => lossForEpoch({ kind: 'cross-entropy', weighting: 'inverse' }, [3, 0], 1), /counts are \[3, 0\]/);
  // …but not before DRW switches the weights on.
  assert.doesNotThrow(() => lossForEpoch({ kind: 'cross-entropy', weighting: 'inverse', drwEpoch: 2 }, [3, 0], 1));
});
