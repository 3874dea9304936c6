/**
 * Damaged input through the real CLI (issue 15, items 2 and 8): every case exits non-zero with one line naming
 * the file and the problem, no stack trace, and no file written. Also: --data-dir is never skipped silently,
 * `datasets` reports an incomplete data dir, `predict` classifies the readable images when one is not, and says
 * when it converts or stretches an image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, decodeImage, MAX_IMAGE_PIXELS } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { writeRgbPng } from './helpers.js';
import { convlab, filesUnder, oneLineError, scratchDir, show, assertNoStack, type CliRun } from '../cli/run-cli.js';

const cwd = scratchDir();

/** A data dir of tiny valid MNIST-style files (4 images of 28×28), with `damage` applied to name → bytes. */
function dataDir(name: string, damage: (files: Map<string, Uint8Array | null>) => void): string {
  const dir = join(cwd, name);
  mkdirSync(dir);
  const files = new Map<string, Uint8Array | null>([
    ['train-images-idx3-ubyte', encodeIdx([4, 28, 28], new Uint8Array(4 * 784).fill(9))],
    ['train-labels-idx1-ubyte', encodeIdx([4], Uint8Array.from([0, 1, 2, 3]))],
    ['t10k-images-idx3-ubyte', encodeIdx([4, 28, 28], new Uint8Array(4 * 784).fill(9))],
    ['t10k-labels-idx1-ubyte', encodeIdx([4], Uint8Array.from([3, 2, 1, 0]))],
  ]);
  damage(files);
  for (const [f, bytes] of files) {
    if (bytes === null) mkdirSync(join(dir, f));
    else writeFileSync(join(dir, f), bytes);
  }
  return dir;
}


/** A real 8×8 PNG whose header claims 20000×20000 pixels (what a 389 KB decompression bomb declares). */
function bombPng(path: string): void {
  writeRgbPng(path, 8, 8, () => [0, 0, 0]);
  const bytes = readFileSync(path);
  bytes.writeUInt32BE(20000, 16);
  bytes.writeUInt32BE(20000, 20);
  writeFileSync(path, bytes);
}

// Image-folder datasets: one with an empty class folder, one with a zero-byte image, one with a bomb.
function folderSet(name: string, extra: (root: string) => void): string {
  const root = join(cwd, name);
  for (const cls of ['a', 'b']) {
    mkdirSync(join(root, cls), { recursive: true });
    writeRgbPng(join(root, cls, '1.png'), 8, 8, () => [cls === 'a' ? 0 : 255, 0, 0]);
  }
  extra(root);
  return root;
}

const missing = dataDir('missing-file', (f) => f.delete('t10k-labels-idx1-ubyte'));
const dirForFile = dataDir('dir-for-file', (f) => f.set('t10k-labels-idx1-ubyte', null));
const empty = dataDir('empty-file', (f) => f.set('train-labels-idx1-ubyte', new Uint8Array(0)));
const truncated = dataDir('truncated', (f) => f.set('train-images-idx3-ubyte', f.get('train-images-idx3-ubyte')!.subarray(0, 1000)));
const badLabel = dataDir('bad-label', (f) => f.set('train-labels-idx1-ubyte', encodeIdx([4], Uint8Array.from([0, 1, 12, 3]))));
const badGzip = dataDir('bad-gzip', (f) => {
  const gz = gzipSync(f.get('train-images-idx3-ubyte')!);
  gz[gz.length - 6]! ^= 0xff; // the CRC of the gzip trailer
  f.delete('train-images-idx3-ubyte');
  f.set('train-images-idx3-ubyte.gz', gz);
});
const emptyClass = folderSet('empty-class', (root) => mkdirSync(join(root, 'c')));
const zeroImage = folderSet('zero-image', (root) => writeFileSync(join(root, 'b', '2.png'), ''));
const bomb = folderSet('bomb', (root) => bombPng(join(root, 'a', 'big.png')));

// A checkpoint with diverged (huge but finite) weights, one with sane weights, and a truncated one.
const spec = { name: 'lenet5', numClasses: 10, inChannels: 1, imageSize: 28 };
const meta = { model: spec, classes: [...'0123456789'], mean: [0.13], std: [0.31] };
const model = createModel('lenet5', spec);
const good = join(cwd, 'good.safetensors');
saveCheckpoint(good, model, meta);
const state = new Map<string, Float32Array>(), shapes = new Map<string, number[]>();
for (const [name, t] of model.namedState()) { state.set(name, t.toFloat32().map((v) => v * 1e36)); shapes.set(name, [...t.shape]); }
model.loadStateDict(state, shapes);
const diverged = join(cwd, 'diverged.safetensors');
saveCheckpoint(diverged, model, meta);
model.dispose();
const cut = join(cwd, 'cut.safetensors');
writeFileSync(cut, readFileSync(good).subarray(0, 500));
const digit = join(cwd, 'digit.png');
writeRgbPng(digit, 28, 28, (x) => (x > 12 && x < 16 ? [255, 255, 255] : [0, 0, 0]));
const colour = join(cwd, 'colour.png');
writeRgbPng(colour, 40, 20, (x, y) => [x * 6, y * 12, 100]);
const notImage = join(cwd, 'notes.png');
writeFileSync(notImage, 'not an image\n');

const before = filesUnder(cwd);
const train = (args: string[]): Promise<CliRun> =>
  convlab(['train', 'lenet5', '--epochs', '1', '--no-report', '-o', join(cwd, 'run'), ...args], { cwd });

