/** Initialisers added for the model zoo: truncNormal_ (torch.nn.init.trunc_normal_, absolute bounds). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';

const TIMEOUT = { timeout: 30_000 };

const onReference = (fn: () => void) => (): void => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => { fn(); }));

function moments(a: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < a.length; i++) { s += a[i]!; min = Math.min(min, a[i]!); max = Math.max(max, a[i]!); }
  const mean = s / a.length;
  let q = 0;
  for (let i = 0; i < a.length; i++) q += (a[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(q / a.length), min, max };
}

test('truncNormal_: values within [a, b], the truncated distribution\'s moments', TIMEOUT, onReference(() => {
  // N(0, 1) cut at ±1: std = √(1 − 2φ(1)/(Φ(1) − Φ(−1))) = 0.5379; 20,000 samples give a standard error ≈ 0.003.
  const t = E.init.truncNormal_(E.zeros([20_000]), 0, 1, -1, 1, new E.Rng(3));
  const m = moments(t.toArray());
  assert.ok(m.min >= -1 && m.max <= 1, `range [${m.min}, ${m.max}]`);
  assert.ok(Math.abs(m.mean) < 0.015, `mean ${m.mean}`);
  assert.ok(Math.abs(m.std - 0.5379) < 0.015, `std ${m.std}`);
  // torch's default bounds are absolute (±2), so a small std is effectively untruncated: ViT's conv_proj init.
  const small = moments(E.init.truncNormal_(E.zeros([20_000]), 0, 0.05, -2, 2, new E.Rng(4)).toArray());
  assert.ok(Math.abs(small.std - 0.05) < 0.002, `std ${small.std}`);
}));

test('truncNormal_: bad bounds are refused, and a window with no mass fails instead of looping', TIMEOUT, onReference(() => {
  assert.throws(() => E.init.truncNormal_(E.zeros([2]), 0, 1, 1, -1), { message: 'truncNormal_: need std > 0 and a < b, got std 1, [1, -1]' });
  assert.throws(() => E.init.truncNormal_(E.zeros([2]), 0, 1, 50, 51), { message: 'truncNormal_: [50, 51] holds almost none of N(0, 1²)' });
}));
