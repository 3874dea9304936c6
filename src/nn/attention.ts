/**
 * Multi-head self-attention with torch.nn.MultiheadAttention's parameters and state-dict names (batch_first):
 * the three input projections packed into `in_proj_weight` [3E, E] and `in_proj_bias` [3E], then `out_proj`.
 * All heads run as one batched GEMM over [batch·heads, tokens, headDim] views; softmax runs along the last axis.
 */
import * as E from '../engine/index.js';
import type { Rng, Tensor } from '../engine/index.js';
import { init } from '../engine/index.js';
import { Linear } from './layers.js';
import { Module } from './module.js';

export class MultiheadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor;
  readonly outProj: Linear;
  readonly headDim: number;

  constructor(readonly embedDim: number, readonly numHeads: number, readonly opts: { dropout?: number; rng?: Rng } = {}) {
    super();
    if (embedDim % numHeads !== 0) throw new Error(`MultiheadAttention: embedding size ${embedDim} is not divisible by ${numHeads} heads`);
    const p = opts.dropout ?? 0;
    if (p < 0 || p >= 1) throw new Error(`MultiheadAttention: dropout must be in [0, 1), got ${p}`);
    this.headDim = embedDim / numHeads;
    this.inProjWeight = this.param('in_proj_weight', [3 * embedDim, embedDim]);
    this.inProjBias = this.param('in_proj_bias', [3 * embedDim]);
    this.outProj = this.child('out_proj', new Linear(embedDim, embedDim, { rng: opts.rng }));
    // torch's _reset_parameters: xavier-uniform packed projection, zero biases; out_proj keeps Linear's weight init.
    init.xavierUniform_(this.inProjWeight, 1, opts.rng);
    init.constant_(this.inProjBias, 0);
    init.constant_(this.outProj.bias!, 0);
  }

  /** Self-attention over x [batch, tokens, embedDim] (query = key = value = x, no mask). */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.embedDim) {
      throw new Error(`MultiheadAttention: expected input [batch, tokens, ${this.embedDim}], got [${x.shape.join(', ')}]`);
    }
    const [b, t] = x.shape as [number, number, number];
    const h = this.numHeads, d = this.headDim;
    const qkv = E.linear(x, this.inProjWeight, this.inProjBias); // [b, t, 3E]
    // [b, t, 3, h, d] → [3, b, h, t, d]: q, k and v become contiguous [b·h, t, d] blocks.
    const heads = E.permute(E.reshape(qkv, [b, t, 3, h, d]), [2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => E.reshape(E.slice(heads, 0, i, 1), [b * h, t, d])) as [Tensor, Tensor, Tensor];
    // torch scales q by 1/√d before the product (fewer elements than the [t, t] scores).
    const scores = E.matmul(E.mulScalar(q, 1 / Math.sqrt(d)), E.transpose(k, 1, 2)); // [b·h, t, t]
    const weights = E.dropout(E.softmax(scores, -1), this.opts.dropout ?? 0, this.training, this.opts.rng);
    const context = E.matmul(weights, v); // [b·h, t, d]
    const merged = E.reshape(E.permute(E.reshape(context, [b, h, t, d]), [0, 2, 1, 3]), [b, t, this.embedDim]);
    return this.outProj.forward(merged);
  }

  protected override describe(): string {
    return `MultiheadAttention(${this.embedDim}, heads=${this.numHeads})`;
  }
}
