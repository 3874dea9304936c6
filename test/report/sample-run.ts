// Builds a made-up but internally consistent run directory for the report tests:
// the per-class metrics, averages and accuracy in eval.json are all computed from
// its confusion matrix.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Test-set support per class: deliberately imbalanced. */
const SUPPORT = [1000, 1000, 600, 250, 800, 300, 1000, 900, 1000, 1000];
/** Intended recall per class; cat (0.52), dog (0.61) and bird (0.70) are the worst three. */
const RECALL = [0.9, 0.93, 0.7, 0.52, 0.82, 0.61, 0.88, 0.86, 0.92, 0.91];

export interface SampleOptions {
  model?: string;
  epochs?: number;
  /** Multiplies all throughput numbers (to make runs differ in comparisons). */
  speed?: number;
  /** Shifts the curves (to make runs differ in comparisons). */
  skill?: number;
  classCounts?: boolean;
}

function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Confusion matrix whose rows sum to SUPPORT and whose diagonal gives RECALL (± skill). */
export function sampleConfusion(skill = 0): number[][] {
  const n = CLASSES.length;
  return SUPPORT.map((support, i) => {
    const recall = Math.min(0.99, RECALL[i]! + skill);
    const correct = Math.round(support * recall);
    const row = new Array<number>(n).fill(0);
    row[i] = correct;
    // Spread errors over "similar" classes: mostly neighbours (cat<->dog etc.).
    let left = support - correct;
    const targets = [(i + 2) % n, (i + n - 2) % n, (i + 1) % n, (i + 5) % n];
    if (i === 3) targets.unshift(5); // cat -> dog
    if (i === 5) targets.unshift(3); // dog -> cat
    const shares = [0.45, 0.25, 0.15, 0.1, 0.05];
    targets.forEach((t, k) => {
      const c = k === targets.length - 1 ? left : Math.min(left, Math.round((support - correct) * shares[k]!));
      row[t]! += c;
      left -= c;
    });
    return row;
  });
}

export function evalFromConfusion(confusion: number[][], classes: string[]) {
  const n = classes.length;
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const perClass = classes.map((cls, i) => {
    const tp = confusion[i]![i]!;
    const support = confusion[i]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[i]!, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: cls, precision: round(precision), recall: round(recall), f1: round(f1), support };
  });
  const mean = (k: 'precision' | 'recall' | 'f1') => round(perClass.reduce((a, p) => a + p[k], 0) / n);
  const wmean = (k: 'precision' | 'recall' | 'f1') => round(perClass.reduce((a, p) => a + p[k] * p.support, 0) / total);
  const correct = classes.reduce((a, _, i) => a + confusion[i]![i]!, 0);
  return {
    split: 'test',
    loss: 0.6123,
    accuracy: round(correct / total),
    top5_accuracy: 0.9871,
    balanced_accuracy: mean('recall'),
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
    weighted: { precision: wmean('precision'), recall: wmean('recall'), f1: wmean('f1') },
    per_class: perClass,
    confusion,
    classes,
  };
}

export function sampleMetrics(epochs: number, skill = 0, speed = 1) {
  const rows = [];
  let wall = 0;
  for (let e = 1; e <= epochs; e++) {
    const k = 1 - Math.exp(-e / 2.5);
    const seconds = round((e === 1 ? 41.3 : 36.8 + (e % 3) * 0.4) / speed, 2);
    wall += seconds;
    rows.push({
      epoch: e,
      train_loss: round(2.1 - 1.65 * k - 0.02 * e),
      train_acc: round(0.25 + 0.62 * k + 0.006 * e + skill),
      val_loss: round(2.0 - 1.35 * k + 0.004 * e * e * 0.2),
      val_acc: round(0.28 + 0.55 * k + skill),
      val_macro_recall: round(0.22 + 0.55 * k + skill * 0.9),
      val_balanced_accuracy: round(0.22 + 0.55 * k + skill * 0.9),
      lr: round(0.05 * Math.cos((Math.PI * (e - 1)) / (2 * epochs)), 6),
      epoch_seconds: seconds,
      images_per_s: round(45000 / seconds, 1),
      wall_seconds: round(wall, 2),
    });
  }
  return rows;
}

/** Writes a complete run directory under `parent` (default: a fresh temp dir) and returns its path. */
export function writeSampleRun(name = 'run', opts: SampleOptions = {}, parent?: string): string {
  const base = parent ?? mkdtempSync(join(tmpdir(), 'convlab-report-'));
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  const epochs = opts.epochs ?? 12;
  const skill = opts.skill ?? 0;
  const config = {
    model: opts.model ?? 'resnet-mini',
    dataset: 'cifar10-imbalanced',
    epochs,
    batch_size: 64,
    optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, weight_decay: 0.0005, schedule: 'cosine' },
    seed: 0,
    classes: CLASSES,
    params: 272474,
    augment: { flip: true, crop_padding: 4 },
    note: 'made-up <sample> run & "quotes"',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    sampleMetrics(epochs, skill, opts.speed ?? 1)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  writeFileSync(join(dir, 'eval.json'), JSON.stringify(evalFromConfusion(sampleConfusion(skill), CLASSES)));
  if (opts.classCounts ?? true) {
    writeFileSync(join(dir, 'class_counts.json'), JSON.stringify({ train: SUPPORT.map((s) => s * 5), test: SUPPORT }));
  }
  return dir;
}
