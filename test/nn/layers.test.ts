/**
 * nn modules: PyTorch's default initialisation (fixtures/init_stats.json), registration order and state dicts,
 * loadStateDict's checks, train/eval switching, and the layers run through their modules against the goldens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/index.js';
import { BatchNorm, Conv2d, Dropout, LayerNorm, Linear, MaxPool2d, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { assertClose, fromFixture, loadFixture, type FixtureTensor } from '../fixtures.js';

/** Each test on its own heap; everything must be freed at the end. */
function fresh(fn: () => void): () => void {
  return () => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => {
    E.tidy(fn);
    assert.equal(E.liveBuffers(), 0, 'live buffers at the end of the test');
  });
}

function stats(t: Tensor): { min: number; max: number; std: number } {
  const a = t.toArray();
  let min = Infinity, max = -Infinity, sum = 0, sq = 0;
  for (const v of a) { min = Math.min(min, v); max = Math.max(max, v); sum += v; }
  const mean = sum / a.length;
  for (const v of a) sq += (v - mean) ** 2;
  return { min, max, std: Math.sqrt(sq / (a.length - 1)) };
}

interface InitStats { weight_shape: number[]; fan_in: number; weight_bound: number; bias_bound: number; expected_weight_std: number }

test('nn: Conv2d and Linear use PyTorch\'s default init, U(±1/√fan_in) for weight and bias', fresh(() => {
  const f = loadFixture<Record<string, InitStats>>('init_stats');
  E.manualSeed(9);
  const layers: [string, Conv2d | Linear][] = [['conv2d_16_32_3', new Conv2d(16, 32, 3)], ['linear_400_120', new Linear(400, 120)]];
  for (const [key, layer] of layers) {
    const s = f[key]!;
    assert.deepEqual(layer.weight.shape, s.weight_shape, key);
    const w = stats(layer.weight), b = stats(layer.bias!);
    const bound = 1 / Math.sqrt(s.fan_in);
    assertClose(bound, s.weight_bound, { atol: 0, rtol: 1e-7 }, `${key} bound`);
    assert.ok(w.min >= -bound && w.max <= bound, `${key}: weights in [${w.min}, ${w.max}], bound ${bound}`);
    assert.ok(w.min < -0.97 * bound && w.max > 0.97 * bound, `${key}: weights should fill the interval`);
    assert.ok(b.min >= -s.bias_bound && b.max <= s.bias_bound, `${key}: biases in [${b.min}, ${b.max}]`);
    // std of U(−a, a) is a/√3; with ≥ 4,608 samples the estimate is within ~2%, as PyTorch's own was.
    assert.ok(Math.abs(w.std / s.expected_weight_std - 1) < 0.03, `${key}: weight std ${w.std} vs ${s.expected_weight_std}`);
    // Biases fill their interval too (32 and 120 draws from U(±bound) reach past ±0.8·bound for this seed).
    assert.ok(b.min < -0.8 * s.bias_bound && b.max > 0.8 * s.bias_bound, `${key}: biases should fill the interval, got [${b.min}, ${b.max}]`);
    layer.dispose();
  }
}));

test('nn: Sequential names children 0, 1, …; the state dict lists parameters then buffers, in torch order', fresh(() => {
  const net = new Sequential(new Conv2d(1, 2, 3, { bias: false }), new BatchNorm(2), ReLU(), MaxPool2d(2), new Sequential(new Linear(8, 3)));
  assert.deepEqual([...net.namedParameters()].map(([n]) => n), ['0.weight', '1.weight', '1.bias', '4.0.weight', '4.0.bias']);
  assert.deepEqual([...net.stateDict().keys()], ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '4.0.weight', '4.0.bias']);
  assert.equal(net.parameterCount(), 18 + 2 + 2 + 24 + 3);
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.kept));
  assert.ok(!net.stateDict().get('1.running_mean')!.requiresGrad);
  assert.deepEqual([...net.stateDict().get('1.running_var')!.toArray()], [1, 1]);
  net.dispose();
}));

