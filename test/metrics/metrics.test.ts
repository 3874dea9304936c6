import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  accuracy,
  argmaxRows,
  averages,
  balancedAccuracy,
  confusionMatrix,
  perClassMetrics,
  topKAccuracy,
} from '../../src/metrics/classification.js';
import { classificationReport, formatConfusion, formatFixed, formatReport, WORST_MARK } from '../../src/metrics/report.js';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

function err(message: string): RegExp {
  return new RegExp(`^Error: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

describe('metrics against scikit-learn documentation examples (checked by hand)', () => {
  test('confusion_matrix: y_true=[2,0,2,2,0,1], y_pred=[0,0,2,2,0,2]', () => {
    assert.deepEqual(confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3), [
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
  });

  test('balanced_accuracy_score: y_true=[0,1,0,0,1,0], y_pred=[0,1,0,0,0,1] → 0.625', () => {
    // recall(0) = 3/4, recall(1) = 1/2 → mean 0.625
    close(balancedAccuracy([0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1], 2), 0.625);
  });

  test('top_k_accuracy_score (k=2) → 0.75', () => {
    const scores = Float32Array.from([0.5, 0.2, 0.2, 0.3, 0.4, 0.2, 0.2, 0.4, 0.3, 0.7, 0.2, 0.1]);
    close(topKAccuracy(scores, [0, 1, 2, 2], 3, 2), 0.75);
    close(topKAccuracy(scores, [0, 1, 2, 2], 3, 1), 0.5);
    close(topKAccuracy(scores, [0, 1, 2, 2], 3, 3), 1);
  });

  test('precision_recall_fscore_support: cat/dog/pig macro = weighted = (0.22, 0.33, 0.27)', () => {
    // y_true = [cat, dog, pig, cat, dog, pig], y_pred = [cat, pig, dog, cat, cat, dog]
    const m = perClassMetrics(confusionMatrix([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], 3));
    close(m.precision[0]!, 2 / 3);
    close(m.recall[0]!, 1);
    close(m.f1[0]!, 0.8);
    assert.deepEqual(m.precision.slice(1), [0, 0]);
    const { macro, weighted } = averages(m);
    close(macro.precision, 2 / 9);
    close(macro.recall, 1 / 3);
    close(macro.f1, 0.8 / 3);
    close(weighted.precision, 2 / 9);
    close(weighted.recall, 1 / 3);
    close(weighted.f1, 0.8 / 3);
  });

  test('classification_report text: y_true=[0,1,2,2,2], y_pred=[0,0,2,2,1]', () => {
    const names = ['class 0', 'class 1', 'class 2'];
    const r = classificationReport([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], { classNames: names });
    // Hand check: class 0 P=1/2 R=1 F=2/3; class 1 P=0 R=0 F=0; class 2 P=1 R=2/3 F=0.8.
    close(r.perClass[0]!.f1, 2 / 3);
    close(r.perClass[2]!.f1, 0.8);
    close(r.macroAvg.recall, (1 + 0 + 2 / 3) / 3);
    close(r.weightedAvg.f1, (2 / 3 + 0 + 3 * 0.8) / 5);
    const sklearn = [
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
    ];
    const plain = formatReport(r, names, { worst: 0 }).split('\n');
    assert.deepEqual(plain.slice(0, sklearn.length), sklearn);
    assert.deepEqual(plain.slice(sklearn.length), ['', 'balanced accuracy: 0.5556', '']);
    // Default: the worst-recall class (1 of 3 classes) is marked.
    const marked = formatReport(r).split('\n');
    assert.equal(marked[3], `     class 1       0.00      0.00      0.00         1  ${WORST_MARK}`);
    assert.equal(marked.filter((l) => l.includes(WORST_MARK)).length, 1);
  });
});

describe('metrics: edge cases and conventions', () => {
  test('zero division is 0 (sklearn zero_division=0); absent classes count in macro but not in balanced accuracy', () => {
    const r = classificationReport([0, 0, 1], [0, 0, 0], { numClasses: 3 });
    assert.deepEqual(
      r.perClass.map((c) => [c.precision, c.recall, c.f1, c.support]),
      [
        [2 / 3, 1, 0.8, 2],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
      ],
    );
    close(r.macroAvg.recall, 1 / 3);
    close(r.balancedAccuracy, 0.5); // class 2 has no true samples: excluded
    close(r.accuracy, 2 / 3);
    for (const v of [r.macroAvg.precision, r.macroAvg.f1, r.weightedAvg.precision]) assert.ok(Number.isFinite(v));
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });

  test('empty input gives zeros, not NaN', () => {
    assert.equal(accuracy([], []), 0);
    const r = classificationReport([], [], { numClasses: 2 });
    assert.deepEqual([r.accuracy, r.balancedAccuracy, r.macroAvg.f1, r.weightedAvg.f1], [0, 0, 0, 0]);
  });

  test('top-k ties go to the lower class index (k=1 agrees with argmax)', () => {
    const scores = [1, 1, 0, 0, 2, 2];
    assert.deepEqual(Array.from(argmaxRows(scores, 3)), [0, 1]);
    assert.equal(topKAccuracy(scores, [1, 2], 3, 1), 0);
    assert.equal(topKAccuracy(scores, [0, 1], 3, 1), 1);
    assert.equal(topKAccuracy(scores, [1, 2], 3, 2), 1);
  });

  test('classificationReport with scores adds top-k; class names default to indices', () => {
    const scores = Float32Array.from([0.9, 0.1, 0, 0.2, 0.3, 0.5, 0.1, 0.6, 0.3]);
    const yTrue = [0, 1, 2];
    const r = classificationReport(yTrue, argmaxRows(scores, 3), { scores, topK: [1, 2, 5] });
    assert.deepEqual(r.classNames, ['0', '1', '2']);
    assert.deepEqual(r.topK, { '1': 1 / 3, '2': 1 });
    const text = formatReport(r);
    assert.match(text, /\ntop-1 accuracy: 0\.3333\ntop-2 accuracy: 1\.0000\n$/);
  });

  const bad: [string, () => unknown, string][] = [
    ['length mismatch', () => confusionMatrix([0, 1], [0], 2), 'metrics: yTrue has 2 labels but yPred has 1'],
    ['true label out of range', () => confusionMatrix([0, 3], [0, 1], 3), 'metrics: yTrue[1] = 3 is outside 0..2'],
    ['predicted label out of range', () => confusionMatrix([0, 1], [-1, 1], 3), 'metrics: yPred[0] = -1 is outside 0..2'],
    ['score shape', () => topKAccuracy([1, 2, 3], [0, 1], 2, 1), 'metrics: scores has 3 values, expected 2×2 = 4'],
    ['bad k', () => topKAccuracy([1, 2], [0], 2, 0), 'metrics: k must be a positive integer, got 0'],
    ['class names', () => classificationReport([0], [0], { numClasses: 2, classNames: ['a'] }), 'classificationReport: 1 class names for 2 classes'],
  ];
  for (const [name, fn, msg] of bad) test(`error: ${name}`, () => assert.throws(fn, err(msg)));

  test('formatFixed rounds exact ties half-to-even like Python', () => {
    const cases: [number, number, string][] = [
      [0.625, 2, '0.62'],
      [0.375, 2, '0.38'],
      [0.125, 2, '0.12'],
      [0.005, 2, '0.01'], // 0.005 is slightly above 0.005 in binary
      [2.675, 2, '2.67'], // slightly below
      [1 / 3, 2, '0.33'],
      [0.5, 0, '0'],
      [1.5, 0, '2'],
      [1, 4, '1.0000'],
    ];
    for (const [x, d, want] of cases) assert.equal(formatFixed(x, d), want, `${x}`);
  });

  test('worst-recall marks: lowest recalls with support, never when all recalls are equal', () => {
    const yTrue = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];
    const yPred = [0, 0, 1, 0, 0, 0, 3, 3, 4, 1, 5, 5, 6, 6, 7, 7];
    const r = classificationReport(yTrue, yPred, { numClasses: 9 });
    const lines = formatReport(r).split('\n');
    const marked = lines.filter((l) => l.endsWith(WORST_MARK)).map((l) => l.trim().split(/\s+/)[0]);
    assert.deepEqual(marked, ['1', '2', '4']); // ceil(9/4) = 3 → min(3, 3); class 8 has no support
    const perfect = classificationReport([0, 1, 2], [0, 1, 2]);
    assert.ok(!formatReport(perfect).includes(WORST_MARK));
  });

  test('formatConfusion: rows = true class, columns = predicted, with totals', () => {
    const m = confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3);
    assert.equal(
      formatConfusion(m, ['cat', 'dog', 'a-very-long-class-name']),
      [
        'true \\ pred        0 1 2  total',
        '0 cat              2 0 0      2',
        '1 dog              0 0 1      1',
        '2 a-very-long-cla… 1 0 2      3',
        '',
      ].join('\n'),
    );
    assert.equal(formatConfusion([[10, 0], [3, 120]]), ['true \\ pred   0   1  total', '0            10   0     10', '1             3 120    123', ''].join('\n'));
  });
});
