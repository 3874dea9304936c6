/** Evaluation: logits for a whole split in no-grad eval mode, then the metrics layer's report. */
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { DataLoader, type ImageDataset } from '../data/index.js';
import { classificationReport, type ClassificationReport } from '../metrics/index.js';

export interface Evaluation {
  loss: number;
  report: ClassificationReport;
  /** N×C logits in dataset order. */
  logits: Float32Array;
  predictions: Int32Array;
  labels: Int32Array;
}

export interface EvaluateOptions {
  batchSize?: number;
  mean: number[];
  std: number[];
  indices?: ArrayLike<number>;
}

export function evaluate(model: Module, ds: ImageDataset, opts: EvaluateOptions): Evaluation {
  const loader = new DataLoader(ds, { batchSize: opts.batchSize ?? 256, shuffle: false, mean: opts.mean, std: opts.std, indices: opts.indices, reuseBuffers: true });
  const c = ds.classes.length;
  const n = loader.epochSize;
  const logits = new Float32Array(n * c), labels = new Int32Array(n), predictions = new Int32Array(n);
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0, at = 0;
  E.noGrad(() => {
    for (const batch of loader.batches(0)) {
      E.tidy(() => {
        const x = E.tensor(batch.x.subarray(0, batch.size * ds.channels * ds.height * ds.width), [batch.size, ds.channels, ds.height, ds.width]);
        const out = model.forward(x);
        const y = E.intTensor(batch.y.subarray(0, batch.size));
        lossSum += E.crossEntropy(out, y, { reduction: 'sum' }).item();
        logits.set(out.toFloat32(), at * c);
      });
      labels.set(batch.y.subarray(0, batch.size), at);
      at += batch.size;
    }
  });
  model.train(wasTraining);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits[i * c + j]! > logits[i * c + best]!) best = j;
    predictions[i] = best;
  }
  const report = classificationReport(labels, predictions, { classNames: ds.classes, scores: logits, topK: c > 5 ? [1, 5] : [1] });
  return { loss: lossSum / n, report, logits, predictions, labels };
}
