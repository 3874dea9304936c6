// Vega-Lite specs of a run's learning curves and accuracy against wall-clock time. No Node imports: the browser
// dashboard draws the same specs with vega-embed.
import type { TopLevelSpec } from 'vega-lite';
import { wallClock } from './wall-clock.js';
import { COLORS, TICK_FORMAT, finiteValues, titleOf, topTitleAxis, vl, type ChartTitle } from './chart-style.js';
import type { EpochMetrics } from './types.js';

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
        axis: topTitleAxis({ format: TICK_FORMAT.percent }),
      }),
    ],
    resolve: { scale: { color: 'shared', strokeDash: 'shared', y: 'independent' } },
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
    title: titleOf(`${evalSet} accuracy vs. wall-clock time`, opts),
    data: { values },
    width: 520,
    height: 260,
    encoding: {
      x: {
        field: 'time',
        type: 'quantitative',
        title: `${opts.timeTitle ?? 'Wall-clock time'} (${unit})`,
        scale: { zero: true, nice: true },
        axis: { grid: false, tickCount: 8 },
      },
      y: {
        field: 'acc',
        type: 'quantitative',
        title: `${evalSet} accuracy`,
        scale: { zero: false, nice: true },
        axis: topTitleAxis({ format: TICK_FORMAT.percent }),
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
