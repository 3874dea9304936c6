/**
 * Weight initialisers with PyTorch's formulas. Conv2d and Linear default to kaiming_uniform(a=√5) for the
 * weight, which gives U(−1/√fan_in, 1/√fan_in), and the same bound for the bias.
 */
import { rng, type Rng } from './random.js';
import type { Tensor } from './tensor.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** fan_in and fan_out of a weight laid out as [out, in, ...receptive field]. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`init: fan in/out need at least 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export function gain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': return Math.sqrt(2 / (1 + param * param));
    case 'selu': return 3 / 4;
  }
}

function fillWith(t: Tensor, sample: () => number): Tensor {
  const f = t.backend.heap.f;
  // `at` checks the tensor is alive and divides on every read: read it once.
  const start = t.at, end = start + t.size;
  for (let i = start; i < end; i++) f[i] = sample();
  return t;
}

export function uniform_(t: Tensor, low: number, high: number, g: Rng = rng()): Tensor {
  return fillWith(t, () => g.uniform(low, high));
}

export function normal_(t: Tensor, mean = 0, std = 1, g: Rng = rng()): Tensor {
  return fillWith(t, () => mean + std * g.normal());
}

/**
 * torch.nn.init.trunc_normal_: N(mean, std²) restricted to [low, high] (absolute bounds, as torch's a and b).
 * Rejection sampling draws from exactly that distribution; torch uses the inverse CDF, which differs only in
 * which random numbers it consumes.
 */
export function truncNormal_(t: Tensor, o: { mean?: number; std?: number; low?: number; high?: number; rng?: Rng } = {}): Tensor {
  const mean = o.mean ?? 0, std = o.std ?? 1, low = o.low ?? -2, high = o.high ?? 2;
  if (!(std > 0) || !(low < high)) throw new Error(`truncNormal_: need std > 0 and low < high, got std ${std}, [${low}, ${high}]`);
  // Rejection would loop (nearly) forever when the interval holds almost no mass; torch warns there too.
  if (mean < low - 2 * std || mean > high + 2 * std) throw new Error(`truncNormal_: mean ${mean} is more than 2 std from [${low}, ${high}]`);
  const g = o.rng ?? rng();
  return fillWith(t, () => {
    for (;;) {
      const v = mean + std * g.normal();
      if (v >= low && v <= high) return v;
    }
  });
}

export function constant_(t: Tensor, value: number): Tensor {
  t.backend.fill(t.at, t.size, value);
  return t;
}

export interface KaimingOptions { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: Nonlinearity; rng?: Rng }

export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const std = gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(o.mode === 'fan_out' ? fanOut : fanIn);
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound, o.rng);
}

export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const std = gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(o.mode === 'fan_out' ? fanOut : fanIn);
  return normal_(t, 0, std, o.rng);
}

export function xavierUniform_(t: Tensor, gainValue = 1, g?: Rng): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const bound = gainValue * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, g);
}

export function xavierNormal_(t: Tensor, gainValue = 1, g?: Rng): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  return normal_(t, 0, gainValue * Math.sqrt(2 / (fanIn + fanOut)), g);
}

/** torch.nn.Conv2d / Linear reset_parameters(): weight kaiming_uniform(a=√5), bias U(±1/√fan_in). */
export function torchDefaultInit(weight: Tensor, bias: Tensor | null, g?: Rng): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), rng: g });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight.shape).fanIn);
    uniform_(bias, -bound, bound, g);
  }
}
