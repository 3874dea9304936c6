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

const PLOT = { width: 460, height: 280 };
const LABEL = { fontSize: 10, charWidth: 5.6, gap: 6, dot: 5 };
/** Where a label sits beside its dot: text anchor, pixel offsets from the dot. */
const PLACES = {
  'right-above': { align: 'left', dx: LABEL.gap, dy: -LABEL.gap },
  'left-above': { align: 'right', dx: -LABEL.gap, dy: -LABEL.gap },
  'right-below': { align: 'left', dx: LABEL.gap, dy: 2 * LABEL.gap },
  'left-below': { align: 'right', dx: -LABEL.gap, dy: 2 * LABEL.gap },
} as const;
type Place = keyof typeof PLACES;
interface Box { x0: number; x1: number; y0: number; y1: number }
const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Places each label beside its dot where it covers no other label or dot, greedily in the given order, on a
 * pixel estimate of the plot (log scales niced to powers of ten, as Vega-Lite does). Vega-Lite has no label
 * collision avoidance of its own, and two models with similar cost and accuracy otherwise print over each other.
 */
export function placeLabels(points: readonly { label: string; cost: number; value: number }[], logCost: boolean): Place[] {
  if (points.length === 0) return [];
  const tx = (c: number): number => (logCost ? Math.log10(c) : c);
  const xs = points.map((p) => tx(p.cost)), ys = points.map((p) => p.value);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (logCost) [x0, x1] = [Math.floor(x0), Math.ceil(x1)];
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.1;
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
  const px = (x: number): number => (x1 > x0 ? ((x - x0) / (x1 - x0)) * PLOT.width : PLOT.width / 2);
  const py = (y: number): number => (y1 > y0 ? PLOT.height - ((y - y0) / (y1 - y0)) * PLOT.height : PLOT.height / 2);
  const at = points.map((p) => ({ x: px(tx(p.cost)), y: py(p.value) }));
  const taken: Box[] = at.map(({ x, y }) => ({ x0: x - LABEL.dot, x1: x + LABEL.dot, y0: y - LABEL.dot, y1: y + LABEL.dot }));
  return points.map((p, i) => {
    const w = p.label.length * LABEL.charWidth, h = LABEL.fontSize;
    const boxOf = (place: Place): Box => {
      const { align, dx, dy } = PLACES[place], x = at[i]!.x + dx, y = at[i]!.y + dy;
      return { x0: align === 'left' ? x : x - w, x1: align === 'left' ? x + w : x, y0: y - h / 2, y1: y + h / 2 };
    };
    const others = taken.filter((_, k) => k !== i);
    const free = (Object.keys(PLACES) as Place[]).find((place) => {
      const b = boxOf(place);
      return b.x0 >= -LABEL.gap && !others.some((o) => overlaps(o, b));
    }) ?? 'right-above';
    taken.push(boxOf(free));
    return free;
  });
}

/** Accuracy against a cost: one labelled dot per point, the Pareto front as a step line through its points. */
export function paretoSpec(points: readonly ParetoPoint[], opts: ParetoChartOptions): TopLevelSpec {
  const front = new Set(paretoFront(points));
  const values = points
    .map((p, i) => ({ label: p.label, cost: p.cost, value: p.value, front: front.has(i) ? 'Pareto front' : 'dominated' }))
    .filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.value) && (!opts.logCost || p.cost > 0));
  const places = placeLabels(values, opts.logCost ?? false);
  const placed = values.map((v, i) => ({ ...v, place: places[i]! }));
  const x = { field: 'cost', type: 'quantitative', title: opts.costTitle, scale: opts.logCost ? { type: 'log' } : { zero: false, nice: true }, axis: { format: TICK_FORMAT.number } };
  const y = { field: 'value', type: 'quantitative', title: opts.valueTitle ?? 'Test accuracy', scale: { zero: false, nice: true }, axis: { format: TICK_FORMAT.percent } };
  return vl({
    title: titleOf(`${opts.valueTitle ?? 'Test accuracy'} vs. ${opts.costTitle.replace(/ \(.*\)$/, '').toLowerCase()}`, opts),
    data: { values: placed },
    width: PLOT.width,
    height: PLOT.height,
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
      ...(Object.keys(PLACES) as Place[]).filter((place) => places.includes(place)).map((place) => ({
        transform: [{ filter: `datum.place === '${place}'` }],
        mark: { type: 'text' as const, ...PLACES[place], fontSize: LABEL.fontSize, color: TEXT },
        encoding: { text: { field: 'label', type: 'nominal' as const } },
      })),
    ],
  });
}
