/**
 * The data loader's throughput for `npm run bench`: one epoch of 10,000 synthetic 28×28 images with random
 * crops (padding 2) and horizontal flips, batch 128, reused buffers. It lives here, not in the tests, because
 * a timing threshold fails on a loaded machine.
 */
import type { ImageDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';

export interface LoaderBench { images: number; epoch_ms: number; images_per_s: number }

export function benchLoader(): LoaderBench {
  const n = 10000, size = 28;
  const images = new Uint8Array(n * size * size);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24; // varied pixels, no RNG needed
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const dataset: ImageDataset = {
    name: 'bench', classes: Array.from({ length: 10 }, (_, c) => String(c)), channels: 1, height: size, width: size, length: n, images, labels,
  };
  const loader = new DataLoader(dataset, { batchSize: 128, seed: 1, augment: { cropPadding: 2, hflip: true }, reuseBuffers: true });
  for (const _ of loader.batches(0)) { /* warm-up epoch */ }
  const t0 = performance.now();
  let seen = 0;
  for (const b of loader.batches(1)) seen += b.size;
  const ms = performance.now() - t0;
  return { images: seen, epoch_ms: Math.round(ms * 10) / 10, images_per_s: Math.round(seen / (ms / 1000)) };
}
