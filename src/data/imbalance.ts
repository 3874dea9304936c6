/**
 * Long-tailed (class-imbalanced) training sets, as in Cao et al. 2019 (LDAM-DRW,
 * "CIFAR-10-LT"). With n_max the largest class count, C classes and ratio r:
 *  - exp:r  — class i keeps floor(n_max · (1/r)^(i/(C−1))) images
 *             (CIFAR-10, r = 100: 5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50 = 12,406);
 *  - step:r — the first floor(C/2) classes keep n_max, the others floor(n_max / r).
 * A class never keeps more images than it has. Which images are kept is a seeded
 * random choice within each class; the kept images stay in dataset order.
 */
import { classCounts, indicesByClass, subset, type ImageDataset } from './dataset.js';
import { mulberry32, shuffleInPlace } from './random.js';

export interface ImbalanceSpec {
  kind: 'exp' | 'step';
  /** Imbalance ratio n_max / n_min, ≥ 1. */
  ratio: number;
}

/** Parse "exp:100" or "step:10". */
export function parseImbalance(spec: string): ImbalanceSpec {
  const m = /^\s*(exp|step)\s*:\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*$/i.exec(spec);
  if (!m) {
    throw new Error(`invalid imbalance spec "${spec}": expected exp:<ratio> or step:<ratio>, e.g. exp:100`);
  }
  const ratio = Number(m[2]);
  if (!(ratio >= 1) || !Number.isFinite(ratio)) {
    throw new Error(`invalid imbalance spec "${spec}": ratio must be a number >= 1, got ${m[2]}`);
  }
  return { kind: m[1]!.toLowerCase() as 'exp' | 'step', ratio };
}

export function formatImbalance(spec: ImbalanceSpec): string {
  return `${spec.kind}:${spec.ratio}`;
}

/** Target count per class before capping by what each class has. */
export function imbalanceTargets(nMax: number, numClasses: number, spec: ImbalanceSpec): number[] {
  if (numClasses < 2) throw new Error(`imbalance ${formatImbalance(spec)} needs at least 2 classes, got ${numClasses}`);
  const out: number[] = [];
  for (let i = 0; i < numClasses; i++) {
    if (spec.kind === 'exp') {
      out.push(Math.floor(nMax * Math.pow(1 / spec.ratio, i / (numClasses - 1))));
    } else {
      out.push(i < Math.floor(numClasses / 2) ? nMax : Math.floor(nMax / spec.ratio));
    }
  }
  return out;
}

export interface ImbalancedResult {
  dataset: ImageDataset;
  /** Images kept per class. */
  counts: number[];
  /** Indices into the original dataset (ascending). */
  indices: Int32Array;
}

/** A long-tailed subset of `ds` (see module comment). `spec` is a string like "exp:100" or parsed. */
export function makeImbalanced(ds: ImageDataset, spec: string | ImbalanceSpec, seed: number): ImbalancedResult {
  const s = typeof spec === 'string' ? parseImbalance(spec) : spec;
  const have = classCounts(ds);
  const nMax = Math.max(0, ...have);
  const targets = imbalanceTargets(nMax, ds.classes.length, s);
  const counts = targets.map((t, i) => Math.min(t, have[i]!));
  counts.forEach((n, i) => {
    if (n === 0) {
      throw new Error(
        `imbalance ${formatImbalance(s)} leaves class ${i} ("${ds.classes[i]}") with 0 samples ` +
          `(it has ${have[i]}, target ${targets[i]} from n_max = ${nMax})`,
      );
    }
  });
  const rng = mulberry32(seed);
  const keep = new Uint8Array(ds.length);
  indicesByClass(ds).forEach((idx, c) => {
    shuffleInPlace(idx, rng);
    for (let k = 0; k < counts[c]!; k++) keep[idx[k]!] = 1;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const indices = new Int32Array(total);
  let j = 0;
  for (let i = 0; i < ds.length; i++) if (keep[i]) indices[j++] = i;
  return { dataset: subset(ds, indices, `${ds.name}[${formatImbalance(s)}]`), counts, indices };
}
