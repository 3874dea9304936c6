/**
 * A JSON-able classification report and fixed-width text renderings of it.
 * See ./classification.ts for the metric conventions (zero division → 0, like
 * scikit-learn's zero_division=0).
 */
import {
  accuracy,
  averages,
  balancedAccuracyFromMatrix,
  confusionMatrix,
  perClassMetrics,
  topKAccuracy,
  type AverageMetrics,
  type Labels,
} from './classification.js';

export interface ClassReport {
  label: number;
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  numSamples: number;
  numClasses: number;
  classNames: string[];
  accuracy: number;
  balancedAccuracy: number;
  /** Top-k accuracies keyed by k (only when scores were given). */
  topK?: Record<string, number>;
  perClass: ClassReport[];
  macroAvg: AverageMetrics;
  weightedAvg: AverageMetrics;
  /** Rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
}

export interface ReportOptions {
  /** Default: classNames.length, else 1 + the largest label seen. */
  numClasses?: number;
  /** Default: "0", "1", ... */
  classNames?: string[];
  /** N × C logits or probabilities, for top-k accuracy. */
  scores?: ArrayLike<number>;
  /** Which k to report when scores are given (default [1, 5]; k above numClasses is skipped). */
  topK?: number[];
}

/** Build a classification report (all metrics + confusion matrix) as a plain JSON-able object. */
export function classificationReport(yTrue: Labels, yPred: Labels, opts: ReportOptions = {}): ClassificationReport {
  let numClasses = opts.numClasses ?? opts.classNames?.length;
  if (numClasses === undefined) {
    let mx = -1;
    for (let i = 0; i < yTrue.length; i++) mx = Math.max(mx, yTrue[i]!, yPred[i]!);
    numClasses = mx + 1;
  }
  const classNames = opts.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i));
  if (classNames.length !== numClasses) {
    throw new Error(`classificationReport: ${classNames.length} class names for ${numClasses} classes`);
  }
  const matrix = confusionMatrix(yTrue, yPred, numClasses);
  const m = perClassMetrics(matrix);
  const avg = averages(m);
  const report: ClassificationReport = {
    numSamples: yTrue.length,
    numClasses,
    classNames: classNames.slice(),
    accuracy: accuracy(yTrue, yPred),
    balancedAccuracy: balancedAccuracyFromMatrix(matrix),
    perClass: classNames.map((name, c) => ({
      label: c,
      name,
      precision: m.precision[c]!,
      recall: m.recall[c]!,
      f1: m.f1[c]!,
      support: m.support[c]!,
    })),
    macroAvg: avg.macro,
    weightedAvg: avg.weighted,
    confusionMatrix: matrix,
  };
  if (opts.scores) {
    const ks = (opts.topK ?? [1, 5]).filter((k) => k <= numClasses);
    report.topK = {};
    for (const k of ks) report.topK[String(k)] = topKAccuracy(opts.scores, yTrue, numClasses, k);
  }
  return report;
}

/**
 * x.toFixed(digits), but with exact ties rounded half-to-even, as Python's
 * format() does (so 0.625 → "0.62", matching scikit-learn's text output).
 */
export function formatFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  if (!Number.isFinite(x) || Math.abs(x) >= 1e15) return s;
  const exact = x.toFixed(Math.min(100, digits + 70));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return s;
  const truncated = exact.slice(0, dot + 1 + digits).replace(/\.$/, '');
  const last = truncated.replace('.', '').slice(-1);
  return Number(last) % 2 === 0 ? truncated : s;
}

export interface FormatReportOptions {
  /** Decimal places (default 2, as sklearn). */
  digits?: number;
  /**
   * Mark this many classes with the lowest recall (default: min(3, ceil(C/4))).
   * Only classes with support > 0 and recall below the best recall are marked.
   */
  worst?: number;
}

export const WORST_MARK = '<- worst recall';

/** Indices of the classes to mark as worst-recall (ascending recall, ties by index). */
export function worstRecallClasses(report: ClassificationReport, count: number): number[] {
  const eligible = report.perClass.filter((c) => c.support > 0);
  const best = Math.max(...eligible.map((c) => c.recall));
  return eligible
    .filter((c) => c.recall < best)
    .sort((a, b) => a.recall - b.recall || a.label - b.label)
    .slice(0, Math.max(0, count))
    .map((c) => c.label);
}

