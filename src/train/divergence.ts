/**
 * Guards against a diverging run: a non-finite or exploding loss stops training before the optimiser step, and
 * gradient-norm clipping (optional) keeps single bad batches from throwing the weights far off.
 */
import * as E from '../engine/index.js';

/** Default: stop when a step loss exceeds this many times the first epoch's median step loss. */
export const DEFAULT_DIVERGENCE_FACTOR = 1e4;

export class TrainingDiverged extends Error {}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Why `loss` means the run has diverged, or undefined when it is fine. `firstEpochLosses` are the step losses of
 * epoch 1 so far (all of them once epoch 1 is over): their median is the scale a sane loss stays near.
 */
export function divergenceReason(loss: number, firstEpochLosses: readonly number[], factor: number): string | undefined {
  if (!Number.isFinite(loss)) return `loss is ${loss}`;
  if (firstEpochLosses.length === 0) return undefined;
  const typical = median(firstEpochLosses);
  if (typical > 0 && loss > factor * typical) {
    return `loss is ${loss.toExponential(3)} (above ${factor} × the first epoch's median step loss, ${typical.toPrecision(4)})`;
  }
  return undefined;
}

/**
 * Scales all gradients so that their joint L2 norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping.
 */
export function clipGradNorm(params: readonly E.Tensor[], maxNorm: number): number {
  let sumSquares = 0;
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad;
    sumSquares += E.noGrad(() => E.tidy(() => E.sum(E.mul(g, g)).item()));
  }
  const norm = Math.sqrt(sumSquares);
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) {
    // g += (scale − 1)·g scales the gradient in place, through the backend's public axpy.
    for (const p of params) if (p.grad) p.grad.backend.axpy(p.grad.at, p.grad.at, p.grad.size, scale - 1);
  }
  return norm;
}

/** A model whose outputs are NaN or infinite is useless for evaluation or prediction: refuse it by name. */
export class NonFiniteOutputsError extends Error {
  override name = 'NonFiniteOutputsError';
}

export function assertFiniteOutputs(value: number, checkpoint: string): void {
  if (!Number.isFinite(value)) {
    throw new NonFiniteOutputsError(`${checkpoint}: the model's outputs are not finite (loss ${value}); the checkpoint holds diverged weights`);
  }
}
