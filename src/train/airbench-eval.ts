/**
 * airbench94's test-time augmentation (legacy/airbench94.py, infer): level 0 is the plain forward pass; level 1
 * averages the image and its mirror; level 2 gives that average weight ½ and the mean of the same average over the
 * image translated by one pixel up-left and down-right (reflect-padded) the other ½: six views in all.
 */
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { mirrorBatch, normalizeImages, translateBatch, type ImageDataset } from '../data/index.js';
import { argmaxRows, classificationReport } from '../metrics/index.js';
import type { Evaluation } from './evaluate.js';

/** The views of a normalised batch and their weights in the average, for a TTA level. */
export function ttaViews(x: Float32Array, n: number, c: number, h: number, w: number, level: number): { view: Float32Array; weight: number }[] {
  if (!Number.isInteger(level) || level < 0 || level > 2) throw new Error(`test-time augmentation level must be 0, 1 or 2, got ${level}`);
  if (level === 0) return [{ view: x, weight: 1 }];
  const mirrored = (v: Float32Array, weight: number): { view: Float32Array; weight: number }[] =>
    [{ view: v, weight: weight / 2 }, { view: mirrorBatch(v, n, c, h, w), weight: weight / 2 }];
  if (level === 1) return mirrored(x, 1);
  // The script's crops [0:32] and [2:34] of a copy padded by 1: shifts of −1 and +1 in both axes.
  return [...mirrored(x, 0.5), ...mirrored(translateBatch(x, n, c, h, w, -1, -1), 0.25), ...mirrored(translateBatch(x, n, c, h, w, 1, 1), 0.25)];
}

/** Logits [n, classes] of a normalised batch: the weighted average of the model's logits over the TTA views. */
export function ttaLogits(model: Module, x: Float32Array, n: number, c: number, h: number, w: number, level: number): Float32Array {
  let sum: Float32Array | null = null;
  for (const { view, weight } of ttaViews(x, n, c, h, w, level)) {
    const logits = E.tidy(() => model.forward(E.tensor(view, [n, c, h, w])).toFloat32());
    if (!sum) sum = new Float32Array(logits.length);
    for (let i = 0; i < logits.length; i++) sum[i] = sum[i]! + weight * logits[i]!;
  }
  return sum!;
}

/** Evaluates a split in eval mode with test-time augmentation; the loss is the cross-entropy of the averaged logits. */
export function evaluateTta(model: Module, ds: ImageDataset, o: { mean: number[]; std: number[]; level: number; batchSize?: number }): Evaluation {
  const { channels: c, height: h, width: w } = ds, classes = ds.classes.length, batch = o.batchSize ?? 500;
  const logits = new Float32Array(ds.length * classes);
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  try {
    E.noGrad(() => {
      for (let from = 0; from < ds.length; from += batch) {
        const n = Math.min(batch, ds.length - from);
        const out = ttaLogits(model, normalizeImages(ds, o.mean, o.std, from, n), n, c, h, w, o.level);
        logits.set(out, from * classes);
        lossSum += E.tidy(() => E.crossEntropy(E.tensor(out, [n, classes]), E.intTensor(ds.labels.subarray(from, from + n)), { reduction: 'sum' }).item());
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const labels = ds.labels.slice(), predictions = argmaxRows(logits, classes);
  const report = classificationReport(labels, predictions, { classNames: ds.classes, scores: logits, topK: classes > 5 ? [1, 5] : [1] });
  return { loss: lossSum / ds.length, report, logits, predictions, labels, batchSize: batch };
}
