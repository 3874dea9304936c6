/**
 * Three optimiser steps on whole networks against PyTorch 1.13 (fixtures/optim_steps.json, written by
 * scripts/make_fixtures.py): SGD with Nesterov momentum and weight decay, Adam (L2 decay) and AdamW
 * (decoupled decay), on LeNet-5 and on AlexNet-CIFAR at width 1/16, on the reference backend and on WASM.
 *
 * The initial parameters and the three batches come from a 32-bit LCG that both sides compute bit for bit, so
 * the fixture holds recipes, not values. What is compared is each tensor's total update after three steps,
 * element by element, in units of that tensor's RMS update: the tolerance is relative to each tensor's scale,
 * so a tensor whose gradients are all tiny is checked as strictly as one whose gradients are large.
 *
 * How big each term is, against the tolerance (figures from the fixture's `break_effects` and `float32_noise`:
 * the largest change to one element of the update, in units of the tensor's RMS update):
 *   SGD (tolerance 2e-3): float32 PyTorch lands ≤ 1e-4 from float64 PyTorch. Dropping weight decay
 *     (5e-3) changes an element of every LeNet tensor by 0.03–0.5 and of every AlexNet tensor by 0.012–2.0;
 *     dropping momentum by 0.9–8.4; plain instead of Nesterov momentum by 0.4–4.6. Each is ≥ 6× the tolerance
 *     on every tensor.
 *   Adam / AdamW (tolerance 5e-2): Adam divides by √v, so elements whose gradient is near zero are sensitive;
 *     float32 PyTorch lands up to 1.5e-2 from float64 PyTorch. Dropping Adam's L2 decay (0.05) changes an
 *     element by 1.3–2.7 (one AlexNet tensor: 0.04, the others ≥ 1.8); dropping AdamW's decoupled decay (1.0)
 *     by 0.08–2.9; dropping bias correction by 3.1–12.
 * Measured: the engine (reference backend and WASM on 2 threads) lands within 7e-5 of PyTorch on every sampled
 * element. The tests at the end break the optimiser on purpose and require the comparison to fail.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Backend, Tensor } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import type { Module } from '../../src/nn/index.js';
import { Adam, AdamW, SGD, type AdamOptions, type Optimizer } from '../../src/train/optim.js';
import { loadFixture, loadNativeBackend, loadWasmBackend } from '../fixtures.js';

interface OptimizerSpec { name: 'sgd' | 'adam' | 'adamw'; lr: number; momentum?: number; nesterov?: boolean; weight_decay: number; betas?: [number, number]; eps?: number }
interface TensorUpdate { name: string; rms: number; mean: number; float32_noise: number; values: number[] }
interface Run { optimizer: OptimizerSpec; losses: number[]; tensors: TensorUpdate[]; break_effects: Record<string, number[]> }
interface ModelCase {
  model: string;
  extra: Record<string, unknown>;
  params: { name: string; shape: number[]; seed: number; fan_in: number }[];
  batches: { seed: number; shape: number[]; y: number[] }[];
  runs: Run[];
}
interface Fixture { sample: number; steps: number; models: ModelCase[] }

const fixture = loadFixture<Fixture>('optim_steps');
/** Per element: |ours − PyTorch| ≤ tolerance × the tensor's RMS update (see the header for the margins). */
const TOLERANCE: Record<OptimizerSpec['name'], number> = { sgd: 2e-3, adam: 5e-2, adamw: 5e-2 };
const LOSS_RTOL = 1e-5;
/** The network's normalisation in make_fixtures.py: LeNet-5 with MNIST's statistics, AlexNet with (0.5, 0.25). */
const NORMALISE: Record<string, [number, number]> = { lenet5: [0.1307, 0.3081], 'alexnet-cifar': [0.5, 0.25] };

/** make_fixtures.py's lcg_uniform: n values in [0, 1) with 24 random bits each. */
function lcgUniform(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / 16777216;
  }
  return out;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function initialParams(m: ModelCase): Map<string, Float32Array> {
  return new Map(m.params.map((p) => {
    const bound = 1 / Math.sqrt(p.fan_in);
    return [p.name, Float32Array.from(lcgUniform(p.seed, size(p.shape)), (u) => (2 * u - 1) * bound)];
  }));
}

