// Reading and validating a run directory. Every failure is a RunDirError with a
// one-line message that names the file (and line, for metrics.jsonl).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  AveragedMetrics,
  ClassCounts,
  EpochMetrics,
  EvalResult,
  PerClassMetrics,
  RunConfig,
  RunData,
} from './types.js';

export class RunDirError extends Error {
  /** The file the problem is in. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunDirError';
    this.file = file;
  }
}

export interface ReadRunOptions {
  /** When false, a missing eval.json is allowed (RunData.eval is then undefined). Default true. */
  requireEval?: boolean;
  /**
   * Lenient mode (compare): a bad or truncated metrics.jsonl / evals.jsonl line, or a missing metrics.jsonl, is
   * skipped and reported here as one line naming the file and line, instead of failing the whole read.
   */
  onWarning?: (line: string) => void;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Reads a file, turning "not found" and other I/O errors into one-line RunDirErrors. */
async function readText(path: string, optional: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (optional) return undefined;
      throw new RunDirError(path, `${path}: file not found`, { cause: err });
    }
    if (code === 'EISDIR') throw new RunDirError(path, `${path}: is a directory, expected a file`, { cause: err });
    throw new RunDirError(path, `${path}: cannot read (${code ?? (err as Error).message})`, { cause: err });
  }
}

function parseJson(path: string, text: string, where = `${path}`): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RunDirError(path, `${where}: invalid JSON`, { cause: err });
  }
}

function parseConfig(path: string, raw: unknown): RunConfig {
  if (!isObject(raw)) throw new RunDirError(path, `${path}: expected a JSON object`);
  for (const key of ['model', 'dataset'] as const) {
    if (typeof raw[key] !== 'string') throw new RunDirError(path, `${path}: "${key}" must be a string`);
  }
  for (const key of ['epochs', 'batch_size', 'seed', 'params'] as const) {
    if (raw[key] !== undefined && !isNum(raw[key])) throw new RunDirError(path, `${path}: "${key}" must be a number`);
  }
  if (raw.classes !== undefined && !(Array.isArray(raw.classes) && raw.classes.every((c) => typeof c === 'string'))) {
    throw new RunDirError(path, `${path}: "classes" must be an array of strings`);
  }
  return raw as RunConfig;
}

const REQUIRED_METRICS = ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc'] as const;
const OPTIONAL_METRICS = [
  'val_macro_recall',
  'val_balanced_accuracy',
  'lr',
  'epoch_seconds',
  'images_per_s',
  'wall_seconds',
  'eval_seconds',
] as const;

function parseMetrics(path: string, text: string, onWarning?: (line: string) => void): EpochMetrics[] {
  const rows: EpochMetrics[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (onWarning) {
      try {
        rows.push(parseMetricsLine(path, line, i));
      } catch (err) {
        if (!(err instanceof RunDirError)) throw err;
        onWarning(`warning: ${err.message}; line skipped`);
      }
    } else {
      rows.push(parseMetricsLine(path, line, i));
    }
  }
  if (rows.length === 0 && !onWarning) throw new RunDirError(path, `${path}: no epochs recorded (file is empty)`);
  return rows;
}

function parseMetricsLine(path: string, line: string, i: number): EpochMetrics {
  const where = `${path} line ${i + 1}`;
  const raw = parseJson(path, line, where);
  if (!isObject(raw)) throw new RunDirError(path, `${where}: expected a JSON object`);
  for (const key of REQUIRED_METRICS) {
    if (raw[key] === undefined) throw new RunDirError(path, `${where}: missing "${key}"`);
    if (!isNum(raw[key])) throw new RunDirError(path, `${where}: "${key}" must be a finite number`);
  }
  for (const key of OPTIONAL_METRICS) {
    // null is treated as "not recorded".
    if (raw[key] === null) delete raw[key];
    else if (raw[key] !== undefined && !isNum(raw[key])) {
      throw new RunDirError(path, `${where}: "${key}" must be a finite number`);
    }
  }
  return raw as EpochMetrics;
}

function numOrNull(path: string, where: string, v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (!isNum(v)) throw new RunDirError(path, `${path}: ${where} must be a number or null`);
  return v;
}

function parseAveraged(path: string, where: string, raw: unknown): AveragedMetrics {
  if (!isObject(raw)) throw new RunDirError(path, `${path}: "${where}" must be an object with precision, recall, f1`);
  return {
    precision: numOrNull(path, `"${where}.precision"`, raw.precision),
    recall: numOrNull(path, `"${where}.recall"`, raw.recall),
    f1: numOrNull(path, `"${where}.f1"`, raw.f1),
  };
}

