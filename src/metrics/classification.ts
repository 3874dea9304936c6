/**
 * Classification metrics over typed arrays.
 *
 * Conventions (same as scikit-learn with `labels=range(numClasses)` and `zero_division=0`):
 *  - the confusion matrix has true classes as rows and predicted classes as columns;
 *  - precision, recall or F1 whose denominator is 0 are defined as 0 (no NaN, no warning);
 *  - macro averages are over all `numClasses` classes, including classes with no true
 *    samples (they contribute their zero-division 0s); weighted averages weight by support;
 *  - balanced accuracy is the mean recall over the classes that have at least one true
 *    sample (sklearn's balanced_accuracy_score), so it can differ from macro recall when a
 *    class is absent from yTrue.
 */

import { argmaxOfRows } from '../util/argmax.js';

export type Labels = ArrayLike<number>;

function checkLabels(yTrue: Labels, yPred: Labels, numClasses: number): void {
  if (yTrue.length !== yPred.length) {
    throw new Error(`metrics: yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`metrics: numClasses must be >= 1, got ${numClasses}`);
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < numClasses)) {
      throw new Error(`metrics: yTrue[${i}] = ${t} is outside 0..${numClasses - 1}`);
    }
    if (!(Number.isInteger(p) && p >= 0 && p < numClasses)) {
      throw new Error(`metrics: yPred[${i}] = ${p} is outside 0..${numClasses - 1}`);
    }
  }
}

/** numClasses × numClasses counts; m[t][p] = number of samples of true class t predicted as p. */
export function confusionMatrix(yTrue: Labels, yPred: Labels, numClasses: number): number[][] {
  checkLabels(yTrue, yPred, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) m[yTrue[i]!]![yPred[i]!]!++;
  return m;
}

/** Fraction of yPred equal to yTrue (0 for empty input). */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  if (yTrue.length !== yPred.length) {
    throw new Error(`metrics: yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
  }
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return yTrue.length ? ok / yTrue.length : 0;
}

/** Row-wise argmax of an N × C score matrix (ties → the lowest class index). */
export function argmaxRows(scores: ArrayLike<number>, numClasses: number): Int32Array {
  if (scores.length % numClasses !== 0) {
    throw new Error(`metrics: ${scores.length} scores is not a multiple of ${numClasses} classes`);
  }
  return argmaxOfRows(scores, scores.length / numClasses, numClasses);
}

/**
 * Top-k accuracy from an N × C matrix of logits or probabilities (row-major).
 * A sample counts as correct when its true class is among the k best-scored classes;
 * ties are broken towards the lower class index (so k = 1 agrees with argmaxRows).
 */
export function topKAccuracy(scores: ArrayLike<number>, yTrue: Labels, numClasses: number, k: number): number {
  const n = yTrue.length;
  if (scores.length !== n * numClasses) {
    throw new Error(`metrics: scores has ${scores.length} values, expected ${n}×${numClasses} = ${n * numClasses}`);
  }
  if (!Number.isInteger(k) || k < 1) throw new Error(`metrics: k must be a positive integer, got ${k}`);
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const o = i * numClasses;
    const t = yTrue[i]!;
    if (!(t >= 0 && t < numClasses)) throw new Error(`metrics: yTrue[${i}] = ${t} is outside 0..${numClasses - 1}`);
    const st = scores[o + t]!;
    let rank = 0;
    for (let c = 0; c < numClasses && rank < k; c++) {
      const v = scores[o + c]!;
      if (v > st || (v === st && c < t)) rank++;
    }
    if (rank < k) ok++;
  }
  return n ? ok / n : 0;
}

export interface PerClassMetrics {
  precision: number[];
  recall: number[];
  f1: number[];
  /** Number of true samples of each class. */
  support: number[];
  /** Number of predictions of each class. */
  predicted: number[];
}

/** Per-class precision / recall / F1 / support from a confusion matrix (zero division → 0). */
export function perClassMetrics(matrix: number[][]): PerClassMetrics {
  const C = matrix.length;
  const out: PerClassMetrics = { precision: [], recall: [], f1: [], support: [], predicted: [] };
  for (let c = 0; c < C; c++) {
    const tp = matrix[c]![c]!;
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < C; j++) {
      support += matrix[c]![j]!;
      predicted += matrix[j]![c]!;
    }
    const p = predicted ? tp / predicted : 0;
    const r = support ? tp / support : 0;
    out.precision.push(p);
    out.recall.push(r);
    out.f1.push(p + r ? (2 * p * r) / (p + r) : 0);
    out.support.push(support);
    out.predicted.push(predicted);
  }
  return out;
}

/** Mean recall over classes with at least one true sample (0 when there are none). */
export function balancedAccuracyFromMatrix(matrix: number[][]): number {
  const m = perClassMetrics(matrix);
  let s = 0;
  let k = 0;
  m.recall.forEach((r, c) => {
    if (m.support[c]! > 0) {
      s += r;
      k++;
    }
  });
  return k ? s / k : 0;
}

export function balancedAccuracy(yTrue: Labels, yPred: Labels, numClasses: number): number {
  return balancedAccuracyFromMatrix(confusionMatrix(yTrue, yPred, numClasses));
}

export interface AverageMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Macro (unweighted mean over all classes) and support-weighted averages. */
export function averages(m: PerClassMetrics): { macro: AverageMetrics; weighted: AverageMetrics } {
  const C = m.support.length;
  const total = m.support.reduce((a, b) => a + b, 0);
  const mean = (v: number[]) => (C ? v.reduce((a, b) => a + b, 0) / C : 0);
  const wmean = (v: number[]) => (total ? v.reduce((a, x, i) => a + x * m.support[i]!, 0) / total : 0);
  return {
    macro: { precision: mean(m.precision), recall: mean(m.recall), f1: mean(m.f1), support: total },
    weighted: { precision: wmean(m.precision), recall: wmean(m.recall), f1: wmean(m.f1), support: total },
  };
}
