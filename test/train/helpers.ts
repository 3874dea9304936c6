/**
 * Shared helpers for the trainer tests (not a test file itself): a tiny separable synthetic dataset, small
 * training configurations, a test-only MLP with dropout (so that training consumes the engine RNG), temp
 * folders, and byte-level checkpoint comparisons.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/engine/index.js';
import { Dropout, Flatten, Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { listModels } from '../../src/models/index.js';
import type { ImageDataset } from '../../src/data/index.js';
import type { TrainConfig, TrainData } from '../../src/train/trainer.js';
import { readSafetensors, type NamedArray } from '../../src/train/safetensors.js';

/** The repository root (the nearest folder above this compiled file holding package.json). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** Every test process trains on the deterministic reference backend. */
export function useReferenceBackend(): void {
  E.setBackend(new E.ReferenceBackend(new E.Heap({ shared: false })));
}

const tempDirs: string[] = [];
/** A fresh temp folder, removed when the process exits. */
export function tempDir(prefix = 'convlab-train-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.length === 0) process.on('exit', () => { for (const d of tempDirs) rmSync(d, { recursive: true, force: true }); });
  tempDirs.push(dir);
  return dir;
}

/**
 * `n` grayscale size×size images of `classes` (≤ 4) classes, class c = image i % classes (or `labels`): the
 * quadrant c is bright (170..229), the rest dark noise (0..59). Linearly separable, so a few steps learn it.
 */
export function quadrantDataset(n: number, opts: { size?: number; classes?: number; seed?: number; labels?: number[] } = {}): ImageDataset {
  const size = opts.size ?? 10, C = opts.classes ?? 3;
  const images = new Uint8Array(n * size * size), labels = new Int32Array(n);
  let s = (opts.seed ?? 1) >>> 0;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 16777216; };
  for (let i = 0; i < n; i++) {
    const c = opts.labels ? opts.labels[i]! : i % C;
    labels[i] = c;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const q = (y < size / 2 ? 0 : 2) + (x < size / 2 ? 0 : 1);
        images[i * size * size + y * size + x] = (q === c ? 170 : 0) + Math.floor(rand() * 60);
      }
    }
  }
  return { name: 'quadrants', classes: ['tl', 'tr', 'bl', 'br'].slice(0, C), channels: 1, height: size, width: size, length: n, images, labels };
}

export function baseConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: 'lenet5', dataset: 'quadrants', epochs: 2, batchSize: 8,
    optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, schedule: { name: 'constant' },
    loss: { kind: 'cross-entropy', weighting: 'none' }, seed: 7, augment: {}, sampler: 'uniform',
    monitor: 'val.accuracy', patience: 0, checkpointEvery: 0, ...over,
  };
}

export const TEST_MLP = 'test-mlp-dropout';

/**
 * Registers a tiny MLP with dropout (p = 0.5) under TEST_MLP. The registry has no public `register`; its
 * `listModels()` returns the live table, which is what `createModel` searches. LeNet-5 has no dropout, so
 * this is how the resume tests make training consume the engine RNG at every step.
 */
export function registerTestModels(): void {
  const specs = listModels();
  if (specs.some((s) => s.name === TEST_MLP)) return;
  specs.push({
    name: TEST_MLP, description: 'test only: Flatten → Linear(·, 24) → ReLU → Dropout(0.5) → Linear(24, C)', defaultInput: [1, 10, 10], extraOptions: [],
    create: (o) => new Sequential(Flatten(), new Linear(o.inChannels * o.imageSize * o.imageSize, 24), ReLU(), Dropout(0.5), new Linear(24, o.numClasses)),
  });
  assert.ok(listModels().some((s) => s.name === TEST_MLP), 'listModels() no longer returns the live registry; register the test model another way');
}

export interface Preset { config: TrainConfig; data: TrainData }

