/**
 * The CLI commands and training options the first CLI test does not reach: --help, datasets, report, compare,
 * and train with --imbalance, --augment, --val-split 0, --threads / CONVLAB_THREADS, --lrn and --dropout.
 * Each run is a child process on the default backend (the two that count worker threads force WASM, whose threads
 * they are), with a fresh empty --out folder.
 *
 * Three short trainings start when the file loads and run while the quick tests do:
 *   imbalanced: lenet5 on mnist-sample made long-tailed (exp:10), 64 images, crop+flip, CONVLAB_THREADS=2;
 *   testVal:    lenet5 validated on the test set (--val-split 0), no augmentation, --threads 1 beating CONVLAB_THREADS=2;
 *   alexnet:    alexnet-cifar with --lrn --dropout 0.3 on a 16-image 8×8 RGB image folder (20 M parameters, 1 step).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { loadModel } from '../../src/api.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
/** Where Debian's dataset-fashion-mnist package puts the files (convlab looks there on its own). */
const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
import { ROOT, TMP, assertOk, assertOneLineError, convlab, freshDir, show } from './helpers.js';

const json = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

const imbalancedDir = freshDir('imbalanced');
const imbalanced = convlab(['train', 'lenet5', '-d', 'mnist-sample', '--limit', '64', '--epochs', '2', '--batch-size', '32',
  '--imbalance', 'exp:10', '--augment', 'crop,flip', '--no-report', '--json', '-o', imbalancedDir], { env: { CONVLAB_THREADS: '2', CONVLAB_BACKEND: 'wasm' }, countWorkers: true });

const testValDir = freshDir('test-val');
const testVal = convlab(['train', 'lenet5', '-d', 'mnist-sample', '--limit', '64', '--epochs', '2', '--batch-size', '32',
  '--val-split', '0', '--augment', 'none', '--threads', '1', '--no-report', '--json', '-o', testValDir], { env: { CONVLAB_THREADS: '2', CONVLAB_BACKEND: 'wasm' }, countWorkers: true });

/** root/{train,test}/{a,b}/*.png: 8×8 RGB images, class a reddish and class b bluish. */
function writeImageFolder(root: string, perClass: number): void {
  for (const split of ['train', 'test']) {
    for (const [cls, rgb] of [['a', [200, 40, 40]], ['b', [40, 40, 200]]] as const) {
      const dir = join(root, split, cls);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass; i++) {
        const png = new pngjs.PNG({ width: 8, height: 8 });
        for (let p = 0; p < 64; p++) {
          for (let ch = 0; ch < 3; ch++) png.data[p * 4 + ch] = (rgb[ch]! + 7 * i + 3 * p) % 256;
          png.data[p * 4 + 3] = 255;
        }
        writeFileSync(join(dir, `${i}.png`), pngjs.PNG.sync.write(png));
      }
    }
  }
}
const FOLDER = join(TMP, 'folder-8x8');
writeImageFolder(FOLDER, 8);
const alexnetDir = freshDir('alexnet');
const alexnet = convlab(['train', 'alexnet-cifar', '-d', `folder:${FOLDER}`, '--lrn', '--dropout', '0.3', '--epochs', '1', '--batch-size', '16',
  '--val-split', '0', '--no-report', '--json', '-o', alexnetDir]);

test('--help: the program lists every command, and each command its options; exit 0', async () => {
  const main = await convlab(['--help']);
  assertOk(main);
  for (const cmd of ['train', 'eval', 'predict', 'summary', 'models', 'datasets', 'report', 'compare']) assert.match(main.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `${cmd} in ${main.stdout}`);
  const cases: [string, string[]][] = [
    ['train', ['--dataset', '--resume', '--imbalance', '--val-split', '--augment', '--lrn', '--dropout', '--threads', '--checkpoint-every', '--weights', '--strict', '--json']],
    ['eval', ['--dataset', '--split', '--threads', '--weights', '--strict', '--json']],
    ['predict', ['--top-k', '--weights', '--strict', '--json']],
    ['summary', ['--input', '--num-classes', '--weights', '--strict', '--depth', '--repeats', '--no-latency', '--threads', '--json']],
    ['datasets', ['--data-dir', '--json']],
    ['report', ['--json']],
    ['compare', ['--out', '--json']],
  ];
  const runs = await Promise.all(cases.map(([cmd]) => convlab([cmd, '--help'])));
  runs.forEach((r, i) => {
    assertOk(r);
    const [cmd, options] = cases[i]!;
    assert.match(r.stdout, new RegExp(`^Usage: convlab ${cmd} `), show(r));
    for (const o of options) assert.ok(r.stdout.includes(o), `convlab ${cmd} --help lists ${o}`);
  });
});

