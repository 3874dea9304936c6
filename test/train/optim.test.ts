/**
 * SGD (momentum, dampening, Nesterov, weight decay), Adam and AdamW against PyTorch 1.13's update rules, written
 * out below in float64 (torch/optim/sgd.py, adam.py, adamw.py, single-tensor paths): three steps on a
 * three-element parameter with a fixed sequence of gradients. Then checkpoints: stateDict → loadStateDict into
 * a fresh optimiser continues bit-for-bit like the original.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Backend, Tensor } from '../../src/engine/index.js';
import { Adam, AdamW, SGD, createOptimizer, type Optimizer } from '../../src/train/optim.js';
import { assertClose, loadWasmBackend } from '../fixtures.js';

const P0 = [1.0, -0.5, 0.25];
// Different every step, with one tiny component so that Adam's eps placement matters.
const GRADS = [[0.1, -0.2, 0.001], [-0.05, 0.4, 0.002], [0.2, 0.1, -0.003]];
const TOL = { atol: 1e-6, rtol: 2e-6 };

interface SgdRef { lr: number | number[]; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }
interface AdamRef { lr: number | number[]; betas?: [number, number]; eps?: number; weightDecay?: number; decoupled: boolean }

const lrAt = (lr: number | number[], step: number): number => (typeof lr === 'number' ? lr : lr[step]!);

/** torch.optim.SGD: parameter values after each step. */
function sgdExpected(o: SgdRef): number[][] {
  const p = [...P0], momentum = o.momentum ?? 0, dampening = o.dampening ?? 0, wd = o.weightDecay ?? 0;
  let buf: number[] | null = null;
  return GRADS.map((g, step) => {
    let d = g.map((gi, i) => gi + wd * p[i]!);                       // d_p = grad + weight_decay·param
    if (momentum !== 0) {
      buf = buf === null ? [...d]                                    // first step: buf = clone(d_p)
        : buf.map((b, i) => momentum * b + (1 - dampening) * d[i]!); // buf = momentum·buf + (1 − dampening)·d_p
      const b = buf;
      d = o.nesterov ? d.map((di, i) => di + momentum * b[i]!) : [...b];
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - lrAt(o.lr, step) * d[i]!;
    return [...p];
  });
}

/** torch.optim.Adam (decoupled: false) and torch.optim.AdamW (decoupled: true). */
function adamExpected(o: AdamRef): number[][] {
  const p = [...P0], [beta1, beta2] = o.betas ?? [0.9, 0.999], eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? (o.decoupled ? 0.01 : 0);
  const m = [0, 0, 0], v = [0, 0, 0];
  return GRADS.map((g0, s) => {
    const step = s + 1, lr = lrAt(o.lr, s);
    let g = [...g0];
    if (o.decoupled) for (let i = 0; i < 3; i++) p[i] = p[i]! * (1 - lr * wd); // param.mul_(1 − lr·weight_decay)
    else g = g.map((gi, i) => gi + wd * p[i]!);                                 // grad = grad + weight_decay·param
    const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
    const stepSize = lr / bc1;
    for (let i = 0; i < 3; i++) {
      m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
      v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps;                    // (sqrt(v) / sqrt(bc2)) + eps
      p[i] = p[i]! - stepSize * (m[i]! / denom);
    }
    return [...p];
  });
}

/** Runs `steps` optimiser steps on a fresh parameter with GRADS; returns the parameter after each step. */
function run(make: (params: Tensor[]) => Optimizer, lr?: number[]): number[][] {
  return E.tidy(() => {
    const p = E.tensor(P0, [3], { requiresGrad: true }).keep();
    const opt = make([p]);
    try {
      return GRADS.map((g, step) => {
        if (lr) opt.lr = lr[step]!; // as a scheduler does
        opt.zeroGrad();
        p.grad = E.tensor(g).keep();
        opt.step();
        return [...p.toArray()];
      });
    } finally {
      opt.dispose();
      p.dispose();
    }
  });
}

interface Case { name: string; make: (params: Tensor[]) => Optimizer; expected: () => number[][]; lr?: number[] }

const cases: Case[] = [
  { name: 'SGD', make: (ps) => new SGD(ps, { lr: 0.1 }), expected: () => sgdExpected({ lr: 0.1 }) },
  { name: 'SGD momentum 0.9', make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), expected: () => sgdExpected({ lr: 0.1, momentum: 0.9 }) },
  {
    name: 'SGD momentum 0.9, dampening 0.5 (not applied on the first step)',
    make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.5 }),
    expected: () => sgdExpected({ lr: 0.1, momentum: 0.9, dampening: 0.5 }),
  },
  {
    name: 'SGD momentum 0.9, weight decay 0.05',
    make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.05 }),
    expected: () => sgdExpected({ lr: 0.1, momentum: 0.9, weightDecay: 0.05 }),
  },
  {
    name: 'SGD Nesterov momentum 0.9, weight decay 0.05',
    make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.05, nesterov: true }),
    expected: () => sgdExpected({ lr: 0.1, momentum: 0.9, weightDecay: 0.05, nesterov: true }),
  },
  {
    name: 'SGD momentum with a learning rate changed between steps',
    make: (ps) => new SGD(ps, { lr: 1, momentum: 0.8 }), lr: [0.1, 0.05, 0.02],
    expected: () => sgdExpected({ lr: [0.1, 0.05, 0.02], momentum: 0.8 }),
  },
  { name: 'Adam defaults', make: (ps) => new Adam(ps, { lr: 0.01 }), expected: () => adamExpected({ lr: 0.01, decoupled: false }) },
  {
    name: 'Adam betas (0.8, 0.9), eps 1e-3, L2 weight decay 0.1',
    make: (ps) => new Adam(ps, { lr: 0.01, betas: [0.8, 0.9], eps: 1e-3, weightDecay: 0.1 }),
    expected: () => adamExpected({ lr: 0.01, betas: [0.8, 0.9], eps: 1e-3, weightDecay: 0.1, decoupled: false }),
  },
  {
    name: 'Adam with a learning rate changed between steps',
    make: (ps) => new Adam(ps, { lr: 1 }), lr: [0.01, 0.003, 0.001],
    expected: () => adamExpected({ lr: [0.01, 0.003, 0.001], decoupled: false }),
  },
  {
    name: 'AdamW default weight decay (0.01)',
    make: (ps) => new AdamW(ps, { lr: 0.01 }), expected: () => adamExpected({ lr: 0.01, decoupled: true }),
  },
  {
    name: 'AdamW weight decay 0.1, eps 1e-3',
    make: (ps) => new AdamW(ps, { lr: 0.05, eps: 1e-3, weightDecay: 0.1 }),
    expected: () => adamExpected({ lr: 0.05, eps: 1e-3, weightDecay: 0.1, decoupled: true }),
  },
  {
    name: 'createOptimizer("adamw")',
    make: (ps) => createOptimizer(ps, { name: 'adamw', lr: 0.05, weightDecay: 0.1 }),
    expected: () => adamExpected({ lr: 0.05, weightDecay: 0.1, decoupled: true }),
  },
  {
    name: 'createOptimizer("sgd") with Nesterov',
    make: (ps) => createOptimizer(ps, { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }),
    expected: () => sgdExpected({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }),
  },
];

