/**
 * Tick labels carry the precision their range needs: every axis of every chart, rendered to SVG, shows
 * distinct labels, for wide and for narrow ranges (a fixed ".0%" printed "98%, 98%, 99%, 99%").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyVsTimeSpec, comparisonSpec, learningCurvesSpec, renderSvg, type TopLevelSpec } from '../../src/report/charts.js';
import type { ComparisonRow, EpochMetrics } from '../../src/report/types.js';

const TIMEOUT = { timeout: 60_000 };

/** The label texts of each axis in a rendered SVG, one list per axis, in drawing order. */
function axisLabels(svg: string): string[][] {
  const groups = [...svg.matchAll(/<g class="mark-text role-axis-label"[^>]*>(.*?)<\/g>/gs)];
  return groups.map((g) => [...(g[1] ?? '').matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1] ?? ''));
}

/** Epoch rows whose accuracy climbs evenly from `low` to `high`, ten seconds an epoch. */
function accuracyRows(low: number, high: number, epochs = 6): EpochMetrics[] {
  return Array.from({ length: epochs }, (_, i) => {
    const acc = low + ((high - low) * i) / (epochs - 1);
    return { epoch: i + 1, train_loss: 1 / (i + 2), train_acc: acc, val_loss: 1.1 / (i + 2), val_acc: acc, wall_seconds: 10 * (i + 1) };
  });
}

function comparisonRow(label: string, imagesPerSec: number, testAcc: number): ComparisonRow {
  return {
    dir: label, label, model: label, dataset: 'mnist', params: 1000, macsPerImage: null, epochs: 3, valAcc: testAcc, bestValAcc: testAcc,
    testAcc, macroRecall: testAcc, balancedAcc: testAcc, imagesPerSec, wallSeconds: 30,
  };
}

const ranges: [string, number, number][] = [
  ['wide (20 % to 90 %)', 0.2, 0.9],
  ['narrow (97.2 % to 99.5 %)', 0.972, 0.995],
  ['very narrow (99.12 % to 99.35 %)', 0.9912, 0.9935],
];

const charts: [string, TopLevelSpec][] = [];
for (const [name, low, high] of ranges) {
  charts.push([`learning curves, ${name}`, learningCurvesSpec(accuracyRows(low, high))]);
  charts.push([`accuracy vs. time, ${name}`, accuracyVsTimeSpec(accuracyRows(low, high))]);
}
charts.push(['comparison, slow runs (1.2 and 2.7 images/s)', comparisonSpec([comparisonRow('a', 1.2, 0.97), comparisonRow('b', 2.7, 0.975)])]);
charts.push(['comparison, fast runs', comparisonSpec([comparisonRow('a', 1200, 0.9), comparisonRow('b', 5400, 0.95)])]);

describe('tick labels', () => {
  for (const [name, spec] of charts) {
    it(`are distinct on every axis: ${name}`, TIMEOUT, async () => {
      const axes = axisLabels(await renderSvg(spec));
      assert.ok(axes.length >= 2, `${name}: found ${axes.length} axes with labels`);
      for (const labels of axes) {
        assert.ok(labels.length >= 2, `${name}: an axis has ${labels.length} labels`);
        assert.equal(new Set(labels).size, labels.length, `${name}: repeated tick labels ${labels.join(', ')}`);
      }
    });
  }

  it('show one decimal of a percent when the ticks are 0.2 % apart', TIMEOUT, async () => {
    const axes = axisLabels(await renderSvg(accuracyVsTimeSpec(accuracyRows(0.975, 0.993))));
    const percentAxis = axes.find((labels) => labels.every((l) => l.endsWith('%')));
    assert.deepEqual(percentAxis, ['97.4%', '97.6%', '97.8%', '98.0%', '98.2%', '98.4%', '98.6%', '98.8%', '99.0%', '99.2%', '99.4%']);
  });
});