test('nn: BatchNorm counts training batches in num_batches_tracked (an int32 scalar, as torch int64 buffer), not eval ones', fresh(() => {
  const bn = new BatchNorm(2);
  const x = E.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
  assert.equal(bn.numBatchesTracked.dtype, 'int32');
  assert.deepEqual(bn.numBatchesTracked.shape, []);
  bn.forward(x); bn.forward(x);
  assert.equal(bn.numBatchesTracked.item(), 2);
  bn.eval().forward(x);
  assert.equal(bn.numBatchesTracked.item(), 2);
  bn.loadStateDict({ weight: [1, 1], bias: [0, 0], running_mean: [0, 0], running_var: [1, 1], num_batches_tracked: Int32Array.of(41) });
  bn.train().forward(x);
  assert.equal(bn.numBatchesTracked.item(), 42);
  bn.dispose();
}));

test('nn: loadStateDict copies values and refuses missing, unexpected and mis-shaped entries', fresh(() => {
  const m = new Linear(3, 2);
  m.loadStateDict({ weight: [1, 2, 3, 4, 5, 6], bias: [7, 8] });
  assert.deepEqual([...m.weight.toArray()], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...m.forward(E.tensor([1, 0, -1], [1, 3])).toArray()], [1 - 3 + 7, 4 - 6 + 8]);
  assert.throws(() => m.loadStateDict({ weight: [1, 2, 3, 4, 5, 6] }), { message: 'loadStateDict: missing bias' });
  assert.throws(() => m.loadStateDict({ weight: [1, 2, 3, 4, 5, 6], bias: [0, 0], extra: [1] }), { message: 'loadStateDict: unexpected extra' });
  assert.throws(() => m.loadStateDict({ weight: [1, 2, 3], bias: [0, 0] }), { message: 'loadStateDict: weight has shape 3 values, model expects [2, 3]' });
  assert.throws(() => m.loadStateDict(new Map([['weight', [1, 2, 3, 4, 5, 6]], ['bias', [0, 0]]]), new Map([['weight', [3, 2]]])),
    { message: 'loadStateDict: weight has shape [3, 2], model expects [2, 3]' });
  m.dispose();
}));

test('nn: train()/eval() reach every child; Dropout is the identity in eval and scales by 1/(1−p) in training', fresh(() => {
  const drop = Dropout(0.25, new E.Rng(1));
  const net = new Sequential(new Sequential(drop), ReLU());
  net.eval();
  assert.equal(drop.training, false);
  const x = E.ones([4000]);
  assert.deepEqual(net.forward(x).toArray(), x.toArray());
  net.train();
  assert.equal(drop.training, true);
  const y = net.forward(x).toArray();
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6), 'kept values are scaled by 1/(1 − p)');
  assert.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `dropped fraction ${zeros / 4000}`);
  net.dispose();
}));

test('nn: zeroGrad clears every parameter gradient', fresh(() => {
  const m = new Sequential(new Linear(3, 4), ReLU(), new Linear(4, 1));
  E.backward(E.sum(m.forward(E.randNormal([5, 3], 0, 1, { rng: new E.Rng(2) }))));
  assert.ok(m.parameters().every((p) => p.grad !== null));
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === null));
  m.dispose();
}));

test('nn: Conv2d rejects channel counts its groups do not divide', fresh(() => {
  assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), { message: 'Conv2d: in (3) and out (4) channels must be divisible by groups (2)' });
}));

type T = FixtureTensor;

