/**
 * Mini-batch loader over an in-memory ImageDataset.
 *
 * Determinism: everything random is a pure function of (seed, epoch, position):
 *  - the sample order of epoch e is a Fisher–Yates shuffle seeded with hashSeed(seed, e);
 *  - the augmentation of the sample at position p of epoch e (crop offsets, flip)
 *    is derived from hashSeed(seed, e, p, k), independent of the batches before it.
 * So `batches(e, { startBatch: b })` yields exactly the tail of `batches(e)` from
 * batch b on: a run resumed at (epoch e, batch b) sees the same data as one that never stopped.
 *
 * Pixels are mapped through a per-channel lookup table: x = (p/255 − mean[c]) / std[c].
 * Augmentation follows torchvision's RandomCrop(size, padding) → RandomHorizontalFlip order;
 * the padding is zero in pixel space (so it normalises to −mean/std, as in torchvision).
 */
import { classCounts, type ImageDataset } from './dataset.js';
import { hashSeed, mulberry32, shuffleInPlace } from './random.js';

export interface Batch {
  /** size × C × H × W normalised pixels (planar CHW per image). */
  x: Float32Array;
  /** size labels. */
  y: Int32Array;
  /** Number of images in this batch (≤ batchSize; less only for a last partial batch). */
  size: number;
  /** Dataset indices of the images, in batch order. */
  indices: Int32Array;
  epoch: number;
  batchIndex: number;
}

export interface AugmentOptions {
  /** Random crop: zero-pad every side by this many pixels, then crop back to H×W at a random offset. */
  cropPadding?: number;
  /** Random horizontal flip with probability 1/2. */
  hflip?: boolean;
}

export interface DataLoaderOptions {
  batchSize: number;
  /** Shuffle the order each epoch (default true). Ignored by the balanced sampler. */
  shuffle?: boolean;
  /** Seed for shuffling, sampling and augmentation (default 0). */
  seed?: number;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  /** Per-channel mean in [0,1] units (one value is broadcast to all channels). Default 0. */
  mean?: number[];
  /** Per-channel std in [0,1] units (one value is broadcast to all channels). Default 1. */
  std?: number[];
  augment?: AugmentOptions;
  /**
   * 'uniform' (default): every index once per epoch.
   * 'balanced': each draw picks a class uniformly at random (among classes present),
   * then an image of that class uniformly at random (with replacement); `epochSize` draws per epoch.
   */
  sampler?: 'uniform' | 'balanced';
  /** Only use these dataset indices (e.g. a train split); default all. */
  indices?: ArrayLike<number>;
  /** Draws per epoch for the balanced sampler; default the number of indices. */
  epochSize?: number;
  /**
   * Reuse one x / y / indices buffer for all batches (default false). Faster and
   * allocation-free, but each batch's arrays are overwritten when the next batch is
   * produced: consume or copy a batch before advancing the iterator, and never keep
   * references to earlier batches.
   */
  reuseBuffers?: boolean;
}

export interface BatchesOptions {
  /** First batch to produce (resume mid-epoch). Default 0. */
  startBatch?: number;
}

const SHUFFLE_SALT = 0x5f3759df;
const BALANCE_SALT = 0x0ba1a9ce;
const AUG_SALT = 0x2545f491;

export class DataLoader {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly sampler: 'uniform' | 'balanced';
  /** Number of samples drawn per epoch. */
  readonly epochSize: number;
  readonly cropPadding: number;
  readonly hflip: boolean;
  readonly mean: number[];
  readonly std: number[];
  /** lut[c*256 + v] = (v/255 − mean[c]) / std[c]. */
  private readonly lut: Float32Array;
  private readonly pool: Int32Array;
  private readonly byClass: Int32Array[];
  private cachedEpoch = -1;
  private cachedOrder: Int32Array = new Int32Array(0);
  private readonly reuse: boolean;
  private bufX?: Float32Array;
  private bufY?: Int32Array;
  private bufI?: Int32Array;

