/**
 * The training loop on a tiny separable dataset: accuracy, metrics.jsonl, best/last checkpoints, early
 * stopping, divergence (NaN/Inf loss) handling and configuration errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate } from '../../src/train/evaluate.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { train, TrainingDiverged, type EpochRow } from '../../src/train/trainer.js';
import { createModel } from '../../src/models/index.js';
import {
  assertSameTensors, baseConfig, metricsWithoutTimes, quadrantDataset, tempDir, trainerMeta, useReferenceBackend,
} from './helpers.js';

useReferenceBackend();

const data = { train: quadrantDataset(48, { seed: 21 }), val: quadrantDataset(24, { seed: 22 }) };
const KEYS = ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'val_macro_recall', 'val_balanced_accuracy', 'lr',
  'epoch_seconds', 'images_per_s', 'wall_seconds', 'data_fraction', 'step', 'eval_seconds'];

const readMetrics = (dir: string): EpochRow[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochRow);

/** Val-set evaluation of the weights stored in a checkpoint, as the trainer computes it. */
function evalCheckpoint(path: string): { loss: number; accuracy: number } {
  const ckpt = loadCheckpoint(path);
  const m = ckpt.meta.model;
  const model = createModel(m.name, { numClasses: m.numClasses, inChannels: m.inChannels, imageSize: m.imageSize });
  model.loadStateDict(ckpt.model, ckpt.shapes);
  const ev = evaluate(model, data.val, { mean: ckpt.meta.mean, std: ckpt.meta.std, batchSize: 256 });
  model.dispose();
  return { loss: ev.loss, accuracy: ev.report.accuracy };
}

// One 3-epoch LeNet-5 run shared by the first tests (about a second on the reference backend).
const mainDir = tempDir();
let mainResult: ReturnType<typeof train> | null = null;
const improvedFlags: boolean[] = [];
function mainRun(): ReturnType<typeof train> {
  mainResult ??= train(baseConfig({ epochs: 3 }), data, mainDir, { callbacks: { onEpochEnd: (_row, improved) => improvedFlags.push(improved) } });
  return mainResult;
}

test('a short run on the separable quadrant dataset reaches > 90% validation accuracy', () => {
  const r = mainRun();
  const best = Math.max(...r.history.map((h) => h.val_acc));
  assert.ok(best > 0.9, `best val accuracy ${best}`);
  // The returned model holds the best weights.
  const ev = evaluate(r.model, data.val, { mean: r.meta.mean, std: r.meta.std });
  assert.ok(ev.report.accuracy > 0.9, `returned model's val accuracy ${ev.report.accuracy}`);
  assert.ok(r.history.at(-1)!.train_loss < r.history[0]!.train_loss, 'training loss decreases');
});

