import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImageDataset } from '../../src/data/dataset.js';
import { computeChannelStats, DataLoader, epochClassCounts, type Batch } from '../../src/data/loader.js';
import { fakeDataset, re } from './helpers.js';

function snapshot(b: Batch): { x: number[]; y: number[]; idx: number[]; size: number } {
  return { x: Array.from(b.x), y: Array.from(b.y), idx: Array.from(b.indices), size: b.size };
}

function all(loader: DataLoader, epoch: number, startBatch = 0) {
  return [...loader.batches(epoch, { startBatch })].map(snapshot);
}

/** An image of 1 channel whose pixel (y, x) = 10*y + x + 1 (so no pixel is 0). */
function gridDataset(H: number, W: number, n = 1): ImageDataset {
  const images = new Uint8Array(n * H * W);
  for (let i = 0; i < n; i++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) images[i * H * W + y * W + x] = 10 * y + x + 1;
  return { name: 'grid', classes: ['a'], channels: 1, height: H, width: W, length: n, images, labels: new Int32Array(n) };
}

describe('DataLoader', () => {
  const ds = fakeDataset([13, 11, 9], [3, 4, 4]);

  test('batch count, sizes, dropLast, every sample exactly once', () => {
    const l = new DataLoader(ds, { batchSize: 8, seed: 1 });
    assert.equal(l.numBatches, 5);
    const batches = all(l, 0);
    assert.deepEqual(batches.map((b) => b.size), [8, 8, 8, 8, 1]);
    const seen = batches.flatMap((b) => b.idx).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 33 }, (_, i) => i));
    const d = new DataLoader(ds, { batchSize: 8, seed: 1, dropLast: true });
    assert.equal(d.numBatches, 4);
    assert.deepEqual(all(d, 0).map((b) => b.size), [8, 8, 8, 8]);
  });

  test('same seed → same batches; different epoch or seed → different order', () => {
    const opts = { batchSize: 5, seed: 7, augment: { cropPadding: 1, hflip: true } };
    const a = all(new DataLoader(ds, opts), 3);
    const b = all(new DataLoader(ds, opts), 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(all(new DataLoader(ds, opts), 4).map((x) => x.idx), a.map((x) => x.idx));
    assert.notDeepEqual(all(new DataLoader(ds, { ...opts, seed: 8 }), 3).map((x) => x.idx), a.map((x) => x.idx));
  });

  test('resuming at startBatch equals the tail of the full epoch (with augmentation)', () => {
    for (const sampler of ['uniform', 'balanced'] as const) {
      const opts = { batchSize: 4, seed: 11, sampler, augment: { cropPadding: 2, hflip: true } };
      const full = all(new DataLoader(ds, opts), 2);
      for (const start of [0, 1, 5, full.length - 1, full.length]) {
        // a fresh loader, as after a restart
        assert.deepEqual(all(new DataLoader(ds, opts), 2, start), full.slice(start), `${sampler} start ${start}`);
      }
      assert.deepEqual(snapshot(new DataLoader(ds, opts).getBatch(2, 3)), full[3]);
    }
  });

  test('no shuffle keeps dataset order; indices override', () => {
    const l = new DataLoader(ds, { batchSize: 10, shuffle: false });
    assert.deepEqual(all(l, 5)[0]!.idx, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const sub = new DataLoader(ds, { batchSize: 10, shuffle: false, indices: [30, 2, 7] });
    assert.deepEqual(all(sub, 0).map((b) => b.idx), [[30, 2, 7]]);
    assert.deepEqual(all(sub, 0)[0]!.y, [ds.labels[30], ds.labels[2], ds.labels[7]]);
    assert.throws(() => new DataLoader(ds, { batchSize: 2, indices: [33] }), re('DataLoader: index 33 is outside 0..32'));
  });

  test('normalisation: x = (p/255 − mean[c]) / std[c], CHW layout', () => {
    const l = new DataLoader(ds, { batchSize: 2, shuffle: false, mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] });
    const b = l.getBatch(0, 0);
    const mean = [0.1, 0.2, 0.3];
    const std = [0.5, 0.25, 2];
    for (let i = 0; i < 2; i++) {
      for (let k = 0; k < 48; k++) {
        const c = Math.floor(k / 16);
        const want = (ds.images[i * 48 + k]! / 255 - mean[c]!) / std[c]!;
        assert.ok(Math.abs(b.x[i * 48 + k]! - want) < 1e-6);
      }
    }
    // One value broadcasts to all channels; default is p/255.
    const plain = new DataLoader(ds, { batchSize: 1, shuffle: false }).getBatch(0, 0);
    assert.ok(Math.abs(plain.x[5]! - ds.images[5]! / 255) < 1e-7);
    assert.throws(() => new DataLoader(ds, { batchSize: 1, mean: [0, 0] }), re('DataLoader: mean has 2 values for 3 channels'));
    assert.throws(() => new DataLoader(ds, { batchSize: 1, std: [0] }), re('DataLoader: std values must be > 0, got 0'));
    assert.throws(() => new DataLoader(ds, { batchSize: 0 }), re('DataLoader: batchSize must be a positive integer, got 0'));
  });

  test('hflip alone: each image is either unchanged or mirrored, both happen', () => {
    const g = gridDataset(3, 5, 40);
    const l = new DataLoader(g, { batchSize: 40, shuffle: false, augment: { hflip: true }, seed: 3 });
    const b = l.getBatch(0, 0);
    let flipped = 0;
    for (let i = 0; i < 40; i++) {
      const img = Array.from(b.x.subarray(i * 15, (i + 1) * 15)).map((v) => Math.round(v * 255));
      const orig = Array.from(g.images.subarray(0, 15));
      const mirror = [0, 1, 2].flatMap((y) => orig.slice(y * 5, y * 5 + 5).reverse());
      if (img.join() === mirror.join()) flipped++;
      else assert.deepEqual(img, orig);
    }
    assert.ok(flipped > 5 && flipped < 35, `flipped ${flipped}/40`);
  });

  for (const hflip of [false, true]) {
    test(`random crop${hflip ? ' + flip' : ''}: a shifted${hflip ? ' (maybe mirrored)' : ''} copy with zero padding, offsets in [-p, p]`, () => {
      const H = 4;
      const W = 5;
      const p = 2;
      const g = gridDataset(H, W, 400);
      const l = new DataLoader(g, { batchSize: 400, shuffle: false, augment: { cropPadding: p, hflip }, mean: [0.5], std: [0.5] });
      const b = l.getBatch(1, 0);
      const seen = new Set<string>();
      for (let i = 0; i < 400; i++) {
        const img = Array.from(b.x.subarray(i * H * W, (i + 1) * H * W)).map((v) => Math.round((v * 0.5 + 0.5) * 255));
        let match: string | undefined;
        for (const f of hflip ? [false, true] : [false]) {
          for (let dy = -p; dy <= p && !match; dy++) {
            for (let dx = -p; dx <= p && !match; dx++) {
              let ok = true;
              for (let y = 0; y < H && ok; y++) {
                for (let x = 0; x < W && ok; x++) {
                  // torchvision order: crop (shift) first, then mirror the cropped image.
                  const sy = y + dy;
                  const sx = (f ? W - 1 - x : x) + dx;
                  const want = sy >= 0 && sy < H && sx >= 0 && sx < W ? 10 * sy + sx + 1 : 0;
                  ok = img[y * W + x] === want;
                }
              }
              if (ok) match = `${dy},${dx},${f}`;
            }
          }
        }
        assert.ok(match, `image ${i} is not a padded crop: ${img.join(' ')}`);
        seen.add(match);
      }
      assert.equal(seen.size, hflip ? 50 : 25, 'all (2p+1)^2 offsets (× flips) occur');
    });
  }

  test('balanced sampler draws classes equally often (within tolerance)', () => {
    const skewed = fakeDataset([900, 90, 10], [1, 2, 2]);
    const l = new DataLoader(skewed, { batchSize: 64, sampler: 'balanced', seed: 5, epochSize: 30000 });
    const counts = epochClassCounts(l, 0);
    assert.equal(counts.reduce((a, b) => a + b, 0), 30000);
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `counts ${counts}`); // ~4.5 sigma
    // Default epoch size = dataset size, and draws come only from `indices` when given.
    assert.equal(new DataLoader(skewed, { batchSize: 10, sampler: 'balanced' }).epochOrder(0).length, 1000);
    const onlyTwo = new DataLoader(skewed, { batchSize: 10, sampler: 'balanced', indices: [0, 1, 3, 4], epochSize: 1000 });
    const c2 = epochClassCounts(onlyTwo, 0);
    assert.equal(c2[2], 0);
    assert.ok(Math.abs(c2[0]! - 500) < 80 && Math.abs(c2[1]! - 500) < 80, `counts ${c2}`);
  });

  test('reuseBuffers returns the same arrays (views for a short last batch)', () => {
    const l = new DataLoader(ds, { batchSize: 8, seed: 2, reuseBuffers: true });
    const fresh = all(new DataLoader(ds, { batchSize: 8, seed: 2 }), 0);
    const xs: Float32Array[] = [];
    let k = 0;
    for (const b of l.batches(0)) {
      assert.deepEqual(snapshot(b), fresh[k++]);
      xs.push(b.x);
    }
    assert.equal(xs[0]!.buffer, xs[1]!.buffer);
    assert.equal(xs[4]!.length, 48);
  });

  test('iterating a loader yields epoch 0', () => {
    const l = new DataLoader(ds, { batchSize: 16, seed: 9 });
    assert.deepEqual([...l].map(snapshot), all(l, 0));
    assert.throws(() => [...l.batches(0, { startBatch: 4 })], re('DataLoader: startBatch 4 is outside 0..3'));
  });

  test('computeChannelStats matches a direct computation', () => {
    const d = fakeDataset([5, 5], [3, 3, 3]);
    const s = computeChannelStats(d);
    for (let c = 0; c < 3; c++) {
      const vals: number[] = [];
      for (let i = 0; i < d.length; i++) for (let k = 0; k < 9; k++) vals.push(d.images[i * 27 + c * 9 + k]! / 255);
      const m = vals.reduce((a, b) => a + b, 0) / vals.length;
      const sd = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length);
      assert.ok(Math.abs(s.mean[c]! - m) < 1e-12);
      assert.ok(Math.abs(s.std[c]! - sd) < 1e-12);
    }
    const sub = computeChannelStats(d, [0]);
    assert.ok(Math.abs(sub.mean[0]! - Array.from(d.images.subarray(0, 9)).reduce((a, b) => a + b, 0) / 9 / 255) < 1e-12);
  });

  // Its speed is measured by `npm run bench` (the "loader" entry), never asserted here: a shared machine makes timing flaky.
  test('one augmented epoch of 10,000 28×28 images with reused buffers yields every image once, in 79 batches', () => {
    const big = fakeDataset(new Array(10).fill(1000), [1, 28, 28]);
    const l = new DataLoader(big, { batchSize: 128, seed: 1, augment: { cropPadding: 2, hflip: true }, reuseBuffers: true });
    const seen = new Uint8Array(big.length);
    let batches = 0;
    for (const b of l.batches(0)) {
      batches++;
      for (const i of b.indices) seen[i]!++;
    }
    assert.equal(batches, 79);
    assert.deepEqual([...new Set(seen)], [1], 'every image exactly once');
  });
});
