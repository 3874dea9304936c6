/** Statements from made-up numbers: the sentences carry the numbers, and the verdicts flip when the numbers do. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classicStatements, claimStatements, exceeds, spearman, zooStatements, type Entry } from '../../src/study/statements.js';
import type { Stat } from '../../src/study/rows.js';

const s = (mean: number, n = 1, std = 0): Stat => ({ mean, std, n });
const row = (model: string, dataset: string, acc: number, more: Partial<Entry> = {}): Entry =>
  ({ model, dataset, variant: '', fraction: 1, finalAcc: s(acc), ...more });

test('exceeds: margins for single runs, twice the standard error with seeds', { timeout: 5_000 }, () => {
  const cases: [Stat | null, Stat | null, number, string][] = [
    [s(0.80), s(0.70), 0.01, 'supported'],
    [s(0.70), s(0.80), 0.01, 'not supported'],
    [s(0.705), s(0.70), 0.01, 'inconclusive (n too small)'],
    [s(0.80, 3, 0.01), s(0.70, 3, 0.01), 0.5, 'supported'],
    [s(0.71, 3, 0.05), s(0.70, 3, 0.05), 0, 'inconclusive (n too small)'],
    [null, s(0.7), 0.01, 'inconclusive (n too small)'],
  ];
  for (const [a, b, margin, want] of cases) assert.equal(exceeds(a, b, margin), want, `${JSON.stringify([a, b, margin])}`);
});

const classic = (lenetCifar: number, alexCifar: number, ltRecall: number, rwRecall: number): Entry[] => [
  row('lenet5', 'mnist', 0.99, { params: s(61_706), macs: s(416_520) }),
  row('lenet5', 'cifar10', lenetCifar, { params: s(62_006), macs: s(651_720) }),
  row('alexnet-cifar', 'mnist', 0.99, { params: s(28_513_994) }),
  row('alexnet-cifar', 'cifar10', alexCifar, { params: s(35_855_178), macs: s(200_515_584) }),
  row('alexnet-cifar', 'cifar10', 0.5, { variant: 'lt', macroRecall: s(ltRecall) }),
  row('alexnet-cifar', 'cifar10', 0.48, { variant: 'lt-reweighted', macroRecall: s(rwRecall) }),
];

test('classic: (a), (b), (c) carry the numbers, and each verdict flips with them', { timeout: 5_000 }, () => {
  const [a, b, c] = classicStatements(classic(0.55, 0.75, 0.40, 0.50));
  assert.equal(a!.sentence, 'AlexNet-CIFAR has 578× the parameters and 308× the multiply-adds of LeNet-5, and reached 75.0 % on CIFAR-10 against LeNet-5\'s 55.0 % in the same budget.');
  assert.equal(a!.verdict, 'supported');
  assert.match(b!.sentence, /^On MNIST, AlexNet-CIFAR reached 99\.0 % against LeNet-5's 99\.0 %; on CIFAR-10, LeNet-5 reached 55\.0 % against AlexNet-CIFAR's 75\.0 %\./);
  assert.equal(b!.verdict, 'supported');
  assert.equal(c!.sentence.startsWith('On CIFAR-10-LT, AlexNet-CIFAR reached 50.0 % accuracy with 40.0 % macro recall; re-weighting the loss gave 48.0 % accuracy and 50.0 % macro recall.'), true);
  assert.equal(c!.verdict, 'supported');
  const [a2, b2, c2] = classicStatements(classic(0.75, 0.55, 0.50, 0.40));
  assert.deepEqual([a2!.verdict, b2!.verdict, c2!.verdict], ['not supported', 'not supported', 'not supported']);
  const [a3] = classicStatements(classic(0.60, 0.605, 0.4, 0.4));
  assert.equal(a3!.verdict, 'inconclusive (n too small)');
});

const claims = (googlenet: number, plain: number, vit10: number): Entry[] => [
  row('lenet5', 'cifar10', 0.55, { fraction: 1, params: s(62_006), latency1Ms: s(0.1) }),
  row('lenet5', 'cifar10', 0.40, { fraction: 0.1, params: s(62_006) }),
  row('densenet-bc-100', 'cifar10', 0.80, { params: s(769_162), latency1Ms: s(20) }),
  row('densenet-bc-100', 'cifar10', 0.50, { fraction: 0.1, params: s(769_162) }),
  row('vit-cifar', 'cifar10', 0.70, { params: s(6_268_810), latency1Ms: s(5) }),
  row('vit-cifar', 'cifar10', vit10, { fraction: 0.1, params: s(6_268_810) }),
  row('mobilenet_v2-cifar', 'cifar10', 0.78, { params: s(2_296_922), latency1Ms: s(3) }),
  row('efficientnet_b0-cifar', 'cifar10', 0.79, { params: s(3_598_598), macs: s(30_331_392) }),
  row('googlenet-cifar', 'cifar10', googlenet, { params: s(6_166_250), macs: s(1_521_756_160), latency1Ms: s(30) }),
  row('alexnet-cifar', 'cifar10', plain, { variant: 'w0.44', params: s(6_875_718), macs: s(40e6), latency1Ms: s(4) }),
];

test('claims: five statements; the Inception and ViT verdicts flip when their numbers do', { timeout: 5_000 }, () => {
  const byId = (rows: Entry[]) => Object.fromEntries(claimStatements(rows).map((x) => [x.id, x]));
  const one = byId(claims(0.82, 0.70, 0.30));
  assert.deepEqual(Object.keys(one).sort(), ['densenet', 'efficientnet', 'inception', 'mobilenet', 'vit']);
  assert.match(one.inception!.sentence, /^googlenet-cifar \(6\.17 M parameters, 1522 M multiply-adds\) reached 82\.0 %; a plain CNN of similar size, AlexNet-CIFAR at reduced width \(6\.88 M, 40 M multiply-adds\), reached 70\.0 %/);
  assert.equal(one.inception!.verdict, 'supported');
  assert.match(one.vit!.sentence, /^ViT-CIFAR trails the best CNN by 20\.0 points on 10 % of CIFAR-10 \(30\.0 % against densenet-bc-100's 50\.0 %\) and by 12\.0 points on 100 % \(70\.0 % against googlenet-cifar's 82\.0 %\)/);
  assert.equal(one.vit!.verdict, 'supported');
  assert.equal(one.densenet!.verdict, 'supported');
  const two = byId(claims(0.70, 0.82, 0.62));
  assert.equal(two.inception!.verdict, 'not supported');
  assert.equal(two.vit!.verdict, 'not supported', 'ViT ahead on 10 %: the claim fails');
});

test('spearman: ranks with ties, perfect and reversed orders', { timeout: 5_000 }, () => {
  const cases: [number[], number[], number | undefined][] = [
    [[1, 2, 3, 4], [10, 20, 30, 40], 1],
    [[1, 2, 3, 4], [40, 30, 20, 10], -1],
    [[1, 2, 3, 4, 5], [2, 1, 4, 3, 5], 0.8],
    [[1, 2, 2, 3], [1, 2, 3, 4], 0.9486832980505138],
    [[1, 2], [1, 2], undefined],
    [[1, 1, 1], [1, 2, 3], undefined],
  ];
  for (const [x, y, want] of cases) {
    const got = spearman(x, y);
    if (want === undefined) assert.equal(got, undefined, JSON.stringify([x, y]));
    else assert.ok(Math.abs(got! - want) < 1e-12, `${JSON.stringify([x, y])}: ${got} != ${want}`);
  }
});

// MACs, latency at batch 1 and 64, parameters, training images/s, accuracy: the shape of the zoo study's rows.
const zoo = (accLargest: number, b1OfSmallest: number): Entry[] => [
  row('big', 'cifar10', accLargest, { macs: s(200e6), latency1Ms: s(8), latency64Ms: s(90), params: s(36e6), imagesPerSec: s(170) }),
  row('mid', 'cifar10', 0.60, { macs: s(90e6), latency1Ms: s(6), latency64Ms: s(60), params: s(2.3e6), imagesPerSec: s(300) }),
  row('small', 'cifar10', 0.75, { macs: s(5e6), latency1Ms: s(b1OfSmallest), latency64Ms: s(30), params: s(1.5e6), imagesPerSec: s(420) }),
];

test('zooStatements: multiply-adds against latency, and size against accuracy, flip with the numbers', { timeout: 5_000 }, () => {
  const agree = zooStatements(zoo(0.8, 2)), disagree = zooStatements(zoo(0.6, 7));
  const byId = (st: ReturnType<typeof zooStatements>, id: string) => st.find((x) => x.id === id)!;
  assert.equal(byId(agree, 'macs-latency-b1').verdict, 'supported');
  assert.equal(byId(disagree, 'macs-latency-b1').verdict, 'not supported');
  assert.match(byId(disagree, 'macs-latency-b1').sentence, /rank correlation between multiply-adds and latency at batch 1 on this machine is 0\.50/);
  // An inversion (fewer multiply-adds, yet slower) is the example when there is one; else the most overstated speed-up.
  assert.match(byId(disagree, 'macs-latency-b1').sentence, /small has 18× fewer multiply-adds than mid, but is 1\.2× slower \(7\.0 against 6\.0 ms\)/);
  assert.match(byId(agree, 'macs-latency-b1').sentence, /small has 40× fewer multiply-adds than big, but is only 4\.0× faster \(2\.0 against 8\.0 ms\)/);
  assert.equal(byId(disagree, 'macs-latency-b64').verdict, 'supported');
  assert.equal(byId(agree, 'size-accuracy').verdict, 'supported');
  assert.equal(byId(disagree, 'size-accuracy').verdict, 'not supported');
  assert.match(byId(disagree, 'size-accuracy').sentence, /big \(36\.00 M parameters\), reached 60\.0 %; the most accurate other model, small \(1\.50 M\), reached 75\.0 %/);
  assert.match(byId(disagree, 'size-accuracy').sentence, /with training images\/s\./);
});
