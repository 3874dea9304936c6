/**
 * TrainingSession, the playground's step-wise trainer: batch size and learning rate changed between steps, epochs
 * wrapping, checkpoints as bytes that the CLI's reader loads, refusal of a checkpoint for another model.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadIdxDataset, subset } from '../../src/data/index.js';
import { decodeCheckpoint, loadCheckpoint } from '../../src/train/checkpoint.js';
import { TrainingSession } from '../../src/train/session.js';
import { repoRoot, tempDir } from './helpers.js';

const dir = join(repoRoot(), 'assets', 'mnist-sample');
const full = loadIdxDataset(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'));
const train = subset(full, Int32Array.from({ length: 100 }, (_, i) => i));
const testSet = subset(full, Int32Array.from({ length: 40 }, (_, i) => 100 + i));
const session = (seed = 1): TrainingSession => new TrainingSession({ model: 'lenet5', train, test: testSet, lr: 0.05, batchSize: 64, seed });

test('batch size and learning rate change between steps; an epoch ends with a short batch and the next reshuffles', { timeout: 60_000 }, () => {
  const s = session();
  const sizes: [number, number, number][] = [];
  const take = (): void => { const r = s.step(); sizes.push([r.epoch, r.size, r.seen]); };
  take(); take();
  s.batchSize = 30;
  s.lr = 0.01;
  take(); take(); take(); take();
  assert.deepEqual(sizes, [[1, 64, 64], [1, 36, 100], [2, 30, 30], [2, 30, 60], [2, 30, 90], [2, 10, 100]]);
  assert.equal(s.optimizer.lr, 0.01);
  assert.equal(s.steps, 6);
});

test('bad batch sizes and learning rates are refused in one line, and the old value stays', { timeout: 10_000 }, () => {
  const s = session();
  for (const [set, message] of [
    [() => { s.batchSize = 0; }, 'batch size must be a whole number from 1 to 4096, got 0'],
    [() => { s.batchSize = 2.5; }, 'batch size must be a whole number from 1 to 4096, got 2.5'],
    [() => { s.lr = -1; }, 'learning rate must be > 0 and ≤ 10, got -1'],
    [() => { s.lr = Number.NaN; }, 'learning rate must be > 0 and ≤ 10, got NaN'],
  ] as const) assert.throws(set, { message });
  assert.deepEqual([s.batchSize, s.lr], [64, 0.05]);
});

test('a checkpoint as bytes loads into another session and into the CLI reader, with the same predictions', { timeout: 60_000 }, () => {
  const a = session(1);
  a.step();
  const bytes = a.checkpoint('playground.safetensors');
  const path = join(tempDir('convlab-session-'), 'playground.safetensors');
  writeFileSync(path, bytes);
  const fromFile = loadCheckpoint(path);
  assert.deepEqual(fromFile.meta.model, { name: 'lenet5', numClasses: 10, inChannels: 1, imageSize: 28 });
  assert.deepEqual(fromFile.meta.trainer, { epoch: 1, steps: 1, source: 'playground' });
  const b = session(2);
  const image = full.images.subarray(0, 784);
  assert.notDeepEqual(b.predict(image), a.predict(image), 'differently seeded models differ');
  b.load(decodeCheckpoint(bytes, 'playground.safetensors'));
  assert.deepEqual(b.predict(image), a.predict(image));
  const p = a.predict(image);
  assert.ok(Math.abs(p.reduce((x, y) => x + y, 0) - 1) < 1e-5, 'probabilities sum to 1');
  assert.throws(() => a.predict(image.subarray(0, 100)), { message: 'an image must have 1×28×28 = 784 bytes, got 100' });
});

test('a checkpoint for another model or of other shapes is refused in one line and changes nothing', { timeout: 60_000 }, () => {
  const s = session(3);
  const image = full.images.subarray(0, 784);
  const before = s.predict(image);
  const good = decodeCheckpoint(session(4).checkpoint('x'), 'x');
  const otherModel = { ...good, meta: { ...good.meta, model: { ...good.meta.model, name: 'lenet5-classic' } } };
  assert.throws(() => s.load(otherModel), { message: "the checkpoint is for model 'lenet5-classic' (1×28×28, 10 classes), not 'lenet5' (1×28×28, 10 classes)" });
  const shapes = new Map(good.shapes);
  shapes.set('c3.weight', [16, 6, 3, 3]);
  assert.throws(() => s.load({ ...good, shapes }), { message: "the checkpoint's c3.weight has shape 16×6×3×3, the model expects 16×6×5×5" });
  assert.deepEqual(s.predict(image), before);
});