function batchInputs(m: ModelCase): { x: Float32Array; shape: number[]; y: number[] }[] {
  const [mean, std] = NORMALISE[m.model]!;
  return m.batches.map((b) => ({ x: Float32Array.from(lcgUniform(b.seed, size(b.shape)), (u) => (u - mean) / std), shape: b.shape, y: b.y }));
}

/** Adam whose step counter starts 1e9 steps in, so 1 − βᵗ is 1: Adam without bias correction. */
class AdamWithoutBiasCorrection extends Adam {
  constructor(params: Tensor[], o: AdamOptions) {
    super(params, o);
    this.stepCount = 1e9;
  }
}
class AdamWWithoutBiasCorrection extends AdamW {
  constructor(params: Tensor[], o: AdamOptions) {
    super(params, o);
    this.stepCount = 1e9;
  }
}

type Break = 'none' | 'no_weight_decay' | 'no_momentum' | 'no_nesterov' | 'no_bias_correction';

function makeOptimizer(params: Tensor[], o: OptimizerSpec, broken: Break): Optimizer {
  const weightDecay = broken === 'no_weight_decay' ? 0 : o.weight_decay;
  if (o.name === 'sgd') {
    return new SGD(params, {
      lr: o.lr, weightDecay, momentum: broken === 'no_momentum' ? 0 : o.momentum,
      nesterov: broken === 'no_momentum' || broken === 'no_nesterov' ? false : o.nesterov,
    });
  }
  const adam: AdamOptions = { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay };
  if (o.name === 'adam') return broken === 'no_bias_correction' ? new AdamWithoutBiasCorrection(params, adam) : new Adam(params, adam);
  return broken === 'no_bias_correction' ? new AdamWWithoutBiasCorrection(params, adam) : new AdamW(params, adam);
}

/** Takes the fixture's three steps; returns the losses and each tensor's update (after − before, in float64). */
function takeSteps(m: ModelCase, run: Run, broken: Break): { losses: number[]; updates: Map<string, Float64Array> } {
  const model: Module = createModel(m.model, { extra: m.extra });
  const before = initialParams(m);
  model.loadStateDict(before, new Map(m.params.map((p) => [p.name, p.shape])));
  const opt = makeOptimizer(model.parameters(), run.optimizer, broken);
  try {
    const losses = batchInputs(m).map((b) => {
      const loss = E.tidy(() => {
        const l = E.crossEntropy(model.forward(E.tensor(b.x, b.shape)), E.intTensor(b.y));
        E.backward(l);
        return l.item();
      });
      opt.step();
      opt.zeroGrad();
      return loss;
    });
    const state = model.stateDict();
    const updates = new Map(m.params.map((p) => {
      const after = state.get(p.name)!.toArray(), start = before.get(p.name)!;
      return [p.name, Float64Array.from(after, (v, i) => v - start[i]!)];
    }));
    return { losses, updates };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

/** Element floor(k·n / sample) for k < sample, or every element when n ≤ sample (make_fixtures.py's sample_indices). */
function sampleIndices(n: number, sample: number): number[] {
  return n <= sample ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: sample }, (_, k) => Math.floor((k * n) / sample));
}

