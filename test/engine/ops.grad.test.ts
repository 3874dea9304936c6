/** Every op's backward against float64 central differences, over table-driven shape grids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { gradcheck, type GradCase } from './gradcheck.js';

const positive = (rng: E.Rng): number => 0.5 + rng.next() * 2;
const awayFromKinks = (rng: E.Rng): number => { const v = rng.normal() * 2; return Math.abs(v) < 0.05 || Math.abs(Math.abs(v) - 3) < 0.05 ? v + 0.2 : v; };
/** Uniform over [-1.5, 7.5], across both kinks of relu6 (0 and 6), staying 0.05 clear of them. */
const awayFromRelu6Kinks = (rng: E.Rng): number => { const v = -1.5 + rng.next() * 9; return Math.abs(v) < 0.05 || Math.abs(v - 6) < 0.05 ? v + 0.2 : v; };

const unary: [string, (x: E.Tensor) => E.Tensor, GradCase['sample']?][] = [
  ['relu', E.relu, awayFromKinks],
  ['leakyRelu', (x) => E.leakyRelu(x, 0.1), awayFromKinks],
  ['tanh', E.tanh],
  ['sigmoid', E.sigmoid],
  ['gelu', E.gelu],
  ['silu', E.silu],
  ['hardswish', E.hardswish, awayFromKinks],
  ['hardsigmoid', E.hardsigmoid, awayFromKinks],
  ['relu6', E.relu6, awayFromRelu6Kinks],
  ['exp', E.exp],
  ['log', E.log, positive],
  ['neg', E.neg],
  ['sqrt', E.sqrt, positive],
  ['square', E.square],
  ['abs', E.abs, awayFromKinks],
  ['pow 1.5', (x) => E.pow(x, 1.5), positive],
  ['addScalar', (x) => E.addScalar(x, 2)],
  ['mulScalar', (x) => E.mulScalar(x, -3)],
];

