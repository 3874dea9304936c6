/**
 * GroupedSGD: each group steps with its own lr (times the schedule factor) and weight decay, as torch's SGD over
 * param_groups; a parameter without a gradient (frozen) stays bit-identical; airbench94's two groups get the
 * script's rates; state round-trips through stateDict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/index.js';
import { GroupedSGD } from '../../src/train/param-groups.js';
import { AIRBENCH94, groupRates, lrFactor, paramGroups, totalSteps } from '../../src/train/airbench-recipe.js';
import { Airbench94 } from '../../src/models/index.js';

E.setBackend(new E.ReferenceBackend(new E.Heap({ shared: false, floatBytes: 8 })));

const param = (values: number[]): Tensor => {
  const t = E.tensor(values).keep();
  t.requiresGrad = true;
  return t;
};
/** Sets p.grad to `g` by back-propagating Σ p·g. */
const setGrad = (p: Tensor, g: number[]): void => E.tidy(() => E.backward(E.sum(E.mul(p, E.tensor(g)))));

test('GroupedSGD: two groups, two Nesterov steps, each with its own lr and decay (hand computation)', { timeout: 10_000 }, () => {
  const a = param([1, -2]), b = param([0.5]), frozen = param([3]);
  frozen.requiresGrad = false;
  const opt = new GroupedSGD([
    { name: 'A', params: [a, frozen], lr: 0.1, weightDecay: 0.01 },
    { name: 'B', params: [b], lr: 2, weightDecay: 0.5 },
  ], { momentum: 0.85, nesterov: true });
  const gA = [[0.3, -0.1], [0.2, 0.4]], gB = [[1], [-1]], factors = [0.5, 0.25];
  // torch: d = g + wd·p; buf = d (first step) or 0.85·buf + d; p −= lr·factor·(d + 0.85·buf).
  const expect = (p0: number[], grads: number[][], lr: number, wd: number): number[] => {
    const p = [...p0], buf = p.map(() => 0);
    grads.forEach((g, step) => p.forEach((_, i) => {
      const d = g[i]! + wd * p[i]!;
      buf[i] = step === 0 ? d : 0.85 * buf[i]! + d;
      p[i] = p[i]! - lr * factors[step]! * (d + 0.85 * buf[i]!);
    }));
    return p;
  };
  for (let step = 0; step < 2; step++) {
    opt.lr = factors[step]!;
    setGrad(a, gA[step]!); setGrad(b, gB[step]!);
    opt.step();
    opt.zeroGrad();
  }
  const got = [...a.toArray(), ...b.toArray()], want = [...expect([1, -2], gA, 0.1, 0.01), ...expect([0.5], gB, 2, 0.5)];
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `parameter ${i}: ${v} vs ${want[i]}`));
  assert.deepEqual([...frozen.toArray()], [3], 'a parameter without a gradient is not touched (no decay either)');
  assert.deepEqual(Object.keys(opt.stateDict().slots).sort(), ['0.momentum', '2.momentum'], 'no momentum for the frozen parameter');
});

test('GroupedSGD: refuses a parameter in two groups and negative rates', { timeout: 10_000 }, () => {
  const p = param([1]);
  assert.throws(() => new GroupedSGD([{ name: 'A', params: [p], lr: 1, weightDecay: 0 }, { name: 'B', params: [p], lr: 1, weightDecay: 0 }], { momentum: 0.9, nesterov: true }),
    { message: 'sgd: a parameter appears in more than one group' });
  assert.throws(() => new GroupedSGD([{ name: 'A', params: [p], lr: -1, weightDecay: 0 }], { momentum: 0.9, nesterov: true }),
    { message: "sgd: group 'A' needs lr ≥ 0 and weight decay ≥ 0, got -1 and 0" });
});

test('airbench94 groups: BN biases at 64× the lr, decoupled decay wd/lr, frozen parameters left out', { timeout: 20_000 }, () => {
  const model = new Airbench94({ widths: [4, 8, 8] });
  const config = { ...AIRBENCH94, model: 'airbench94', dataset: 'x' };
  const { lr, lrBiases, wd } = groupRates(config);
  // The script: kilostep_scale = 1024·(1 + 1/(1 − 0.85)); lr = 11.5 / that; wd = 0.0153·1024 / that.
  const kilostep = 1024 * (1 + 1 / 0.15);
  assert.ok(Math.abs(lr - 11.5 / kilostep) < 1e-15 && Math.abs(lrBiases - 64 * lr) < 1e-15 && Math.abs(wd - 0.0153 * 1024 / kilostep) < 1e-15);
  const [norm, other] = paramGroups(model, config);
  const names = new Map([...model.namedParameters()].map(([n, t]) => [t, n]));
  assert.deepEqual(norm!.params.map((t) => names.get(t)), ['2.norm1.bias', '2.norm2.bias', '3.norm1.bias', '3.norm2.bias', '4.norm1.bias', '4.norm2.bias']);
  assert.deepEqual(other!.params.map((t) => names.get(t)), ['0.bias', '2.conv1.weight', '2.conv2.weight', '3.conv1.weight', '3.conv2.weight', '4.conv1.weight', '4.conv2.weight', '7.weight']);
  assert.equal(norm!.lr * norm!.weightDecay, wd);
  assert.ok(Math.abs(other!.lr * other!.weightDecay - wd) < 1e-18);
  model.dispose();
});

test('airbench94 lr factor: 0.2 → 1 over the first 23 % of steps, then down to 0.07', { timeout: 10_000 }, () => {
  const total = totalSteps(48, 9.9);
  assert.equal(total, 476);
  const warmup = Math.floor(476 * 0.23); // 109
  const table: [number, number][] = [[0, 0.2], [warmup, 1], [Math.round(warmup / 2), 0.2 + 0.8 * Math.round(warmup / 2) / warmup], [476, 0.07]];
  for (const [step, want] of table) assert.ok(Math.abs(lrFactor(step, total) - want) < 1e-12, `step ${step}: ${lrFactor(step, total)} vs ${want}`);
});
