// Vega-Lite chart specs for a run, and rendering them to SVG and PNG.
// Specs are plain Vega-Lite; rendering compiles them with vega-lite, lays them out
// with a headless Vega View, and rasterises the SVG with resvg.
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FONT_STACK, measureText, resolveFonts } from './fonts.js';
import { wallClock } from './rundir.js';
import type { ComparisonRow, EpochMetrics } from './types.js';

export type { TopLevelSpec } from 'vega-lite';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Series colours, shared by every chart so "Validation" is always the same colour. */
export const COLORS = {
  train: '#3b6fb6',
  val: '#e8793a',
  recall: '#8a5cc2',
  balanced: '#2e9e8f',
  neutral: '#4b5563',
} as const;

const TEXT = '#1f2937';
/** Sequential blues for heatmaps, starting near white so empty cells recede. */
const HEAT = ['#f4f8fc', '#c9dcef', '#84b5dc', '#3d86c4', '#11569c', '#082f66'];
const MUTED = '#6b7280';

/** The common look of every chart. */
function theme(): Record<string, unknown> {
  return {
    font: FONT_STACK,
    background: 'white',
    padding: { left: 12, right: 20, top: 12, bottom: 12 },
    view: { stroke: null },
    title: {
      fontSize: 15,
      fontWeight: 'bold',
      color: TEXT,
      anchor: 'start',
      subtitleColor: MUTED,
      subtitleFontSize: 11.5,
      subtitlePadding: 4,
      offset: 14,
    },
    axis: {
      labelFontSize: 11,
      labelColor: '#4b5563',
      titleFontSize: 12,
      titleFontWeight: 'normal',
      titleColor: '#374151',
      titlePadding: 10,
      gridColor: '#e9edf2',
      domainColor: '#9ca3af',
      tickColor: '#9ca3af',
    },
    legend: {
      labelFontSize: 12,
      labelColor: TEXT,
      titleFontSize: 12,
      titleFontWeight: 'normal',
      titleColor: '#374151',
      symbolStrokeWidth: 2.5,
      symbolSize: 220,
      columnPadding: 24,
    },
    header: { labelFontSize: 13, labelColor: TEXT, titleFontSize: 13 },
    concat: { spacing: 48 },
    line: { strokeWidth: 2.25 },
  };
}

/**
 * The specs are built as plain objects and checked by the Vega-Lite compiler at render
 * time (see compileSpec, which collects its warnings); vega-lite's TypeScript types are
 * too deep to infer literal specs against without noise.
 */
function vl(spec: Record<string, unknown>): TopLevelSpec {
  return spec as unknown as TopLevelSpec;
}

/** A y axis whose title sits horizontally above the plot, left-aligned with it. */
function topTitleAxis(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    titleAngle: 0,
    titleAlign: 'left',
    titleBaseline: 'bottom',
    titleX: 0,
    titleY: -12,
    titleFontWeight: 'bold',
    titleColor: TEXT,
    titleFontSize: 12.5,
    ...extra,
  };
}

const pct = (range: number) => (range < 0.02 ? '.1%' : '.0%');