/** Configurations shared by the resume tests and their child process (resume-child.ts). */
export function preset(name: string): Preset {
  switch (name) {
    // LeNet-5 (no dropout), SGD with Nesterov momentum and weight decay, cosine with warmup, random crops.
    // 32 images / batch 8 = 4 batches per epoch; checkpoints at steps 2, 4 (epoch end), 6, 8 (epoch end).
    case 'lenet': return {
      config: baseConfig({
        epochs: 2, batchSize: 8, checkpointEvery: 2, seed: 11,
        optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
        schedule: { name: 'cosine', warmupEpochs: 0.5 }, augment: { cropPadding: 1 },
      }),
      data: { train: quadrantDataset(32, { seed: 3 }), val: quadrantDataset(12, { seed: 4 }) },
    };
    // The dropout MLP: AdamW, one-cycle, crop + flip, balanced sampler, effective-number weights with DRW
    // from epoch 2 and label smoothing. 60 images / batch 8 = 8 batches (the last one of 4) per epoch.
    case 'dropout': {
      registerTestModels();
      const labels = Array.from({ length: 60 }, (_, i) => (i % 5 === 0 ? 2 : i % 2));
      return {
        config: baseConfig({
          model: TEST_MLP, epochs: 3, batchSize: 8, checkpointEvery: 3, seed: 5,
          optimizer: { name: 'adamw', lr: 0.01 }, schedule: { name: 'onecycle', warmupEpochs: 0.3 },
          augment: { cropPadding: 1, hflip: true }, sampler: 'balanced',
          loss: { kind: 'cross-entropy', weighting: 'effective', beta: 0.99, drwEpoch: 2, labelSmoothing: 0.1 },
        }),
        data: { train: quadrantDataset(60, { seed: 8, labels }), val: quadrantDataset(15, { seed: 9 }) },
      };
    }
    default: throw new Error(`unknown preset '${name}'`);
  }
}

export function readTensors(path: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  return readSafetensors(path);
}

export function trainerMeta(path: string): Record<string, any> {
  return (JSON.parse(readSafetensors(path).metadata.convlab!) as { trainer: Record<string, any> }).trainer;
}

const bytes = (a: NamedArray['data']): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * The index of the first element whose bytes differ, or -1. Compared byte-wise, not with ===, so that +0 vs -0
 * and NaNs with different payloads count as different, and the search always ends within the arrays.
 */
export function firstDifferentElement(a: NamedArray['data'], b: NamedArray['data']): number {
  const x = bytes(a), y = bytes(b), n = Math.min(x.length, y.length);
  for (let k = 0; k < n; k++) if (x[k] !== y[k]) return Math.floor(k / a.BYTES_PER_ELEMENT);
  return x.length === y.length ? -1 : Math.floor(n / a.BYTES_PER_ELEMENT);
}

/** Every tensor of two safetensors files: same names, shapes, dtypes and bytes. */
export function assertSameTensors(pathA: string, pathB: string): number {
  const a = readSafetensors(pathA).tensors, b = readSafetensors(pathB).tensors;
  assert.deepEqual([...a.keys()], [...b.keys()], `${pathA} and ${pathB} hold different tensors`);
  for (const [name, ta] of a) {
    const tb = b.get(name)!;
    assert.deepEqual(ta.shape, tb.shape, `${name}: shapes differ`);
    assert.equal(ta.data.constructor, tb.data.constructor, `${name}: dtypes differ`);
    const i = firstDifferentElement(ta.data, tb.data);
    if (i >= 0) assert.fail(`${name}: element ${i} differs: ${ta.data[i]} vs ${tb.data[i]} (${pathA} vs ${pathB})`);
  }
  return a.size;
}

/** Metrics rows without the wall-clock fields, which legitimately differ between runs. */
export function metricsWithoutTimes(runDir: string): Record<string, number>[] {
  const timing = new Set(['epoch_seconds', 'images_per_s', 'wall_seconds', 'data_fraction', 'eval_seconds']);
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, number>).filter(([k]) => !timing.has(k))));
}
