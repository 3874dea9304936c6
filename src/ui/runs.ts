/**
 * The dashboard's view of a runs folder: every run directory below it (config.json and metrics.jsonl), whether a
 * training is writing it now (its lock is held by a live process), its summary row and its live details.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { readRun, summarizeRun } from '../report/index.js';
import type { ComparisonRow, EpochMetrics, EvalResult, RunConfig } from '../report/types.js';
import { LOCK_FILE, lockHolder } from '../train/run-lock.js';

export interface RunListing {
  /** Path relative to the runs folder, with '/' separators: the run's id in URLs. */
  name: string;
  live: boolean;
  summary: ComparisonRow | null;
  /** Epochs the configuration asks for (the run may stop earlier). */
  epochsPlanned: number | null;
  /** Why the run could not be read (a damaged file), else absent. */
  error?: string;
}

/** The latest epoch's per-class recall and confusion matrix (val-eval.json, written by the trainer each epoch). */
export interface EpochEval { epoch: number; classes: string[]; recall: (number | null)[]; confusion: number[][] }

export interface RunDetails {
  name: string;
  live: boolean;
  config: RunConfig;
  metrics: EpochMetrics[];
  eval: EvalResult | null;
  epochEval: EpochEval | null;
  /** Seconds left at the mean epoch time so far, while live. */
  etaSeconds: number | null;
}

/** Whether this process trains beside its dashboard (`convlab train --ui`): then a lock of our own pid is live too. */
let trainingHere = false;
export function setTrainingInThisProcess(on: boolean): void { trainingHere = on; }

function isLive(dir: string): boolean {
  if (lockHolder(dir) !== undefined) return true; // another live process holds the run's lock
  if (!trainingHere) return false;
  try {
    return Number.parseInt(readFileSync(join(dir, LOCK_FILE), 'utf8'), 10) === process.pid;
  } catch {
    return false;
  }
}

const MAX_DEPTH = 3;

/** Run directories under `root` (itself included), at most MAX_DEPTH levels down, sorted by name. */
export function findRunDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (existsSync(join(dir, 'config.json'))) { out.push(dir); return; }
    if (depth >= MAX_DEPTH) return;
    let names: string[];
    try { names = readdirSync(dir); } catch { return; }
    for (const n of names.sort()) {
      if (n.startsWith('.') || n === 'node_modules') continue;
      const path = join(dir, n);
      try { if (statSync(path).isDirectory()) walk(path, depth + 1); } catch { /* vanished meanwhile */ }
    }
  };
  walk(root, 0);
  return out;
}

export function runName(root: string, dir: string): string {
  return relative(root, dir).split(sep).join('/') || '.';
}

/** The run directory named `name` under `root`, or null when there is none (or the name leaves the folder). */
export function runDir(root: string, name: string): string | null {
  const dir = resolve(root, name);
  const inside = dir === resolve(root) || dir.startsWith(resolve(root) + sep);
  return inside && existsSync(join(dir, 'config.json')) ? dir : null;
}

export async function listRuns(root: string): Promise<RunListing[]> {
  return Promise.all(findRunDirs(root).map(async (dir) => {
    const name = runName(root, dir), live = isLive(dir);
    try {
      if (!existsSync(join(dir, 'metrics.jsonl'))) {
        const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfig;
        return { name, live, summary: null, epochsPlanned: numberOrNull(config.epochs) };
      }
      const run = await readRun(dir, { requireEval: false });
      const summary = run.metrics.length ? { ...summarizeRun(run), dir: name, label: name } : null;
      return { name, live, summary, epochsPlanned: numberOrNull(run.config.epochs) };
    } catch (e) {
      return { name, live, summary: null, epochsPlanned: null, error: (e as Error).message };
    }
  }));
}

export async function runDetails(root: string, name: string): Promise<RunDetails | null> {
  const dir = runDir(root, name);
  if (!dir) return null;
  const live = isLive(dir);
  const hasMetrics = existsSync(join(dir, 'metrics.jsonl'));
  const run = hasMetrics ? await readRun(dir, { requireEval: false })
    : { config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfig, metrics: [] as EpochMetrics[], eval: undefined };
  let epochEval: EpochEval | null = null;
  try { epochEval = JSON.parse(readFileSync(join(dir, 'val-eval.json'), 'utf8')) as EpochEval; } catch { /* absent in older runs */ }
  const planned = numberOrNull(run.config.epochs);
  const seconds = run.metrics.map((r) => r.epoch_seconds).filter((s): s is number => typeof s === 'number');
  const meanEpoch = seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : null;
  const etaSeconds = live && planned !== null && meanEpoch !== null ? Math.max(0, planned - run.metrics.length) * meanEpoch : null;
  return { name, live, config: run.config, metrics: run.metrics, eval: run.eval ?? null, epochEval, etaSeconds };
}

/** A change stamp of the files a run's live view shows: it moves whenever one of them is rewritten. */
export function runStamp(root: string, name: string): string {
  const dir = runDir(root, name);
  if (!dir) return 'missing';
  return ['metrics.jsonl', 'val-eval.json', 'eval.json', LOCK_FILE].map((f) => {
    try { const s = statSync(join(dir, f)); return `${s.mtimeMs}:${s.size}`; } catch { return '-'; }
  }).join('|');
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
