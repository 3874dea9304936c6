/**
 * StochasticDepth (torchvision.ops.StochasticDepth): per-sample Bernoulli(1 − p) masks scaled by 1/(1 − p) in
 * training, so the expectation is the input; the identity in eval; gradients flow through the same mask.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { StochasticDepth } from '../../src/nn/index.js';
import { gradcheck } from '../engine/gradcheck.js';

const TIMEOUT = { timeout: 30_000 };

function fresh(fn: () => void): () => void {
  return () => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => {
    E.tidy(fn);
    assert.equal(E.liveBuffers(), 0, 'live buffers at the end of the test');
  });
}

/** Per sample of y = sd(x): the factor it was multiplied by (x is all ones, so every element of a row equals it). */
function rowFactors(y: E.Tensor): number[] {
  const data = y.toArray(), per = y.size / y.shape[0]!;
  return Array.from({ length: y.shape[0]! }, (_, i) => {
    const row = [...data.subarray(i * per, (i + 1) * per)];
    assert.ok(row.every((v) => v === row[0]), `sample ${i} has one factor for all its elements`);
    return row[0]!;
  });
}

test('row mode: each sample is kept (×1/(1−p)) or dropped (×0) whole; the mean factor is 1', TIMEOUT, fresh(() => {
  const p = 0.3, n = 4000;
  const sd = new StochasticDepth(p, 'row', new E.Rng(11));
  const factors = rowFactors(sd.forward(E.ones([n, 2, 3, 3])));
  for (const f of factors) assert.ok(f === 0 || Math.abs(f - 1 / (1 - p)) < 1e-6, `factor ${f}`);
  const dropped = factors.filter((f) => f === 0).length / n;
  const mean = factors.reduce((a, b) => a + b, 0) / n;
  // Binomial(4000, 0.3): the drop rate's standard deviation is 0.0072, the mean factor's 0.0094; allow 4σ.
  assert.ok(Math.abs(dropped - p) < 0.03, `dropped ${dropped}`);
  assert.ok(Math.abs(mean - 1) < 0.04, `mean factor ${mean}`);
}));

test('batch mode draws one factor for the whole batch', TIMEOUT, fresh(() => {
  const sd = new StochasticDepth(0.5, 'batch', new E.Rng(5));
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const factors = rowFactors(sd.forward(E.ones([3, 2])));
    assert.equal(new Set(factors).size, 1, 'one factor per batch');
    seen.add(factors[0]!);
  }
  assert.deepEqual([...seen].sort(), [0, 2], 'both outcomes occur over 40 batches');
}));

test('eval mode and p = 0 are the identity (the same tensor); p = 1 drops everything', TIMEOUT, fresh(() => {
  const x = E.randNormal([4, 3], 0, 1, { rng: new E.Rng(1) });
  assert.equal(new StochasticDepth(0.5).eval().forward(x), x);
  assert.equal(new StochasticDepth(0).forward(x), x);
  assert.deepEqual([...new StochasticDepth(1).forward(x).toArray()].map(Math.abs), new Array(12).fill(0));
}));

test('the gradient is the same per-sample mask (gradcheck, and dy/dx read directly)', TIMEOUT, () => {
  const { maxError, worst } = gradcheck({
    name: 'stochasticDepth',
    shapes: [[6, 2, 2]],
    fn: (x) => new StochasticDepth(0.5, 'row', new E.Rng(3)).forward(x),
  });
  assert.ok(maxError < 1e-6, worst);
  fresh(() => {
    const x = E.randNormal([6, 4], 0, 1, { rng: new E.Rng(2) });
    x.requiresGrad = true;
    const factors = rowFactors(new StochasticDepth(0.5, 'row', new E.Rng(3)).forward(E.ones([6, 4])));
    E.backward(E.sum(new StochasticDepth(0.5, 'row', new E.Rng(3)).forward(x)));
    assert.deepEqual(rowFactors(x.grad!), factors);
    assert.ok(factors.includes(0) && factors.includes(2), `both outcomes among ${factors}`);
  })();
});

test('bad settings are refused with the value', TIMEOUT, () => {
  assert.throws(() => new StochasticDepth(1.5), { message: 'StochasticDepth: drop probability must be in [0, 1], got 1.5' });
  assert.throws(() => new StochasticDepth(0.1, 'col' as 'row'), { message: "StochasticDepth: mode must be 'row' or 'batch', got 'col'" });
});