const cases: GradCase[] = [
  ...unary.map(([name, fn, sample]) => ({ name, shapes: [[3, 5]], fn, sample })),
  // Broadcasting arithmetic: same shape, row/column vectors, scalars, missing leading axes.
  ...(['add', 'sub', 'mul', 'div'] as const).flatMap((op) => [
    [[2, 3], [2, 3]], [[2, 3, 4], [3, 1]], [[4], [2, 3, 4]], [[2, 1, 4], [1, 3, 1]], [[2, 3], []],
  ].map(([a, b]) => ({
    name: `${op} ${JSON.stringify(a)} ${JSON.stringify(b)}`, shapes: [a!, b!], fn: E[op],
    sample: op === 'div' ? (rng: E.Rng, k: number) => (k === 1 ? (rng.next() < 0.5 ? -1 : 1) * positive(rng) : rng.normal()) : undefined,
  }))),
  { name: 'sum all', shapes: [[2, 3, 4]], fn: (x) => E.sum(x) },
  { name: 'sum axis 1', shapes: [[2, 3, 4]], fn: (x) => E.sum(x, 1) },
  { name: 'sum axes 0,2 keepDims', shapes: [[2, 3, 4]], fn: (x) => E.sum(x, [0, 2], true) },
  { name: 'mean axis -1', shapes: [[2, 3, 4]], fn: (x) => E.mean(x, -1) },
  { name: 'expand', shapes: [[3, 1]], fn: (x) => E.expand(x, [2, 3, 4]) },
  { name: 'reshape', shapes: [[2, 6]], fn: (x) => E.reshape(x, [3, -1]) },
  { name: 'flatten', shapes: [[2, 3, 2, 2]], fn: (x) => E.flatten(x) },
  { name: 'permute', shapes: [[2, 3, 4]], fn: (x) => E.permute(x, [2, 0, 1]) },
  { name: 'transpose', shapes: [[3, 5]], fn: (x) => E.transpose(x) },
  { name: 'concat axis 1', shapes: [[2, 2, 3], [2, 1, 3], [2, 4, 3]], fn: (...xs) => E.concat(xs, 1) },
  { name: 'split axis -1', shapes: [[2, 7]], fn: (x) => { const [a, b] = E.split(x, [3, 4], -1); return E.mul(E.sum(a!, -1, true), b!); } },
  { name: 'slice', shapes: [[3, 5]], fn: (x) => E.slice(x, 1, 1, 3) },
  { name: 'pad', shapes: [[2, 3, 3]], fn: (x) => E.pad(x, [[1, 0], [2, 1]]) },
  { name: 'matmul 2d', shapes: [[3, 4], [4, 5]], fn: E.matmul },
  { name: 'matmul batched', shapes: [[2, 3, 4], [2, 4, 5]], fn: E.matmul },
  { name: 'matmul batched @ 2d', shapes: [[2, 3, 4], [4, 2]], fn: E.matmul },
  { name: 'matmul broadcast batch', shapes: [[2, 1, 3, 4], [3, 4, 2]], fn: E.matmul },
  { name: 'linear', shapes: [[4, 3], [5, 3], [5]], fn: E.linear },
  { name: 'linear no bias, 3-d input', shapes: [[2, 4, 3], [5, 3]], fn: (x, w) => E.linear(x, w!) },
  ...[
    { x: [2, 3, 5, 5], w: [4, 3, 3, 3], o: { padding: 1 } },
    { x: [1, 2, 7, 6], w: [3, 2, 3, 2], o: { stride: 2 } },
    { x: [1, 2, 7, 7], w: [2, 2, 3, 3], o: { stride: [2, 1] as [number, number], padding: [1, 0] as [number, number] } },
    { x: [1, 2, 7, 7], w: [2, 2, 3, 3], o: { dilation: 2, padding: 1 } },
    { x: [2, 4, 5, 5], w: [6, 2, 3, 3], o: { groups: 2, padding: 1 } },
    { x: [1, 4, 6, 6], w: [4, 1, 3, 3], o: { groups: 4, stride: 2, padding: 1 } },
    { x: [2, 3, 4, 4], w: [5, 3, 1, 1], o: {} },
  ].map(({ x, w, o }) => ({
    name: `conv2d x${JSON.stringify(x)} w${JSON.stringify(w)} ${JSON.stringify(o)}`,
    shapes: [x, w, [w[0]!]], fn: (a: E.Tensor, b?: E.Tensor, c?: E.Tensor) => E.conv2d(a, b!, c, o),
  })),
  { name: 'conv2d no bias', shapes: [[1, 2, 5, 5], [3, 2, 3, 3]], fn: (x, w) => E.conv2d(x, w!, null, { padding: 1 }) },
  { name: 'maxPool2d 2', shapes: [[2, 2, 4, 6]], fn: (x) => E.maxPool2d(x, 2) },
  { name: 'maxPool2d 3 s2 p1', shapes: [[1, 2, 7, 7]], fn: (x) => E.maxPool2d(x, 3, { stride: 2, padding: 1 }) },
  { name: 'maxPool2d ceil', shapes: [[1, 1, 8, 8]], fn: (x) => E.maxPool2d(x, 3, { stride: 2, ceilMode: true }) },
  { name: 'avgPool2d 2', shapes: [[2, 2, 4, 4]], fn: (x) => E.avgPool2d(x, 2) },
  { name: 'avgPool2d 3 p1 include pad', shapes: [[1, 2, 5, 5]], fn: (x) => E.avgPool2d(x, 3, { stride: 1, padding: 1 }) },
  { name: 'avgPool2d 3 p1 exclude pad', shapes: [[1, 2, 5, 5]], fn: (x) => E.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }) },
  { name: 'adaptiveAvgPool2d 1', shapes: [[2, 3, 4, 5]], fn: (x) => E.adaptiveAvgPool2d(x, 1) },
  { name: 'adaptiveAvgPool2d 3x2 from 7x5', shapes: [[1, 2, 7, 5]], fn: (x) => E.adaptiveAvgPool2d(x, [3, 2]) },
  { name: 'softmax', shapes: [[3, 5]], fn: (x) => E.softmax(x) },
  { name: 'logSoftmax', shapes: [[3, 5]], fn: (x) => E.logSoftmax(x) },
  { name: 'softmax axis 1 of 3', shapes: [[2, 4, 3]], fn: (x) => E.softmax(x, 1) },
  {
    name: 'batchNorm training 4-d', shapes: [[3, 2, 2, 3], [2], [2], [2], [2]], constant: [1, 2],
    sample: (rng, k) => (k === 2 ? positive(rng) : rng.normal()),
    fn: (x, rm, rv, w, b) => E.batchNorm(x, rm!, rv!, w!, b!, { training: true }),
  },
  {
    name: 'batchNorm eval', shapes: [[3, 2, 2, 2], [2], [2], [2], [2]], constant: [1, 2],
    sample: (rng, k) => (k === 2 ? positive(rng) : rng.normal()),
    fn: (x, rm, rv, w, b) => E.batchNorm(x, rm!, rv!, w!, b!, { training: false }),
  },
  { name: 'batchNorm 2-d no affine', shapes: [[5, 3]], fn: (x) => E.batchNorm(x, null, null, null, null, { training: true }) },
  { name: 'layerNorm last axis', shapes: [[3, 5], [5], [5]], fn: (x, w, b) => E.layerNorm(x, [5], w!, b!) },
  { name: 'layerNorm last 2 axes', shapes: [[2, 3, 4], [3, 4], [3, 4]], fn: (x, w, b) => E.layerNorm(x, [3, 4], w!, b!) },
  { name: 'localResponseNorm 5', shapes: [[2, 7, 2, 2]], fn: (x) => E.localResponseNorm(x, { size: 5, alpha: 1, beta: 0.75, k: 1 }) },
  { name: 'localResponseNorm 4', shapes: [[1, 6, 2, 3]], fn: (x) => E.localResponseNorm(x, { size: 4, alpha: 0.5, beta: 0.75, k: 2 }) },
  { name: 'crossEntropy', shapes: [[4, 5]], fn: (x) => E.crossEntropy(x, E.intTensor([0, 3, 4, 1])) },
  { name: 'crossEntropy weights+smoothing', shapes: [[4, 5]], fn: (x) => E.crossEntropy(x, E.intTensor([0, 3, 4, 3]), { weight: [1, 2, 0.5, 3, 1], labelSmoothing: 0.1 }) },
  { name: 'crossEntropy none', shapes: [[4, 5]], fn: (x) => E.crossEntropy(x, E.intTensor([2, 3, 4, 1]), { reduction: 'none' }) },
  { name: 'focalLoss γ=2 weighted', shapes: [[4, 5]], fn: (x) => E.focalLoss(x, E.intTensor([0, 3, 4, 1]), { gamma: 2, weight: [1, 2, 0.5, 3, 1] }) },
  { name: 'dropout (fixed seed)', shapes: [[4, 6]], fn: (x) => E.dropout(x, 0.3, true, new E.Rng(7)) },
];

for (const c of cases) {
  test(`gradient: ${c.name}`, () => {
    const { maxError, worst } = gradcheck(c);
    assert.ok(maxError < 1e-6, `max relative error ${maxError.toExponential(2)} at ${worst}`);
  });
}
