/**
 * The `convlab` command as a user runs it: `node dist/src/cli/main.js …` in a child process on the reference
 * backend. Every failure must be one line on stderr with exit code 1 and no stack trace.
 *
 * The one real training run (lenet5 on 64 mnist-sample images, validated on 1,600 and tested on 2,000) starts
 * when this file loads, so the quick error-case tests run while it trains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { createModel, listModels } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const ROOT = repoRoot();
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TMP = mkdtempSync(join(tmpdir(), 'convlab-cli-'));
process.on('exit', () => rmSync(TMP, { recursive: true, force: true }));
const HOME = join(TMP, 'home'); // an empty dataset cache: mnist-sample must come from the bundled copy

interface Run { code: number | null; stdout: string; stderr: string; args: string[] }

function convlab(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONVLAB_BACKEND: 'reference', CONVLAB_HOME: HOME };
    delete env.CONVLAB_DEBUG;
    delete env.CONVLAB_DATA_DIR;
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: TMP, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, args }));
  });
}

const show = (r: Run): string => `convlab ${r.args.join(' ')} → exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

function assertNoStack(r: Run): void {
  for (const text of [r.stdout, r.stderr]) assert.ok(!/^\s{4}at /m.test(text), `stack trace in output of ${show(r)}`);
}

/** Exit code 1, nothing on stdout, exactly one line on stderr (returned), no stack trace. */
function assertOneLineError(r: Run): string {
  assertNoStack(r);
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, '', show(r));
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, show(r));
  assert.ok(r.stderr.endsWith('\n'));
  return lines[0]!;
}

/** A 28×28 grayscale PNG of a vertical bar (a rough "1"). */
function writeDigitPng(path: string): void {
  const png = new pngjs.PNG({ width: 28, height: 28 });
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = x >= 12 && x <= 15 && y >= 4 && y <= 23 ? 255 : 0;
      const i = (y * 28 + x) * 4;
      png.data[i] = png.data[i + 1] = png.data[i + 2] = v;
      png.data[i + 3] = 255;
    }
  }
  writeFileSync(path, pngjs.PNG.sync.write(png));
}

// Start the real training run now; the tests below await it.
const RUN = join(TMP, 'run');
const trainRun = convlab(['train', 'lenet5', '-d', 'mnist-sample', '--limit', '64', '--epochs', '1', '--batch-size', '32',
  '--val-split', '0.2', '--no-report', '--json', '-o', RUN]);

test('models lists lenet5 and alexnet-cifar, one per line', async () => {
  const r = await convlab(['models']);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, '');
  const names = r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]);
  assert.deepEqual(names, listModels().map((m) => m.name));
  assert.match(r.stdout, /^lenet5\s+1×28×28\s+LeNet-5/m);
  assert.match(r.stdout, /^alexnet-cifar\s+3×32×32\s+AlexNet/m);
});

test('models --json parses', async () => {
  const r = await convlab(['models', '--json']);
  assert.equal(r.code, 0, show(r));
  const models = JSON.parse(r.stdout) as { name: string; input: string; description: string }[];
  assert.ok(Array.isArray(models));
  const byName = new Map(models.map((m) => [m.name, m]));
  assert.ok(byName.has('lenet5') && byName.has('alexnet-cifar'));
  assert.equal(byName.get('lenet5')!.input, '1×28×28');
  for (const m of models) assert.ok(typeof m.description === 'string' && m.description.length > 0);
});

test('an unknown model: one line listing the valid models', async () => {
  const line = assertOneLineError(await convlab(['train', 'nosuchnet', '-d', 'mnist-sample']));
  assert.equal(line, `convlab: unknown model 'nosuchnet'. Valid models: ${listModels().map((m) => m.name).join(', ')}`);
});

