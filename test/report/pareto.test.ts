/** Pareto fronts (table-driven), the Pareto chart compiles cleanly, and the table formats. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paretoFront, paretoSpec, placeLabels } from '../../src/report/pareto.js';
import { compileSpec } from '../../src/report/charts.js';
import { formatTable, toCsv, type Column } from '../../src/report/table-format.js';

const pts = (...xs: [number, number][]) => xs.map(([cost, value], i) => ({ label: `p${i}`, cost, value }));

test('paretoFront: the points no other beats on both cost and value, by cost', { timeout: 5_000 }, () => {
  const cases: [string, ReturnType<typeof pts>, number[]][] = [
    ['empty', pts(), []],
    ['one point', pts([1, 0.5]), [0]],
    ['a dominated point is left out', pts([1, 0.9], [2, 0.8]), [0]],
    ['a trade-off keeps both, cheapest first', pts([2, 0.9], [1, 0.8]), [1, 0]],
    ['equal cost: only the more accurate', pts([1, 0.7], [1, 0.8]), [1]],
    ['equal value: only the cheaper', pts([2, 0.8], [1, 0.8]), [1]],
    ['a staircase with one point inside', pts([1, 0.5], [2, 0.7], [3, 0.6], [4, 0.9]), [0, 1, 3]],
    ['non-finite values never count', pts([1, NaN], [2, 0.5], [Infinity, 0.9]), [1]],
  ];
  for (const [name, points, want] of cases) assert.deepEqual(paretoFront(points), want, name);
});

test('paretoSpec compiles without warnings and marks the front', { timeout: 20_000 }, () => {
  const spec = paretoSpec(pts([1, 0.5], [2, 0.7], [3, 0.6]), { costTitle: 'Latency (ms)', logCost: true });
  assert.deepEqual(compileSpec(spec).warnings, []);
  const values = (spec as unknown as { data: { values: { label: string; front: string }[] } }).data.values;
  assert.deepEqual(values.map((v) => v.front), ['Pareto front', 'Pareto front', 'dominated']);
});

test('placeLabels: a label moves only when it would cover another label or dot', { timeout: 5_000 }, () => {
  const at = (label: string, cost: number, value: number) => ({ label, cost, value });
  const cases: [string, ReturnType<typeof at>[], boolean, string[]][] = [
    ['far apart: all to the right, above', [at('a', 1, 0.5), at('b', 100, 0.9)], true, ['right-above', 'right-above']],
    // The zoo study's clash: two models 1.1x apart in latency at the same accuracy.
    ['side by side: the first label moves left', [at('efficientnet_b0-cifar', 7.34, 0.615), at('alexnet-cifar', 8.68, 0.613), at('x', 1, 0.4), at('y', 100, 0.8)], true,
      ['left-above', 'right-above', 'right-above', 'right-above']],
    ['no room on the left either: below', [at('b', 1, 0.6), at('a-long-label', 1.05, 0.6), at('x', 100, 0.9)], true, ['right-below', 'right-above', 'right-above']],
    ['linear scale', [at('a', 0, 0), at('b', 1, 1)], false, ['right-above', 'right-above']],
  ];
  for (const [name, points, log, want] of cases) assert.deepEqual(placeLabels(points, log), want, name);
  const spec = paretoSpec(cases[1]![1], { costTitle: 'Latency (ms)', logCost: true });
  assert.deepEqual(compileSpec(spec).warnings, []);
  const marks = (spec as unknown as { layer: { mark: { type: string; align?: string } }[] }).layer.filter((l) => l.mark.type === 'text').map((l) => l.mark.align);
  assert.deepEqual(marks, ['left', 'right'], 'one text layer per placement in use');
});

test('formatTable and toCsv: units in headers, thousands separators, one-decimal percentages, mean ± std', { timeout: 5_000 }, () => {
  type R = { name: string; params: number; acc: { mean: number; std: number; n: number } | null };
  const cols: Column<R>[] = [
    { head: 'Model', key: 'model', kind: 'text', get: (r) => r.name },
    { head: 'Params', key: 'params', kind: 'int', get: (r) => r.params },
    { head: 'Acc (%)', key: 'acc', kind: 'percent', get: (r) => r.acc },
  ];
  const rows: R[] = [{ name: 'lenet5', params: 61706, acc: { mean: 0.9925051482455751, std: 0, n: 1 } }, { name: 'alexnet-cifar', params: 35855178, acc: { mean: 0.75, std: 0.0123, n: 3 } }, { name: 'x', params: NaN, acc: null }];
  assert.equal(formatTable(cols, rows), [
    'Model              Params     Acc (%)',
    '─────────────  ──────────  ──────────',
    'lenet5             61,706        99.3',
    'alexnet-cifar  35,855,178  75.0 ± 1.2',
    'x                       —           —',
  ].join('\n'));
  assert.equal(toCsv(cols, rows.slice(0, 2), { cpu: 'Test CPU', threads: '2' }), [
    '# cpu: Test CPU', '# threads: 2', 'model,params,params_std,acc,acc_std', 'lenet5,61706,,0.9925051482455751,', 'alexnet-cifar,35855178,,0.75,0.0123', '',
  ].join('\n'));
});
