/** Evaluation: logits for a whole split in no-grad eval mode, then the metrics layer's report. */
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { DataLoader, type ImageDataset } from '../data/portable.js';
import { argmaxRows, classificationReport, type ClassificationReport } from '../metrics/index.js';

export interface Evaluation {
  loss: number;
  report: ClassificationReport;
  /** N×C logits in dataset order. */
  logits: Float32Array;
  predictions: Int32Array;
  labels: Int32Array;
  /** The batch size that fitted (smaller than asked when the heap could not hold the asked one). */
  batchSize: number;
}

export interface EvaluateOptions {
  /** Images per forward pass (default 256); halved until it fits when the heap cannot hold a batch's activations. */
  batchSize?: number;
  onLog?: (line: string) => void;
  mean: number[];
  std: number[];
  indices?: ArrayLike<number>;
}

export function evaluate(model: Module, ds: ImageDataset, opts: EvaluateOptions): Evaluation {
  const wasTraining = model.training;
  for (let batchSize = opts.batchSize ?? 256; ; batchSize = Math.ceil(batchSize / 2)) {
    try {
      model.eval();
      return evaluateInBatches(model, ds, opts, batchSize);
    } catch (err) {
      // No-grad activations still live until each batch's scope closes: a large model at 256 images can exceed the heap.
      if (!(err instanceof E.HeapExhausted) || batchSize === 1) throw err;
      opts.onLog?.(`evaluation: ${batchSize} images per batch do not fit in memory; retrying with ${Math.ceil(batchSize / 2)}`);
    } finally {
      model.train(wasTraining);
    }
  }
}

function evaluateInBatches(model: Module, ds: ImageDataset, opts: EvaluateOptions, batchSize: number): Evaluation {
  const loader = new DataLoader(ds, { batchSize, shuffle: false, mean: opts.mean, std: opts.std, indices: opts.indices, reuseBuffers: true });
  const c = ds.classes.length;
  const n = loader.epochSize;
  const logits = new Float32Array(n * c), labels = new Int32Array(n);
  let lossSum = 0, at = 0;
  E.noGrad(() => {
    for (const batch of loader.batches(0)) {
      E.tidy(() => {
        const x = E.tensor(batch.x.subarray(0, batch.size * ds.channels * ds.height * ds.width), [batch.size, ds.channels, ds.height, ds.width]);
        const out = model.forward(x);
        const y = E.intTensor(batch.y.subarray(0, batch.size));
        lossSum += E.crossEntropy(out, y, { reduction: 'sum' }).item();
        out.readInto(logits.subarray(at * c, (at + batch.size) * c));
      });
      labels.set(batch.y.subarray(0, batch.size), at);
      at += batch.size;
    }
  });
  const predictions = argmaxRows(logits, c);
  const report = classificationReport(labels, predictions, { classNames: ds.classes, scores: logits, topK: c > 5 ? [1, 5] : [1] });
  return { loss: lossSum / n, report, logits, predictions, labels, batchSize };
}
