/**
 * The study's comparison table: one row per run (read from its run directory), grouped over seeds into mean ±
 * standard deviation, with the per-model measurements (measure.ts) beside the training results.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readRun, totalWallSeconds, type EpochMetrics, type RunData } from '../report/index.js';
import type { Column } from '../report/table-format.js';
import { measurementKey, type ModelMeasurement } from './measure.js';

export interface RunRow {
  id: string;
  model: string;
  dataset: string;
  variant: string;
  fraction: number;
  seed: number;
  runDir: string;
  params: number | null;
  macs: number | null;
  activationBytes: number | null;
  checkpointBytes: number | null;
  receptiveField: number | null;
  layers: number | null;
  imagesPerSec: number | null;
  latency1Ms: number | null;
  latency64Ms: number | null;
  /** Best and last per-epoch accuracy on the evaluation set (the test set in a study: valSplit 0). */
  bestAcc: number | null;
  finalAcc: number | null;
  balancedAcc: number | null;
  macroRecall: number | null;
  /** Training time (`wall_seconds`), and the time spent in validation passes beside it (`eval_seconds`). */
  trainSeconds: number | null;
  evalSeconds: number | null;
  batchSize: number | null;
  /** Accuracy against time: evals.jsonl when recorded, else the epoch rows. */
  curve: EpochMetrics[];
}

export interface Stat { mean: number; std: number; n: number }

type NumericKey = 'params' | 'macs' | 'activationBytes' | 'checkpointBytes' | 'receptiveField' | 'layers' | 'imagesPerSec' | 'latency1Ms' | 'latency64Ms'
  | 'bestAcc' | 'finalAcc' | 'balancedAcc' | 'macroRecall' | 'trainSeconds' | 'evalSeconds' | 'batchSize';
export const NUMERIC_KEYS: NumericKey[] = ['params', 'macs', 'activationBytes', 'checkpointBytes', 'receptiveField', 'layers', 'imagesPerSec', 'latency1Ms', 'latency64Ms',
  'bestAcc', 'finalAcc', 'balancedAcc', 'macroRecall', 'trainSeconds', 'evalSeconds', 'batchSize'];

/** A row over seeds: the numbers as mean ± std (null when no seed has the value). */
export type StudyRow = { key: string; model: string; dataset: string; variant: string; fraction: number; seeds: number; runs: RunRow[] } & Record<NumericKey, Stat | null>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The sum of the known values, or null when none is known (runs written before eval_seconds existed). */
function sumOrNull(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

/** One run directory as a row; `measured` supplies latency and the traced figures. */
export function runRow(run: RunData, meta: { id: string; variant: string; fraction: number }, measured?: ModelMeasurement): RunRow {
  const m = run.metrics;
  const accs = [...m, ...(run.evals ?? [])].map((r) => r.val_acc).filter((v) => num(v) !== null);
  const ckpt = join(run.dir, 'best.safetensors');
  return {
    id: meta.id, model: run.config.model, dataset: run.config.dataset, variant: meta.variant, fraction: meta.fraction, seed: num(run.config.seed) ?? 0, runDir: run.dir,
    params: num(run.config.params) ?? measured?.params ?? null,
    macs: num(run.config['macs_per_image']) ?? measured?.macs ?? null,
    activationBytes: measured?.activationBytes ?? null,
    checkpointBytes: existsSync(ckpt) ? statSync(ckpt).size : null,
    receptiveField: measured?.receptiveField ?? null,
    layers: measured?.layers ?? null,
    imagesPerSec: median(m.map((r) => r.images_per_s).filter((v): v is number => num(v) !== null)),
    latency1Ms: measured?.latency1Ms ?? null, latency64Ms: measured?.latency64Ms ?? null,
    bestAcc: accs.length ? Math.max(...accs) : null,
    finalAcc: num(run.eval?.accuracy) ?? num(m.at(-1)?.val_acc),
    balancedAcc: num(run.eval?.balanced_accuracy) ?? null,
    macroRecall: num(run.eval?.macro.recall) ?? num(m.at(-1)?.val_macro_recall),
    trainSeconds: totalWallSeconds(m),
    evalSeconds: sumOrNull(m.map((r) => num(r.eval_seconds))),
    batchSize: num(run.config.batch_size),
    curve: run.evals && run.evals.length > 0 ? run.evals : m,
  };
}

/** Reads run directories leniently (bad metrics lines become warnings) into rows. */
export async function readRunRows(items: { dir: string; id: string; variant: string; fraction: number }[], measurements: Map<string, ModelMeasurement>,
  onWarning: (line: string) => void): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  for (const it of items) {
    const run = await readRun(it.dir, { requireEval: false, onWarning });
    const extra = run.config['modelExtra'];
    const key = measurementKey({ model: run.config.model, dataset: run.config.dataset, modelExtra: extra && typeof extra === 'object' ? extra as Record<string, unknown> : undefined });
    rows.push(runRow(run, it, measurements.get(key)));
  }
  return rows;
}

