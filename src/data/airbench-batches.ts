/**
 * airbench94's training batches and test-time views, after github.com/KellerJordan/cifar10-airbench,
 * legacy/airbench94.py (CifarLoader, batch_flip_lr, batch_crop, infer):
 *   - each image is mirrored once at random (probability ½), then every odd epoch (0-based) mirrors all of them:
 *     each image alternates between its two orientations, which covers both more evenly than a coin per epoch;
 *   - each epoch, each image is translated by up to `translate` pixels in y and x, drawn uniformly, from a copy
 *     reflect-padded by `translate`;
 *   - batches are a fresh permutation each epoch, the last partial batch dropped.
 * Every choice is a hash of (seed, epoch, image), so any batch of any epoch can be rebuilt on its own (resume).
 */
import type { ImageDataset } from './dataset.js';
import { hashSeed, hashUniform, permutation } from './random.js';

export interface AirbenchBatchOptions {
  batchSize: number;
  seed: number;
  mean: number[];
  std: number[];
  flip: boolean;
  translate: number;
}

/** Hash stream tags: keep the draws for flips, shuffles and shifts independent of each other. */
const FLIP_TAG = 0x11, SHUFFLE_TAG = 0x22, SHIFT_TAG = 0x33;

/** Index of a reflect-padded coordinate inside [0, size): -1 → 1, size → size - 2 (torch's 'reflect'). */
export function reflectIndex(i: number, size: number): number {
  if (i < 0) return -i;
  if (i >= size) return 2 * (size - 1) - i;
  return i;
}

export class AirbenchBatches {
  readonly numBatches: number;
  private readonly c: number;
  private readonly h: number;
  private readonly w: number;

  constructor(readonly ds: ImageDataset, readonly o: AirbenchBatchOptions) {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`airbench batches: batch size must be a whole number ≥ 1, got ${o.batchSize}`);
    if (o.batchSize > ds.length) throw new Error(`airbench batches: batch size ${o.batchSize} exceeds the ${ds.length} training images`);
    if (!Number.isInteger(o.translate) || o.translate < 0 || o.translate >= Math.min(ds.height, ds.width)) {
      throw new Error(`airbench batches: translation must be a whole number of pixels from 0 to ${Math.min(ds.height, ds.width) - 1}, got ${o.translate}`);
    }
    this.numBatches = Math.floor(ds.length / o.batchSize);
    [this.c, this.h, this.w] = [ds.channels, ds.height, ds.width];
  }

  /** Whether image `i` is mirrored in `epoch` (0-based): its one random draw, flipped again every odd epoch. */
  mirrored(i: number, epoch: number): boolean {
    if (!this.o.flip) return false;
    return (hashUniform(this.o.seed, FLIP_TAG, i) < 0.5) !== (epoch % 2 === 1);
  }

  /** The (dy, dx) translation of image `i` in `epoch`, each in [-translate, translate]. */
  shift(i: number, epoch: number): [number, number] {
    const r = this.o.translate;
    if (r === 0) return [0, 0];
    const span = 2 * r + 1;
    return [Math.floor(hashUniform(this.o.seed, SHIFT_TAG, epoch, 2 * i) * span) - r, Math.floor(hashUniform(this.o.seed, SHIFT_TAG, epoch, 2 * i + 1) * span) - r];
  }

  /** The image order of `epoch`. */
  order(epoch: number): Int32Array {
    return permutation(this.ds.length, hashSeed(this.o.seed, SHUFFLE_TAG, epoch));
  }

  /**
   * Fills `x` ([batchSize, c, h, w], normalised) and `y` with batch `batch` of `epoch`; `order` is order(epoch),
   * passed in so that an epoch's permutation is computed once.
   */
  fill(epoch: number, batch: number, order: Int32Array, x: Float32Array, y: Int32Array): void {
    const { batchSize, mean, std } = this.o;
    const { c, h, w } = this;
    const src = this.ds.images;
    for (let k = 0; k < batchSize; k++) {
      const i = order[batch * batchSize + k]!;
      y[k] = this.ds.labels[i]!;
      const [dy, dx] = this.shift(i, epoch);
      const flip = this.mirrored(i, epoch);
      for (let ch = 0; ch < c; ch++) {
        const scale = 1 / (255 * std[ch]!), offset = -mean[ch]! / std[ch]!;
        const plane = (i * c + ch) * h * w, out = (k * c + ch) * h * w;
        for (let yy = 0; yy < h; yy++) {
          const row = plane + reflectIndex(yy + dy, h) * w;
          for (let xx = 0; xx < w; xx++) {
            // Translated, then mirrored: the script crops before its every-other-epoch mirror; with shifts drawn
            // symmetrically, the order of the first mirror and the crop does not change the distribution.
            const sx = reflectIndex((flip ? w - 1 - xx : xx) + dx, w);
            x[out + yy * w + xx] = src[row + sx]! * scale + offset;
          }
        }
      }
    }
  }
}

/** Images [from, from + count) normalised to float ([count, c, h, w]). */
export function normalizeImages(ds: ImageDataset, mean: number[], std: number[], from = 0, count = ds.length - from): Float32Array {
  const { channels: c, height: h, width: w } = ds;
  const hw = h * w, out = new Float32Array(count * c * hw);
  for (let n = 0; n < count; n++) {
    for (let ch = 0; ch < c; ch++) {
      const scale = 1 / (255 * std[ch]!), offset = -mean[ch]! / std[ch]!;
      const s = ((from + n) * c + ch) * hw, d = (n * c + ch) * hw;
      for (let j = 0; j < hw; j++) out[d + j] = ds.images[s + j]! * scale + offset;
    }
  }
  return out;
}

/** The left-right mirror of a batch [n, c, h, w]. */
export function mirrorBatch(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(n * c * h * w);
  for (let r = 0; r < n * c * h; r++) {
    for (let xx = 0; xx < w; xx++) out[r * w + xx] = x[r * w + w - 1 - xx]!;
  }
  return out;
}

/** out(y, x) = in(y + dy, x + dx), reflect-padded at the borders: the script's crops of a reflect-padded copy. */
export function translateBatch(x: Float32Array, n: number, c: number, h: number, w: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let yy = 0; yy < h; yy++) {
      const srcRow = p * h * w + reflectIndex(yy + dy, h) * w, dstRow = p * h * w + yy * w;
      for (let xx = 0; xx < w; xx++) out[dstRow + xx] = x[srcRow + reflectIndex(xx + dx, w)]!;
    }
  }
  return out;
}
