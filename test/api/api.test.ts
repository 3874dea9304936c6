/**
 * The library API (src/api.ts, exported by src/index.ts) in-process on the default backend: trainModel with
 * the default recipe and one explicit override, then evaluateCheckpoint, predict and loadModel on its run.
 * One training run: LeNet-5 on 64 mnist-sample images for one epoch (a second or two).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as convlab from '../../src/index.js';
import { defaultRecipe } from '../../src/train/recipes.js';
import { writeRgbPng } from '../data/helpers.js';

const TMP = mkdtempSync(join(tmpdir(), 'convlab-api-'));
process.on('exit', () => rmSync(TMP, { recursive: true, force: true }));
const RUN = join(TMP, 'run');
const json = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

const logs: string[] = [];
const training = convlab.trainModel({
  model: 'lenet5', dataset: 'mnist-sample', epochs: 1, limit: 64, batchSize: 32, outDir: RUN, noReport: true,
  optimizer: { name: 'sgd', lr: 0.01 }, callbacks: { onLog: (l) => logs.push(l) },
});


test('src/index.ts exports the API functions and every layer', () => {
  for (const f of ['trainModel', 'evaluateCheckpoint', 'predict', 'loadModel', 'initEngine'] as const) assert.equal(typeof convlab[f], 'function', f);
  // The zoo grows family by family: the first four are fixed, the rest only need to be there.
  assert.deepEqual(convlab.models.listModels().map((m) => m.name).slice(0, 4), ['lenet5', 'lenet5-classic', 'alexnet', 'alexnet-cifar']);
  assert.equal(typeof convlab.engine.conv2d, 'function');
  assert.equal(typeof convlab.nn.Conv2d, 'function');
  assert.equal(typeof convlab.data.loadDataset, 'function');
  assert.equal(typeof convlab.metrics.formatReport, 'function');
  assert.equal(typeof convlab.report.writeReport, 'function');
});

test('trainModel: the default recipe with only the given fields replaced, a run directory, and a summary that matches it', async () => {
  const s = await training;
  assert.equal(s.runDir, RUN);
  assert.deepEqual([s.history.length, s.bestEpoch, s.evaluatedEpoch], [1, 1, 1]);
  const config = json(join(RUN, 'config.json'));
  // lr 0.01 was asked for; momentum, Nesterov and weight decay stay the recipe's.
  assert.deepEqual(config.optimizer, { ...defaultRecipe('lenet5', 'mnist-sample').optimizer, lr: 0.01 });
  assert.deepEqual(config.schedule, { name: 'onecycle' });
  assert.deepEqual([config.epochs, config.batchSize, config.train_size, config.val_size], [1, 32, 64, 800]);
  assert.deepEqual(s.classCounts, json(join(RUN, 'class_counts.json')).train);
  assert.equal(s.classCounts.reduce((a, b) => a + b, 0), 64);
  const ev = json(join(RUN, 'eval.json'));
  assert.deepEqual([s.test.numSamples, s.test.accuracy, s.testLoss], [2000, ev.accuracy, ev.loss]);
  assert.equal(s.report, undefined, 'noReport');
  assert.deepEqual(logs, [], 'a balanced run with a validation split logs nothing');
});

test('evaluateCheckpoint on the run reproduces its test figures; a dataset of another shape is refused', async () => {
  const s = await training;
  const r = await convlab.evaluateCheckpoint(RUN, 'mnist-sample');
  assert.deepEqual([r.report.accuracy, r.loss, r.report.numSamples], [s.test.accuracy, s.testLoss, 2000]);
  assert.match(r.text, /accuracy/);
  const folder = join(TMP, 'rgb');
  for (const split of ['train', 'test']) {
    for (const c of ['a', 'b']) {
      mkdirSync(join(folder, split, c), { recursive: true });
      writeRgbPng(join(folder, split, c, '0.png'), 8, 8, (x) => [x * 30, 0, 200]);
    }
  }
  await assert.rejects(convlab.evaluateCheckpoint(RUN, `folder:${folder}`), { message: `folder:${folder} images are 3×8×8 but the model expects 1×28×28` });
});

test('predict: the top-k classes of an image file, most probable first; loadModel: the run\'s model in eval mode', async () => {
  await training;
  const png = join(TMP, 'bar.png');
  writeRgbPng(png, 28, 28, (x, y) => (x >= 12 && x <= 15 && y >= 4 && y <= 23 ? [255, 255, 255] : [0, 0, 0]));
  const [p] = await convlab.predict(RUN, [png], { topK: 4 });
  assert.equal(p!.file, png);
  assert.equal(p!.top.length, 4);
  const probs = p!.top.map((t) => t.probability);
  assert.deepEqual(probs, [...probs].sort((a, b) => b - a));
  assert.ok(probs.reduce((a, b) => a + b, 0) < 1 + 1e-6);
  for (const t of p!.top) assert.equal(t.class, String(t.index), 'mnist classes are the digits');
  const { model, meta } = convlab.loadModel(RUN);
  assert.deepEqual([model.training, model.parameterCount(), meta.model.name, meta.classes.length], [false, 61706, 'lenet5', 10]);
  model.dispose();
});

test('trainModel with resume and no checkpoint: refused before any training, naming the missing file', async () => {
  const empty = join(TMP, 'empty-run');
  await assert.rejects(convlab.trainModel({ model: 'lenet5', dataset: 'mnist-sample', outDir: empty, resume: true, noReport: true }),
    (err: Error) => err.message.includes(join(empty, 'last.safetensors')) && /no checkpoint/.test(err.message));
});