  constructor(dataset: ImageDataset, opts: DataLoaderOptions) {
    const C = dataset.channels;
    this.dataset = dataset;
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = (opts.seed ?? 0) >>> 0;
    this.dropLast = opts.dropLast ?? false;
    this.sampler = opts.sampler ?? 'uniform';
    this.reuse = opts.reuseBuffers ?? false;
    this.cropPadding = opts.augment?.cropPadding ?? 0;
    this.hflip = opts.augment?.hflip ?? false;
    if (!Number.isInteger(this.cropPadding) || this.cropPadding < 0) {
      throw new Error(`DataLoader: cropPadding must be a non-negative integer, got ${this.cropPadding}`);
    }
    const perChannel = (v: number[] | undefined, dflt: number, what: string): number[] => {
      if (!v || v.length === 0) return new Array<number>(C).fill(dflt);
      if (v.length === 1) return new Array<number>(C).fill(v[0]!);
      if (v.length !== C) throw new Error(`DataLoader: ${what} has ${v.length} values for ${C} channels`);
      return v.slice();
    };
    this.mean = perChannel(opts.mean, 0, 'mean');
    this.std = perChannel(opts.std, 1, 'std');
    for (const s of this.std) if (!(s > 0)) throw new Error(`DataLoader: std values must be > 0, got ${s}`);
    this.lut = new Float32Array(C * 256);
    for (let c = 0; c < C; c++) {
      for (let v = 0; v < 256; v++) this.lut[c * 256 + v] = (v / 255 - this.mean[c]!) / this.std[c]!;
    }

    if (opts.indices) {
      this.pool = Int32Array.from(opts.indices);
      for (const i of this.pool) {
        if (i < 0 || i >= dataset.length) throw new Error(`DataLoader: index ${i} is outside 0..${dataset.length - 1}`);
      }
    } else {
      this.pool = new Int32Array(dataset.length);
      for (let i = 0; i < dataset.length; i++) this.pool[i] = i;
    }
    // Pool indices grouped by class (for the balanced sampler).
    const counts = new Array<number>(dataset.classes.length).fill(0);
    for (const i of this.pool) counts[dataset.labels[i]!]!++;
    this.byClass = [];
    const groups = counts.map((n) => new Int32Array(n));
    const fill = new Array<number>(counts.length).fill(0);
    for (const i of this.pool) {
      const c = dataset.labels[i]!;
      groups[c]![fill[c]!++] = i;
    }
    for (const g of groups) if (g.length > 0) this.byClass.push(g);
    this.epochSize = this.sampler === 'balanced' ? (opts.epochSize ?? this.pool.length) : this.pool.length;
    if (this.sampler === 'balanced' && this.byClass.length === 0 && this.epochSize > 0) {
      throw new Error('DataLoader: balanced sampler needs at least one image');
    }
  }

  /** Batches per epoch. */
  get numBatches(): number {
    return this.dropLast ? Math.floor(this.epochSize / this.batchSize) : Math.ceil(this.epochSize / this.batchSize);
  }

  /** The dataset indices in the order epoch `epoch` visits them (length epochSize). */
  epochOrder(epoch: number): Int32Array {
    if (epoch === this.cachedEpoch) return this.cachedOrder;
    let order: Int32Array;
    if (this.sampler === 'balanced') {
      const rng = mulberry32(hashSeed(this.seed, epoch, BALANCE_SALT));
      const K = this.byClass.length;
      order = new Int32Array(this.epochSize);
      for (let k = 0; k < order.length; k++) {
        const g = this.byClass[Math.floor(rng() * K)]!;
        order[k] = g[Math.floor(rng() * g.length)]!;
      }
    } else {
      order = this.pool.slice();
      if (this.shuffle) shuffleInPlace(order, mulberry32(hashSeed(this.seed, epoch, SHUFFLE_SALT)));
    }
    this.cachedEpoch = epoch;
    this.cachedOrder = order;
    return order;
  }

  /** Batch `batchIndex` of epoch `epoch` (random access; deterministic). */
  getBatch(epoch: number, batchIndex: number): Batch {
    const nb = this.numBatches;
    if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= nb) {
      throw new Error(`DataLoader: batch ${batchIndex} is outside 0..${nb - 1}`);
    }
    const order = this.epochOrder(epoch);
    const start = batchIndex * this.batchSize;
    const size = Math.min(this.batchSize, order.length - start);
    const ds = this.dataset;
    const C = ds.channels;
    const H = ds.height;
    const W = ds.width;
    const img = C * H * W;
    let x: Float32Array;
    let y: Int32Array;
    let idx: Int32Array;
    if (this.reuse) {
      this.bufX ??= new Float32Array(this.batchSize * img);
      this.bufY ??= new Int32Array(this.batchSize);
      this.bufI ??= new Int32Array(this.batchSize);
      x = size === this.batchSize ? this.bufX : this.bufX.subarray(0, size * img);
      y = size === this.batchSize ? this.bufY : this.bufY.subarray(0, size);
      idx = size === this.batchSize ? this.bufI : this.bufI.subarray(0, size);
    } else {
      x = new Float32Array(size * img);
      y = new Int32Array(size);
      idx = new Int32Array(size);
    }
    const src = ds.images;
    const lut = this.lut;
    const p = this.cropPadding;
    const augment = p > 0 || this.hflip;
    const augSeed = (this.seed ^ AUG_SALT) >>> 0;
    for (let b = 0; b < size; b++) {
      const pos = start + b;
      const i = order[pos]!;
      idx[b] = i;
      y[b] = ds.labels[i]!;
      if (!augment) {
        mapImage(src, i * img, x, b * img, C, H * W, lut);
        continue;
      }
      // Offsets into the padded image, uniform in [0, 2p]; shift = offset − p.
      const dy = p > 0 ? (hashSeed(augSeed, epoch, pos, 1) % (2 * p + 1)) - p : 0;
      const dx = p > 0 ? (hashSeed(augSeed, epoch, pos, 2) % (2 * p + 1)) - p : 0;
      const flip = this.hflip && (hashSeed(augSeed, epoch, pos, 3) & 1) === 1;
      mapImageAugmented(src, i * img, x, b * img, C, H, W, lut, dy, dx, flip);
    }
    return { x, y, size, indices: idx, epoch, batchIndex };
  }

  /** The batches of one epoch, from `startBatch` (default 0) to the end. */
  *batches(epoch: number, opts: BatchesOptions = {}): Generator<Batch, void, undefined> {
    const nb = this.numBatches;
    const startBatch = opts.startBatch ?? 0;
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > nb) {
      throw new Error(`DataLoader: startBatch ${startBatch} is outside 0..${nb}`);
    }
    for (let b = startBatch; b < nb; b++) yield this.getBatch(epoch, b);
  }

  /** Iterating a loader directly yields the batches of epoch 0. */
  [Symbol.iterator](): Generator<Batch, void, undefined> {
    return this.batches(0);
  }
}

