/** Batch normalisation, layer normalisation and local response normalisation. */
import { noGrad, record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { mul } from './arithmetic.js';
import { addScalar, mulScalar, pow, square } from './elementwise.js';
import { avgPool2d } from './pool.js';
import { pad, reshape } from './shape.js';
import { assertFloat, backendOf, output, shapeError } from './util.js';

export interface BatchNormOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * x [n, c, ...]. In training, normalises with the batch's statistics and updates the running mean and the
 * running (unbiased) variance in place, as PyTorch does; in evaluation, uses the running statistics.
 */
export function batchNorm(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  const extra = [runningMean, runningVar, weight, bias].filter((t): t is Tensor => t !== null);
  const backend = backendOf('batchNorm', x, ...extra);
  assertFloat('batchNorm', x);
  if (x.rank < 2) throw shapeError('batchNorm', 'input must be [n, c, ...]', x.shape);
  const [n, c] = x.shape as [number, number];
  const hw = x.size / (n * c);
  for (const t of extra) if (t.size !== c || t.rank !== 1) throw shapeError('batchNorm', `expected [${c}] per-channel tensors`, x.shape, t.shape);
  const eps = opts.eps ?? 1e-5, momentum = opts.momentum ?? 0.1;
  const training = opts.training || !runningMean || !runningVar;
  const mean = output(backend, [c]), invstd = output(backend, [c]);
  if (training) {
    if (n * hw < 2) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input ${x.shape.join('×')}`);
    backend.batchNormStats(x.at, n, c, hw, eps, mean.at, invstd.at);
    if (runningMean && runningVar) noGrad(() => updateRunningStats(mean, invstd, runningMean, runningVar, momentum, eps, n * hw));
  } else {
    backend.copy(runningMean!.at, [1], mean.at, [1], [c]);
    const f = backend.heap.f;
    for (let i = 0; i < c; i++) f[invstd.at + i] = 1 / Math.sqrt(f[runningVar!.at + i]! + eps);
  }
  const y = output(backend, x.shape);
  backend.batchNormApply(x.at, n, c, hw, mean.at, invstd.at, weight ? weight.at : -1, bias ? bias.at : -1, y.at);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const saved = [x, mean, invstd, ...(weight ? [weight] : [])];
  const result = record('batchNorm', inputs, y, saved, (g, [sx, sm, si, sw]) => {
    const dx = x.requiresGrad ? output(backend, x.shape) : null;
    const dgamma = weight?.requiresGrad ? output(backend, [c]) : null;
    const dbeta = bias?.requiresGrad ? output(backend, [c]) : null;
    backend.batchNormBackward(sx!.at, g.at, n, c, hw, sm!.at, si!.at, sw ? sw.at : -1, training,
      dx ? dx.at : -1, dgamma ? dgamma.at : -1, dbeta ? dbeta.at : -1);
    return [dx, ...(weight ? [dgamma] : []), ...(bias ? [dbeta] : [])];
  }, { training, eps, runningMean, runningVar, weight, bias });
  mean.dispose();
  invstd.dispose();
  return result;
}

function updateRunningStats(mean: Tensor, invstd: Tensor, runMean: Tensor, runVar: Tensor, momentum: number, eps: number, count: number): void {
  const f = mean.backend.heap.f;
  for (let i = 0; i < mean.size; i++) {
    const biasedVar = 1 / f[invstd.at + i]! ** 2 - eps;
    f[runMean.at + i] = (1 - momentum) * f[runMean.at + i]! + momentum * f[mean.at + i]!;
    f[runVar.at + i] = (1 - momentum) * f[runVar.at + i]! + momentum * biasedVar * (count / (count - 1));
  }
}

/** Normalises over the trailing `normalizedShape` axes, with optional elementwise affine parameters. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const extra = [weight, bias].filter((t): t is Tensor => t !== null);
  const backend = backendOf('layerNorm', x, ...extra);
  assertFloat('layerNorm', x);
  const tail = x.shape.slice(x.rank - normalizedShape.length);
  if (tail.join() !== normalizedShape.join()) throw shapeError('layerNorm', 'normalized shape does not match the input', x.shape, normalizedShape);
  const cols = normalizedShape.reduce((a, b) => a * b, 1), rows = x.size / cols;
  for (const t of extra) if (t.size !== cols) throw shapeError('layerNorm', 'affine parameter does not match normalized shape', t.shape, normalizedShape);
  const y = output(backend, x.shape), mean = output(backend, [rows]), invstd = output(backend, [rows]);
  backend.layerNorm(x.at, rows, cols, eps, weight ? weight.at : -1, bias ? bias.at : -1, y.at, mean.at, invstd.at);
  const inputs = [x, ...extra];
  const result = record('layerNorm', inputs, y, [x, mean, invstd, ...(weight ? [weight] : [])], (g, [sx, sm, si, sw]) => {
    const dx = x.requiresGrad ? output(backend, x.shape) : null;
    const dw = weight?.requiresGrad ? output(backend, weight.shape) : null;
    const db = bias?.requiresGrad ? output(backend, bias.shape) : null;
    backend.layerNormBackward(sx!.at, g.at, rows, cols, sm!.at, si!.at, sw ? sw.at : -1, dx ? dx.at : -1, dw ? dw.at : -1, db ? db.at : -1);
    return [dx, ...(weight ? [dw] : []), ...(bias ? [db] : [])];
  }, { normalizedShape, eps, weight, bias });
  mean.dispose();
  invstd.dispose();
  return result;
}

export interface LrnOptions { size: number; alpha?: number; beta?: number; k?: number }

/**
 * AlexNet's local response normalisation across channels, composed exactly as PyTorch composes it:
 * b = a / (k + α/n · Σ_{window} a²)^β, the window padded by ⌊n/2⌋ before and ⌊(n−1)/2⌋ after.
 */
export function localResponseNorm(x: Tensor, opts: LrnOptions): Tensor {
  if (x.rank !== 4) throw shapeError('localResponseNorm', 'input must be [n, c, h, w]', x.shape);
  const { size } = opts, alpha = opts.alpha ?? 1e-4, beta = opts.beta ?? 0.75, k = opts.k ?? 1;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const sq = reshape(square(x), [n, 1, c, h * w]);
  const padded = pad(sq, [[Math.floor(size / 2), Math.floor((size - 1) / 2)], [0, 0]]);
  const windowMean = avgPool2d(padded, [size, 1], { stride: 1 });
  const denom = pow(addScalar(mulScalar(reshape(windowMean, [n, c, h, w]), alpha), k), -beta);
  return mul(x, denom);
}