function finiteValues(values: (number | undefined | null)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

export interface ChartTitle {
  title?: string;
  subtitle?: string;
  /** What the per-epoch "val" metrics were measured on: "Validation" (default) or "Test" (runs with --val-split 0). */
  evalSetName?: string;
}

function titleOf(defaultTitle: string, opts: ChartTitle): Record<string, unknown> {
  const t: Record<string, unknown> = { text: opts.title ?? defaultTitle };
  if (opts.subtitle) t.subtitle = opts.subtitle;
  return t;
}

// ---------------------------------------------------------------------------
// Learning curves

/**
 * Two panels side by side: loss per epoch (train vs validation) and accuracy per
 * epoch (train accuracy, validation accuracy and, when recorded, validation macro
 * recall — dashed — so the accuracy/recall gap on imbalanced data is visible).
 */
export function learningCurvesSpec(rows: EpochMetrics[], opts: ChartTitle = {}): TopLevelSpec {
  const evalSet = opts.evalSetName ?? 'Validation';
  const hasRecall = rows.some((r) => typeof r.val_macro_recall === 'number');
  const hasBalanced = !hasRecall && rows.some((r) => typeof r.val_balanced_accuracy === 'number');
  const values: { panel: string; epoch: number; series: string; value: number }[] = [];
  const push = (panel: string, epoch: number, series: string, value: unknown) => {
    if (typeof value === 'number' && Number.isFinite(value)) values.push({ panel, epoch, series, value });
  };
  for (const r of rows) {
    push('loss', r.epoch, 'Train', r.train_loss);
    push('loss', r.epoch, evalSet, r.val_loss);
    push('acc', r.epoch, 'Train', r.train_acc);
    push('acc', r.epoch, evalSet, r.val_acc);
    if (hasRecall) push('acc', r.epoch, `${evalSet} macro recall`, r.val_macro_recall);
    if (hasBalanced) push('acc', r.epoch, `${evalSet} balanced accuracy`, r.val_balanced_accuracy);
  }
  const domain = ['Train', evalSet];
  const range: string[] = [COLORS.train, COLORS.val];
  const dash: number[][] = [[1, 0], [1, 0]];
  if (hasRecall) {
    domain.push(`${evalSet} macro recall`);
    range.push(COLORS.recall);
    dash.push([6, 4]);
  }
  if (hasBalanced) {
    domain.push(`${evalSet} balanced accuracy`);
    range.push(COLORS.balanced);
    dash.push([6, 4]);
  }
  const epochs = finiteValues(rows.map((r) => r.epoch));
  const minEpoch = Math.min(...epochs);
  const maxEpoch = Math.max(...epochs);
  const accValues = finiteValues(values.filter((v) => v.panel === 'acc').map((v) => v.value));
  const accRange = Math.max(...accValues) - Math.min(...accValues);
  const showPoints = rows.length <= 40;

  const x = {
    field: 'epoch',
    type: 'quantitative',
    title: 'Epoch',
    scale: { domain: minEpoch === maxEpoch ? [minEpoch - 0.5, maxEpoch + 0.5] : [minEpoch, maxEpoch], nice: false },
    axis: { tickMinStep: 1, format: 'd', grid: false },
  };
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain, range },
    legend: { orient: 'bottom', direction: 'horizontal', title: null, symbolType: 'stroke', symbolSize: 500 },
  };
  const strokeDash = { field: 'series', type: 'nominal', title: null, scale: { domain, range: dash } };
  const mark = { type: 'line', point: showPoints ? { filled: true, size: 28 } : false, strokeWidth: 2.25 };

  const panel = (filter: string, y: Record<string, unknown>) => ({
    width: 380,
    height: 250,
    transform: [{ filter }],
    mark,
    encoding: { x, y, color, strokeDash },
  });
  return vl({
    $schema: SCHEMA,
    config: theme(),
    title: titleOf('Learning curves', opts),
    data: { values },
    hconcat: [
      panel("datum.panel === 'loss'", {
        field: 'value',
        type: 'quantitative',
        title: 'Loss (cross-entropy)',
        scale: { zero: true },
        axis: topTitleAxis(),
      }),
      panel("datum.panel === 'acc'", {
        field: 'value',
        type: 'quantitative',
        title: hasRecall ? 'Accuracy and macro recall' : hasBalanced ? 'Accuracy and balanced accuracy' : 'Accuracy',
        scale: { zero: false, nice: true },
        axis: topTitleAxis({ format: pct(accRange) }),
      }),
    ],
    resolve: { scale: { color: 'shared', strokeDash: 'shared', y: 'independent' } },
  });
}

// ---------------------------------------------------------------------------
// Confusion matrix

export interface ConfusionOptions extends ChartTitle {
  /** Longest side of the matrix in pixels (default 440). */
  size?: number;
}

/**
 * Heatmap of a confusion matrix (rows = true class, columns = predicted class) with the
 * count in every cell. With `normalize` (default) the colour is the share of the true
 * class's row, so rare classes are as readable as common ones; otherwise it is the count.
 */