export function stat(values: (number | null)[]): Stat | null {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

/** Groups runs that differ only in their seed, in first-seen order. */
export function groupSeeds(runs: RunRow[], keyOf = (r: RunRow): string => `${r.model}@${r.dataset}${r.variant ? `-${r.variant}` : ''}`): StudyRow[] {
  const groups = new Map<string, RunRow[]>();
  for (const r of runs) {
    const key = keyOf(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups].map(([key, rs]) => {
    const first = rs[0]!;
    const row = { key, model: first.model, dataset: first.dataset, variant: first.variant, fraction: first.fraction, seeds: rs.length, runs: rs } as StudyRow;
    for (const k of NUMERIC_KEYS) row[k] = stat(rs.map((r) => r[k]));
    return row;
  });
}

/** A row's model, with its variant (e.g. a data fraction) when it has one. */
export const rowLabel = (r: StudyRow): string => (r.variant ? `${r.model} (${r.variant})` : r.model);

/** The comparison table's columns, shared by the terminal, the CSV, the JSON and the HTML. */
export const COMPARISON_COLUMNS: Column<StudyRow>[] = [
  { head: 'Model', key: 'model', kind: 'text', get: rowLabel },
  { head: 'Dataset', key: 'dataset', kind: 'text', get: (r) => r.dataset },
  { head: 'Params', key: 'params', kind: 'int', get: (r) => r.params },
  { head: 'MACs (M)', key: 'macs', kind: 'millions', get: (r) => r.macs },
  { head: 'Act. mem/img (MB)', key: 'activation_bytes', kind: 'megabytes', get: (r) => r.activationBytes },
  { head: 'Ckpt (MB)', key: 'checkpoint_bytes', kind: 'megabytes', get: (r) => r.checkpointBytes },
  { head: 'Train (img/s)', key: 'train_images_per_s', kind: 'int', get: (r) => r.imagesPerSec },
  { head: 'Lat. b1 (ms)', key: 'latency_b1_ms', kind: 'float', get: (r) => r.latency1Ms },
  { head: 'Lat. b64 (ms)', key: 'latency_b64_ms', kind: 'float', digits: 1, get: (r) => r.latency64Ms },
  { head: 'Best acc (%)', key: 'best_accuracy', kind: 'percent', get: (r) => r.bestAcc },
  { head: 'Final acc (%)', key: 'final_accuracy', kind: 'percent', get: (r) => r.finalAcc },
  { head: 'Bal. acc (%)', key: 'balanced_accuracy', kind: 'percent', get: (r) => r.balancedAcc },
  { head: 'Macro rec. (%)', key: 'macro_recall', kind: 'percent', get: (r) => r.macroRecall },
  { head: 'Train (s)', key: 'train_seconds', kind: 'seconds', get: (r) => r.trainSeconds },
  { head: 'Eval (s)', key: 'eval_seconds', kind: 'seconds', get: (r) => r.evalSeconds },
];

/** Which way is better, for marking the best value of each column. */
export const BETTER: Record<string, 'high' | 'low'> = {
  params: 'low', macs: 'low', activation_bytes: 'low', checkpoint_bytes: 'low', train_images_per_s: 'high', latency_b1_ms: 'low', latency_b64_ms: 'low',
  best_accuracy: 'high', final_accuracy: 'high', balanced_accuracy: 'high', macro_recall: 'high',
};

/** The JSON form: plain numbers, stds beside means, the runs' directories. */
export function rowsJson(rows: StudyRow[]): Record<string, unknown>[] {
  return rows.map((r) => {
    const o: Record<string, unknown> = { model: r.model, dataset: r.dataset, variant: r.variant, fraction: r.fraction, seeds: r.seeds };
    for (const c of COMPARISON_COLUMNS.slice(2)) {
      const v = c.get(r);
      const s = typeof v === 'object' && v !== null ? v : null;
      o[c.key] = s ? s.mean : null;
      if (s && s.n > 1) o[`${c.key}_std`] = s.std;
    }
    o.receptive_field = r.receptiveField?.mean ?? null;
    o.layers = r.layers?.mean ?? null;
    o.runs = r.runs.map((x) => x.runDir);
    return o;
  });
}
