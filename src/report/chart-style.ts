// The look shared by every chart: colours, the Vega-Lite theme, axis and title helpers, and the tick label
// formats. The chart specs are in charts.ts, confusion-chart.ts and comparison-chart.ts.
import type { TopLevelSpec } from 'vega-lite';
import { FONT_STACK } from './font-stack.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Series colours, shared by every chart so "Validation" is always the same colour. */
export const COLORS = {
  train: '#3b6fb6',
  val: '#e8793a',
  recall: '#8a5cc2',
  balanced: '#2e9e8f',
  neutral: '#4b5563',
} as const;

export const TEXT = '#1f2937';
/** Sequential blues for heatmaps, starting near white so empty cells recede. */
export const HEAT = ['#f4f8fc', '#c9dcef', '#84b5dc', '#3d86c4', '#11569c', '#082f66'];
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
 * The specs are built as plain objects and checked by the Vega-Lite compiler at render time (see compileSpec,
 * which collects its warnings): vega-lite's TypeScript types are too deep to infer literal specs against, so
 * this is the one place that narrows a spec object to vega-lite's type. It also adds the schema and the theme.
 */
export function vl(spec: object): TopLevelSpec {
  const full: object = { $schema: SCHEMA, config: theme(), ...spec };
  return full as TopLevelSpec;
}

/**
 * Tick label formats without a fixed precision: Vega then takes the precision from the tick step (d3's
 * tickFormat), so a narrow range reads "98.2%, 98.4%, 98.6%" where a fixed ".0%" printed "98%, 98%, 99%".
 */
export const TICK_FORMAT = { percent: '%', number: ',f' } as const;

/** A y axis whose title sits horizontally above the plot, left-aligned with it. */
export function topTitleAxis(extra: Record<string, unknown> = {}): Record<string, unknown> {
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

export function finiteValues(values: (number | undefined | null)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

export interface ChartTitle {
  title?: string;
  subtitle?: string;
  /** What the per-epoch "val" metrics were measured on: "Validation" (default) or "Test" (runs with --val-split 0). */
  evalSetName?: string;
  /** The time axis's name (default "Wall-clock time"): "Training time" where evaluation time is left out. */
  timeTitle?: string;
}

export function titleOf(defaultTitle: string, opts: ChartTitle): Record<string, unknown> {
  const t: Record<string, unknown> = { text: opts.title ?? defaultTitle };
  if (opts.subtitle) t.subtitle = opts.subtitle;
  return t;
}
