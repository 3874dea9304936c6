/** Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p). */
import { record } from '../autograd.js';
import { rng, type Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { binaryRaw } from './arithmetic.js';
import { backendOf, output } from './util.js';

export function dropout(x: Tensor, p: number, training: boolean, generator: Rng = rng()): Tensor {
  const backend = backendOf('dropout', x);
  if (p < 0 || p >= 1) throw new Error(`dropout: probability must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const mask = output(backend, x.shape);
  const f = backend.heap.f, scale = 1 / (1 - p);
  for (let i = 0; i < x.size; i++) f[mask.at + i] = generator.next() < p ? 0 : scale;
  const y = binaryRaw('mul', x, mask);
  const result = record('dropout', [x], y, [mask], (g, [m]) => [binaryRaw('mul', g, m!)]);
  mask.dispose();
  return result;
}
