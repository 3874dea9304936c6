// Pareto fronts of accuracy against a cost (latency, parameters, training time), and the scatter chart that marks
// them. Pure: plain points in, indices or a Vega-Lite spec out.
import type { TopLevelSpec } from 'vega-lite';
import { COLORS, TEXT, TICK_FORMAT, titleOf, vl, type ChartTitle } from './chart-style.js';

export interface ParetoPoint {
  label: string;
  /** The cost: lower is better. */
  cost: number;
  /** The value: higher is better (an accuracy). */
  value: number;
}

/**
 * Indices of the points no other point dominates (no other has a cost ≤ and a value ≥, one of them strictly),
 * ordered by cost. Points with a non-finite cost or value are never on the front.
 */
export function paretoFront(points: readonly ParetoPoint[]): number[] {
  const finite = points.map((p, i) => ({ p, i })).filter(({ p }) => Number.isFinite(p.cost) && Number.isFinite(p.value));
  finite.sort((a, b) => a.p.cost - b.p.cost || b.p.value - a.p.value);
  const front: number[] = [];
  let bestValue = -Infinity;
  for (const { p, i } of finite) {
    if (p.value > bestValue) {
      front.push(i);
      bestValue = p.value;
    }
  }
  return front;
}

export interface ParetoChartOptions extends ChartTitle {
  costTitle: string;
  valueTitle?: string;
  /** A log scale for costs spanning orders of magnitude (parameters, latency). */
  logCost?: boolean;
}

/** Accuracy against a cost: one labelled dot per point, the Pareto front as a step line through its points. */
export function paretoSpec(points: readonly ParetoPoint[], opts: ParetoChartOptions): TopLevelSpec {
  const front = new Set(paretoFront(points));
  const values = points
    .map((p, i) => ({ label: p.label, cost: p.cost, value: p.value, front: front.has(i) ? 'Pareto front' : 'dominated' }))
    .filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.value) && (!opts.logCost || p.cost > 0));
  const x = { field: 'cost', type: 'quantitative', title: opts.costTitle, scale: opts.logCost ? { type: 'log' } : { zero: false, nice: true }, axis: { format: TICK_FORMAT.number } };
  const y = { field: 'value', type: 'quantitative', title: opts.valueTitle ?? 'Test accuracy', scale: { zero: false, nice: true }, axis: { format: TICK_FORMAT.percent } };
  return vl({
    title: titleOf(`${opts.valueTitle ?? 'Test accuracy'} vs. ${opts.costTitle.replace(/ \(.*\)$/, '').toLowerCase()}`, opts),
    data: { values },
    width: 460,
    height: 280,
    encoding: { x, y },
    layer: [
      {
        transform: [{ filter: "datum.front === 'Pareto front'" }],
        mark: { type: 'line', interpolate: 'step-after', color: COLORS.val, strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { order: { field: 'cost', type: 'quantitative' } },
      },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          color: { field: 'front', type: 'nominal', title: null, scale: { domain: ['Pareto front', 'dominated'], range: [COLORS.val, COLORS.neutral] }, legend: { orient: 'bottom', direction: 'horizontal' } },
          tooltip: [{ field: 'label', type: 'nominal' }, { field: 'cost', type: 'quantitative', format: ',.4~f' }, { field: 'value', type: 'quantitative', format: '.1%' }],
        },
      },
      { mark: { type: 'text', align: 'left', dx: 6, dy: -6, fontSize: 10, color: TEXT }, encoding: { text: { field: 'label', type: 'nominal' } } },
    ],
  });
}
