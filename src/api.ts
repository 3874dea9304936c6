/**
 * The library API, mirroring the CLI: train a model on a named dataset into a run directory (metrics,
 * checkpoints, plots, report), evaluate a run or checkpoint, and predict classes for image files.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from './engine/index.js';
import { initEngine } from './engine/index.js';
import {
  classCounts, DataFormatError, decodeImageFile, loadDataset, makeImbalanced, splitTrainVal, stratifiedSubset, type ImageDataset, type LoadDatasetOptions,
} from './data/index.js';
import { formatReport, type ClassificationReport } from './metrics/index.js';
import { createModel } from './models/index.js';
import { defaultRecipe } from './train/recipes.js';
import { evaluate } from './train/evaluate.js';
import { loadCheckpoint } from './train/checkpoint.js';
import { applyWeights, loadWeights, saveWeights, type LoadWeightsOptions, type LoadWeightsResult } from './train/weights.js';
import { trainAsync, writeEvaluation, type InterruptRequest, type TrainCallbacks, type TrainConfig, type EpochRow } from './train/trainer.js';
import { assertFiniteOutputs } from './train/divergence.js';
import { openRunDir } from './train/run-lock.js';
import { writeJsonAtomic } from './util/atomic-file.js';
import { stripUndefined } from './util/strip-undefined.js';
import { writeReport, type ReportPaths } from './report/index.js';
import type { Module } from './nn/index.js';
import { trainAirbenchModel } from './api-airbench.js';

/**
 * loadWeights(model, file, { strict, modelName }): sets a model's weights from a plain safetensors state dict with
 * torchvision's key names (e.g. `safetensors.torch.save_file(tv_model.state_dict(), file)`) or from a convlab
 * checkpoint (a run's best.safetensors); saveWeights writes the plain form, which torchvision's models load.
 */
export { loadWeights, saveWeights, type LoadWeightsOptions, type LoadWeightsResult };
export { summarizeModel, formatSummary, summaryJson, type ModelSummary, type SummaryOptions } from './report/summary.js';

export type TrainOverrides = Partial<Omit<TrainConfig, 'model' | 'dataset'>>;

export interface TrainOptions extends TrainOverrides {
  model: string;
  dataset: string;
  dataDir?: string;
  outDir?: string;
  resume?: boolean;
  /** Fraction of the training set held out for validation (default 0.1); 0 validates on the test set. */
  valSplit?: number;
  /** Long-tailed training set, e.g. "exp:100" or "step:10". */
  imbalance?: string;
  /** Use only the first N images of the (shuffled, stratified) training set: quick experiments. */
  limit?: number;
  threads?: number;
  callbacks?: TrainCallbacks;
  /** Skip the plots and report.html (tests). */
  noReport?: boolean;
  /** Replace the run in a non-empty `outDir` (without it, a non-empty `outDir` is refused unless resuming). */
  overwrite?: boolean;
  /** Set its `signal` to stop after the current step with a checkpoint (the CLI's SIGINT/SIGTERM handler). */
  interrupt?: InterruptRequest;
  /** airbench94 only: images per forward/backward pass, gradients accumulated over the batch (default: the batch size). */
  microBatch?: number;
}

/** The trainer's settings plus how trainModel prepared the data: all of it is recorded in config.json. */
interface RecordedConfig extends TrainConfig {
  valSplit?: number;
  imbalance?: string;
  limit?: number;
}

export interface TrainSummary {
  runDir: string;
  history: EpochRow[];
  bestEpoch: number;
  /** The epoch whose weights the test figures come from: the best one, or the last when validating on test. */
  evaluatedEpoch: number;
  test: ClassificationReport;
  testLoss: number;
  trainSeconds: number;
  report?: ReportPaths;
  classCounts: number[];
}

export async function trainModel(o: TrainOptions): Promise<TrainSummary> {
  if (o.model === 'airbench94') return trainAirbenchModel(o); // the speedrun recipe has its own loop
  await initEngine({ threads: o.threads });
  const recipe = defaultRecipe(o.model, o.dataset);
  // The options that steer this function rather than training stay out of the config that config.json records.
  const { callbacks, dataDir, outDir, resume, threads, noReport, overwrite, interrupt, ...settings } = o;
  const config: RecordedConfig = {
    ...recipe, ...stripUndefined(settings), model: o.model, dataset: o.dataset,
    optimizer: { ...recipe.optimizer, ...o.optimizer }, loss: { ...recipe.loss, ...o.loss },
  };

  const dataOpts: LoadDatasetOptions = { dataDir: o.dataDir };
  let trainSet = await loadDataset(o.dataset, { ...dataOpts, split: 'train' });
  const testSet = await loadDataset(o.dataset, { ...dataOpts, split: 'test' });
  if (o.imbalance) {
    const lt = makeImbalanced(trainSet, o.imbalance, config.seed);
    trainSet = lt.dataset;
    o.callbacks?.onLog?.(`imbalanced training set (${o.imbalance}): ${lt.counts.join(', ')} images per class, ${trainSet.length} in all`);
    if (!o.monitor) config.monitor = 'val.macro_recall';
  }
  let valSet: ImageDataset = testSet;
  const valSplit = o.valSplit ?? 0.1;
  if (valSplit > 0) {
    const split = splitTrainVal(trainSet, valSplit, config.seed);
    trainSet = split.train;
    valSet = split.val;
  } else {
    config.restoreBest = false;
    o.callbacks?.onLog?.('validating on the test set: the test figures will use the last epoch\'s weights, not the best by a test metric');
  }
  if (o.limit && o.limit < trainSet.length) trainSet = stratifiedSubset(trainSet, o.limit, config.seed + 1);
  const runDir = o.outDir ?? join('runs', `${o.model}-${o.dataset.replace(/[^a-z0-9-]/gi, '_')}-${timestamp()}`);
  if (o.resume && !existsSync(join(runDir, 'last.safetensors'))) throw new Error(`--resume: no checkpoint at ${join(runDir, 'last.safetensors')}`);
  const lock = openRunDir(runDir, { resume: o.resume, overwrite: o.overwrite, log: o.callbacks?.onLog });
  try {
    const counts = { train: classCounts(trainSet), val: classCounts(valSet), test: classCounts(testSet) };
    writeJsonAtomic(join(runDir, 'class_counts.json'), counts);

    const result = await trainAsync(config, { train: trainSet, val: valSet }, runDir, { resume: o.resume, callbacks: o.callbacks, interrupt: o.interrupt });
    const ev = evaluate(result.model, testSet, { mean: result.meta.mean, std: result.meta.std, onLog: o.callbacks?.onLog });
    assertFiniteOutputs(ev.loss, runDir);
    writeEvaluation(runDir, 'test', ev);
    const report = o.noReport ? undefined : await writeReport(runDir);
    result.model.dispose();
    return {
      runDir, history: result.history, bestEpoch: result.bestEpoch, evaluatedEpoch: result.returnedEpoch, test: ev.report, testLoss: ev.loss,
      trainSeconds: result.history.at(-1)?.wall_seconds ?? 0, report, classCounts: counts.train,
    };
  } finally {
    lock.release();
  }
}

