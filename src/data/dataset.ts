/**
 * The core in-memory dataset type and a few pure helpers over it.
 *
 * Pixels are stored as bytes (0..255), planar CHW per image, images back to back:
 * pixel (n, c, y, x) is at `images[((n * C + c) * H + y) * W + x]`.
 */
import { mulberry32, shuffleInPlace } from './random.js';

export interface ImageDataset {
  /** e.g. "mnist/train", "cifar10/test", "folder:/path/to/imgs". */
  name: string;
  /** Class names; labels are indices into this array. */
  classes: string[];
  channels: number;
  height: number;
  width: number;
  /** Number of images. */
  length: number;
  /** length × channels × height × width bytes, planar CHW, 0..255. */
  images: Uint8Array;
  /** length labels, each in [0, classes.length). */
  labels: Int32Array;
}

/** Bytes per image (C*H*W). */
export function imageSize(ds: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/** Check the invariants of an ImageDataset; throws one line describing the first problem. */
export function validateDataset(ds: ImageDataset): ImageDataset {
  const { name, channels, height, width, length } = ds;
  for (const [k, v] of [['channels', channels], ['height', height], ['width', width], ['length', length]] as const) {
    if (!Number.isInteger(v) || v < 0 || (k !== 'length' && v === 0)) {
      throw new Error(`${name}: invalid ${k} ${v}`);
    }
  }
  const size = channels * height * width;
  if (ds.images.length !== length * size) {
    throw new Error(
      `${name}: images has ${ds.images.length} bytes, expected ${length}×${channels}×${height}×${width} = ${length * size}`,
    );
  }
  if (ds.labels.length !== length) {
    throw new Error(`${name}: ${ds.labels.length} labels for ${length} images`);
  }
  const C = ds.classes.length;
  for (let i = 0; i < length; i++) {
    const l = ds.labels[i]!;
    if (l < 0 || l >= C) {
      throw new Error(`${name}: label ${l} of image ${i} is outside 0..${C - 1} (${C} classes)`);
    }
  }
  return ds;
}

/** A view of one image's bytes (no copy). */
export function getImage(ds: ImageDataset, index: number): Uint8Array {
  const size = imageSize(ds);
  return ds.images.subarray(index * size, (index + 1) * size);
}

/** Number of images of each class (array of length classes.length). */
export function classCounts(ds: Pick<ImageDataset, 'classes' | 'labels'>): number[] {
  const counts = new Array<number>(ds.classes.length).fill(0);
  const labels = ds.labels;
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}

/** Indices of the images of each class, in dataset order. */
export function indicesByClass(ds: Pick<ImageDataset, 'classes' | 'labels'>): Int32Array[] {
  const counts = classCounts(ds);
  const out = counts.map((n) => new Int32Array(n));
  const fill = new Array<number>(counts.length).fill(0);
  const labels = ds.labels;
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    out[c]![fill[c]!++] = i;
  }
  return out;
}

/**
 * A new dataset made of the given images, in the given order (copies the bytes).
 * Indices may repeat. Throws on an out-of-range index.
 */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name?: string): ImageDataset {
  const size = imageSize(ds);
  const n = indices.length;
  const images = new Uint8Array(n * size);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.length) {
      throw new Error(`${ds.name}: subset index ${i} is outside 0..${ds.length - 1}`);
    }
    images.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i]!;
  }
  return {
    name: name ?? ds.name,
    classes: ds.classes.slice(),
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
    length: n,
    images,
    labels,
  };
}

/** Concatenate datasets of identical shape and classes. */
export function concatDatasets(parts: ImageDataset[], name?: string): ImageDataset {
  if (parts.length === 0) throw new Error('concatDatasets: no datasets given');
  const first = parts[0]!;
  const size = imageSize(first);
  let total = 0;
  for (const p of parts) {
    if (p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
      throw new Error(
        `concatDatasets: ${p.name} is ${p.channels}×${p.height}×${p.width}, expected ${first.channels}×${first.height}×${first.width}`,
      );
    }
    if (p.classes.join('\n') !== first.classes.join('\n')) {
      throw new Error(`concatDatasets: ${p.name} has different classes from ${first.name}`);
    }
    total += p.length;
  }
  return { ...first, name: name ?? first.name, classes: first.classes.slice(), length: total, ...joinImages(parts, size) };
}

/** The images and labels of `parts` laid end to end, each part holding `length` images of `imageBytes` bytes. */
export function joinImages(parts: readonly { images: Uint8Array; labels: Int32Array; length: number }[], imageBytes: number): { images: Uint8Array; labels: Int32Array } {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const images = new Uint8Array(total * imageBytes);
  const labels = new Int32Array(total);
  let off = 0;
  for (const p of parts) {
    images.set(p.images, off * imageBytes);
    labels.set(p.labels, off);
    off += p.length;
  }
  return { images, labels };
}

export interface TrainValSplit {
  train: ImageDataset;
  val: ImageDataset;
  /** Indices into the original dataset (each sorted ascending). */
  trainIndices: Int32Array;
  valIndices: Int32Array;
}

/**
 * Seeded, stratified train/validation split. For every class with n images,
 * round(n × valFraction) of them (chosen by a seeded shuffle) go to validation,
 * the rest to training; both keep the original relative order.
 * valFraction must be in [0, 1).
 */
export function splitTrainVal(ds: ImageDataset, valFraction: number, seed: number): TrainValSplit {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new Error(`splitTrainVal: valFraction must be in [0, 1), got ${valFraction}`);
  }
  const rng = mulberry32(seed);
  const isVal = new Uint8Array(ds.length);
  let nVal = 0;
  for (const idx of indicesByClass(ds)) {
    const k = Math.round(idx.length * valFraction);
    shuffleInPlace(idx, rng);
    for (let j = 0; j < k; j++) isVal[idx[j]!] = 1;
    nVal += k;
  }
  const valIndices = new Int32Array(nVal);
  const trainIndices = new Int32Array(ds.length - nVal);
  let a = 0;
  let b = 0;
  for (let i = 0; i < ds.length; i++) {
    if (isVal[i]) valIndices[a++] = i;
    else trainIndices[b++] = i;
  }
  return {
    train: subset(ds, trainIndices, `${ds.name}[train]`),
    val: subset(ds, valIndices, `${ds.name}[val]`),
    trainIndices,
    valIndices,
  };
}

/**
 * A seeded, stratified subset of exactly `n` images: per-class quotas by largest remainder (so `--limit 64` on
 * ten classes gives 64 images, not 10 × round(6.4) = 60), chosen by a seeded shuffle, in dataset order.
 */
export function stratifiedSubset(ds: ImageDataset, n: number, seed: number): ImageDataset {
  const groups = indicesByClass(ds);
  const exact = groups.map((g) => (g.length * n) / ds.length);
  const quota = exact.map(Math.floor);
  const byRemainder = exact.map((_, c) => c).sort((a, b) => exact[b]! - quota[b]! - (exact[a]! - quota[a]!) || a - b);
  for (let i = 0, left = n - quota.reduce((x, y) => x + y, 0); i < left; i++) quota[byRemainder[i]!]!++;
  const rng = mulberry32(seed);
  const keep: number[] = [];
  groups.forEach((g, c) => keep.push(...shuffleInPlace(g, rng).subarray(0, quota[c])));
  return subset(ds, keep.sort((a, b) => a - b), `${ds.name}[limit ${n}]`);
}
