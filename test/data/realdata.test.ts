/**
 * Checks against the real MNIST and CIFAR-10 files in ../shared/data (relative to the
 * repo root). Each test skips, saying so, when the files are absent.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadCifar10, parseCifarMeta } from '../../src/data/cifar.js';
import { classCounts } from '../../src/data/dataset.js';
import { computeChannelStats } from '../../src/data/loader.js';
import { loadDataset } from '../../src/data/registry.js';
import { SHARED_CIFAR, SHARED_MNIST, tempDir } from './helpers.js';

const haveMnist = existsSync(join(SHARED_MNIST, 'train-images-idx3-ubyte.gz'));
const haveCifar = existsSync(join(SHARED_CIFAR, 'data_batch_1.bin.gz'));

describe('real MNIST (../shared/data/mnist)', () => {
  test('train: 60,000 images, first labels, class counts, pixel mean', async (t) => {
    if (!haveMnist) {
      t.skip('../shared/data/mnist not found');
      return;
    }
    const ds = await loadDataset('mnist', { dataDir: SHARED_MNIST, cacheRoot: tempDir(), offline: true });
    assert.equal(ds.length, 60000);
    assert.deepEqual([ds.channels, ds.height, ds.width], [1, 28, 28]);
    assert.deepEqual(Array.from(ds.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert.deepEqual(classCounts(ds), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    const s = computeChannelStats(ds);
    assert.equal(s.mean[0]!.toFixed(4), '0.1307');
    assert.equal(s.std[0]!.toFixed(4), '0.3081');
  });

  test('test: 10,000 images, first labels, class counts', async (t) => {
    if (!haveMnist) {
      t.skip('../shared/data/mnist not found');
      return;
    }
    const ds = await loadDataset('mnist', { split: 'test', dataDir: SHARED_MNIST, cacheRoot: tempDir(), offline: true });
    assert.equal(ds.length, 10000);
    assert.deepEqual(Array.from(ds.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert.deepEqual(classCounts(ds), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });
});

describe('real CIFAR-10 (../shared/data/cifar-10-batches-bin, first batch only)', () => {
  test('data_batch_1: 10,000 records, first labels, class counts, first red row, class names', (t) => {
    if (!haveCifar) {
      t.skip('../shared/data/cifar-10-batches-bin not found');
      return;
    }
    // Only batch 1 is read (gunzipping all five would be slow).
    const ds = loadCifar10(SHARED_CIFAR, 'train', { batches: [1] });
    assert.equal(ds.length, 10000);
    assert.deepEqual([ds.channels, ds.height, ds.width], [3, 32, 32]);
    assert.deepEqual(Array.from(ds.labels.subarray(0, 10)), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    assert.deepEqual(classCounts(ds), [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]);
    // README: training image 0, red row 0 starts 61 48 56 81 107 132 149 147 (JPEG-rebuilt copy).
    assert.deepEqual(Array.from(ds.images.subarray(0, 8)), [61, 48, 56, 81, 107, 132, 149, 147]);
    const names = parseCifarMeta(readFileSync(join(SHARED_CIFAR, 'batches.meta.txt'), 'utf8'));
    assert.deepEqual(names, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    assert.deepEqual(ds.classes, names);
  });
});
