import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  accuracyVsTimeSpec,
  comparisonSpec,
  compileSpec,
  confusionMatrixSpec,
  learningCurvesSpec,
  renderPng,
  renderSvg,
  writeChart,
} from '../../src/report/charts.js';
import { resolveFonts } from '../../src/report/fonts.js';
import type { ComparisonRow, EpochMetrics } from '../../src/report/types.js';
import { CLASSES, sampleConfusion, sampleMetrics } from './sample-run.js';

const rows = sampleMetrics(8) as EpochMetrics[];
const cmpRows: ComparisonRow[] = [
  { dir: 'a', label: 'lenet5', model: 'lenet5', dataset: 'mnist', params: 61706, macsPerImage: null, epochs: 10, valAcc: 0.98, bestValAcc: 0.985, testAcc: 0.984, macroRecall: 0.982, balancedAcc: 0.982, imagesPerSec: 5200, wallSeconds: 130 },
  { dir: 'b', label: 'cnn-small', model: 'cnn-small', dataset: 'mnist', params: 120000, macsPerImage: null, epochs: 10, valAcc: 0.99, bestValAcc: 0.991, testAcc: 0.99, macroRecall: null, balancedAcc: null, imagesPerSec: null, wallSeconds: null },
];

function flatten(spec: unknown): string {
  return JSON.stringify(spec);
}

describe('chart specs', () => {
  it('compile without Vega-Lite warnings', () => {
    const specs = {
      learningCurves: learningCurvesSpec(rows),
      confusion: confusionMatrixSpec(sampleConfusion(), CLASSES),
      confusionCounts: confusionMatrixSpec(sampleConfusion(), CLASSES, false),
      accuracyVsTime: accuracyVsTimeSpec(rows),
      accuracyVsTimeMulti: accuracyVsTimeSpec([
        { label: 'a', rows },
        { label: 'b', rows: sampleMetrics(5, 0.05, 2) as EpochMetrics[] },
      ]),
      comparison: comparisonSpec(cmpRows),
    };
    for (const [name, spec] of Object.entries(specs)) {
      assert.deepEqual(compileSpec(spec).warnings, [], name);
    }
  });

  it('learning curves show macro recall only when it was recorded', () => {
    assert.ok(flatten(learningCurvesSpec(rows)).includes('Validation macro recall'));
    const plain = rows.map(({ val_macro_recall: _r, val_balanced_accuracy: _b, ...r }) => r as EpochMetrics);
    const s = flatten(learningCurvesSpec(plain));
    assert.ok(!s.includes('macro recall'));
    assert.ok(s.includes('"title":"Accuracy"'));
  });

  it('confusion matrix normalises colour by row and keeps counts as text', () => {
    const spec = confusionMatrixSpec(
      [
        [8, 2],
        [1, 1],
      ],
      ['a', 'b'],
    ) as unknown as { data: { values: { t: string; p: string; count: number; rate: number }[] } };
    const cell = (t: string, p: string) => spec.data.values.find((v) => v.t === t && v.p === p)!;
    assert.equal(cell('a', 'a').rate, 0.8);
    assert.equal(cell('b', 'a').rate, 0.5);
    assert.equal(cell('b', 'a').count, 1);
  });

  it('escapes class names in the SVG', async () => {
    const svg = await renderSvg(confusionMatrixSpec([[1, 0], [0, 1]], ['<b>&x', 'ok']));
    assert.ok(svg.includes('&lt;b&gt;&amp;x'));
    assert.ok(!svg.includes('<b>'));
  });

  it('renders a PNG at the requested width with the chart font', async () => {
    const svg = await renderSvg(accuracyVsTimeSpec(rows));
    const png = renderPng(svg, { width: 600 });
    assert.equal(png.readUInt32BE(16), 600);
    assert.ok(resolveFonts().files.length > 0, 'a chart font was found (install fonts-dejavu-core)');
  });

  it('writeChart writes <basename>.svg and .png atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convlab-chart-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const out = await writeChart(dir, 'cmp', comparisonSpec(cmpRows));
    assert.deepEqual(readdirSync(dir).sort(), ['cmp.png', 'cmp.svg']);
    assert.equal(readFileSync(out.svgPath, 'utf8'), out.svg);
    assert.ok(out.svg.includes('Training throughput (images/s)'));
  });
});
