/** The playground's live curves: loss and accuracy against the step, appended to a Vega view as training goes. */
import embed from 'vega-embed';
import type { TopLevelSpec } from 'vega-lite';
import { COLORS } from '../report/chart-style.js';
import { FONT_STACK } from '../report/font-stack.js';

export interface CurvePoint { step: number; metric: 'loss' | 'accuracy'; series: 'train' | 'test'; value: number }

function panel(metric: CurvePoint['metric'], title: string): Record<string, unknown> {
  return {
    width: 300, height: 180, title,
    transform: [{ filter: `datum.metric === '${metric}'` }],
    mark: { type: 'line', point: { filled: true, size: 16 }, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: metric === 'accuracy' ? false : true }, axis: metric === 'accuracy' ? { format: '.0%' } : {} },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top', labelFontSize: 12 }, scale: { domain: ['train', 'test'], range: [COLORS.train, COLORS.val] } },
    },
  };
}

export async function liveCurves(el: HTMLElement): Promise<{ add(points: CurvePoint[]): void; clear(): void }> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // Flush end labels: the last step's tick label would otherwise overhang the chart and be cut off.
    config: { font: FONT_STACK, view: { stroke: null }, axisX: { labelFlush: true } },
    data: { name: 'points' },
    hconcat: [panel('loss', 'Loss'), panel('accuracy', 'Accuracy')],
  } as unknown as TopLevelSpec;
  const { view } = await embed(el, spec, { actions: false, renderer: 'svg', logLevel: 1 }); // 1: errors only (an empty chart warns)
  return {
    // resize(): new data widens the axes, and the concatenated panels must be laid out (and the SVG sized) again.
    add(points) { void view.insert('points', points).resize().runAsync(); },
    clear() { void view.remove('points', () => true).resize().runAsync(); },
  };
}
