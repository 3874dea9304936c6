/**
 * The library API, mirroring the CLI: train a model on a named dataset into a run directory (metrics,
 * checkpoints, plots, report), evaluate a run or checkpoint, and predict classes for image files.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as E from './engine/index.js';
import { initEngine } from './engine/index.js';
import {
  classCounts, DataFormatError, decodeImageFile, imagenetResizeFor, loadDataset, loadImageCentreCrop, normalizePlanar, makeImbalanced, splitTrainVal, stratifiedSubset, type ImageDataset, type LoadDatasetOptions,
} from './data/index.js';
import { formatReport, type ClassificationReport } from './metrics/index.js';
import { createModel, getModelSpec } from './models/index.js';
import { defaultRecipe } from './train/recipes.js';
import { evaluate } from './train/evaluate.js';
import { loadCheckpoint } from './train/checkpoint.js';
import { applyWeights, loadWeights, saveWeights, type LoadWeightsOptions, type LoadWeightsResult } from './train/weights.js';
import { trainAsync, writeEvaluation, type InterruptRequest, type TrainCallbacks, type TrainConfig, type EpochRow } from './train/trainer.js';
import { assertFiniteOutputs } from './train/divergence.js';
import { modelFromWeights } from './train/pretrained.js';
import { pretrainedInputs } from './train/finetune.js';
import { openRunDir } from './train/run-lock.js';
import { writeJsonAtomic } from './util/atomic-file.js';
import { stripUndefined } from './util/strip-undefined.js';
import { writeReport, type ReportPaths } from './report/index.js';
import type { Module } from './nn/index.js';
import { savePth } from './interop/pth/index.js';
import { exportOnnx } from './interop/onnx/index.js';
import { trainAirbenchModel } from './api-airbench.js';

/**
 * loadWeights(model, file, { strict, modelName }): sets a model's weights from a plain safetensors or PyTorch .pth state dict with
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
  /** folder: datasets: fit every image to N×N (shorter side resized, centre crop) in the model's channels. */
  imageSize?: number;
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
  imageSize?: number;
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

  const dataOpts: LoadDatasetOptions = { dataDir: o.dataDir, folder: folderFit(o.model, o.dataset, o.imageSize) };
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

    const inputs = fineTuneInputs(config, trainSet.channels, runDir, o.resume, o.callbacks?.onLog);
    const result = await trainAsync(config, { train: trainSet, val: valSet, ...inputs }, runDir, { resume: o.resume, callbacks: o.callbacks, interrupt: o.interrupt });
    // Validating on the test set, the closing epoch's pass already evaluated these weights on it.
    const ev = valSet === testSet && result.finalValidation
      ? result.finalValidation
      : evaluate(result.model, testSet, { mean: result.meta.mean, std: result.meta.std, onLog: o.callbacks?.onLog });
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

/** --image-size for folder datasets: the size, and the model's channels (an ImageNet model takes grey images as RGB). */
function folderFit(model: string, dataset: string, imageSize: number | undefined): LoadDatasetOptions['folder'] {
  if (imageSize === undefined) return undefined;
  if (!dataset.startsWith('folder:')) throw new Error(`--image-size applies to folder: datasets; ${dataset} has a fixed size`);
  return { height: imageSize, width: imageSize, channels: getModelSpec(model).defaultInput[0], fit: 'crop' };
}

/**
 * The normalisation (and model options) fine-tuning needs: those the weights were trained with (ImageNet's for
 * torchvision's weights; see train/finetune.ts). A resumed run takes its own from its last checkpoint.
 */
