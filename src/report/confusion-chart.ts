// The confusion-matrix heatmap of a run's evaluation.
import type { TopLevelSpec } from 'vega-lite';
import { HEAT, TEXT, titleOf, vl, type ChartTitle } from './chart-style.js';

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