test('an unknown dataset: one line listing the valid datasets, and no run directory is created', async () => {
  const out = join(TMP, 'never');
  const line = assertOneLineError(await convlab(['train', 'lenet5', '-d', 'nosuchdata', '-o', out]));
  assert.match(line, /^convlab: unknown dataset .nosuchdata.\. Valid names: .*\bmnist\b.*\bcifar10\b.*\bmnist-sample\b.*folder:<path>/);
  assert.ok(!existsSync(out));
});

test('an unknown option: one line listing the valid options', async () => {
  const line = assertOneLineError(await convlab(['train', 'lenet5', '-d', 'mnist-sample', '--bogus']));
  assert.match(line, /^error: unknown option '--bogus'\. Valid options for 'train': --dataset, /);
  for (const o of ['--epochs', '--batch-size', '--lr', '--resume', '--checkpoint-every', '--json', '--help']) assert.ok(line.includes(o), `${o} listed`);
  const evalLine = assertOneLineError(await convlab(['eval', RUN, '-d', 'mnist-sample', '--bogus']));
  assert.match(evalLine, /^error: unknown option '--bogus'\. Valid options for 'eval': --dataset, .*--json, --help$/);
});

test('bad option values and missing paths: one line each', async () => {
  const runs = await Promise.all([
    convlab(['train', 'lenet5', '-d', 'mnist-sample', '--epochs', 'abc']),
    convlab(['train', 'lenet5', '-d', 'mnist-sample', '--optimizer', 'rmsprop']),
    convlab(['train', 'lenet5']),
    convlab(['eval', join(TMP, 'no-such-run'), '-d', 'mnist-sample']),
    convlab(['nosuchcommand']),
  ]);
  const lines = runs.map(assertOneLineError);
  assert.equal(lines[0], "convlab: --epochs 'abc' is invalid: must be a whole number ≥ 1");
  assert.match(lines[1]!, /rmsprop.*sgd, adam, adamw/);
  assert.match(lines[2]!, /required option '-d, --dataset <name>' not specified/);
  assert.equal(lines[3], `convlab: ${join(TMP, 'no-such-run')}: checkpoint not found`);
  assert.match(lines[4]!, /unknown command 'nosuchcommand'/);
});

test('predict on an unreadable image (a text file named x.png) or a missing one: one line naming the file', async () => {
  // An untrained checkpoint is enough here (no need to wait for the training run).
  const dir = join(TMP, 'untrained');
  const model = createModel('lenet5', { numClasses: 10, inChannels: 1, imageSize: 28 });
  saveCheckpoint(join(dir, 'best.safetensors'), model, {
    model: { name: 'lenet5', numClasses: 10, inChannels: 1, imageSize: 28 }, classes: [...'0123456789'], mean: [0.13], std: [0.31],
  });
  model.dispose();
  const bad = join(TMP, 'x.png');
  writeFileSync(bad, 'this is not an image\n');
  const line = assertOneLineError(await convlab(['predict', dir, bad]));
  assert.ok(line.startsWith('convlab: ') && line.includes(bad), line);
  assert.match(line, /not a PNG or JPEG|unreadable|cannot decode/i);
  const missing = join(TMP, 'missing.png');
  const line2 = assertOneLineError(await convlab(['predict', dir, missing]));
  assert.ok(line2.includes(missing), line2);
});