async function runFormulas(t: TestContext, backend: Backend): Promise<void> {
  for (const c of cases) {
    await t.test(c.name, () => {
      E.withBackend(backend, () => {
        const before = backend.heap.liveBuffers;
        const actual = run(c.make, c.lr), expected = c.expected();
        actual.forEach((a, step) => assertClose(a, expected[step]!, TOL, `${c.name}, step ${step + 1}`));
        // The three steps really move the parameter (a no-op optimiser would fail above only by luck).
        assert.ok(Math.abs(actual[2]![0]! - P0[0]!) > 1e-4);
        assert.equal(backend.heap.liveBuffers, before, 'optimiser state is freed by dispose()');
      });
    });
  }
}

test('optim: update rules match PyTorch on the reference backend', async (t) => {
  await runFormulas(t, new E.ReferenceBackend(new E.Heap({ shared: false })));
});

test('optim: update rules match PyTorch on the WASM backend', async (t) => {
  const backend = await loadWasmBackend(1);
  if (typeof backend === 'string') {
    t.skip(backend);
    return;
  }
  try {
    await runFormulas(t, backend);
  } finally {
    backend.dispose?.();
  }
});

test('optim: parameters without a gradient are left alone', () => {
  E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => {
    const a = E.tensor(P0, [3], { requiresGrad: true }).keep(), b = E.tensor(P0, [3], { requiresGrad: true }).keep();
    const opt = new SGD([a, b], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
    a.grad = E.tensor(GRADS[0]!).keep();
    opt.step();
    assert.deepEqual([...b.toArray()], [...Float32Array.from(P0)]);
    assertClose(a.toArray(), sgdExpected({ lr: 0.1, momentum: 0.9, weightDecay: 0.1 })[0]!, TOL, 'a');
    assert.deepEqual(Object.keys(opt.stateDict().slots), ['0.momentum'], 'no state for a parameter that never had a gradient');
    opt.dispose();
    a.dispose();
    b.dispose();
  }));
});