test('datasets: the bundled mnist-sample is available; a --data-dir holding MNIST files makes mnist available there', async () => {
  const [plain, asJson, withDir] = await Promise.all([
    convlab(['datasets']), convlab(['datasets', '--json']), convlab(['datasets', '--json', '--data-dir', join(ROOT, 'assets', 'mnist-sample')]),
  ]);
  for (const r of [plain, asJson, withDir]) assertOk(r);
  assert.match(plain.stdout, /^mnist-sample\s+1×28×28\s+8000 train \/  2000 test  \S+assets\/mnist-sample \(bundled\)$/m);
  type Info = { name: string; available: { train: boolean; test: boolean }; location?: string; source?: string };
  const list = JSON.parse(asJson.stdout) as Info[];
  assert.deepEqual(list.map((d) => d.name), ['mnist', 'fashion-mnist', 'cifar10', 'mnist-sample']);
  const byName = new Map(list.map((d) => [d.name, d]));
  assert.deepEqual(byName.get('mnist-sample')!.available, { train: true, test: true });
  assert.deepEqual(byName.get('mnist')!.available, { train: false, test: false }, 'an empty CONVLAB_HOME holds no MNIST');
  const debian = existsSync(join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
  assert.equal(byName.get('fashion-mnist')!.available.train, debian, `fashion-mnist is available exactly when ${DEBIAN_FASHION_MNIST_DIR} has it`);
  const mnist = (JSON.parse(withDir.stdout) as Info[]).find((d) => d.name === 'mnist')!;
  assert.deepEqual([mnist.available, mnist.location, mnist.source], [{ train: true, test: true }, join(ROOT, 'assets', 'mnist-sample'), 'data-dir']);
});

test('train --imbalance exp:10 --augment crop,flip (CONVLAB_THREADS=2): the long-tailed counts, the macro-recall monitor, the augmentation and 2 threads', async () => {
  const r = await imbalanced;
  assertOk(r);
  // mnist-sample has 800 training images per class; exp:10 keeps floor(800 · 10^(−i/9)) of class i.
  const counts = Array.from({ length: 10 }, (_, i) => Math.floor(800 * 10 ** (-i / 9)));
  const total = counts.reduce((a, b) => a + b, 0);
  assert.ok(r.stderr.includes(`imbalanced training set (exp:10): ${counts.join(', ')} images per class, ${total} in all`), show(r));
  const config = json(join(imbalancedDir, 'config.json'));
  assert.equal(config.monitor, 'val.macro_recall', 'an imbalanced run monitors macro recall unless told otherwise');
  assert.deepEqual(config.augment, { cropPadding: 4, hflip: true });
  assert.equal(config.train_size, 64);
  assert.equal(config.macs_per_image, 416520, 'LeNet-5 on 28×28: counted from a real forward pass (macs.test.ts)');
  const classCounts = json(join(imbalancedDir, 'class_counts.json'));
  // 10 % of each class is held out (stratified), so validation keeps the long tail.
  assert.equal(classCounts.val.reduce((a: number, b: number) => a + b, 0), config.val_size);
  assert.ok(classCounts.val[0] > 5 * classCounts.val[9], `val counts ${classCounts.val}`);
  assert.deepEqual(classCounts.test, new Array(10).fill(200), 'the test set stays balanced');
  assert.equal(r.workers, 1, 'CONVLAB_THREADS=2: one worker beside the main thread');
});

test('train --val-split 0 --augment none --threads 1: validates on the test set, reports the last epoch, no augmentation, 1 thread despite CONVLAB_THREADS=2', async () => {
  const r = await testVal;
  assertOk(r);
  assert.ok(r.stderr.includes("validating on the test set: the test figures will use the last epoch's weights"), show(r));
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.evaluated_epoch, 2, 'the last epoch, whatever the best one was');
  const config = json(join(testValDir, 'config.json'));
  assert.deepEqual([config.val_size, config.restoreBest], [2000, false]);
  assert.deepEqual(config.augment, {});
  // The last epoch's validation is the test set with the final weights: the same accuracy as eval.json.
  const rows = readFileSync(join(testValDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows[1].val_acc, json(join(testValDir, 'eval.json')).accuracy);
  assert.equal(r.workers, 0, '--threads 1 wins over CONVLAB_THREADS=2: no worker');
});

test('train alexnet-cifar --lrn --dropout 0.3: the options reach the model, its checkpoint and the model rebuilt from it', async () => {
  const r = await alexnet;
  assertOk(r);
  const config = json(join(alexnetDir, 'config.json'));
  assert.deepEqual(config.modelExtra, { lrn: true, dropout: 0.3 });
  assert.deepEqual(loadCheckpoint(join(alexnetDir, 'best.safetensors')).meta.model.extra, { lrn: true, dropout: 0.3 });
  const { model } = loadModel(alexnetDir);
  const text = model.toString();
  model.dispose();
  assert.equal(text.match(/LocalResponseNorm\(5, α=0\.0001, β=0\.75, k=2\)/g)?.length, 2, text);
  assert.equal(text.match(/Dropout\(p=0\.3\)/g)?.length, 2, text);
});

test('report <run>: writes the charts and report.html into the run; --json prints their paths', async () => {
  assertOk(await imbalanced);
  assert.ok(!existsSync(join(imbalancedDir, 'report.html')), 'trained with --no-report');
  const r = await convlab(['report', imbalancedDir]);
  assertOk(r);
  assert.equal(r.stdout.trim(), join(imbalancedDir, 'report.html'));
  for (const f of ['report.html', 'learning-curves.png', 'learning-curves.svg', 'confusion-matrix.png', 'confusion-matrix.svg']) {
    assert.ok(statSync(join(imbalancedDir, f)).size > 500, `${f} written`);
  }
  const html = readFileSync(join(imbalancedDir, 'report.html'), 'utf8');
  assert.ok(html.includes('lenet5') && html.includes('mnist-sample'), 'the report names the model and dataset');
  const again = await convlab(['report', imbalancedDir, '--json']);
  assertOk(again);
  const paths = JSON.parse(again.stdout);
  assert.equal(paths.html, join(imbalancedDir, 'report.html'));
  assert.deepEqual(paths.learningCurves, { svg: join(imbalancedDir, 'learning-curves.svg'), png: join(imbalancedDir, 'learning-curves.png') });
  assert.match(assertOneLineError(await convlab(['report', join(TMP, 'no-such-run')])), /no-such-run/);
});

test('compare <run> <run> --out: one row per run with its test accuracy, and the HTML file', async () => {
  assertOk(await imbalanced);
  assertOk(await testVal);
  const out = join(freshDir('compare'), 'comparison.html');
  const r = await convlab(['compare', imbalancedDir, testValDir, '--out', out, '--json']);
  assertOk(r);
  const rows = JSON.parse(r.stdout) as { dir: string; model: string; label: string; epochs: number; testAcc: number; params: number }[];
  assert.deepEqual(rows.map((row) => row.dir), [imbalancedDir, testValDir]);
  rows.forEach((row, i) => {
    const dir = [imbalancedDir, testValDir][i]!;
    assert.equal(row.testAcc, json(join(dir, 'eval.json')).accuracy);
    assert.deepEqual([row.model, row.epochs, row.params], ['lenet5', 2, 61706]);
  });
  assert.notEqual(rows[0]!.label, rows[1]!.label, 'two lenet5 runs get distinct labels');
  const html = readFileSync(out, 'utf8');
  for (const row of rows) assert.ok(html.includes(row.label), `${row.label} in the comparison page`);
  const plain = await convlab(['compare', imbalancedDir, '--out', join(freshDir('compare'), 'one.html')]);
  assertOk(plain);
  assert.match(plain.stdout, /one\.html\s*$/);
});