test('train lenet5 on 64 mnist-sample images: JSON summary with test accuracy and a complete run directory', async () => {
  const r = await trainRun;
  assertNoStack(r);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, '', 'with --json nothing but the JSON is printed');
  const summary = JSON.parse(r.stdout) as { run_dir: string; best_epoch: number; test_loss: number; test: { accuracy: number; numSamples: number }; history: unknown[] };
  assert.equal(summary.run_dir, RUN);
  assert.equal(summary.best_epoch, 1);
  assert.equal(summary.history.length, 1);
  assert.equal(summary.test.numSamples, 2000);
  const confusion = (JSON.parse(readFileSync(join(RUN, 'eval.json'), 'utf8')) as { confusion: number[][] }).confusion;
  const correct = confusion.reduce((a, row, i) => a + row[i]!, 0);
  assert.equal(summary.test.accuracy, correct / 2000, 'accuracy = the confusion matrix\'s diagonal over 2,000 test images');
  assert.ok(Number.isFinite(summary.test_loss));
  for (const f of ['config.json', 'metrics.jsonl', 'last.safetensors', 'best.safetensors', 'eval.json']) assert.ok(existsSync(join(RUN, f)), `${f} missing`);
  assert.deepEqual(readdirSync(RUN).filter((f) => f.endsWith('.tmp') || f.endsWith('.html')), [], 'no temp files and (--no-report) no report');
  assert.equal(readFileSync(join(RUN, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
  const config = JSON.parse(readFileSync(join(RUN, 'config.json'), 'utf8'));
  assert.deepEqual([config.model, config.dataset, config.epochs, config.batchSize, config.train_size, config.val_size], ['lenet5', 'mnist-sample', 1, 32, 64, 1600]);
  const ev = JSON.parse(readFileSync(join(RUN, 'eval.json'), 'utf8'));
  assert.equal(ev.split, 'test');
  assert.equal(ev.accuracy, summary.test.accuracy);
});

// eval and predict both need the trained run; they run concurrently once it is there.
const evalRun = trainRun.then(() => convlab(['eval', RUN, '-d', 'mnist-sample', '--json']));
const PNG_FILE = join(TMP, 'digit.png');
const predictRuns = trainRun.then(() => {
  writeDigitPng(PNG_FILE);
  return Promise.all([convlab(['predict', RUN, PNG_FILE]), convlab(['predict', RUN, PNG_FILE, '--json'])]);
});

test('eval <run> -d mnist-sample --json reproduces the test metrics of the run', async () => {
  const r = await evalRun;
  assertNoStack(r);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, '');
  const metrics = JSON.parse(r.stdout) as { loss: number; accuracy: number; numSamples: number; confusionMatrix: number[][] };
  const ev = JSON.parse(readFileSync(join(RUN, 'eval.json'), 'utf8'));
  assert.equal(metrics.numSamples, 2000);
  assert.equal(metrics.accuracy, ev.accuracy);
  assert.equal(metrics.loss, ev.loss);
  assert.deepEqual(metrics.confusionMatrix, ev.confusion);
});

test('predict <run> <png> prints the top-3 classes with probabilities summing to at most 1', async () => {
  const [plain, json] = await predictRuns;
  for (const r of [plain, json]) { assertNoStack(r); assert.equal(r.code, 0, show(r)); assert.equal(r.stderr, ''); }
  const lines = plain.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const m = /^(.*): (.*)$/.exec(lines[0]!)!;
  assert.equal(m[1], PNG_FILE);
  const top = m[2]!.split(', ').map((s) => /^(\d) (\d+\.\d)%$/.exec(s));
  assert.equal(top.length, 3, lines[0]);
  assert.ok(top.every(Boolean), lines[0]);
  const pct = top.map((t) => Number(t![2]));
  assert.equal(new Set(top.map((t) => t![1])).size, 3, 'three different classes');
  assert.ok(pct[0]! >= pct[1]! && pct[1]! >= pct[2]!, 'sorted by probability');
  assert.ok(pct.reduce((a, b) => a + b, 0) <= 100 + 0.15, `printed percentages ${pct}`); // each rounded to 0.1%

  const preds = JSON.parse(json.stdout) as { file: string; top: { class: string; index: number; probability: number }[] }[];
  assert.equal(preds.length, 1);
  assert.equal(preds[0]!.file, PNG_FILE);
  const probs = preds[0]!.top.map((t) => t.probability);
  assert.equal(probs.length, 3);
  assert.ok(probs.every((p) => p > 0 && p <= 1));
  assert.ok(probs.reduce((a, b) => a + b, 0) <= 1 + 1e-6, `probabilities ${probs}`);
  assert.deepEqual(preds[0]!.top.map((t) => t.class), top.map((t) => t![1]), 'JSON and text agree');
});
