/** Per-class recall as bars, in the report's chart style (the dashboard's live view). */
import type { TopLevelSpec } from 'vega-lite';
import { COLORS, vl } from '../report/chart-style.js';

export function perClassRecallSpec(classes: string[], recall: (number | null)[], title: string): TopLevelSpec {
  const values = classes.map((c, i) => ({ class: c, recall: recall[i] ?? null }));
  return vl({
    title: { text: title },
    width: Math.max(200, Math.min(480, 28 * classes.length)),
    height: 180,
    data: { values },
    mark: { type: 'bar', color: COLORS.recall },
    encoding: {
      x: { field: 'class', type: 'nominal', sort: classes, title: null, axis: { labelAngle: 0 } },
      y: { field: 'recall', type: 'quantitative', title: 'recall', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      tooltip: [{ field: 'class' }, { field: 'recall', format: '.2%' }],
    },
  });
}
