// Report layer entry points. Reads run directories only; never imports the training code.
import { basename, join, resolve } from 'node:path';
import {
  accuracyVsTimeSpec,
  comparisonSpec,
  confusionMatrixSpec,
  learningCurvesSpec,
  renderSvg,
  writeChart,
} from './charts.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { renderComparison, renderReport, type ReportCharts, type ReportOptions } from './html.js';
import { readRun, totalWallSeconds, wallClock } from './rundir.js';
import { evalSetOf, type ComparisonRow, type EpochMetrics, type RunData } from './types.js';

export * from './charts.js';
export * from './html.js';
export * from './rundir.js';
export type * from './types.js';

export interface ReportPaths {
  learningCurves: { svg: string; png: string };
  confusionMatrix: { svg: string; png: string };
  /** Absent when the metrics carry no timing (no wall_seconds / epoch_seconds). */
  accuracyVsTime?: { svg: string; png: string };
  html: string;
}

export interface WriteReportOptions extends ReportOptions {
  /** Colour the confusion matrix by row share (default) or by raw count. */
  normalize?: boolean;
}

/**
 * Reads the run in `dir` and writes, into the same directory (each file atomically):
 * learning-curves.{svg,png}, confusion-matrix.{svg,png}, accuracy-vs-time.{svg,png}
 * and report.html. Returns the paths written.
 */
export async function writeReport(dir: string, options: WriteReportOptions = {}): Promise<ReportPaths> {
  const run = await readRun(dir);
  const ev = run.eval!; // readRun requires eval.json by default
  const subtitle = `${run.config.model} · ${run.config.dataset}`;
  const evalSetName = evalSetOf(run.config);
  const charts: ReportCharts = {};

  const lc = await writeChart(dir, 'learning-curves', learningCurvesSpec(run.metrics, { subtitle, evalSetName }));
  charts.learningCurves = lc.svg;
  const cm = await writeChart(
    dir,
    'confusion-matrix',
    confusionMatrixSpec(ev.confusion, ev.classes, options.normalize ?? true, {
      title: `Confusion matrix (${ev.split} set)`,
    }),
  );
  charts.confusionMatrix = cm.svg;
  let accuracyVsTime: ReportPaths['accuracyVsTime'];
  const timed = run.evals ?? run.metrics;
  if (wallClock(timed).some((t) => t !== null)) {
    const avt = await writeChart(dir, 'accuracy-vs-time', accuracyVsTimeSpec(timed, { subtitle, evalSetName }));
    charts.accuracyVsTime = avt.svg;
    accuracyVsTime = { svg: avt.svgPath, png: avt.pngPath };
  }
  const html = join(dir, 'report.html');
  writeFileAtomic(html, renderReport(run, charts, options));
  return {
    learningCurves: { svg: lc.svgPath, png: lc.pngPath },
    confusionMatrix: { svg: cm.svgPath, png: cm.pngPath },
    ...(accuracyVsTime ? { accuracyVsTime } : {}),
    html,
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Summarises one run for comparison. `label` is filled in by compareRuns. */
export function summarizeRun(run: RunData): ComparisonRow {
  const m = run.metrics;
  const last: Partial<EpochMetrics> = m[m.length - 1] ?? {};
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    dir: run.dir,
    label: run.config.model,
    model: run.config.model,
    dataset: run.config.dataset,
    params: num(run.config.params),
    macsPerImage: num(run.config.macs_per_image),
    epochs: m.length,
    valAcc: num(last.val_acc),
    bestValAcc: m.length > 0 ? Math.max(...m.map((r) => r.val_acc)) : null,
    testAcc: run.eval ? run.eval.accuracy : null,
    macroRecall: num(run.eval?.macro.recall) ?? num(last.val_macro_recall),
    balancedAcc: num(run.eval?.balanced_accuracy) ?? num(run.eval?.macro.recall) ?? num(last.val_balanced_accuracy),
    imagesPerSec: median(m.map((r) => r.images_per_s).filter((v): v is number => num(v) !== null)),
    wallSeconds: totalWallSeconds(m),
  };
}

export interface Comparison {
  rows: ComparisonRow[];
  /** Self-contained comparison page (table plus an inline bar chart). */
  html: string;
}

/**
 * Reads several run directories (eval.json optional here) and builds a comparison:
 * one row per run, in the order given, and a self-contained HTML page.
 */
export async function compareRuns(dirs: string[], onWarning?: (line: string) => void): Promise<Comparison> {
  const runs = await Promise.all(dirs.map((d) => readRun(d, { requireEval: false, onWarning })));
  const rows = runs.map(summarizeRun);
  // Labels must be unique for the chart: add the directory name when models repeat.
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(r.model, (seen.get(r.model) ?? 0) + 1);
  for (const r of rows) {
    if (seen.get(r.model)! > 1) r.label = `${r.model} (${basename(resolve(r.dir))})`;
  }
  const labels = new Set<string>();
  rows.forEach((r, i) => {
    if (labels.has(r.label)) r.label = `${r.label} #${i + 1}`;
    labels.add(r.label);
  });
  const chart = rows.length > 0 ? await renderSvg(comparisonSpec(rows)) : undefined;
  return { rows, html: renderComparison(rows, chart) };
}