/**
 * Fixed-width text table in the layout of scikit-learn's classification_report,
 * with the worst-recall classes marked, followed by balanced and top-k accuracy.
 */
export function formatReport(report: ClassificationReport, classNames?: string[], opts: FormatReportOptions = {}): string {
  const digits = opts.digits ?? 2;
  const names = classNames ?? report.classNames;
  const C = report.numClasses;
  const worst = new Set(worstRecallClasses(report, opts.worst ?? Math.min(3, Math.ceil(C / 4))));
  const lastHeading = 'weighted avg';
  const width = Math.max(lastHeading.length, digits, ...names.map((n) => n.length));
  const f = (x: number) => formatFixed(x, digits).padStart(9);
  const headers = ['precision', 'recall', 'f1-score', 'support'];
  const lines: string[] = [];
  lines.push(`${''.padStart(width)} ${headers.map((h) => ` ${h.padStart(9)}`).join('')}`);
  lines.push('');
  report.perClass.forEach((c, i) => {
    let row = `${(names[i] ?? String(i)).padStart(width)}  ${f(c.precision)} ${f(c.recall)} ${f(c.f1)} ${String(c.support).padStart(9)}`;
    if (worst.has(i)) row += `  ${WORST_MARK}`;
    lines.push(row);
  });
  lines.push('');
  const total = report.numSamples;
  lines.push(`${'accuracy'.padStart(width)}  ${''.padStart(9)} ${''.padStart(9)} ${f(report.accuracy)} ${String(total).padStart(9)}`);
  for (const [label, a] of [
    ['macro avg', report.macroAvg],
    ['weighted avg', report.weightedAvg],
  ] as const) {
    lines.push(`${label.padStart(width)}  ${f(a.precision)} ${f(a.recall)} ${f(a.f1)} ${String(a.support).padStart(9)}`);
  }
  lines.push('');
  lines.push(`balanced accuracy: ${formatFixed(report.balancedAccuracy, Math.max(digits, 4))}`);
  if (report.topK) {
    for (const [k, v] of Object.entries(report.topK)) {
      lines.push(`top-${k} accuracy: ${formatFixed(v, Math.max(digits, 4))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface FormatConfusionOptions {
  /** Longest class name shown in row labels (default 16; longer names are cut with '…'). */
  maxNameLength?: number;
}

/**
 * Confusion matrix as a text table: one row per true class ("<index> <name>"),
 * one column per predicted class (headed by its index), plus the row total.
 */
export function formatConfusion(matrix: number[][], classNames?: string[], opts: FormatConfusionOptions = {}): string {
  const C = matrix.length;
  const maxName = opts.maxNameLength ?? 16;
  const names = classNames ?? Array.from({ length: C }, (_, i) => String(i));
  const cut = (s: string) => (s.length > maxName ? `${s.slice(0, maxName - 1)}…` : s);
  const rowLabels = names.map((n, i) => (n === String(i) ? n : `${i} ${cut(n)}`));
  const corner = 'true \\ pred';
  const labelWidth = Math.max(corner.length, ...rowLabels.map((l) => l.length));
  const totals = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  let maxCell = 0;
  for (const r of matrix) for (const v of r) maxCell = Math.max(maxCell, v);
  const cell = Math.max(String(maxCell).length, String(C - 1).length) + 1;
  const totalWidth = Math.max('total'.length, ...totals.map((t) => String(t).length)) + 2;
  const lines: string[] = [];
  lines.push(
    corner.padEnd(labelWidth) +
      Array.from({ length: C }, (_, j) => String(j).padStart(cell)).join('') +
      'total'.padStart(totalWidth),
  );
  matrix.forEach((row, i) => {
    lines.push(
      rowLabels[i]!.padEnd(labelWidth) + row.map((v) => String(v).padStart(cell)).join('') + String(totals[i]).padStart(totalWidth),
    );
  });
  return `${lines.join('\n')}\n`;
}