function fineTuneInputs(config: RecordedConfig, channels: number, runDir: string, resume: boolean | undefined, log?: (line: string) => void): { mean?: number[]; std?: number[] } {
  const last = join(runDir, 'last.safetensors');
  if (resume && existsSync(last)) {
    const meta = loadCheckpoint(last).meta;
    config.modelExtra ??= meta.model.extra;
    return { mean: meta.mean, std: meta.std };
  }
  if (config.weights === undefined) return {};
  const p = pretrainedInputs(config.model, config.weights, channels, { freeze: config.freeze });
  if (p.extra) config.modelExtra = { ...p.extra, ...config.modelExtra };
  if (p.message) log?.(p.message);
  return { mean: p.mean, std: p.std };
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

export interface PredictOptions extends WeightsOverride {
  topK?: number;
  threads?: number;
  /**
   * Prepare images as torchvision evaluates ImageNet models (shorter side resized, centre crop) instead of
   * stretching them to the model's input; predictPretrained always does.
   */
  imagenet?: boolean;
}

export async function predict(checkpoint: string, files: string[], opts: PredictOptions = {}): Promise<Prediction[]> {
  await initEngine({ threads: opts.threads });
  const { model, meta } = loadModel(checkpoint, opts);
  const { inChannels: c, imageSize: s } = meta.model;
  if (opts.imagenet && c !== 3) throw new Error(`--imagenet: ${checkpointFile(checkpoint)} is a ${c}-channel model; ImageNet preprocessing needs 3 channels`);
  const pixels = (file: string, notes: string[]): Uint8Array => (opts.imagenet
    ? loadImageCentreCrop(file, { resize: imagenetResizeFor(s), crop: s })
    : decodeImageFile(file, { channels: c, height: s, width: s }, (note) => notes.push(note)));
  return classifyFiles(model, files, { pixels, shape: [c, s, s], mean: meta.mean, std: meta.std, classes: meta.classes, topK: opts.topK, source: checkpointFile(checkpoint) });
}

/**
 * Predicts with a model built from a plain weights file with torchvision's key names (no convlab checkpoint):
 * ImageNet weights get torchvision's ImageNet preprocessing and class names (see train/pretrained.ts).
 */
export async function predictPretrained(modelName: string, weights: string, files: string[], opts: Omit<PredictOptions, 'weights'> = {}): Promise<Prediction[]> {
  await initEngine({ threads: opts.threads });
  const p = modelFromWeights(modelName, weights, { imagenet: opts.imagenet, strict: opts.strict });
  for (const warning of p.load.warnings) opts.onWarning?.(warning);
  const pixels = (file: string): Uint8Array => loadImageCentreCrop(file, { resize: p.resize, crop: p.crop });
  return classifyFiles(p.model, files, { pixels, shape: [p.channels, p.crop, p.crop], mean: p.mean, std: p.std, classes: p.classes, topK: opts.topK, source: weights });
}

interface Classify {
  pixels: (file: string, notes: string[]) => Uint8Array;
  shape: [number, number, number];
  mean: number[];
  std: number[];
  classes: string[];
  topK?: number;
  /** The weights, named when the outputs are not finite. */
  source: string;
}

/** Top-k classes of each file; an unreadable file is reported in its Prediction and the others still classified. Disposes the model. */
function classifyFiles(model: Module, files: string[], o: Classify): Prediction[] {
  const k = Math.min(o.topK ?? 3, o.classes.length);
  const [c, h, w] = o.shape;
  const out = files.map((file): Prediction => {
    let pixels: Uint8Array;
    const notes: string[] = [];
    try {
      pixels = o.pixels(file, notes);
    } catch (err) {
      if (!(err instanceof DataFormatError)) throw err;
      return { file, top: [], notes, error: err.message };
    }
    const x = normalizePlanar(pixels, c, o.mean, o.std);
    const probs = E.noGrad(() => E.tidy(() => E.softmax(model.forward(E.tensor(x, [1, c, h, w]))).toFloat32()));
    if (!probs.every(Number.isFinite)) assertFiniteOutputs(NaN, o.source);
    const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, k);
    return { file, top: order.map((i) => ({ class: o.classes[i]!, index: i, probability: probs[i]! })), notes };
  });
  model.dispose();
  return out;
}

/**
 * The formats `exportWeights` writes: state dicts with torchvision's key names (safetensors, pth), or an ONNX
 * model (opset 17, dynamic batch axis) whose initialisers carry those names.
 */
export const EXPORT_FORMATS = ['safetensors', 'pth', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * Writes a run's (or checkpoint's) model as a plain state dict with torchvision's key names: safetensors
 * (`safetensors.torch.load_file`) or .pth (`torch.load`), or as an ONNX model for ONNX Runtime, atomically. `file`
 * defaults to model.<format> beside the checkpoint. Returns the file written and how many tensors it holds.
 */
export async function exportWeights(runOrCheckpoint: string, format: ExportFormat, file?: string): Promise<{ file: string; tensors: number }> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new Error(`export format '${format}' is invalid: must be one of ${EXPORT_FORMATS.join(', ')}`);
  const source = checkpointFile(runOrCheckpoint);
  const out = file ?? join(dirname(source), `model.${format}`);
  if (resolve(out) === resolve(source)) throw new Error(`${out}: is the checkpoint being exported; choose another output file`);
  await initEngine();
  const { model, meta } = loadModel(runOrCheckpoint);
  try {
    if (format === 'pth') savePth(model, out);
    else if (format === 'onnx') exportOnnx(model, { ...meta.model, mean: meta.mean, std: meta.std, classes: meta.classes }, out);
    else saveWeights(model, out);
    return { file: out, tensors: model.stateDict().size };
  } finally {
    model.dispose();
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

