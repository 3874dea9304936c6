/**
 * --weights on train, eval and predict through the real CLI (child processes on the reference backend): train
 * starts from the file (or refuses it in one line), eval and predict take the weights from the file and the
 * classes and normalisation from the checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../../src/train/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../../src/train/safetensors.js';
import { saveWeights } from '../../src/train/weights.js';
import { writeRgbPng } from '../data/helpers.js';
import { useReferenceBackend } from '../train/helpers.js';
import { convlab, oneLineError, scratchDir, show, type CliRun } from './run-cli.js';

useReferenceBackend();
const CWD = scratchDir();
const TIMEOUT = { timeout: 120_000 };
const run = (args: string[]): Promise<CliRun> => convlab(args, { cwd: CWD });
const ok = (r: CliRun): void => { assert.equal(r.code, 0, show(r)); assert.ok(!/^\s{4}at /m.test(r.stderr), show(r)); };

/** A two-class folder of grey 28×28 images (read as one channel), train and test. */
const FOLDER = join(CWD, 'digits');
for (const split of ['train', 'test']) {
  for (const cls of ['a', 'b']) {
    mkdirSync(join(FOLDER, split, cls), { recursive: true });
    for (let i = 0; i < 3; i++) writeRgbPng(join(FOLDER, split, cls, `${i}.png`), 28, 28, (x, y) => { const v = ((cls === 'a' ? x : y) * 9 + i * 40) % 256; return [v, v, v]; });
  }
}

test('train --weights: the run starts from the file (recorded in config.json); a file for another number of classes fine-tunes', TIMEOUT, async () => {
  E.manualSeed(3);
  const two = createModel('lenet5', { numClasses: 2 }), ten = createModel('lenet5');
  const twoFile = join(CWD, 'two.safetensors'), tenFile = join(CWD, 'ten.safetensors'), partial = join(CWD, 'two-partial.safetensors');
  saveWeights(two, twoFile);
  saveWeights(ten, tenFile);
  two.dispose(); ten.dispose();
  const { tensors } = readSafetensors(twoFile);
  tensors.delete('c1.bias');
  writeSafetensors(partial, tensors);
  const common = ['-d', `folder:${FOLDER}`, '--epochs', '1', '--batch-size', '6', '--val-split', '0.5', '--no-report', '--json'];
  const [started, refused, lenient, missing] = await Promise.all([
    // A learning rate far below float32 resolution: the trained weights are the file's, bit for bit.
    run(['train', 'lenet5', ...common, '--weights', twoFile, '--lr', '1e-30', '-o', join(CWD, 'run-two')]),
    run(['train', 'lenet5', ...common, '--weights', tenFile, '-o', join(CWD, 'run-ten')]),
    run(['train', 'lenet5', ...common, '--weights', partial, '--strict', 'false', '-o', join(CWD, 'run-partial')]),
    run(['train', 'lenet5', ...common, '--weights', partial, '-o', join(CWD, 'run-missing')]),
  ]);
  ok(started); ok(lenient); ok(refused);
  assert.match(started.stderr, new RegExp(`^initialised from ${twoFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(10 tensors\\)$`, 'm'));
  const config = JSON.parse(readFileSync(join(CWD, 'run-two', 'config.json'), 'utf8')) as { weights?: string; strictWeights?: boolean };
  assert.deepEqual([config.weights, config.strictWeights], [twoFile, true]);
  const trained = loadCheckpoint(join(CWD, 'run-two', 'best.safetensors')).model;
  for (const [name, t] of readSafetensors(twoFile).tensors) assert.deepEqual([...trained.get(name)!], [...t.data], name);
  // Other mismatches are still refused: test/train/finetune.test.ts.
  assert.match(refused.stderr, new RegExp(`^fine-tuning: kept 8 tensors from ${tenFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, replaced the classifier output \\(10 → 2 classes\\)$`, 'm'));
  assert.ok(lenient.stderr.includes(`warning: ${partial}: 1 of lenet5's tensors not in the file keep their initial values: c1.bias\n`), show(lenient));
  assert.equal(oneLineError(missing), `${partial}: weights do not fit lenet5: missing keys (1): c1.bias`);
});

test('eval and predict --weights: the checkpoint gives classes and normalisation, the file gives the weights', TIMEOUT, async () => {
  const dir = join(CWD, 'eval');
  mkdirSync(dir);
  const meta: CheckpointMeta = { model: { name: 'lenet5', numClasses: 2, inChannels: 1, imageSize: 28 }, classes: ['a', 'b'], mean: [0.13], std: [0.31] };
  E.manualSeed(1);
  const a = createModel('lenet5', { numClasses: 2 });
  E.manualSeed(2);
  const b = createModel('lenet5', { numClasses: 2 });
  const ckptA = join(dir, 'a.safetensors'), ckptB = join(dir, 'b.safetensors'), plainB = join(dir, 'b-plain.safetensors'), png = join(dir, 'digit.png');
  saveCheckpoint(ckptA, a, meta);
  saveCheckpoint(ckptB, b, meta);
  saveWeights(b, plainB);
  a.dispose(); b.dispose();
  writeRgbPng(png, 28, 28, (x, y) => (Math.abs(x - 14) < 3 && y > 4 && y < 24 ? [255, 255, 255] : [0, 0, 0]));
  const [predA, predB, predAwithB, evalB, evalAwithB] = await Promise.all([
    run(['predict', ckptA, png, '--json']), run(['predict', ckptB, png, '--json']), run(['predict', ckptA, png, '--json', '--weights', plainB]),
    run(['eval', ckptB, '-d', `folder:${FOLDER}`, '--json']), run(['eval', ckptA, '-d', `folder:${FOLDER}`, '--json', '--weights', plainB]),
  ]);
  for (const r of [predA, predB, predAwithB, evalB, evalAwithB]) ok(r);
  assert.notDeepEqual(JSON.parse(predA.stdout), JSON.parse(predB.stdout), 'two different models');
  assert.deepEqual(JSON.parse(predAwithB.stdout), JSON.parse(predB.stdout));
  assert.deepEqual(JSON.parse(evalAwithB.stdout), JSON.parse(evalB.stdout));
  assert.equal((JSON.parse(evalB.stdout) as { numSamples: number }).numSamples, 6);
});