/** The checkpoint file a path names: itself, or a run directory's best.safetensors. */
export function checkpointFile(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'best.safetensors') : path;
}

/**
 * Other weights for a checkpoint's model: `weights` (a torchvision-named state dict or another convlab checkpoint)
 * replaces the checkpoint's own, which still gives the model's configuration, classes and normalisation.
 */
export interface WeightsOverride {
  weights?: string;
  /** Refuse missing or unexpected keys in `weights` (default true). */
  strict?: boolean;
  /** Receives one line per kind of key skipped when `strict` is false. */
  onWarning?: (line: string) => void;
}

/** Rebuilds the model stored in a checkpoint (or a run directory's best.safetensors). */
export function loadModel(path: string, o: WeightsOverride = {}): { model: Module; meta: ReturnType<typeof loadCheckpoint>['meta'] } {
  const file = checkpointFile(path);
  const ckpt = loadCheckpoint(file);
  const m = ckpt.meta.model;
  const model = createModel(m.name, { numClasses: m.numClasses, inChannels: m.inChannels, imageSize: m.imageSize, extra: m.extra });
  // Through applyWeights, so that a checkpoint that does not fit its own model is one line naming the file and the keys.
  const entries = new Map([...ckpt.model].map(([name, data]) => [name, { data, shape: ckpt.shapes.get(name)! }]));
  applyWeights(model, file, { entries, checkpoint: ckpt.meta }, { modelName: m.name });
  if (o.weights !== undefined) {
    for (const warning of loadWeights(model, o.weights, { strict: o.strict, modelName: m.name }).warnings) o.onWarning?.(warning);
  }
  return { model: model.eval(), meta: ckpt.meta };
}

export async function evaluateCheckpoint(path: string, dataset: string, opts: { dataDir?: string; split?: 'train' | 'test'; threads?: number } & WeightsOverride = {}) {
  await initEngine({ threads: opts.threads });
  const { model, meta } = loadModel(path, opts);
  const ds = await loadDataset(dataset, { dataDir: opts.dataDir, split: opts.split ?? 'test' });
  if (ds.channels !== meta.model.inChannels || ds.height !== meta.model.imageSize) {
    throw new Error(`${dataset} images are ${ds.channels}×${ds.height}×${ds.width} but the model expects ${meta.model.inChannels}×${meta.model.imageSize}×${meta.model.imageSize}`);
  }
  const ev = evaluate(model, ds, { mean: meta.mean, std: meta.std });
  model.dispose();
  assertFiniteOutputs(ev.loss, checkpointFile(path));
  return { loss: ev.loss, report: ev.report, text: formatReport(ev.report) };
}

export interface Prediction {
  file: string;
  top: { class: string; index: number; probability: number }[];
  /** What was done to fit the image to the model (colour conversion, resizing). */
  notes: string[];
  /** Why this image could not be classified (the others still are). */
  error?: string;
}

export async function predict(checkpoint: string, files: string[], opts: { topK?: number; threads?: number } & WeightsOverride = {}): Promise<Prediction[]> {
  await initEngine({ threads: opts.threads });
  const { model, meta } = loadModel(checkpoint, opts);
  const { inChannels: c, imageSize: s } = meta.model;
  const k = Math.min(opts.topK ?? 3, meta.classes.length);
  const out = files.map((file): Prediction => {
    let pixels: Uint8Array;
    const notes: string[] = [];
    try {
      pixels = decodeImageFile(file, { channels: c, height: s, width: s }, (note) => notes.push(note));
    } catch (err) {
      if (!(err instanceof DataFormatError)) throw err;
      return { file, top: [], notes, error: err.message };
    }
    const x = new Float32Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) {
      const ch = Math.floor(i / (s * s));
      x[i] = (pixels[i]! / 255 - meta.mean[ch]!) / meta.std[ch]!;
    }
    const probs = E.noGrad(() => E.tidy(() => E.softmax(model.forward(E.tensor(x, [1, c, s, s]))).toFloat32()));
    if (!probs.every(Number.isFinite)) assertFiniteOutputs(NaN, checkpointFile(checkpoint));
    const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, k);
    return { file, top: order.map((i) => ({ class: meta.classes[i]!, index: i, probability: probs[i]! })), notes };
  });
  model.dispose();
  return out;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

