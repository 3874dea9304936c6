import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classCounts } from '../../src/data/dataset.js';
import { imbalanceTargets, makeImbalanced, parseImbalance } from '../../src/data/imbalance.js';
import { fakeDataset, re } from './helpers.js';

describe('imbalance', () => {
  const parsed: [string, { kind: string; ratio: number }][] = [
    ['exp:100', { kind: 'exp', ratio: 100 }],
    ['step:10', { kind: 'step', ratio: 10 }],
    [' EXP : 50.5 ', { kind: 'exp', ratio: 50.5 }],
    ['exp:1', { kind: 'exp', ratio: 1 }],
    ['step:1e2', { kind: 'step', ratio: 100 }],
  ];
  for (const [spec, want] of parsed) {
    test(`parseImbalance("${spec}")`, () => assert.deepEqual(parseImbalance(spec), want));
  }

  const bad: [string, string][] = [
    ['exp', 'invalid imbalance spec "exp": expected exp:<ratio> or step:<ratio>, e.g. exp:100'],
    ['linear:10', 'invalid imbalance spec "linear:10": expected exp:<ratio> or step:<ratio>, e.g. exp:100'],
    ['exp:abc', 'invalid imbalance spec "exp:abc": expected exp:<ratio> or step:<ratio>, e.g. exp:100'],
    ['exp:-5', 'invalid imbalance spec "exp:-5": expected exp:<ratio> or step:<ratio>, e.g. exp:100'],
    ['', 'invalid imbalance spec "": expected exp:<ratio> or step:<ratio>, e.g. exp:100'],
    ['exp:0.5', 'invalid imbalance spec "exp:0.5": ratio must be a number >= 1, got 0.5'],
    ['step:0', 'invalid imbalance spec "step:0": ratio must be a number >= 1, got 0'],
  ];
  for (const [spec, msg] of bad) {
    test(`parseImbalance error for "${spec}"`, () => assert.throws(() => parseImbalance(spec), re(msg)));
  }

  test('exp:100 on 10 classes × 5000 gives the CIFAR-10-LT counts (12,406 images)', () => {
    const ds = fakeDataset(new Array(10).fill(5000), [1, 1, 1]);
    const r = makeImbalanced(ds, 'exp:100', 0);
    const want = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50];
    assert.deepEqual(r.counts, want);
    assert.equal(want.reduce((a, b) => a + b, 0), 12406);
    assert.equal(r.dataset.length, 12406);
    assert.deepEqual(classCounts(r.dataset), want);
    // indices ascending and labels consistent
    for (let i = 1; i < r.indices.length; i++) assert.ok(r.indices[i]! > r.indices[i - 1]!);
    for (let i = 0; i < r.indices.length; i += 97) assert.equal(r.dataset.labels[i], ds.labels[r.indices[i]!]);
  });

  test('step:10 keeps the first half at n_max, the rest at n_max/10', () => {
    assert.deepEqual(imbalanceTargets(5000, 10, { kind: 'step', ratio: 10 }), [5000, 5000, 5000, 5000, 5000, 500, 500, 500, 500, 500]);
    assert.deepEqual(imbalanceTargets(100, 5, { kind: 'step', ratio: 3 }), [100, 100, 33, 33, 33]);
    const ds = fakeDataset([40, 40, 40, 40], [1, 1, 1]);
    assert.deepEqual(makeImbalanced(ds, { kind: 'step', ratio: 4 }, 1).counts, [40, 40, 10, 10]);
  });

  test('counts are capped by what each class has', () => {
    const ds = fakeDataset([100, 3, 100], [1, 1, 1]);
    assert.deepEqual(makeImbalanced(ds, 'exp:10', 0).counts, [100, 3, 10]);
  });

  test('seeded choice within classes', () => {
    const ds = fakeDataset([50, 50, 50], [1, 1, 1]);
    const a = makeImbalanced(ds, 'exp:5', 1);
    const b = makeImbalanced(ds, 'exp:5', 1);
    const c = makeImbalanced(ds, 'exp:5', 2);
    assert.deepEqual(Array.from(a.indices), Array.from(b.indices));
    assert.notDeepEqual(Array.from(a.indices), Array.from(c.indices));
    assert.deepEqual(a.counts, c.counts);
  });

  test('error when a class ends with zero samples', () => {
    const ds = fakeDataset([50, 50, 50], [1, 1, 1]);
    assert.throws(
      () => makeImbalanced(ds, 'exp:100', 0),
      re('imbalance exp:100 leaves class 2 ("class2") with 0 samples (it has 50, target 0 from n_max = 50)'),
    );
    const missing = fakeDataset([50, 0, 50], [1, 1, 1]);
    assert.throws(
      () => makeImbalanced(missing, 'step:2', 0),
      re('imbalance step:2 leaves class 1 ("class1") with 0 samples (it has 0, target 25 from n_max = 50)'),
    );
  });
});