function parseEval(path: string, raw: unknown): EvalResult {
  if (!isObject(raw)) throw new RunDirError(path, `${path}: expected a JSON object`);
  if (!isNum(raw.accuracy)) throw new RunDirError(path, `${path}: "accuracy" must be a number`);
  const classes = raw.classes;
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string')) {
    throw new RunDirError(path, `${path}: "classes" must be an array of strings`);
  }
  const n = classes.length;
  const confusion = raw.confusion;
  if (
    !Array.isArray(confusion) ||
    confusion.length !== n ||
    !confusion.every((row) => Array.isArray(row) && row.length === n && row.every((x) => isNum(x)))
  ) {
    throw new RunDirError(path, `${path}: "confusion" must be a ${n}x${n} matrix of numbers (one row per class)`);
  }
  if (!Array.isArray(raw.per_class)) throw new RunDirError(path, `${path}: "per_class" must be an array`);
  const perClass: PerClassMetrics[] = raw.per_class.map((pc, i) => {
    if (!isObject(pc) || typeof pc.class !== 'string') {
      throw new RunDirError(path, `${path}: "per_class[${i}]" must be an object with a string "class"`);
    }
    if (!isNum(pc.support)) throw new RunDirError(path, `${path}: "per_class[${i}].support" must be a number`);
    return {
      ...parseAveraged(path, `per_class[${i}]`, pc),
      class: pc.class,
      support: pc.support,
    };
  });
  return {
    ...raw,
    split: typeof raw.split === 'string' ? raw.split : 'test',
    loss: numOrNull(path, '"loss"', raw.loss),
    accuracy: raw.accuracy,
    top5_accuracy: numOrNull(path, '"top5_accuracy"', raw.top5_accuracy),
    balanced_accuracy: numOrNull(path, '"balanced_accuracy"', raw.balanced_accuracy),
    macro: parseAveraged(path, 'macro', raw.macro),
    weighted: parseAveraged(path, 'weighted', raw.weighted),
    per_class: perClass,
    confusion: confusion as number[][],
    classes: classes as string[],
  };
}

function parseClassCounts(path: string, raw: unknown): ClassCounts {
  if (!isObject(raw)) throw new RunDirError(path, `${path}: expected a JSON object of {split: counts[]}`);
  const out: ClassCounts = {};
  for (const [split, counts] of Object.entries(raw)) {
    if (!Array.isArray(counts) || !counts.every((c) => isNum(c))) {
      throw new RunDirError(path, `${path}: "${split}" must be an array of numbers`);
    }
    out[split] = counts as number[];
  }
  return out;
}

/**
 * Reads and validates a run directory: config.json, metrics.jsonl, eval.json and the
 * optional class_counts.json. Throws a RunDirError with a one-line message such as
 * `runs/x/metrics.jsonl line 3: invalid JSON`.
 */
export async function readRun(dir: string, options: ReadRunOptions = {}): Promise<RunData> {
  const requireEval = options.requireEval ?? true;
  const configPath = join(dir, 'config.json');
  const metricsPath = join(dir, 'metrics.jsonl');
  const evalPath = join(dir, 'eval.json');
  const countsPath = join(dir, 'class_counts.json');

  const [configText, metricsText, evalText, countsText] = await Promise.all([
    readText(configPath, false),
    readText(metricsPath, options.onWarning !== undefined),
    readText(evalPath, !requireEval),
    readText(countsPath, true),
  ]);

  const config = parseConfig(configPath, parseJson(configPath, configText!));
  if (metricsText === undefined) options.onWarning?.(`warning: ${metricsPath}: file not found; the run has no epochs`);
  const metrics = parseMetrics(metricsPath, metricsText ?? '', options.onWarning);
  const run: RunData = { dir, config, metrics };
  const evalsPath = join(dir, 'evals.jsonl');
  const evalsText = await readText(evalsPath, true);
  if (evalsText !== undefined && evalsText.trim() !== '') run.evals = parseMetrics(evalsPath, evalsText, options.onWarning);
  if (evalText !== undefined) run.eval = parseEval(evalPath, parseJson(evalPath, evalText));
  if (countsText !== undefined) run.classCounts = parseClassCounts(countsPath, parseJson(countsPath, countsText));
  return run;
}

/** Class names of a run: from eval.json, else config.json, else class_0..n-1 sized by the class counts. */
export function runClasses(run: RunData): string[] {
  if (run.eval) return run.eval.classes;
  if (run.config.classes) return run.config.classes;
  const n = run.classCounts?.train?.length ?? run.classCounts?.test?.length ?? 0;
  return Array.from({ length: n }, (_, i) => `class_${i}`);
}

export { wallClock, totalWallSeconds } from './wall-clock.js';
