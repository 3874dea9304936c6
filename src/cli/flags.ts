/**
 * Command-line flags → typed options. Every value is checked here, before any data is read or any file
 * written, and every rejection is one line in the CLI's own words: the flag, the value, and what is allowed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DATASET_NAMES, parseImbalance } from '../data/index.js';
import { getModelSpec, listModels, unsupportedOptionMessage } from '../models/index.js';
import { SCHEDULES, type ScheduleName } from '../train/schedule.js';
import { MONITOR_NAMES } from '../train/trainer.js';
import { LOCK_FILE, lockHolder } from '../train/run-lock.js';
import { parseFreezeList } from '../train/finetune.js';

/** A bad flag value; main.ts prints its message as the one line the user sees. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** The option values commander hands over: strings, booleans, or absent. */
export type RawFlags = Record<string, unknown>;

function text(raw: RawFlags, key: string): string | undefined {
  const v = raw[key];
  return typeof v === 'string' ? v : undefined;
}

function bool(raw: RawFlags, key: string): boolean {
  return raw[key] === true;
}

const describe = (v: string): string => `'${v}'`;

/** A number within [min, max] (either bound may be exclusive); undefined when the flag is absent. */
export function numberFlag(raw: RawFlags, key: string, flag: string, range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean; allowed: string }): number | undefined {
  const v = text(raw, key);
  if (v === undefined) return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  const ok = Number.isFinite(n)
    && (!range.integer || Number.isInteger(n))
    && (range.min === undefined || (range.minExclusive ? n > range.min : n >= range.min))
    && (range.max === undefined || (range.maxExclusive ? n < range.max : n <= range.max));
  if (!ok) throw new FlagError(`${flag} ${describe(v)} is invalid: must be ${range.allowed}`);
  return n;
}

const positiveInt = (raw: RawFlags, key: string, flag: string): number | undefined =>
  numberFlag(raw, key, flag, { min: 1, integer: true, allowed: 'a whole number ≥ 1' });
const nonNegativeInt = (raw: RawFlags, key: string, flag: string): number | undefined =>
  numberFlag(raw, key, flag, { min: 0, integer: true, allowed: 'a whole number ≥ 0' });
const fraction = (raw: RawFlags, key: string, flag: string): number | undefined =>
  numberFlag(raw, key, flag, { min: 0, max: 1, maxExclusive: true, allowed: 'a number from 0 up to (not including) 1' });

/** A duration such as `90s`, `10m`, `1.5h` or plain seconds, in seconds (> 0); undefined when the flag is absent. */
export function durationFlag(raw: RawFlags, key: string, flag: string): number | undefined {
  const v = text(raw, key);
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(v);
  const seconds = m ? Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h'] : NaN;
  if (!(seconds > 0)) throw new FlagError(`${flag} ${describe(v)} is invalid: expected a duration > 0 such as 90s, 10m or 1.5h`);
  return seconds;
}

export function choiceFlag<T extends string>(raw: RawFlags, key: string, flag: string, choices: readonly T[]): T | undefined {
  const v = text(raw, key);
  if (v === undefined) return undefined;
  const found = choices.find((c) => c === v);
  if (found === undefined) throw new FlagError(`${flag} ${describe(v)} is invalid: must be one of ${choices.join(', ')}`);
  return found;
}

function threadsFlag(raw: RawFlags): number | undefined {
  return numberFlag(raw, 'threads', '--threads', { min: 1, max: 256, integer: true, allowed: 'a whole number from 1 to 256' });
}

/** --weights must name an existing file (a safetensors state dict or convlab checkpoint); its contents are checked on load. */
function weightsFlag(raw: RawFlags): string | undefined {
  const file = text(raw, 'weights');
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new FlagError(`--weights '${file}': file not found`);
  if (statSync(file).isDirectory()) throw new FlagError(`--weights '${file}': is a folder, expected a .safetensors file (a state dict or a convlab checkpoint)`);
  return file;
}

