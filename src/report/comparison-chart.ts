// The bar chart that compares runs: accuracy and macro recall, and training throughput.
import type { TopLevelSpec } from 'vega-lite';
import { COLORS, TEXT, TICK_FORMAT, titleOf, vl, type ChartTitle } from './chart-style.js';
import type { ComparisonRow } from './types.js';

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
          x: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: TICK_FORMAT.percent, tickCount: 5 } },
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
          x: { field: 'value', type: 'quantitative', title: null, scale: { nice: true }, axis: { format: TICK_FORMAT.number, tickCount: 4 } },
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
