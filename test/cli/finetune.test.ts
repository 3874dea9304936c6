/**
 * Fine-tuning and ImageNet inference through the real CLI (child processes on the reference backend), with
 * random-init weights in torchvision's layout standing in for torchvision's ImageNet weights:
 * - train an ImageNet-shaped model on a tiny folder of images of mixed sizes (--image-size, --freeze features):
 *   three steps, finite loss, the one-line messages, the frozen features equal to the file;
 * - predict --model --weights: ImageNet preprocessing and class names, the same probabilities as the pipeline
 *   computed here step by step;
 * - bad input: one line each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { IMAGENET_MEAN, IMAGENET_STD, imagenetClasses, loadImageCentreCrop, normalizePlanar } from '../../src/data/index.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { readSafetensors } from '../../src/train/safetensors.js';
import { loadWeights, saveWeights } from '../../src/train/weights.js';
import { writeRgbPng } from '../data/helpers.js';
import { useReferenceBackend } from '../train/helpers.js';
import { convlab, oneLineError, scratchDir, show, type CliRun } from './run-cli.js';

useReferenceBackend();
const CWD = scratchDir();
const TIMEOUT = { timeout: 240_000 };
const run = (args: string[]): Promise<CliRun> => convlab(args, { cwd: CWD });
const ok = (r: CliRun): void => { assert.equal(r.code, 0, show(r)); assert.ok(!/^\s{4}at /m.test(r.stderr), show(r)); };
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Three classes, two images each per split, of different sizes and aspect ratios. */
const FOLDER = join(CWD, 'flowers');
const SIZES = [[40, 30], [25, 50]] as const;
for (const split of ['train', 'test']) {
  for (const [c, cls] of ['daisy', 'rose', 'tulip'].entries()) {
    mkdirSync(join(FOLDER, split, cls), { recursive: true });
    SIZES.forEach(([w, h], i) => writeRgbPng(join(FOLDER, split, cls, `${i}.png`), w, h, (x, y) => [(x * 7 + c * 80) % 256, (y * 5 + i * 40) % 256, c * 100]));
  }
}
const IMAGE = join(FOLDER, 'test', 'rose', '0.png');

/** mobilenet_v3_small with 1000 classes, random weights, saved as torchvision would (a plain state dict). */
function imagenetShaped(file: string, classes = 1000): string {
  E.manualSeed(classes);
  const m = createModel('mobilenet_v3_small', { numClasses: classes });
  saveWeights(m, file);
  m.dispose();
  return file;
}
const WEIGHTS = imagenetShaped(join(CWD, 'mobilenet_v3_small.safetensors'));

test('train an ImageNet-shaped model on a small image folder: --weights --freeze features --image-size; three steps, finite loss, one-line messages', TIMEOUT, async () => {
  const out = join(CWD, 'run');
  const r = await run(['train', 'mobilenet_v3_small', '-d', `folder:${FOLDER}`, '--weights', WEIGHTS, '--freeze', 'features', '--image-size', '64',
    '--epochs', '1', '--batch-size', '2', '--val-split', '0', '--no-report', '--json', '-o', out]);
  ok(r);
  const lines = r.stderr.split('\n');
  for (const want of [
    `normalising with ImageNet's mean and std (${WEIGHTS} has 1000 classes: ImageNet weights)`,
    /^frozen: features \([\d,]+ parameters\); training [\d,]+ parameters$/,
    `fine-tuning: kept 242 tensors from ${WEIGHTS}, replaced the classifier classifier.3 (1000 → 3 classes)`,
  ]) assert.ok(lines.some((l) => (typeof want === 'string' ? l === want : want.test(l))), `${want} in\n${r.stderr}`);
  const summary = JSON.parse(r.stdout) as { history: { train_loss: number }[]; test: { numSamples: number } };
  assert.equal(summary.history.length, 1);
  assert.ok(Number.isFinite(summary.history[0]!.train_loss), 'finite loss');
  assert.equal(summary.test.numSamples, 6);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { mean: number[]; std: number[]; freeze: string[]; imageSize: number };
  assert.deepEqual([config.mean, config.std, config.freeze, config.imageSize], [IMAGENET_MEAN, IMAGENET_STD, ['features'], 64]);
  const last = loadCheckpoint(join(out, 'last.safetensors'));
  assert.equal((last.meta.trainer as { step: number }).step, 3, '6 images, batch 2: three steps');
  assert.deepEqual(last.shapes.get('classifier.3.weight'), [3, 1024]);
  for (const [name, t] of readSafetensors(WEIGHTS).tensors) {
    if (name.startsWith('features.')) assert.ok(last.model.get(name)!.every((v, i) => Object.is(v, Number(t.data[i]))), `${name} is frozen`);
  }
  // The fine-tuned run predicts with the same preprocessing: shorter side and centre crop to its 64 pixels.
  const p = await run(['predict', out, IMAGE, '--imagenet', '--top-k', '3']);
  ok(p);
  assert.match(p.stdout, new RegExp(`^${escape(IMAGE)}: (daisy|rose|tulip) [\\d.]+%, (daisy|rose|tulip) [\\d.]+%, (daisy|rose|tulip) [\\d.]+%\\n$`));
});