/** --strict true|false: whether missing or unexpected weight keys are errors (default true). */
function strictFlag(raw: RawFlags, weights: string | undefined): boolean {
  const v = choiceFlag(raw, 'strict', '--strict', ['true', 'false'] as const);
  if (v !== undefined && weights === undefined) throw new FlagError('--strict applies to --weights: pass --weights FILE too');
  return v !== 'false';
}

/** --freeze features[,classifier.0]: module paths (checked against the model when it is built). */
function freezeFlag(raw: RawFlags): string[] | undefined {
  const v = text(raw, 'freeze');
  if (v === undefined) return undefined;
  const paths = parseFreezeList(v);
  if (paths.length === 0 || !paths.every((p) => /^[\w.]+$/.test(p))) {
    throw new FlagError(`--freeze '${v}' is invalid: must be a comma-separated list of module paths, e.g. features or features,classifier.0`);
  }
  return paths;
}

/** --input CxHxW, e.g. 3x32x32 (× also accepted). */
export function inputFlag(raw: RawFlags): [number, number, number] | undefined {
  const v = text(raw, 'input');
  if (v === undefined) return undefined;
  const parts = v.trim().split(/[x×]/i);
  const dims = parts.map((p) => (/^\d+$/.test(p.trim()) ? Number(p) : NaN));
  if (dims.length !== 3 || !dims.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw new FlagError(`--input ${describe(v)} is invalid: must be channels×height×width, three whole numbers ≥ 1, e.g. 3x32x32`);
  }
  return dims as [number, number, number];
}

/** --data-dir must be an existing folder: a typo must not silently fall back to another copy of the data. */
function dataDirFlag(raw: RawFlags): string | undefined {
  const dir = text(raw, 'dataDir');
  if (dir === undefined) return undefined;
  if (!existsSync(dir)) throw new FlagError(`--data-dir '${dir}': folder not found`);
  if (!statSync(dir).isDirectory()) throw new FlagError(`--data-dir '${dir}': is a file, expected a folder holding the dataset files`);
  return dir;
}

function datasetFlag(raw: RawFlags): string {
  const name = text(raw, 'dataset');
  if (name === undefined) throw new FlagError(`--dataset is required: one of ${DATASET_NAMES.join(', ')}, or folder:<path>`);
  if (name.startsWith('folder:')) {
    const path = name.slice('folder:'.length);
    if (path === '') throw new FlagError(`--dataset '${name}' is invalid: folder: needs a path, e.g. folder:./my-images`);
    if (!existsSync(path) || !statSync(path).isDirectory()) throw new FlagError(`--dataset '${name}' is invalid: folder ${path} not found`);
    return name;
  }
  if (!DATASET_NAMES.includes(name)) throw new FlagError(`unknown dataset "${name}". Valid names: ${[...DATASET_NAMES, 'folder:<path>'].join(', ')}`);
  return name;
}

export function modelArgument(model: string): string {
  const names = listModels().map((m) => m.name);
  if (!names.includes(model)) throw new FlagError(`unknown model '${model}'. Valid models: ${names.join(', ')}`);
  return model;
}

export interface AugmentFlags { cropPadding?: number; hflip?: boolean }

function augmentFlag(raw: RawFlags): AugmentFlags | undefined {
  const v = text(raw, 'augment');
  if (v === undefined) return undefined;
  if (v === 'none') return {};
  const parts = v.split(',').map((p) => p.trim());
  const bad = parts.find((p) => p !== 'crop' && p !== 'flip');
  if (bad !== undefined || parts.length === 0) throw new FlagError(`--augment '${v}' is invalid: must be none, or a comma-separated list of crop, flip`);
  return { cropPadding: parts.includes('crop') ? 4 : 0, hflip: parts.includes('flip') };
}

function imbalanceFlag(raw: RawFlags): string | undefined {
  const v = text(raw, 'imbalance');
  if (v === undefined) return undefined;
  try {
    parseImbalance(v);
  } catch {
    throw new FlagError(`--imbalance '${v}' is invalid: must be exp:<ratio> or step:<ratio> with a ratio ≥ 1, e.g. exp:100`);
  }
  return v;
}