export function confusionMatrixSpec(
  matrix: number[][],
  classes: string[],
  normalize = true,
  opts: ConfusionOptions = {},
): TopLevelSpec {
  const n = classes.length;
  const values: { t: string; p: string; count: number; rate: number; diag: boolean }[] = [];
  let maxCount = 0;
  for (let i = 0; i < n; i++) {
    const row = matrix[i] ?? [];
    const sum = row.reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) {
      const count = row[j] ?? 0;
      maxCount = Math.max(maxCount, count);
      values.push({ t: classes[i]!, p: classes[j]!, count, rate: sum > 0 ? count / sum : 0, diag: i === j });
    }
  }
  const size = opts.size ?? 440;
  const step = Math.max(4, Math.min(46, Math.floor(size / Math.max(1, n))));
  const digits = String(Math.round(maxCount)).length;
  const cellFont = Math.min(12, Math.floor((step - 6) / (0.64 * digits)));
  const showText = cellFont >= 7;
  const longest = Math.max(0, ...classes.map((c) => c.length));
  const labelFont = Math.max(6, Math.min(11, step - 2));
  const showLabels = step >= 7;

  const colorField = normalize ? 'rate' : 'count';
  const threshold = normalize ? 0.55 : maxCount * 0.55;
  const axisCommon = { labelFontSize: labelFont, labels: showLabels, ticks: false, domain: false, labelLimit: 120 };

  const layers: unknown[] = [
    {
      mark: { type: 'rect', stroke: 'white', strokeWidth: step >= 12 ? 1 : 0 },
      encoding: {
        color: {
          field: colorField,
          type: 'quantitative',
          title: normalize ? ['Share of', 'true class'] : 'Count',
          scale: normalize ? { domain: [0, 1], range: HEAT } : { zero: true, range: HEAT },
          legend: {
            format: normalize ? '.0%' : ',d',
            gradientLength: Math.max(120, Math.min(step * n, 320)),
            gradientThickness: 12,
            titlePadding: 8,
          },
        },
      },
    },
  ];
  if (showText) {
    layers.push({
      mark: { type: 'text', fontSize: cellFont },
      encoding: {
        text: { field: 'count', type: 'quantitative', format: ',d' },
        color: {
          condition: [
            { test: 'datum.count === 0', value: '#c4c9d1' },
            { test: `datum.${colorField} > ${threshold}`, value: 'white' },
          ],
          value: TEXT,
        },
      },
    });
  }

  return vl({
    $schema: SCHEMA,
    config: theme(),
    title: titleOf('Confusion matrix', {
      ...opts,
      subtitle:
        opts.subtitle ??
        ['Rows: true class', normalize ? 'colour: share of the row' : 'colour: count', showText ? 'numbers: counts' : '']
          .filter(Boolean)
          .join(' · '),
    }),
    data: { values },
    width: { step },
    height: { step },
    encoding: {
      x: {
        field: 'p',
        type: 'nominal',
        sort: classes,
        title: 'Predicted class',
        axis: { ...axisCommon, orient: 'bottom', labelAngle: longest > 3 ? -40 : 0, labelAlign: longest > 3 ? 'right' : 'center' },
      },
      y: { field: 't', type: 'nominal', sort: classes, title: 'True class', axis: axisCommon },
    },
    layer: layers,
  });
}

// ---------------------------------------------------------------------------
// Accuracy against wall-clock time

export interface LabelledRows {
  label: string;
  rows: EpochMetrics[];
}

/**
 * Validation accuracy against cumulative wall-clock time (from `wall_seconds`, or summed
 * `epoch_seconds`). Pass several labelled runs to overlay them; the time unit switches to
 * minutes or hours for long runs.
 */
