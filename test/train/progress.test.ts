/**
 * The trainer's progress output: on a pipe, one plain line per epoch (and at most one in-epoch line per 30 s);
 * on a terminal, a live bar that the epoch line replaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { formatEpoch, progressCallbacks } from '../../src/train/progress.js';
import type { EpochRow } from '../../src/train/trainer.js';

/** A writable that records what is written; `tty` makes it look like a terminal. */
function capture(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(chunk: Buffer | string, _enc, done) { chunks.push(chunk.toString()); done(); } });
  Object.assign(w, { isTTY: tty, columns: 160, rows: 40 });
  // The progress code only writes; a Writable with isTTY is all it touches of a terminal stream.
  return { stream: w as Writable & NodeJS.WriteStream, text: () => chunks.join('') };
}

const row: EpochRow = {
  epoch: 3, train_loss: 0.123456, train_acc: 0.955, val_loss: 0.2, val_acc: 0.9325, val_macro_recall: 0.92, val_balanced_accuracy: 0.92,
  lr: 0.01, epoch_seconds: 12.34, images_per_s: 3999.6, wall_seconds: 40, data_fraction: 0.01, step: 300,
};

test('formatEpoch: the epoch line, padded to the epoch count, with * when the monitor improved', () => {
  const cases: [number, boolean, string][] = [
    [10, true, 'epoch  3/10  train loss 0.1235 acc 95.50%  |  val loss 0.2000 acc 93.25% macro-recall 92.00%  |  lr 1.00e-2  12.3 s  4000 img/s  *'],
    [5, false, 'epoch 3/5  train loss 0.1235 acc 95.50%  |  val loss 0.2000 acc 93.25% macro-recall 92.00%  |  lr 1.00e-2  12.3 s  4000 img/s'],
  ];
  for (const [total, improved, expected] of cases) assert.equal(formatEpoch(row, total, improved), expected);
});

test('on a pipe: the first in-epoch line, then nothing until the epoch line; log lines pass through', () => {
  const { stream, text } = capture(false);
  const cb = progressCallbacks(5, stream);
  cb.onEpochStart!(3, 4);
  for (let batch = 1; batch <= 4; batch++) cb.onBatchEnd!({ epoch: 3, batch, batches: 4, loss: 0.5 / batch, accuracy: 0.25 * batch, imagesPerSecond: 1000.4, lr: 0.01 });
  cb.onEpochEnd!(row, false);
  cb.onLog!('resuming somewhere');
  assert.equal(text(), '  epoch 3 batch 1/4 loss 0.5000 acc 25.00% 1000 img/s\n' + formatEpoch(row, 5, false) + '\nresuming somewhere\n');
});

test('on a terminal: a bar with the epoch, batch count, loss and accuracy, replaced by the epoch line', () => {
  const { stream, text } = capture(true);
  const cb = progressCallbacks(5, stream);
  cb.onEpochStart!(3, 4);
  const start = text();
  assert.match(start, /epoch 3\/5 \S+ 0\/4 \| loss - \| acc - \| - img\/s/, JSON.stringify(start));
  cb.onBatchEnd!({ epoch: 3, batch: 4, batches: 4, loss: 0.25, accuracy: 0.75, imagesPerSecond: 1234, lr: 0.01 });
  cb.onEpochEnd!(row, true);
  const all = text();
  assert.ok(all.endsWith(formatEpoch(row, 5, true) + '\n'), JSON.stringify(all.slice(-300)));
  assert.ok(!all.includes('  epoch 3 batch'), 'no plain in-epoch lines on a terminal');
});