/** What `--out` may be for a run: a new or empty folder, or an existing run with --resume / --overwrite. */
export function checkRunDirFlag(out: string | undefined, resume: boolean, overwrite: boolean): void {
  if (resume && overwrite) throw new FlagError('--resume and --overwrite exclude each other: --resume continues the run in --out, --overwrite starts it afresh');
  if (out === undefined) {
    if (resume) throw new FlagError('--resume needs --out <run-dir>: the run directory to continue');
    return;
  }
  if (!existsSync(out)) {
    if (resume) throw new FlagError(`--out '${out}': folder not found, so there is nothing to --resume`);
    return;
  }
  if (!statSync(out).isDirectory()) throw new FlagError(`--out '${out}': is a file, expected a run directory (a new or empty folder)`);
  const holder = lockHolder(out);
  if (holder !== undefined) throw new FlagError(`--out '${out}': in use by another convlab run (pid ${holder}); wait for it to finish or stop it`);
  if (resume) {
    if (!existsSync(join(out, 'last.safetensors'))) throw new FlagError(`--out '${out}' --resume: no checkpoint to resume from (${join(out, 'last.safetensors')} not found)`);
    return;
  }
  const entries = readdirSync(out).filter((f) => !f.endsWith('.tmp') && f !== LOCK_FILE);
  if (entries.length > 0 && !overwrite) {
    throw new FlagError(`--out '${out}': folder is not empty (holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); pass --resume to continue that run or --overwrite to replace it`);
  }
}

export interface TrainFlags {
  model: string;
  dataset: string;
  dataDir?: string;
  out?: string;
  resume: boolean;
  overwrite: boolean;
  epochs?: number;
  batchSize?: number;
  /** airbench94: images per forward/backward pass, gradients accumulated over the batch. */
  microBatch?: number;
  optimizer?: 'sgd' | 'adam' | 'adamw';
  lr?: number;
  momentum?: number;
  /** false for --no-nesterov; undefined keeps the recipe's choice. */
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: ScheduleName;
  warmup?: number;
  stepEpochs?: number;
  seed?: number;
  valSplit?: number;
  limit?: number;
  augment?: AugmentFlags;
  imbalance?: string;
  loss?: 'cross-entropy' | 'focal';
  weighting?: 'none' | 'inverse' | 'effective';
  beta?: number;
  drw?: number;
  focalGamma?: number;
  labelSmoothing?: number;
  sampler?: 'uniform' | 'balanced';
  monitor?: string;
  patience?: number;
  lrn: boolean;
  dropout?: number;
  checkpointEvery?: number;
  timeBudgetSeconds?: number;
  evalEverySteps?: number;
  divergenceFactor?: number;
  clipGradNorm?: number;
  threads?: number;
  report: boolean;
  json: boolean;
  /** Initialise the model from this file (torchvision-named state dict or convlab checkpoint). */
  weights?: string;
  strictWeights: boolean;
  /** Module paths whose parameters are not trained (--freeze features). */
  freeze?: string[];
  /** folder: datasets: fit images to N×N. */
  imageSize?: number;
}