test('predict --model --weights: ImageNet preprocessing (resize 256, crop 224, ImageNet mean/std), class names, top-5', TIMEOUT, async () => {
  // The child runs while this process computes the same pipeline step by step (the text output is checked on the fine-tuned run above).
  const child = run(['predict', '--model', 'mobilenet_v3_small', '--weights', WEIGHTS, IMAGE, '--top-k', '5', '--json']);
  const m = createModel('mobilenet_v3_small', { numClasses: 1000 });
  loadWeights(m, WEIGHTS);
  const x = normalizePlanar(loadImageCentreCrop(IMAGE, { resize: 256, crop: 224 }), 3, IMAGENET_MEAN, IMAGENET_STD);
  const probs = E.noGrad(() => E.tidy(() => E.softmax(m.eval().forward(E.tensor(x, [1, 3, 224, 224]))).toFloat32()));
  m.dispose();
  const top = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, 5);
  const json = await child;
  ok(json);
  const got = (JSON.parse(json.stdout) as { top: { class: string; index: number; probability: number }[] }[])[0]!.top;
  assert.deepEqual(got.map((t) => t.index), top);
  got.forEach((t, i) => {
    assert.equal(t.class, imagenetClasses()[top[i]!]);
    assert.ok(Math.abs(t.probability - probs[top[i]!]!) < 1e-6, `${t.probability} vs ${probs[top[i]!]}`);
  });
});

test('bad input: one line each (no --weights, a state dict without ImageNet classes, a --freeze path that matches nothing, --image-size on a fixed-size dataset)', TIMEOUT, async () => {
  const ten = imagenetShaped(join(CWD, 'ten.safetensors'), 10);
  const [noWeights, tenClasses, badFreeze, fixedSize] = await Promise.all([
    run(['predict', '--model', 'mobilenet_v3_small', IMAGE]),
    run(['predict', '--model', 'mobilenet_v3_small', '--weights', ten, IMAGE]),
    run(['train', 'mobilenet_v3_small', '-d', `folder:${FOLDER}`, '--weights', WEIGHTS, '--freeze', 'feature', '--image-size', '32', '--epochs', '1', '-o', join(CWD, 'bad')]),
    run(['train', 'lenet5', '-d', 'mnist-sample', '--image-size', '32']),
  ]);
  assert.equal(oneLineError(noWeights), "--model mobilenet_v3_small needs --weights FILE: a state dict with torchvision's key names (e.g. ImageNet weights)");
  assert.equal(oneLineError(tenClasses), `${ten}: a state dict with 10 classes and no convlab metadata: predict needs a convlab checkpoint (classes, normalisation), or --imagenet to prepare images as for ImageNet weights`);
  assert.equal(oneLineError(badFreeze), "--freeze 'feature': mobilenet_v3_small has no parameters under 'feature'; its top-level modules are features, classifier");
  assert.equal(oneLineError(fixedSize), '--image-size applies to folder: datasets; mnist-sample has a fixed image size');
});