test('nn: Conv2d module matches the conv2d goldens', fresh(() => {
  interface C { name: string; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number;
    x: T; w: T; b: T | null; dy: T; y: T; dx: T; dw: T; db: T | null }
  for (const c of loadFixture<{ cases: C[] }>('conv2d').cases) {
    const [oc, cg, kh, kw] = c.w.shape as [number, number, number, number];
    const conv = new Conv2d(cg * c.groups, oc, [kh, kw], { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.b !== null });
    conv.loadStateDict(c.b ? { weight: c.w.data, bias: c.b.data } : { weight: c.w.data });
    const x = fromFixture(c.x, { requiresGrad: true });
    const y = conv.forward(x);
    assertClose(y, c.y, {}, `${c.name} forward`);
    E.backward(y, fromFixture(c.dy));
    assertClose(x.grad!, c.dx, {}, `${c.name} dx`);
    assertClose(conv.weight.grad!, c.dw, {}, `${c.name} dw`);
    if (c.db) assertClose(conv.bias!.grad!, c.db, {}, `${c.name} db`);
    conv.dispose();
  }
}));

test('nn: BatchNorm module matches the batchnorm goldens, running statistics included', fresh(() => {
  interface C { name: string; training: boolean; momentum: number; eps: number; x: T; gamma: T; beta: T; running_mean: T; running_var: T;
    dy: T; y: T; dx: T; dgamma: T; dbeta: T; running_mean_after: T; running_var_after: T }
  for (const c of loadFixture<{ cases: C[] }>('batchnorm').cases) {
    const bn = new BatchNorm(c.gamma.shape[0]!, { eps: c.eps, momentum: c.momentum });
    bn.loadStateDict({ weight: c.gamma.data, bias: c.beta.data, running_mean: c.running_mean.data, running_var: c.running_var.data, num_batches_tracked: [0] });
    bn.train(c.training);
    const x = fromFixture(c.x, { requiresGrad: true });
    const y = bn.forward(x);
    assertClose(y, c.y, {}, `${c.name} forward`);
    assertClose(bn.runningMean, c.running_mean_after, {}, `${c.name} running mean`);
    assertClose(bn.runningVar, c.running_var_after, {}, `${c.name} running var`);
    E.backward(y, fromFixture(c.dy));
    assertClose(x.grad!, c.dx, {}, `${c.name} dx`);
    assertClose(bn.weight.grad!, c.dgamma, {}, `${c.name} dgamma`);
    assertClose(bn.bias.grad!, c.dbeta, {}, `${c.name} dbeta`);
    bn.dispose();
  }
}));

test('nn: LayerNorm module matches the layer_norm goldens', fresh(() => {
  interface C { name: string; kind: string; normalized_shape: number[]; eps: number; x: T; weight: T; bias: T; dy: T; y: T; dx: T; dweight: T; dbias: T }
  const cases = loadFixture<{ cases: C[] }>('norms').cases.filter((c) => c.kind === 'layer_norm');
  assert.equal(cases.length, 2);
  for (const c of cases) {
    const ln = new LayerNorm(c.normalized_shape, c.eps);
    ln.loadStateDict({ weight: c.weight.data, bias: c.bias.data });
    const x = fromFixture(c.x, { requiresGrad: true });
    const y = ln.forward(x);
    assertClose(y, c.y, {}, `${c.name} forward`);
    E.backward(y, fromFixture(c.dy));
    assertClose(x.grad!, c.dx, {}, `${c.name} dx`);
    assertClose(ln.weight.grad!, c.dweight, {}, `${c.name} dweight`);
    assertClose(ln.bias.grad!, c.dbias, {}, `${c.name} dbias`);
    ln.dispose();
  }
}));

test('nn: Module.dispose frees parameters, gradients and buffers', fresh(() => {
  const m: Module = new Sequential(new Conv2d(1, 2, 3), new BatchNorm(2));
  E.backward(E.sum(m.forward(E.randNormal([2, 1, 4, 4], 0, 1, { rng: new E.Rng(4) }))));
  m.dispose();
  assert.ok([...m.namedState()].every(([, t]) => t.isDisposed && t.grad === null));
}));