export function parseTrainFlags(model: string, raw: RawFlags): TrainFlags {
  const resume = bool(raw, 'resume'), overwrite = bool(raw, 'overwrite');
  const flags: TrainFlags = {
    model: modelArgument(model),
    dataset: datasetFlag(raw),
    dataDir: dataDirFlag(raw),
    out: text(raw, 'out'),
    resume, overwrite,
    epochs: positiveInt(raw, 'epochs', '--epochs'),
    batchSize: positiveInt(raw, 'batchSize', '--batch-size'),
    microBatch: positiveInt(raw, 'microBatch', '--micro-batch'),
    optimizer: choiceFlag(raw, 'optimizer', '--optimizer', ['sgd', 'adam', 'adamw'] as const),
    lr: numberFlag(raw, 'lr', '--lr', { min: 0, minExclusive: true, allowed: 'a number > 0' }),
    momentum: fraction(raw, 'momentum', '--momentum'),
    nesterov: raw['nesterov'] === false ? false : undefined,
    weightDecay: numberFlag(raw, 'weightDecay', '--weight-decay', { min: 0, allowed: 'a number ≥ 0' }),
    schedule: choiceFlag(raw, 'schedule', '--schedule', SCHEDULES),
    warmup: numberFlag(raw, 'warmup', '--warmup', { min: 0, allowed: 'a number of epochs ≥ 0' }),
    stepEpochs: numberFlag(raw, 'stepEpochs', '--step-epochs', { min: 0, minExclusive: true, allowed: 'a number of epochs > 0' }),
    seed: numberFlag(raw, 'seed', '--seed', { min: 0, max: 0xffffffff, integer: true, allowed: 'a whole number from 0 to 4294967295' }),
    valSplit: fraction(raw, 'valSplit', '--val-split'),
    limit: positiveInt(raw, 'limit', '--limit'),
    augment: augmentFlag(raw),
    imbalance: imbalanceFlag(raw),
    loss: choiceFlag(raw, 'loss', '--loss', ['cross-entropy', 'focal'] as const),
    weighting: choiceFlag(raw, 'weighting', '--weighting', ['none', 'inverse', 'effective'] as const),
    beta: fraction(raw, 'beta', '--beta'),
    drw: positiveInt(raw, 'drw', '--drw'),
    focalGamma: numberFlag(raw, 'focalGamma', '--focal-gamma', { min: 0, allowed: 'a number ≥ 0' }),
    labelSmoothing: fraction(raw, 'labelSmoothing', '--label-smoothing'),
    sampler: choiceFlag(raw, 'sampler', '--sampler', ['uniform', 'balanced'] as const),
    monitor: choiceFlag(raw, 'monitor', '--monitor', MONITOR_NAMES),
    patience: nonNegativeInt(raw, 'patience', '--patience'),
    lrn: bool(raw, 'lrn'),
    dropout: fraction(raw, 'dropout', '--dropout'),
    checkpointEvery: nonNegativeInt(raw, 'checkpointEvery', '--checkpoint-every'),
    timeBudgetSeconds: durationFlag(raw, 'timeBudget', '--time-budget'),
    evalEverySteps: nonNegativeInt(raw, 'evalEvery', '--eval-every'),
    divergenceFactor: numberFlag(raw, 'divergenceFactor', '--divergence-factor', { min: 1, minExclusive: true, allowed: 'a number > 1 (a step loss above this × the first epoch\'s median stops training)' }),
    clipGradNorm: numberFlag(raw, 'clipGradNorm', '--clip-grad-norm', { min: 0, minExclusive: true, allowed: 'a number > 0' }),
    threads: threadsFlag(raw),
    report: raw['report'] !== false,
    json: bool(raw, 'json'),
    weights: weightsFlag(raw),
    strictWeights: true,
    freeze: freezeFlag(raw),
    imageSize: positiveInt(raw, 'imageSize', '--image-size'),
  };
  if (flags.imageSize !== undefined && !flags.dataset.startsWith('folder:')) throw new FlagError(`--image-size applies to folder: datasets; ${flags.dataset} has a fixed image size`);
  flags.strictWeights = strictFlag(raw, flags.weights);
  if (flags.weights !== undefined && resume) throw new FlagError('--weights and --resume exclude each other: --weights initialises a new run, --resume continues from the run\'s own checkpoint');
  const spec = getModelSpec(flags.model);
  if (flags.microBatch !== undefined && flags.model !== 'airbench94') throw new FlagError(`--micro-batch: only the airbench94 recipe accumulates gradients, not '${flags.model}'`);
  for (const [option, given] of [['lrn', flags.lrn], ['dropout', flags.dropout !== undefined]] as const) {
    if (given && !spec.extraOptions.includes(option)) throw new FlagError(`--${option}: ${unsupportedOptionMessage(spec, option)}`);
  }
  if (flags.drw !== undefined && flags.epochs !== undefined && flags.drw > flags.epochs) {
    throw new FlagError(`--drw '${flags.drw}' is invalid: must be an epoch from 1 to --epochs (${flags.epochs})`);
  }
  checkRunDirFlag(flags.out, resume, overwrite);
  return flags;
}

