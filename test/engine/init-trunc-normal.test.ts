/**
 * init.truncNormal_ (torch.nn.init.trunc_normal_): every value inside [low, high], and the moments of a normal
 * truncated there (checked where truncation matters, at ±1 std, and where it does not, GoogLeNet's std 0.01 cut at ±2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';

const onReference = (fn: () => void) => (): void => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => { fn(); }));

function moments(values: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let sum = 0, sq = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    sum += v; sq += v * v; min = Math.min(min, v); max = Math.max(max, v);
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sq / values.length - mean * mean), min, max };
}

// The std of N(0, 1) truncated to [−1, 1]: sqrt(1 − 2φ(1) / (2Φ(1) − 1)) = 0.53956.
const TRUNCATED_STD_1 = 0.53956;

test('truncNormal_: values stay inside the bounds with the truncated distribution\'s moments', { timeout: 30_000 }, onReference(() => {
  const cases = [
    { o: { mean: 0, std: 1, low: -1, high: 1 }, std: TRUNCATED_STD_1 },
    { o: { mean: 0, std: 0.01, low: -2, high: 2 }, std: 0.01 },
    { o: { mean: 3, std: 2, low: 1, high: 5 }, std: 2 * TRUNCATED_STD_1 },
  ];
  for (const { o, std } of cases) {
    const t = E.init.truncNormal_(E.zeros([200_000]), { ...o, rng: new E.Rng(7) });
    const m = moments(t.toArray());
    assert.ok(m.min >= o.low && m.max <= o.high, `[${m.min}, ${m.max}] inside [${o.low}, ${o.high}]`);
    assert.ok(Math.abs(m.mean - o.mean) < 0.01 * o.std, `mean ${m.mean} for ${JSON.stringify(o)}`);
    assert.ok(Math.abs(m.std / std - 1) < 0.01, `std ${m.std}, expected ${std} for ${JSON.stringify(o)}`);
  }
}));

test('truncNormal_: bounds that hold (almost) no mass are refused', { timeout: 30_000 }, onReference(() => {
  assert.throws(() => E.init.truncNormal_(E.zeros([4]), { low: 1, high: 1 }), { message: 'truncNormal_: need std > 0 and low < high, got std 1, [1, 1]' });
  assert.throws(() => E.init.truncNormal_(E.zeros([4]), { mean: 10, std: 1, low: -2, high: 2 }), { message: 'truncNormal_: mean 10 is more than 2 std from [-2, 2]' });
}));
