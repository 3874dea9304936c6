/**
 * Divergence (issue 15, item 1): training stops on a non-finite or exploding loss before any checkpoint holds
 * the weights that produced it; checkpoints refuse non-finite numbers; gradient clipping bounds each update.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { train, TrainingDiverged } from '../../src/train/trainer.js';
import { clipGradNorm, divergenceReason, median } from '../../src/train/divergence.js';
import { NonFiniteCheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { baseConfig, quadrantDataset, tempDir, trainerMeta, useReferenceBackend } from './helpers.js';

useReferenceBackend();
const small = { train: quadrantDataset(32, { seed: 6 }), val: quadrantDataset(6, { seed: 7 }) };

function diverge(over: Parameters<typeof baseConfig>[0], dir: string): TrainingDiverged {
  try {
    train(baseConfig({ epochs: 2, batchSize: 4, checkpointEvery: 1, ...over }), small, dir).model.dispose();
  } catch (err) {
    if (err instanceof TrainingDiverged) return err;
    throw err;
  }
  assert.fail('training did not diverge');
}

const largestWeight = (path: string): number =>
  Math.max(...[...loadCheckpoint(path).model.values()].map((t) => Array.from(t).reduce((m, v) => Math.max(m, Math.abs(v)), 0)));

test('an exploding but finite loss stops training, and no checkpoint holds the weights that produced it', { timeout: 30_000 }, () => {
  const dir = tempDir();
  // lr 1e5: the first update throws the weights far out; the next loss is huge but finite.
  const err = diverge({ optimizer: { name: 'sgd', lr: 1e5, momentum: 0.9 } }, dir);
  assert.match(err.message, /^training stopped: loss is \S+ \(above 10000 × the first epoch's median step loss, [\d.]+\) at epoch 1, batch (\d+) \(step \d+\); /);
  // Every checkpoint written (at most the one of step 1's weights' predecessors) holds sane weights: LeNet-5's
  // initial weights are below 1 in size, an exploded update makes them 1e4 and more.
  if (existsSync(join(dir, 'last.safetensors'))) assert.ok(largestWeight(join(dir, 'last.safetensors')) < 10, `largest weight ${largestWeight(join(dir, 'last.safetensors'))}`);
  else assert.match(err.message, /no checkpoint was written yet$/);
});

test('the divergence factor is configurable: a huge factor lets the same run go on until the loss is not finite', { timeout: 30_000 }, () => {
  const early = diverge({ optimizer: { name: 'sgd', lr: 1e5, momentum: 0.9 } }, tempDir());
  const late = diverge({ optimizer: { name: 'sgd', lr: 1e5, momentum: 0.9 }, divergenceFactor: 1e300 }, tempDir());
  const step = (e: Error): number => Number(/\(step (\d+)\)/.exec(e.message)![1]);
  assert.match(late.message, /loss is (NaN|Infinity) at epoch/);
  assert.ok(step(late) > step(early), `factor 1e300 stopped at step ${step(late)}, the default at step ${step(early)}`);
});

test('with checkpointEvery 1, the checkpoint on disk after a divergence is the last one whose weights gave a sane loss', { timeout: 30_000 }, () => {
  const dir = tempDir();
  // A good first epoch, then an absurd learning rate.
  train(baseConfig({ epochs: 1, batchSize: 4, checkpointEvery: 1 }), small, dir).model.dispose();
  const before = readFileSync(join(dir, 'last.safetensors'));
  let err: unknown;
  try {
    train(baseConfig({ epochs: 2, batchSize: 4, checkpointEvery: 1, optimizer: { name: 'sgd', lr: 1e5, momentum: 0.9 } }), small, dir, { resume: true });
  } catch (e) { err = e; }
  assert.ok(err instanceof TrainingDiverged, String(err));
  const badStep = Number(/\(step (\d+)\)/.exec(err.message)![1]);
  const meta = trainerMeta(join(dir, 'last.safetensors'));
  assert.equal(meta.step, badStep - 2, 'the step before the bad one made the bad weights: its checkpoint is never written');
  assert.ok(meta.step === 8 ? readFileSync(join(dir, 'last.safetensors')).equals(before) : true);
  assert.ok(largestWeight(join(dir, 'last.safetensors')) < 10);
});

test('divergenceReason: non-finite, or above factor × the median of the first epoch\'s losses so far', { timeout: 5_000 }, () => {
  const cases: [number, number[], string | undefined][] = [
    [NaN, [], 'loss is NaN'],
    [Infinity, [2], 'loss is Infinity'],
    [1e9, [], undefined], // nothing to compare with yet
    [2e4, [1, 2, 3], undefined],
    [2.1e4, [1, 2, 3], "loss is 2.100e+4 (above 10000 × the first epoch's median step loss, 2.000)"],
    [3.4e4, [1, 9, 3, 4], undefined], // median 3.5: the threshold is 3.5e4
  ];
  for (const [loss, history, want] of cases) assert.equal(divergenceReason(loss, history, 1e4), want, `${loss} after [${history}]`);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('saveCheckpoint refuses NaN or infinite weights and leaves the previous file as it was', { timeout: 10_000 }, () => {
  const dir = tempDir();
  const path = join(dir, 'last.safetensors');
  const spec = { name: 'lenet5', numClasses: 3, inChannels: 1, imageSize: 10 };
  const meta = { model: spec, classes: ['a', 'b', 'c'], mean: [0.5], std: [0.25] };
  const model = createModel('lenet5', spec);
  saveCheckpoint(path, model, meta);
  const before = readFileSync(path);
  for (const bad of [NaN, Infinity]) {
    const state = new Map<string, Float32Array>(), shapes = new Map<string, number[]>();
    for (const [name, t] of model.namedState()) { state.set(name, t.toFloat32()); shapes.set(name, [...t.shape]); }
    const [firstName] = state.keys();
    state.get(firstName!)![3] = bad;
    model.loadStateDict(state, shapes);
    assert.throws(() => saveCheckpoint(path, model, meta), (e: unknown) => {
      assert.ok(e instanceof NonFiniteCheckpointError);
      assert.equal(e.message, `${path} not written: model.${firstName} holds NaN or infinite values`);
      return true;
    });
    assert.ok(readFileSync(path).equals(before), 'the earlier checkpoint is untouched');
  }
  model.dispose();
});

test('clipGradNorm scales all gradients together to the given norm and leaves small ones alone', { timeout: 5_000 }, () => {
  const a = E.tensor(new Float32Array([1, 2]), [2]).keep(), b = E.tensor(new Float32Array([2]), [1]).keep();
  a.grad = E.tensor(new Float32Array([3, 0]), [2]).keep();
  b.grad = E.tensor(new Float32Array([4]), [1]).keep();
  assert.ok(Math.abs(clipGradNorm([a, b], 1) - 5) < 1e-6, 'returns the norm before clipping');
  const ga = a.grad.toFloat32(), gb = b.grad.toFloat32();
  for (const [got, want] of [[ga[0], 0.6], [ga[1], 0], [gb[0], 0.8]] as const) assert.ok(Math.abs(got! - want) < 1e-6, `${got} vs ${want}`);
  clipGradNorm([a, b], 10); // norm 1 < 10: unchanged
  assert.ok(Math.abs(a.grad.toFloat32()[0]! - 0.6) < 1e-6);
  for (const t of [a, b]) { t.grad!.dispose(); t.dispose(); }
});

test('the trainer applies clipGradNorm: with a tiny norm the weights barely move', { timeout: 30_000 }, () => {
  const config = baseConfig({ epochs: 1, batchSize: 8, optimizer: { name: 'sgd', lr: 0.05 } });
  const weights = (over: Partial<typeof config>): Float32Array[] => {
    const dir = tempDir();
    train({ ...config, ...over }, small, dir).model.dispose();
    return [...loadCheckpoint(join(dir, 'last.safetensors')).model.values()].map((t) => Float32Array.from(t));
  };
  const initial = weights({ optimizer: { name: 'sgd', lr: 0 } });
  const change = (ws: Float32Array[]): number => Math.max(...ws.map((w, i) => w.reduce((m, v, j) => Math.max(m, Math.abs(v - initial[i]![j]!)), 0)));
  const free = change(weights({})), clipped = change(weights({ clipGradNorm: 1e-6 }));
  assert.ok(free > 1e-3, `unclipped training moves the weights by ${free}`);
  assert.ok(clipped <= 4 * 0.05 * 1e-6, `clipped to norm 1e-6 over 4 steps of lr 0.05, the weights moved by ${clipped}`);
});
