/**
 * airbench94's batches: the same seed gives the same batches (any batch rebuilt on its own), each image's mirror
 * alternates epoch to epoch from one random start, translations cover [-2, 2]² and move pixels as reflect-padded
 * crops do; and the TTA views (mirror, ±1-pixel translation) on a hand-checked 1×1×3×3 image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AirbenchBatches, mirrorBatch, reflectIndex, translateBatch, type ImageDataset } from '../../src/data/index.js';

/** n images 1×8×8 whose pixel (y, x) is 10·y + x + n (so a pixel's value tells where it came from). */
function gridDataset(n: number): ImageDataset {
  const images = new Uint8Array(n * 64), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) images[i * 64 + y * 8 + x] = 10 * y + x + i;
  }
  return { name: 'grid', classes: ['a', 'b'], channels: 1, height: 8, width: 8, length: n, images, labels };
}

const options = (seed: number) => ({ batchSize: 4, seed, mean: [0], std: [1 / 255], flip: true, translate: 2 });

test('airbench batches: same seed, same batches; another seed, other batches; the last partial batch dropped', { timeout: 10_000 }, () => {
  const ds = gridDataset(18);
  const fill = (seed: number, epoch: number, batch: number): number[] => {
    const b = new AirbenchBatches(ds, options(seed));
    const x = new Float32Array(4 * 64), y = new Int32Array(4);
    b.fill(epoch, batch, b.order(epoch), x, y);
    return [...x, ...y];
  };
  assert.equal(new AirbenchBatches(ds, options(1)).numBatches, 4);
  assert.deepEqual(fill(1, 3, 2), fill(1, 3, 2));
  assert.notDeepEqual(fill(1, 3, 2), fill(2, 3, 2));
  assert.notDeepEqual(fill(1, 3, 2), fill(1, 4, 2));
});

test('airbench batches: every image alternates its mirror each epoch, from a coin flip shared out evenly', { timeout: 10_000 }, () => {
  const b = new AirbenchBatches(gridDataset(400), options(7));
  let startMirrored = 0;
  for (let i = 0; i < 400; i++) {
    if (b.mirrored(i, 0)) startMirrored++;
    for (let e = 0; e < 5; e++) assert.notEqual(b.mirrored(i, e), b.mirrored(i, e + 1), `image ${i}, epochs ${e} and ${e + 1}`);
  }
  assert.ok(startMirrored > 160 && startMirrored < 240, `${startMirrored} of 400 start mirrored`);
  const noFlip = new AirbenchBatches(gridDataset(4), { ...options(7), flip: false });
  assert.deepEqual([0, 1, 2, 3].map((e) => noFlip.mirrored(0, e)), [false, false, false, false]);
});

test('airbench batches: shifts cover [-2, 2]² and differ by epoch', { timeout: 10_000 }, () => {
  const b = new AirbenchBatches(gridDataset(400), options(3));
  const seen = new Set<string>();
  let same = 0;
  for (let i = 0; i < 400; i++) {
    const [dy, dx] = b.shift(i, 0);
    assert.ok(Math.abs(dy) <= 2 && Math.abs(dx) <= 2);
    seen.add(`${dy},${dx}`);
    if (b.shift(i, 1).join() === `${dy},${dx}`) same++;
  }
  assert.equal(seen.size, 25);
  assert.ok(same < 40, `${same} of 400 images keep their shift from epoch 0 to 1`);
});

test('airbench batches: a filled image is the source translated (reflect-padded), then mirrored when due', { timeout: 10_000 }, () => {
  const ds = gridDataset(8);
  const b = new AirbenchBatches(ds, { ...options(5), batchSize: 8 });
  for (const epoch of [0, 1]) {
    const order = b.order(epoch), x = new Float32Array(8 * 64), y = new Int32Array(8);
    b.fill(epoch, 0, order, x, y);
    for (let k = 0; k < 8; k++) {
      const i = order[k]!, [dy, dx] = b.shift(i, epoch), flip = b.mirrored(i, epoch);
      assert.equal(y[k], i % 2);
      for (let yy = 0; yy < 8; yy++) {
        for (let xx = 0; xx < 8; xx++) {
          const col = flip ? 7 - xx : xx;
          const want = 10 * reflectIndex(yy + dy, 8) + reflectIndex(col + dx, 8) + i; // std 1/255 and mean 0 give back the bytes
          assert.ok(Math.abs(x[k * 64 + yy * 8 + xx]! - want) < 1e-4, `epoch ${epoch} image ${i} (${yy}, ${xx}): ${x[k * 64 + yy * 8 + xx]} vs ${want}`);
        }
      }
    }
  }
});

test('airbench batches: refuses a batch larger than the data set and a translation too large', { timeout: 10_000 }, () => {
  assert.throws(() => new AirbenchBatches(gridDataset(3), options(1)), { message: 'airbench batches: batch size 4 exceeds the 3 training images' });
  assert.throws(() => new AirbenchBatches(gridDataset(8), { ...options(1), translate: 8 }),
    { message: 'airbench batches: translation must be a whole number of pixels from 0 to 7, got 8' });
});

test('TTA views: mirror and reflect-padded translation of a 3×3 image, by hand', { timeout: 10_000 }, () => {
  const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...mirrorBatch(img, 1, 1, 3, 3)], [3, 2, 1, 6, 5, 4, 9, 8, 7]);
  // Shift −1: the script's crop [0:3] of the copy padded by 1 (reflect: the row/column before 0 is row/column 1).
  assert.deepEqual([...translateBatch(img, 1, 1, 3, 3, -1, -1)], [5, 4, 5, 2, 1, 2, 5, 4, 5]);
  // Shift +1: the crop [2:5].
  assert.deepEqual([...translateBatch(img, 1, 1, 3, 3, 1, 1)], [5, 6, 5, 8, 9, 8, 5, 6, 5]);
});
