// The report layer's chart API: learning curves and accuracy against wall-clock time (learning-charts.ts), the
// confusion-matrix and comparison specs, and the rendering.
export type { TopLevelSpec } from 'vega-lite';
export { COLORS, type ChartTitle } from './chart-style.js';
export { learningCurvesSpec, accuracyVsTimeSpec, type LabelledRows } from './learning-charts.js';
export { confusionMatrixSpec, type ConfusionOptions } from './confusion-chart.js';
export { comparisonSpec } from './comparison-chart.js';
export { compileSpec, renderPng, renderSvg, writeChart, type ChartFiles, type PngOptions } from './chart-render.js';