export function accuracyVsTimeSpec(input: EpochMetrics[] | LabelledRows[], opts: ChartTitle = {}): TopLevelSpec {
  const evalSet = opts.evalSetName ?? 'Validation';
  const series: LabelledRows[] =
    input.length > 0 && 'rows' in (input[0] as object) ? (input as LabelledRows[]) : [{ label: evalSet, rows: input as EpochMetrics[] }];
  const points: { label: string; seconds: number; acc: number; epoch: number; last: boolean }[] = [];
  for (const s of series) {
    const clock = wallClock(s.rows);
    s.rows.forEach((r, i) => {
      const t = clock[i];
      if (t !== null && t !== undefined && Number.isFinite(r.val_acc)) {
        points.push({ label: s.label, seconds: t, acc: r.val_acc, epoch: r.epoch, last: false });
      }
    });
    const lastOfSeries = points.filter((p) => p.label === s.label).at(-1);
    if (lastOfSeries) lastOfSeries.last = true;
  }
  const maxT = Math.max(0, ...points.map((p) => p.seconds));
  const [unit, div] = maxT > 3 * 3600 ? ['h', 3600] : maxT > 300 ? ['min', 60] : ['s', 1];
  const values = points.map((p) => ({ ...p, time: p.seconds / div }));
  const accs = points.map((p) => p.acc);
  const accRange = accs.length ? Math.max(...accs) - Math.min(...accs) : 1;
  const multi = series.length > 1;
  const palette = [COLORS.val, COLORS.train, COLORS.recall, COLORS.balanced, '#d1495b', '#8c6d31', '#5f7d95', '#b07aa1'];

  const color = multi
    ? { field: 'label', type: 'nominal', title: null, scale: { range: palette }, legend: { orient: 'bottom', direction: 'horizontal', symbolType: 'stroke', symbolSize: 500 } }
    : { value: COLORS.val };
  return vl({
    $schema: SCHEMA,
    config: theme(),
    title: titleOf(`${evalSet} accuracy vs. wall-clock time`, opts),
    data: { values },
    width: 520,
    height: 260,
    encoding: {
      x: {
        field: 'time',
        type: 'quantitative',
        title: `Wall-clock time (${unit})`,
        scale: { zero: true, nice: true },
        axis: { grid: false, tickCount: 8 },
      },
      y: {
        field: 'acc',
        type: 'quantitative',
        title: `${evalSet} accuracy`,
        scale: { zero: false, nice: true },
        axis: topTitleAxis({ format: pct(accRange) }),
      },
      color,
    },
    layer: [
      {
        mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 2.25 },
        encoding: { order: { field: 'epoch', type: 'quantitative' } },
      },
      {
        // Final value of each run, printed next to its last point.
        transform: [{ filter: 'datum.last' }],
        mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -8, fontSize: 11, fontWeight: 'bold' },
        encoding: {
          text: { field: 'acc', type: 'quantitative', format: accRange < 0.02 ? '.2%' : '.1%' },
        },
      },
    ],
  });
}

// ---------------------------------------------------------------------------
// Comparison of runs

/**
 * Horizontal bars comparing runs: test accuracy and macro recall (left, 0–100%) and
 * training throughput in images/s (right). One bar group per run, labelled with the
 * row's `label`, in the order given.
 */
export function comparisonSpec(rows: ComparisonRow[], opts: ChartTitle = {}): TopLevelSpec {
  const labels = rows.map((r) => r.label);
  const metricValues: { label: string; metric: string; value: number }[] = [];
  const speedValues: { label: string; value: number }[] = [];
  for (const r of rows) {
    if (r.testAcc !== null) metricValues.push({ label: r.label, metric: 'Test accuracy', value: r.testAcc });
    if (r.macroRecall !== null) metricValues.push({ label: r.label, metric: 'Macro recall', value: r.macroRecall });
    if (r.imagesPerSec !== null) speedValues.push({ label: r.label, value: r.imagesPerSec });
  }
  const y = {
    field: 'label',
    type: 'nominal',
    sort: labels,
    title: null,
    scale: { paddingInner: 0.3, paddingOuter: 0.15 },
    axis: { labelFontSize: 12, labelLimit: 220, labelPadding: 8, ticks: false },
  };
  // One band per run, in both panels (yOffset splits the left panel's band in two).
  const height = { step: 56, for: 'position' };
  return vl({
    $schema: SCHEMA,
    config: theme(),
    title: titleOf('Run comparison', opts),
    hconcat: [
      {
        title: { text: 'Accuracy and macro recall', fontSize: 13, fontWeight: 'bold', color: TEXT, anchor: 'start' },
        data: { values: metricValues },
        width: 320,
        height,
        encoding: {
          y,
          yOffset: { field: 'metric', type: 'nominal', sort: ['Test accuracy', 'Macro recall'], scale: { paddingInner: 0.08 } },
          x: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 5 } },
        },
        layer: [
          {
            mark: { type: 'bar', cornerRadiusEnd: 2 },
            encoding: {
              color: {
                field: 'metric',
                type: 'nominal',
                title: null,
                scale: { domain: ['Test accuracy', 'Macro recall'], range: [COLORS.val, COLORS.recall] },
                legend: { orient: 'bottom', direction: 'horizontal' },
              },
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10.5, color: TEXT },
            encoding: { text: { field: 'value', type: 'quantitative', format: '.1%' } },
          },
        ],
      },
      {
        title: { text: 'Training throughput (images/s)', fontSize: 13, fontWeight: 'bold', color: TEXT, anchor: 'start' },
        data: { values: speedValues },
        width: 260,
        height,
        encoding: {
          y: { ...y, axis: { labels: false, ticks: false, domain: false, title: null } },
          x: { field: 'value', type: 'quantitative', title: null, scale: { nice: true }, axis: { format: ',d', tickCount: 4 } },
        },
        layer: [
          { mark: { type: 'bar', color: COLORS.train, cornerRadiusEnd: 2, height: { band: 0.6 } } },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10.5, color: TEXT },
            encoding: { text: { field: 'value', type: 'quantitative', format: ',.0f' } },
          },
        ],
      },
    ],
  });
}