/** x[o0 + k] = lut[c*256 + src[s0 + k]] for one C×H×W image (kept small so V8 optimises it well). */
function mapImage(
  src: Uint8Array,
  s0: number,
  x: Float32Array,
  o0: number,
  C: number,
  plane: number,
  lut: Float32Array,
): void {
  for (let c = 0; c < C; c++) {
    const base = c * 256;
    const so = s0 + c * plane;
    const oo = o0 + c * plane;
    const end = oo + plane;
    for (let o = oo, s = so; o < end; o++, s++) x[o] = lut[base + src[s]!]!;
  }
}

/** Like mapImage, through a shift by (dy, dx) with zero padding and an optional horizontal flip. */
function mapImageAugmented(
  src: Uint8Array,
  s0: number,
  x: Float32Array,
  o0: number,
  C: number,
  H: number,
  W: number,
  lut: Float32Array,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  // Output columns xx with a source column inside the image: [lo, hi).
  const lo = flip ? Math.max(0, dx) : Math.max(0, -dx);
  const hi = flip ? Math.min(W, W + dx) : Math.min(W, W - dx);
  for (let c = 0; c < C; c++) {
    const base = c * 256;
    const pad = lut[base]!;
    const so = s0 + c * H * W;
    const oo = o0 + c * H * W;
    for (let yy = 0; yy < H; yy++) {
      const sy = yy + dy;
      const orow = oo + yy * W;
      if (sy < 0 || sy >= H || lo >= hi) {
        x.fill(pad, orow, orow + W);
        continue;
      }
      const srow = so + sy * W;
      for (let xx = 0; xx < lo; xx++) x[orow + xx] = pad;
      if (flip) {
        // source column = W - 1 - xx + dx
        for (let xx = lo, s = srow + W - 1 - lo + dx; xx < hi; xx++, s--) x[orow + xx] = lut[base + src[s]!]!;
      } else {
        for (let xx = lo, s = srow + lo + dx; xx < hi; xx++, s++) x[orow + xx] = lut[base + src[s]!]!;
      }
      for (let xx = hi; xx < W; xx++) x[orow + xx] = pad;
    }
  }
}

export interface ChannelStats {
  /** Per-channel mean of pixel/255. */
  mean: number[];
  /** Per-channel population standard deviation of pixel/255. */
  std: number[];
}

/**
 * Per-channel mean and (population) std of pixel/255 over the dataset, or over
 * `indices` only. Exact (computed from per-channel 256-bin histograms).
 */
export function computeChannelStats(ds: ImageDataset, indices?: ArrayLike<number>): ChannelStats {
  const C = ds.channels;
  const HW = ds.height * ds.width;
  const hist = new Float64Array(C * 256);
  const src = ds.images;
  const n = indices ? indices.length : ds.length;
  const counts = new Uint32Array(256);
  for (let c = 0; c < C; c++) {
    counts.fill(0);
    for (let k = 0; k < n; k++) {
      const i = indices ? indices[k]! : k;
      const off = (i * C + c) * HW;
      for (let j = 0; j < HW; j++) counts[src[off + j]!]!++;
      // Flush before a bin could overflow 2^32.
      if ((k & 0xfff) === 0xfff) {
        for (let v = 0; v < 256; v++) hist[c * 256 + v]! += counts[v]!;
        counts.fill(0);
      }
    }
    for (let v = 0; v < 256; v++) hist[c * 256 + v]! += counts[v]!;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < C; c++) {
    let total = 0;
    let s = 0;
    for (let v = 0; v < 256; v++) {
      total += hist[c * 256 + v]!;
      s += hist[c * 256 + v]! * (v / 255);
    }
    const m = total > 0 ? s / total : 0;
    let ss = 0;
    for (let v = 0; v < 256; v++) {
      const d = v / 255 - m;
      ss += hist[c * 256 + v]! * d * d;
    }
    mean.push(m);
    std.push(total > 0 ? Math.sqrt(ss / total) : 0);
  }
  return { mean, std };
}

/** Class counts of the samples a loader draws in one epoch (handy to check samplers). */
export function epochClassCounts(loader: DataLoader, epoch: number): number[] {
  const order = loader.epochOrder(epoch);
  const labels = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) labels[k] = loader.dataset.labels[order[k]!]!;
  return classCounts({ classes: loader.dataset.classes, labels });
}