const roundTrips: [string, (ps: Tensor[]) => Optimizer, string[]][] = [
  ['SGD Nesterov', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), ['0.momentum', '1.momentum']],
  ['Adam', (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.01 }), ['0.exp_avg', '0.exp_avg_sq', '1.exp_avg', '1.exp_avg_sq']],
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.01 }), ['0.exp_avg', '0.exp_avg_sq', '1.exp_avg', '1.exp_avg_sq']],
];

for (const [name, make, slotNames] of roundTrips) {
  test(`optim: ${name} stateDict → loadStateDict continues identically`, () => {
    E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => {
      const rng = new E.Rng(42);
      const shapes = [[3], [2, 2]];
      const grads = Array.from({ length: 5 }, () => shapes.map((s) => E.randNormal(s, 0, 1, { rng }).keep()));
      const newParams = (values: ArrayLike<number>[]): Tensor[] => shapes.map((s, i) => E.tensor(values[i]!, s, { requiresGrad: true }).keep());
      const stepWith = (opt: Optimizer, params: Tensor[], k: number): void => {
        opt.zeroGrad();
        params.forEach((p, i) => { p.grad = E.tensor(grads[k]![i]!.toArray(), p.shape).keep(); });
        opt.step();
      };

      const pa = newParams([P0, [0.5, -1, 2, 0.1]]);
      const a = make(pa);
      stepWith(a, pa, 0);
      stepWith(a, pa, 1);
      const saved = a.stateDict();
      const savedValues = pa.map((p) => p.toArray());
      assert.equal(saved.kind, a.kind);
      assert.equal(saved.step, 2);
      assert.deepEqual(Object.keys(saved.slots).sort(), [...slotNames].sort());

      const pb = newParams(savedValues);
      const b = make(pb);
      b.loadStateDict(saved);
      for (let k = 2; k < 5; k++) {
        stepWith(a, pa, k);
        stepWith(b, pb, k);
        pa.forEach((p, i) => assert.deepEqual(pb[i]!.toArray(), p.toArray(), `parameter ${i} after step ${k + 1}`));
        assert.deepEqual(b.stateDict(), a.stateDict(), `state after step ${k + 1}`);
      }
      // The exported state is a snapshot: later steps did not change it.
      assert.equal(saved.step, 2);
      assert.notDeepEqual(saved.slots, a.stateDict().slots);

      // A fresh optimiser (no state) diverges, so the round trip above is not vacuous.
      const pc = newParams(savedValues);
      const c = make(pc);
      stepWith(c, pc, 2);
      const pa3 = newParams(savedValues);
      const a3 = make(pa3);
      a3.loadStateDict(saved);
      stepWith(a3, pa3, 2);
      assert.notDeepEqual(pc[0]!.toArray(), pa3[0]!.toArray());

      for (const o of [a, b, c, a3]) o.dispose();
      for (const p of [...pa, ...pb, ...pc, ...pa3, ...grads.flat()]) p.dispose();
      assert.equal(E.liveBuffers(), 0);
    }));
  });
}

test('optim: checkpoints of the wrong kind or size are refused; Nesterov needs momentum', () => {
  E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => {
    const p = E.tensor(P0, [3], { requiresGrad: true }).keep();
    const sgd = new SGD([p], { lr: 0.1, momentum: 0.9 });
    p.grad = E.tensor(GRADS[0]!).keep();
    sgd.step();
    const state = sgd.stateDict();
    assert.throws(() => new Adam([p], { lr: 0.1 }).loadStateDict(state), { message: 'optimizer: checkpoint holds sgd state, not adam' });
    assert.throws(() => new AdamW([p], { lr: 0.1 }).loadStateDict({ ...state, kind: 'adam' }), { message: 'optimizer: checkpoint holds adam state, not adamw' });
    const q = E.tensor([1, 2], [2], { requiresGrad: true }).keep();
    assert.throws(() => new SGD([q], { lr: 0.1, momentum: 0.9 }).loadStateDict(state), { message: "optimizer: state 0.momentum does not match the model's parameters" });
    assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), { message: 'sgd: Nesterov momentum requires momentum > 0 and zero dampening' });
    assert.throws(() => new SGD([p], { lr: -1 }), { message: 'optimizer: learning rate must be ≥ 0, got -1' });
    sgd.dispose();
    p.dispose();
    q.dispose();
  }));
});