/** Throws, naming the tensor, element and size of the miss, unless every sampled element and statistic is close. */
function compareRun(m: ModelCase, run: Run, got: { losses: number[]; updates: Map<string, Float64Array> }): void {
  const tol = TOLERANCE[run.optimizer.name];
  run.losses.forEach((expected, step) => {
    const diff = Math.abs(got.losses[step]! - expected);
    if (!(diff <= LOSS_RTOL * Math.abs(expected))) throw new Error(`${m.model} ${run.optimizer.name}: loss at step ${step + 1} is ${got.losses[step]}, PyTorch ${expected}`);
  });
  for (const t of run.tensors) {
    const u = got.updates.get(t.name)!;
    const indices = sampleIndices(u.length, fixture.sample);
    assert.equal(indices.length, t.values.length, `${t.name}: the fixture's sample size`);
    let worst = 0, worstAt = 0;
    indices.forEach((idx, k) => {
      const miss = Math.abs(u[idx]! - t.values[k]!) / t.rms;
      if (!(miss <= worst)) { worst = miss; worstAt = idx; }
    });
    const rms = Math.sqrt(u.reduce((a, v) => a + v * v, 0) / u.length), mean = u.reduce((a, v) => a + v, 0) / u.length;
    const statMiss = Math.max(Math.abs(rms - t.rms), Math.abs(mean - t.mean)) / t.rms;
    if (!(worst <= tol) || !(statMiss <= tol)) {
      throw new Error(`${m.model} ${run.optimizer.name}: the update of ${t.name} differs from PyTorch's by ${worst.toExponential(2)} × its RMS ` +
        `at element ${worstAt} (RMS/mean over all elements: ${statMiss.toExponential(2)}); tolerance ${tol}`);
    }
  }
}

/** The WASM (or native) backend with 2 threads, or the reason it is unavailable. */
async function withWasm(fn: (backend: Backend) => void, load = loadWasmBackend): Promise<string | null> {
  const backend = await load(2);
  if (typeof backend === 'string') return backend;
  try {
    assert.equal(backend.threads, 2);
    fn(backend);
    return null;
  } finally {
    backend.dispose?.();
  }
}

describe('three optimiser steps match PyTorch on whole networks', () => {
  const reference = new E.ReferenceBackend(new E.Heap({ shared: false }));

  test('the fixture covers both networks and the three optimisers', () => {
    assert.deepEqual(fixture.models.map((m) => m.model), ['lenet5', 'alexnet-cifar']);
    for (const m of fixture.models) assert.deepEqual(m.runs.map((r) => r.optimizer.name), ['sgd', 'adam', 'adamw']);
    assert.equal(fixture.models[1]!.params.length, 16);
  });

  for (const m of fixture.models) {
    for (const run of m.runs) {
      const label = `${m.model} ${m.extra.width ? `(width ${m.extra.width}) ` : ''}${run.optimizer.name}`;
      test(`${label}: reference backend`, () => {
        E.withBackend(reference, () => compareRun(m, run, takeSteps(m, run, 'none')));
      });
      test(`${label}: WASM backend, 2 threads`, async (t) => {
        const skipped = await withWasm((wasm) => E.withBackend(wasm, () => compareRun(m, run, takeSteps(m, run, 'none'))));
        if (skipped) t.skip(skipped);
      });
      test(`${label}: native backend, 2 threads`, async (t) => {
        const skipped = await withWasm((native) => E.withBackend(native, () => compareRun(m, run, takeSteps(m, run, 'none'))), loadNativeBackend);
        if (skipped) t.skip(skipped);
      });
    }
  }
});

describe('the comparison fails when the optimiser is broken on purpose', () => {
  const reference = new E.ReferenceBackend(new E.Heap({ shared: false }));
  const cases: [OptimizerSpec['name'], Break][] = [
    ['sgd', 'no_weight_decay'], ['sgd', 'no_momentum'], ['sgd', 'no_nesterov'],
    ['adam', 'no_weight_decay'], ['adam', 'no_bias_correction'],
    ['adamw', 'no_weight_decay'], ['adamw', 'no_bias_correction'],
  ];
  for (const m of fixture.models) {
    for (const [name, broken] of cases) {
      test(`${m.model} ${name} with ${broken.replaceAll('_', ' ')} is caught`, () => {
        const run = m.runs.find((r) => r.optimizer.name === name)!;
        assert.ok(run.break_effects[broken], `the fixture measured the effect of ${broken}`);
        E.withBackend(reference, () => {
          assert.throws(() => compareRun(m, run, takeSteps(m, run, broken)),
            new RegExp(`^Error: ${m.model} ${name}: (the update of .* differs from PyTorch's by .* × its RMS|loss at step)`));
        });
      });
    }
  }
});