test('every damaged input: exit 1, one line naming the file and the problem, no stack trace, nothing written', { timeout: 120_000 }, async () => {
  const cases: [string, Promise<CliRun>, string | RegExp][] = [
    ['a missing file in --data-dir', train(['-d', 'mnist', '--data-dir', missing]),
      `data dir ${missing}: mnist test split is incomplete: t10k-labels-idx1-ubyte.gz is missing (expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)`],
    ['a folder where a file should be', train(['-d', 'mnist', '--data-dir', dirForFile]),
      `data dir ${dirForFile}: mnist test split is incomplete: ${join(dirForFile, 't10k-labels-idx1-ubyte')} is a directory, expected a file (expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)`],
    ['a --data-dir that does not exist', train(['-d', 'mnist', '--data-dir', join(cwd, 'nowhere')]), `--data-dir '${join(cwd, 'nowhere')}': folder not found`],
    ['a zero-byte label file', train(['-d', 'mnist', '--data-dir', empty]), `${join(empty, 'train-labels-idx1-ubyte')}: file is empty (0 bytes), expected data`],
    ['a truncated image file', train(['-d', 'mnist', '--data-dir', truncated]),
      `${join(truncated, 'train-images-idx3-ubyte')}: truncated IDX file: header says 4×28×28 = 3152 bytes, file has 1000 bytes`],
    ['an out-of-range label', train(['-d', 'mnist', '--data-dir', badLabel]), `${join(badLabel, 'train-labels-idx1-ubyte')}: label 12 of image 2 is outside 0..9 (10 classes)`],
    ['a corrupt gzip file', train(['-d', 'mnist', '--data-dir', badGzip]), new RegExp(`^${join(badGzip, 'train-images-idx3-ubyte.gz')}: corrupt gzip file: `)],
    ['an empty class folder', train(['-d', `folder:${emptyClass}`]), `${join(emptyClass, 'c')}: class folder has no images (*.png|jpg|jpeg); add images or remove the folder`],
    ['a zero-byte image', train(['-d', `folder:${zeroImage}`]), `${join(zeroImage, 'b', '2.png')}: file is empty (0 bytes), expected a PNG or JPEG image`],
    ['a 20000×20000 PNG', train(['-d', `folder:${bomb}`]), `${join(bomb, 'a', 'big.png')}: unreadable image: 20000×20000 = 400000000 pixels is above the limit of ${MAX_IMAGE_PIXELS}`],
    ['predict with diverged weights', convlab(['predict', diverged, digit], { cwd }), `${diverged}: the model's outputs are not finite (loss NaN); the checkpoint holds diverged weights`],
    ['eval with diverged weights', convlab(['eval', diverged, '-d', 'mnist', '--data-dir', dataDir('eval-data', () => {})], { cwd }),
      /^.*diverged\.safetensors: the model's outputs are not finite \(loss (NaN|Infinity)\); the checkpoint holds diverged weights$/],
    ['a truncated checkpoint', convlab(['predict', cut, digit], { cwd }), new RegExp(`^${cut}: truncated safetensors header|^${cut}: truncated: tensor`)],
  ];
  const runs = await Promise.all(cases.map(([, run]) => run));
  runs.forEach((r, i) => {
    const [name, , want] = cases[i]!;
    const line = oneLineError(r);
    if (typeof want === 'string') assert.equal(line, want, name);
    else assert.match(line, want, name);
  });
  const after = filesUnder(cwd).filter((f) => !f.startsWith('eval-data/'));
  assert.deepEqual(after, before, 'no file written (no run directory, no cache, no download folder)');
});

test('predict: an unreadable image is reported and the others still classified; a colour or resized image gets a note', { timeout: 60_000 }, async () => {
  const r = await convlab(['predict', good, digit, notImage, colour], { cwd });
  assertNoStack(r);
  assert.equal(r.code, 1, show(r));
  const out = r.stdout.trim().split('\n');
  assert.deepEqual(out.map((l) => l.split(':')[0]), [digit, colour], show(r));
  const err = r.stderr.trim().split('\n');
  assert.deepEqual(err, [
    `convlab: ${notImage}: unreadable image: not a PNG or JPEG file`,
    `note: ${colour}: colour image converted to grey-scale for a 1-channel model`,
    `note: ${colour}: resized from 40×20 to 28×28, changing its aspect ratio`,
  ]);
  const clean = await convlab(['predict', good, digit], { cwd });
  assert.equal(clean.code, 0, show(clean));
  assert.equal(clean.stderr, '', 'a fitting grey 28×28 image needs no note');
});

test('datasets --data-dir: a dataset with a missing file is reported incomplete, naming the file', { timeout: 30_000 }, async () => {
  const r = await convlab(['datasets', '--data-dir', missing], { cwd });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, new RegExp(`^mnist .* incomplete in ${missing}: t10k-labels-idx1-ubyte.gz is missing$`, 'm'));
});

test('the pixel cap is checked from the PNG header, before any decoding', { timeout: 5_000 }, () => {
  const path = join(scratchDir(), 'bomb.png');
  bombPng(path);
  assert.throws(() => decodeImage(readFileSync(path), 'bomb.png'), { message: `bomb.png: unreadable image: 20000×20000 = 400000000 pixels is above the limit of ${MAX_IMAGE_PIXELS}` });
});