// ---------------------------------------------------------------------------
// Rendering

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

let metricsInstalled = false;

/**
 * Makes Vega measure label widths with the real advance widths of the font resvg will
 * draw with (Vega's built-in estimate, without node-canvas, is ~40% too wide).
 */
function installTextMetrics(): void {
  if (metricsInstalled) return;
  metricsInstalled = true;
  const fonts = resolveFonts();
  if (!fonts.regular) return;
  const regular = fonts.regular;
  const bold = fonts.bold ?? fonts.regular;
  const tm = (vega as unknown as { textMetrics?: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  if (!tm) return;
  tm.width = (item: TextItem, text: unknown) => {
    const s = text == null ? '' : String(text).trim();
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    if (!s || size <= 0) return 0;
    const w = item.fontWeight;
    const isBold = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
    const width = measureText(isBold && fonts.bold ? bold : regular, s, size);
    // Vega applies `limit` (truncation) itself; it calls back with the truncated string.
    return width;
  };
}

/**
 * Compiles a Vega-Lite spec to Vega, collecting the compiler's warnings instead of
 * printing them (tests assert there are none).
 */
export function compileSpec(spec: TopLevelSpec): { spec: vega.Spec; warnings: string[] } {
  const warnings: string[] = [];
  let level = 0;
  const logger: vega.LoggerInterface = {
    level(l?: number): never {
      if (l === undefined) return level as never;
      level = l;
      return logger as never;
    },
    error(...args: readonly unknown[]) {
      throw new Error(args.map(String).join(' '));
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return { spec: compile(spec, { logger }).spec, warnings };
}

/** Compiles a Vega-Lite spec and renders it to an SVG string with a headless Vega View. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  installTextMetrics();
  const vgSpec = compileSpec(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Output width in pixels; default: twice the SVG's own width (crisp on high-DPI screens). */
  width?: number;
}

/** Rasterises an SVG with resvg, using the chart font (see fonts.ts) plus system fonts. */
export function renderPng(svg: string, opts: PngOptions = {}): Buffer {
  const fonts = resolveFonts();
  const font: Record<string, unknown> = { loadSystemFonts: true, fontFiles: fonts.files };
  if (fonts.family) {
    font.defaultFontFamily = fonts.family;
    font.sansSerifFamily = fonts.family;
  }
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: opts.width ? { mode: 'width', value: Math.round(opts.width) } : { mode: 'zoom', value: 2 },
    font,
    shapeRendering: 2,
    textRendering: 1,
  });
  return resvg.render().asPng();
}

/** Writes a file atomically: a temporary file in the same directory, then rename over the target. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export interface ChartFiles {
  svgPath: string;
  pngPath: string;
  /** The SVG markup that was written (for inlining into HTML). */
  svg: string;
}

/** Renders `spec` and writes `<dir>/<basename>.svg` and `<dir>/<basename>.png`, each atomically. */
export async function writeChart(dir: string, basename: string, spec: TopLevelSpec, opts: PngOptions = {}): Promise<ChartFiles> {
  const svg = await renderSvg(spec);
  const png = renderPng(svg, opts);
  const svgPath = join(dir, `${basename}.svg`);
  const pngPath = join(dir, `${basename}.png`);
  await writeFileAtomic(svgPath, svg);
  await writeFileAtomic(pngPath, png);
  return { svgPath, pngPath, svg };
}
