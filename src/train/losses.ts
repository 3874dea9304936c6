/**
 * Loss configuration for imbalanced data: class weights from the training counts (inverse frequency, or the
 * effective number of samples of Cui et al. 2019), deferred re-weighting (Cao et al. 2019), and focal loss.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

export type Weighting = 'none' | 'inverse' | 'effective';

export interface LossConfig {
  kind: 'cross-entropy' | 'focal';
  weighting: Weighting;
  /** β for effective-number weights (default 0.9999). */
  beta?: number;
  /** Deferred re-weighting: plain loss until this epoch (1-based), weighted from it on. 0 = weighted throughout. */
  drwEpoch?: number;
  labelSmoothing?: number;
  focalGamma?: number;
}

/** Weights normalised to sum to the number of classes, as in the papers' reference code. */
export function classWeights(counts: number[], weighting: Weighting, beta = 0.9999): number[] {
  if (counts.some((n) => n <= 0) && weighting !== 'none') {
    throw new Error(`class weights: every class needs at least one training sample, counts are [${counts.join(', ')}]`);
  }
  let raw: number[];
  switch (weighting) {
    case 'none': return counts.map(() => 1);
    case 'inverse': raw = counts.map((n) => 1 / n); break;
    case 'effective':
      if (!(beta >= 0 && beta < 1)) throw new Error(`class weights: β must be in [0, 1), got ${beta}`);
      raw = counts.map((n) => (1 - beta) / (1 - beta ** n));
      break;
    default: throw new Error(`unknown weighting '${weighting as string}'. Valid: none, inverse, effective`);
  }
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w / total) * counts.length);
}

/** The loss function for a given epoch (1-based): DRW switches the weights on at `drwEpoch`. */
export function lossForEpoch(c: LossConfig, counts: number[], epoch: number): (logits: Tensor, target: Tensor) => Tensor {
  const weighted = c.weighting !== 'none' && epoch >= (c.drwEpoch ?? 0);
  const weight = weighted ? classWeights(counts, c.weighting, c.beta) : null;
  if (c.kind === 'focal') return (logits, target) => E.focalLoss(logits, target, { gamma: c.focalGamma ?? 2, weight });
  return (logits, target) => E.crossEntropy(logits, target, { weight, labelSmoothing: c.labelSmoothing ?? 0 });
}
