/** A run directory's row: training time from wall_seconds, evaluation time summed from eval_seconds, seeds grouped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMPARISON_COLUMNS, groupSeeds, runRow } from '../../src/study/rows.js';
import type { EpochMetrics, RunData } from '../../src/report/index.js';

const epoch = (i: number, more: Partial<EpochMetrics>): EpochMetrics =>
  ({ epoch: i, train_loss: 1, train_acc: 0.5, val_loss: 1, val_acc: 0.4 + i / 100, ...more });
const run = (seed: number, metrics: EpochMetrics[]): RunData =>
  ({ dir: `/nowhere/run${seed}`, config: { model: 'lenet5', dataset: 'mnist', seed }, metrics });
const meta = { id: 'lenet5@mnist', variant: '', fraction: 1 };

test('runRow: training and evaluation time, each when known', { timeout: 5_000 }, () => {
  const cases: [string, EpochMetrics[], number | null, number | null][] = [
    ['both recorded', [epoch(1, { wall_seconds: 100, eval_seconds: 20 }), epoch(2, { wall_seconds: 210, eval_seconds: 25 })], 210, 45],
    ['no eval_seconds (older runs)', [epoch(1, { wall_seconds: 100 }), epoch(2, { wall_seconds: 210 })], 210, null],
    ['epoch_seconds only', [epoch(1, { epoch_seconds: 50, eval_seconds: 5 }), epoch(2, { epoch_seconds: 60 })], 110, 5],
    ['no timing', [epoch(1, {})], null, null],
  ];
  for (const [label, metrics, train, evaluation] of cases) {
    const row = runRow(run(0, metrics), meta);
    assert.equal(row.trainSeconds, train, label);
    assert.equal(row.evalSeconds, evaluation, label);
  }
});

test('groupSeeds: the time columns become mean ± std over seeds', { timeout: 5_000 }, () => {
  const rows = groupSeeds([
    runRow(run(0, [epoch(1, { wall_seconds: 100, eval_seconds: 10 })]), meta),
    runRow(run(1, [epoch(1, { wall_seconds: 200, eval_seconds: 30 })]), meta),
  ]);
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0]!.trainSeconds, { mean: 150, std: Math.sqrt(5000), n: 2 });
  assert.deepEqual(rows[0]!.evalSeconds, { mean: 20, std: Math.sqrt(200), n: 2 });
  const heads = COMPARISON_COLUMNS.map((c) => c.head);
  assert.ok(heads.includes('Train (s)') && heads.includes('Eval (s)'), heads.join(', '));
});
