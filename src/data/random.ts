/**
 * Small, fast, seeded pseudo-random number generators for the data layer.
 *
 * Everything that is "random" in convlab's data pipeline (shuffles, splits,
 * augmentation, samplers) goes through these functions so that a run is fully
 * reproducible from its seed. They are NOT cryptographic.
 */

/**
 * A function returning uniformly distributed floats in [0, 1). Named apart from the engine's `Rng` class
 * (weight init, dropout), which is a different generator with its own seed.
 */
export type UniformSource = () => number;

/**
 * mulberry32: a 32-bit state generator with good statistical quality for its size
 * (passes gjrand / PractRand up to ~2^32 outputs). Returns floats in [0, 1).
 */
export function mulberry32(seed: number): UniformSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 32-bit finaliser of MurmurHash3 (a bijection on uint32 with good avalanche). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Mix up to four integers into one well-distributed uint32. Used to derive
 * independent sub-seeds, e.g. `hashSeed(seed, epoch)` for the shuffle of one epoch
 * or `hashSeed(seed, epoch, position, k)` for the k-th random number of one sample,
 * so that any batch can be produced without replaying the ones before it.
 */
export function hashSeed(a: number, b = 0, c = 0, d = 0): number {
  let h = fmix32((a >>> 0) ^ 0x9e3779b9);
  h = fmix32((h + Math.imul(b >>> 0, 0x85ebca6b) + 0x632be5ab) >>> 0);
  h = fmix32((h + Math.imul(c >>> 0, 0xc2b2ae35) + 0x27d4eb2f) >>> 0);
  h = fmix32((h + Math.imul(d >>> 0, 0x165667b1) + 0x9e3779b9) >>> 0);
  return h;
}

/** Uniform float in [0, 1) from hashed coordinates (stateless). */
export function hashUniform(a: number, b = 0, c = 0, d = 0): number {
  return hashSeed(a, b, c, d) / 4294967296;
}

/** Uniform integer in [0, n) from a uniform source. */
export function randInt(uniform: UniformSource, n: number): number {
  return Math.floor(uniform() * n);
}

/** In-place Fisher–Yates shuffle of a typed or plain array. Returns the same array. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(arr: T, uniform: UniformSource): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = arr[i]!;
    arr[i] = arr[j]!;
    arr[j] = t;
  }
  return arr;
}

/** A seeded random permutation of 0..n-1. */
export function permutation(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffleInPlace(out, mulberry32(seed));
}