test('metrics.jsonl has one line per epoch with every key', () => {
  mainRun();
  const text = readFileSync(join(mainDir, 'metrics.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  const rows = readMetrics(mainDir);
  assert.equal(rows.length, 3);
  rows.forEach((row, i) => {
    assert.deepEqual(Object.keys(row).sort(), [...KEYS].sort(), `line ${i + 1}`);
    assert.equal(row.epoch, i + 1);
    for (const k of KEYS) assert.ok(Number.isFinite(row[k as keyof EpochRow]), `${k} = ${row[k as keyof EpochRow]} on line ${i + 1}`);
    // Accuracies are counts of correct images: multiples of 1/48 (train) and 1/24 (val).
    assert.ok(Math.abs(row.train_acc * 48 - Math.round(row.train_acc * 48)) < 1e-9, `train_acc ${row.train_acc} is not k/48`);
    assert.ok(Math.abs(row.val_acc * 24 - Math.round(row.val_acc * 24)) < 1e-9, `val_acc ${row.val_acc} is not k/24`);
    assert.ok(row.data_fraction >= 0 && row.data_fraction <= 1, `data_fraction = ${row.data_fraction}`);
    assert.equal(row.lr, 0.05, 'constant schedule');
    assert.ok(row.epoch_seconds > 0 && row.images_per_s > 0);
    assert.ok(Math.abs(row.images_per_s - 48 / row.epoch_seconds) < 1e-6 * row.images_per_s);
  });
  // The last row's validation figures are those of the weights in last.safetensors, recomputed here.
  const last = evalCheckpoint(join(mainDir, 'last.safetensors'));
  assert.ok(Math.abs(rows[2]!.val_loss - last.loss) < 1e-6 * last.loss, `val_loss ${rows[2]!.val_loss} vs ${last.loss}`);
  assert.equal(rows[2]!.val_acc, last.accuracy);
  for (let i = 1; i < rows.length; i++) {
    assert.ok(Math.abs(rows[i]!.wall_seconds - rows[i - 1]!.wall_seconds - rows[i]!.epoch_seconds) < 1e-9, 'wall_seconds accumulates epoch_seconds');
  }
  assert.deepEqual(mainResult!.history.map((h) => h.val_acc), rows.map((r) => r.val_acc));
  const config = JSON.parse(readFileSync(join(mainDir, 'config.json'), 'utf8'));
  assert.equal(config.model, 'lenet5');
  assert.deepEqual(config.class_counts, [16, 16, 16]);
  assert.equal(config.train_size, 48);
  assert.equal(config.params, 61_706 - 85 * 7, 'LeNet-5 with 3 outputs');
  assert.deepEqual(readdirSync(mainDir).filter((f) => f.endsWith('.tmp')), []);
});

test('best.safetensors holds the epoch with the best monitor value (first of ties), last.safetensors the final one', () => {
  const r = mainRun();
  const rows = readMetrics(mainDir);
  const bestValue = Math.max(...rows.map((x) => x.val_acc));
  const bestEpoch = rows.findIndex((x) => x.val_acc === bestValue) + 1;
  assert.equal(r.bestEpoch, bestEpoch);
  assert.deepEqual(improvedFlags, rows.map((x, i) => rows.slice(0, i).every((p) => x.val_acc > p.val_acc)));
  const meta = trainerMeta(join(mainDir, 'best.safetensors'));
  assert.deepEqual(meta, { epoch: bestEpoch, monitor: 'val.accuracy', value: bestValue });
  const best = loadCheckpoint(join(mainDir, 'best.safetensors'));
  assert.equal(best.optimizer, undefined, 'best is weights only');
  // The stored weights reproduce that epoch's validation numbers exactly; the last ones reproduce the last epoch's.
  assert.deepEqual(evalCheckpoint(join(mainDir, 'best.safetensors')), { loss: rows[bestEpoch - 1]!.val_loss, accuracy: bestValue });
  assert.deepEqual(evalCheckpoint(join(mainDir, 'last.safetensors')), { loss: rows[2]!.val_loss, accuracy: rows[2]!.val_acc });
  const last = trainerMeta(join(mainDir, 'last.safetensors'));
  assert.deepEqual([last.epoch, last.batch, last.step, last.bestEpoch], [3, 0, 18, bestEpoch]);
});

test('restoreBest: false returns the last epoch\'s weights (what validating on the test set needs)', () => {
  const main = mainRun();
  const dir = tempDir();
  const r = train(baseConfig({ epochs: 3, restoreBest: false }), data, dir);
  const rows = readMetrics(dir);
  assert.deepEqual(rows.map((x) => x.val_loss), main.history.map((x) => x.val_loss), 'same run as the main one');
  assert.ok(main.bestEpoch < 3, `the main run's best epoch (${main.bestEpoch}) must differ from its last for this test to tell them apart`);
  assert.equal(main.returnedEpoch, main.bestEpoch);
  assert.equal(r.returnedEpoch, 3);
  const ev = evaluate(r.model, data.val, { mean: r.meta.mean, std: r.meta.std });
  r.model.dispose();
  assert.deepEqual({ loss: ev.loss, accuracy: ev.report.accuracy }, { loss: rows[2]!.val_loss, accuracy: rows[2]!.val_acc });
});

test('best.safetensors with a lower-is-better monitor (val.loss) is the epoch of the smallest val loss', () => {
  const dir = tempDir();
  const r = train(baseConfig({ epochs: 2, monitor: 'val.loss' }), { train: quadrantDataset(24, { seed: 5 }), val: data.val }, dir);
  r.model.dispose();
  const rows = readMetrics(dir);
  const min = Math.min(...rows.map((x) => x.val_loss));
  assert.deepEqual(trainerMeta(join(dir, 'best.safetensors')), { epoch: rows.findIndex((x) => x.val_loss === min) + 1, monitor: 'val.loss', value: min });
  assert.equal(evalCheckpoint(join(dir, 'best.safetensors')).loss, min);
});

test('early stopping: training stops after `patience` epochs without improvement, and stays stopped on resume', () => {
  const dir = tempDir();
  const logs: string[] = [];
  // lr 0: the weights never change, so the monitor never improves after epoch 1.
  const config = baseConfig({ epochs: 10, patience: 2, optimizer: { name: 'sgd', lr: 0 } });
  const small = { train: quadrantDataset(16, { seed: 2 }), val: quadrantDataset(6, { seed: 3 }) };
  const r = train(config, small, dir, { callbacks: { onLog: (l) => logs.push(l) } });
  r.model.dispose();
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.history.length, 3);
  assert.equal(r.bestEpoch, 1);
  assert.equal(readMetrics(dir).length, 3);
  assert.match(logs.join('\n'), /early stopping: val\.accuracy has not improved for 2 epochs \(best [\d.]+ at epoch 1\)/);

  const before = readFileSync(join(dir, 'last.safetensors'));
  const again = train(config, small, dir, { resume: true });
  again.model.dispose();
  assert.equal(again.history.length, 3, 'resuming an early-stopped run trains no further epoch');
  assert.equal(again.stoppedEarly, true);
  assert.ok(readFileSync(join(dir, 'last.safetensors')).equals(before));

  // Without patience the same run goes on to the last epoch.
  const full = train(baseConfig({ epochs: 4, optimizer: { name: 'sgd', lr: 0 } }), small, tempDir());
  full.model.dispose();
  assert.equal(full.stoppedEarly, false);
  assert.equal(full.history.length, 4);
});

// A non-finite loss, or (the default divergence guard) one above 1e4 × the first epoch's median.
const DIVERGED = /^training stopped: loss is (NaN|Infinity|-Infinity|\S+ \(above 10000 × the first epoch's median step loss, [\d.]+\)) at epoch (\d+), batch (\d+) \(step (\d+)\); /;

test('NaN loss after a good epoch: TrainingDiverged names epoch/batch/step, and the last good checkpoint is untouched', () => {
  const dir = tempDir();
  const config = baseConfig({ epochs: 1, batchSize: 4 }); // 8 batches per epoch
  const small = { train: quadrantDataset(32, { seed: 6 }), val: quadrantDataset(6, { seed: 7 }) };
  train(config, small, dir).model.dispose();
  const snapshot = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
  assert.ok(snapshot.has('last.safetensors') && snapshot.has('best.safetensors') && snapshot.has('metrics.jsonl'));

  // Continue with an absurd learning rate: the loss overflows within epoch 2.
  let err: unknown;
  try {
    train({ ...config, epochs: 3, optimizer: { ...config.optimizer, lr: 1e6 } }, small, dir, { resume: true });
  } catch (e) { err = e; }
  assert.ok(err instanceof TrainingDiverged, `expected TrainingDiverged, got ${String(err)}`);
  assert.ok(err instanceof Error);
  const m = DIVERGED.exec(err.message);
  assert.ok(m, err.message);
  assert.equal(m[2], '2', 'diverges in epoch 2');
  assert.equal(Number(m[4]), 8 + Number(m[3]), 'step = 8 steps of epoch 1 + batch');
  assert.ok(err.message.endsWith(`the last good checkpoint is ${join(dir, 'last.safetensors')}`), err.message);
  for (const [f, bytes] of snapshot) assert.ok(readFileSync(join(dir, f)).equals(bytes), `${f} changed`);
  assert.deepEqual(readdirSync(dir).sort(), [...snapshot.keys()].sort(), 'no new or temp files');
});

test('NaN loss with checkpointEvery 1: the checkpoint on disk is the last one whose weights gave a sane loss (two steps before the bad one)', () => {
  const dir = tempDir();
  const config = baseConfig({ epochs: 1, checkpointEvery: 1 });
  const small = { train: quadrantDataset(32, { seed: 6 }), val: quadrantDataset(6, { seed: 7 }) };
  train(config, small, dir).model.dispose();
  const err = (() => {
    try { train({ ...config, epochs: 2, optimizer: { ...config.optimizer, lr: 1e30 } }, small, dir, { resume: true }); } catch (e) { return e as Error; }
    return null;
  })();
  assert.ok(err instanceof TrainingDiverged);
  const m = DIVERGED.exec(err.message)!;
  assert.ok(m, err.message);
  const meta = trainerMeta(join(dir, 'last.safetensors'));
  // The step before the bad one produced the weights that gave the bad loss: its checkpoint is never written.
  assert.equal(meta.step, Number(m[4]) - 2);
  assert.equal(meta.batch, Number(m[3]) - 2);
  for (const t of loadCheckpoint(join(dir, 'last.safetensors')).model.values()) assert.ok(t.every(Number.isFinite));
});

test('a dataset that overflows at the first step: TrainingDiverged says no checkpoint was written', () => {
  const dir = tempDir();
  // std 1e-45 maps every pixel to ±Infinity: the first forward pass yields a non-finite loss.
  let err: unknown;
  try {
    train(baseConfig({ epochs: 1 }), { ...data, mean: [0.1], std: [1e-45] }, dir);
  } catch (e) { err = e; }
  assert.ok(err instanceof TrainingDiverged, String(err));
  assert.match(err.message, /loss is (NaN|Infinity|-Infinity) at epoch 1, batch 1 \(step 1\); no checkpoint was written yet$/);
  assert.ok(!existsSync(join(dir, 'last.safetensors')));
  assert.ok(!existsSync(join(dir, 'metrics.jsonl')));
});

test('an unknown monitor fails before any work, listing the valid monitors', () => {
  const dir = tempDir();
  assert.throws(() => train(baseConfig({ monitor: 'val.acc' }), data, dir),
    { message: "unknown monitor 'val.acc'. Valid monitors: val.accuracy, val.loss, val.macro_recall, val.balanced_accuracy" });
  assert.deepEqual(readdirSync(dir), []);
});

test('an epoch-end checkpoint copied to another folder resumes there to the same result (Adam); resuming with another optimizer is an error', () => {
  // The epoch-1 checkpoint of a 2-epoch run, resumed in another folder, finishes identical to the original.
  const a = tempDir(), b = tempDir();
  const small = { train: quadrantDataset(16, { seed: 9 }), val: quadrantDataset(6, { seed: 10 }) };
  const config = baseConfig({ epochs: 2, optimizer: { name: 'adam', lr: 0.01 } });
  train(config, small, a, {
    callbacks: { onEpochEnd: (row) => { if (row.epoch === 1) copyFileSync(join(a, 'last.safetensors'), join(b, 'last.safetensors')); } },
  }).model.dispose();
  train(config, small, b, { resume: true }).model.dispose();
  assertSameTensors(join(a, 'last.safetensors'), join(b, 'last.safetensors'));
  assert.deepEqual(metricsWithoutTimes(b), metricsWithoutTimes(a));
  // Resuming with another optimizer than the checkpoint's is an error that names both.
  assert.throws(() => train({ ...config, optimizer: { name: 'sgd', lr: 0.01, momentum: 0.9 } }, small, b, { resume: true }),
    /optimizer: checkpoint holds adam state, not sgd/);
});
