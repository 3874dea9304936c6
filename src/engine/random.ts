/**
 * A seeded generator (SplitMix32 → xoshiro128**), so that initialisation, dropout and shuffling are
 * reproducible across runs and across backends.
 */
export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    let z = seed >>> 0;
    const next = (): number => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** The generator's state, so that a resumed run continues the same stream. */
  state(): number[] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  setState(s: number[]): void {
    [this.s0, this.s1, this.s2, this.s3] = s as [number, number, number, number];
    this.spareNormal = null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalRng = new Rng(0);

/** The engine's default generator (initialisers and dropout use it unless given their own). */
export function rng(): Rng {
  return globalRng;
}

export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}