export interface EvalFlags { path: string; dataset: string; dataDir?: string; split: 'train' | 'test'; threads?: number; json: boolean; weights?: string; strict: boolean }

/** A checkpoint argument: an existing .safetensors file, or a run directory holding best.safetensors. */
export function checkpointArgument(path: string): string {
  if (!existsSync(path)) throw new FlagError(`${path}: checkpoint not found`);
  if (statSync(path).isDirectory() && !existsSync(join(path, 'best.safetensors'))) {
    throw new FlagError(`${path}: run directory has no best.safetensors`);
  }
  return path;
}

export function parseEvalFlags(path: string, raw: RawFlags): EvalFlags {
  const checkpoint = checkpointArgument(path), weights = weightsFlag(raw);
  return {
    path: checkpoint, dataset: datasetFlag(raw), dataDir: dataDirFlag(raw),
    split: choiceFlag(raw, 'split', '--split', ['train', 'test'] as const) ?? 'test', threads: threadsFlag(raw), json: bool(raw, 'json'),
    weights, strict: strictFlag(raw, weights),
  };
}

export interface PredictFlags {
  /** Absent with --model, where every argument is an image. */
  checkpoint?: string;
  files: string[];
  topK: number;
  threads?: number;
  json: boolean;
  weights?: string;
  strict: boolean;
  model?: string;
  imagenet: boolean;
}

export function parsePredictFlags(first: string, rest: string[], raw: RawFlags): PredictFlags {
  const weights = weightsFlag(raw), model = text(raw, 'model');
  const common = { topK: positiveInt(raw, 'topK', '--top-k') ?? 3, threads: threadsFlag(raw), json: bool(raw, 'json'), weights, strict: strictFlag(raw, weights), imagenet: bool(raw, 'imagenet') };
  if (model !== undefined) {
    if (weights === undefined) throw new FlagError(`--model ${modelArgument(model)} needs --weights FILE: a state dict with torchvision's key names (e.g. ImageNet weights)`);
    return { ...common, model: modelArgument(model), files: [first, ...rest] };
  }
  const checkpoint = checkpointArgument(first);
  if (rest.length === 0) throw new FlagError(`predict: no image files given after the checkpoint ${first} (or pass --model NAME --weights FILE to predict without a checkpoint)`);
  return { ...common, checkpoint, files: rest };
}

export interface SummaryFlags {
  model: string;
  input?: [number, number, number];
  numClasses?: number;
  weights?: string;
  strict: boolean;
  depth?: number;
  /** Timed forward passes per batch size; 0 with --no-latency. */
  repeats: number;
  threads?: number;
  json: boolean;
}

export function parseSummaryFlags(model: string, raw: RawFlags): SummaryFlags {
  const weights = weightsFlag(raw);
  const repeats = numberFlag(raw, 'repeats', '--repeats', { min: 1, max: 1000, integer: true, allowed: 'a whole number from 1 to 1000' });
  if (repeats !== undefined && raw['latency'] === false) throw new FlagError('--repeats and --no-latency exclude each other');
  return {
    model: modelArgument(model), input: inputFlag(raw), weights, strict: strictFlag(raw, weights),
    numClasses: positiveInt(raw, 'numClasses', '--num-classes'), depth: nonNegativeInt(raw, 'depth', '--depth'),
    repeats: raw['latency'] === false ? 0 : repeats ?? 5, threads: threadsFlag(raw), json: bool(raw, 'json'),
  };
}

export interface DatasetsFlags { dataDir?: string; json: boolean }

export function parseDatasetsFlags(raw: RawFlags): DatasetsFlags {
  return { dataDir: dataDirFlag(raw), json: bool(raw, 'json') };
}

export interface CompareFlags { out: string; json: boolean }

export function parseCompareFlags(raw: RawFlags): CompareFlags {
  const out = text(raw, 'out') ?? 'comparison.html';
  if (existsSync(out) && statSync(out).isDirectory()) throw new FlagError(`--out '${out}': is a folder, expected an HTML file name`);
  return { out, json: bool(raw, 'json') };
}
