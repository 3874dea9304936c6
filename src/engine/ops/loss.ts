/**
 * Classification losses fused with their log-softmax: cross-entropy (class weights, label smoothing) and
 * focal loss. Both read N×C log-probabilities once, which is cheap next to the network, so the per-sample
 * arithmetic runs in TypeScript on the heap view.
 */
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { assertFloat, backendOf, output } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Per-class weights [C], as in torch.nn.CrossEntropyLoss(weight=...). */
  weight?: Tensor | Float32Array | number[] | null;
  labelSmoothing?: number;
  reduction?: Reduction;
}

export interface FocalOptions {
  gamma?: number;
  /** Per-class α weights [C]; the loss is normalised by their sum over the batch, like weighted cross-entropy. */
  weight?: Tensor | Float32Array | number[] | null;
  reduction?: Reduction;
}

/** logits [N, C], target int32 [N]. PyTorch's semantics, including how weights and smoothing combine. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { n, c, weights } = checkInputs('crossEntropy', logits, target, opts.weight);
  const eps = opts.labelSmoothing ?? 0;
  if (eps < 0 || eps > 1) throw new Error(`crossEntropy: label smoothing must be in [0, 1], got ${eps}`);
  // q[i, j]: the weighted target distribution; loss_i = Σ_j q_ij · (−log p_ij), normalised by Σ_i w[y_i].
  return fusedLoss('crossEntropy', logits, target, n, c, opts.reduction ?? 'mean', (logp, labels, perSample, dlogits) => {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      const row = i * c;
      let loss = 0, qSum = 0;
      for (let j = 0; j < c; j++) {
        const q = (j === y ? (1 - eps) * weights[y]! : 0) + (eps / c) * weights[j]!;
        loss -= q * logp[row + j]!;
        qSum += q;
        dlogits[row + j] = -q;
      }
      for (let j = 0; j < c; j++) dlogits[row + j]! += Math.exp(logp[row + j]!) * qSum;
      perSample[i] = loss;
      norm += weights[y]!;
    }
    return norm;
  });
}

/** Focal loss (Lin et al. 2017): −α_y (1 − p_y)^γ log p_y. γ = 0 with no weights is plain cross-entropy. */
export function focalLoss(logits: Tensor, target: Tensor, opts: FocalOptions = {}): Tensor {
  const { n, c, weights } = checkInputs('focalLoss', logits, target, opts.weight);
  const gamma = opts.gamma ?? 2;
  if (gamma < 0) throw new Error(`focalLoss: gamma must be ≥ 0, got ${gamma}`);
  return fusedLoss('focalLoss', logits, target, n, c, opts.reduction ?? 'mean', (logp, labels, perSample, dlogits) => {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      const y = labels[i]!, row = i * c, w = weights[y]!;
      const lpt = logp[row + y]!, pt = Math.exp(lpt), rest = Math.max(1 - pt, 0);
      perSample[i] = -w * rest ** gamma * lpt;
      // dL/dlog p_y, then through log_softmax: d log p_y / dz_j = δ_jy − p_j.
      const dl = w * ((gamma > 0 ? gamma * rest ** (gamma - 1) * pt * lpt : 0) - rest ** gamma);
      for (let j = 0; j < c; j++) dlogits[row + j] = dl * ((j === y ? 1 : 0) - Math.exp(logp[row + j]!));
      norm += w;
    }
    return norm;
  });
}

type LossBody = (logp: ArrayLike<number>, labels: Int32Array, perSample: Float64Array, dlogits: Float64Array) => number;

function fusedLoss(op: string, logits: Tensor, target: Tensor, n: number, c: number, reduction: Reduction, body: LossBody): Tensor {
  const backend = logits.backend;
  const logp = output(backend, [n, c]);
  backend.softmax(logits.at, logp.at, n, c, true);
  const f = backend.heap.f;
  const labels = backend.heap.i.slice(target.at, target.at + n);
  const perSample = new Float64Array(n), dlogits = new Float64Array(n * c);
  const norm = body(f.subarray(logp.at, logp.at + n * c), labels, perSample, dlogits);
  logp.dispose();
  // A NaN or Inf stays what it is: the trainer stops on it and reports the step; nothing clamps it.
  const out = output(backend, reduction === 'none' ? [n] : []);
  if (reduction === 'none') f.set(perSample, out.at);
  else {
    const total = perSample.reduce((s, v) => s + v, 0);
    f[out.at] = reduction === 'mean' ? total / norm : total;
  }
  const grad = output(backend, [n, c]);
  const scale = reduction === 'mean' ? 1 / norm : 1;
  for (let k = 0; k < n * c; k++) dlogits[k]! *= scale;
  f.set(dlogits, grad.at);
  const result = record(op, [logits], out, [grad], (g, [sg]) => {
    const dx = output(backend, [n, c]);
    const gf = backend.heap.f;
    if (reduction === 'none') {
      for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) gf[dx.at + i * c + j] = gf[sg!.at + i * c + j]! * gf[g.at + i]!;
    } else {
      const s = gf[g.at]!;
      for (let k = 0; k < n * c; k++) gf[dx.at + k] = gf[sg!.at + k]! * s;
    }
    return [dx];
  });
  grad.dispose();
  return result;
}

function checkInputs(op: string, logits: Tensor, target: Tensor, weight: CrossEntropyOptions['weight']) {
  backendOf(op, logits, target);
  assertFloat(op, logits);
  if (logits.rank !== 2) throw new Error(`${op}: logits must be [N, C], got ${fmtShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  if (target.dtype !== 'int32') throw new Error(`${op}: target must be an int32 tensor of class indices, got ${target.dtype}`);
  if (target.rank !== 1 || target.size !== n) throw new Error(`${op}: target ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)}`);
  const labels = target.backend.heap.i;
  for (let i = 0; i < n; i++) {
    const y = labels[target.at + i]!;
    if (y < 0 || y >= c) throw new Error(`${op}: target ${y} at index ${i} is out of range for ${c} classes`);
  }
  let weights: ArrayLike<number>;
  if (weight == null) weights = new Float64Array(c).fill(1);
  else {
    weights = isTensorLike(weight) ? weight.toArray() : weight;
    if (weights.length !== c) throw new Error(`${op}: class weights have ${weights.length} entries but logits have ${c} classes`);
  }
  return { n, c, weights };
}

function isTensorLike(w: object): w is Tensor {
  return 'storage' in w;
}
