/**
 * Stochastic depth (Huang et al., 2016, "Deep Networks with Stochastic Depth"), as torchvision.ops.StochasticDepth:
 * in training, a residual branch's output is dropped with probability p and otherwise scaled by 1/(1−p), so its
 * expectation is unchanged; in eval it is the identity. "row" mode draws one Bernoulli per sample (the branch is
 * dropped for some images of the batch), "batch" mode one for the whole batch.
 */
import * as E from '../engine/index.js';
import type { Rng, Tensor } from '../engine/index.js';
import { rng } from '../engine/index.js';
import { Module } from './module.js';

export type StochasticDepthMode = 'row' | 'batch';

export class StochasticDepth extends Module {
  constructor(readonly p: number, readonly mode: StochasticDepthMode = 'row', readonly rng?: Rng) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`StochasticDepth: drop probability must be in [0, 1], got ${p}`);
    if (mode !== 'row' && mode !== 'batch') throw new Error(`StochasticDepth: mode must be 'row' or 'batch', got '${String(mode)}'`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const survival = 1 - this.p, g = this.rng ?? rng();
    const rows = this.mode === 'row' ? x.shape[0]! : 1;
    // torch divides by the survival rate only when it is positive: p = 1 drops every branch outright.
    const keep = survival > 0 ? 1 / survival : 0;
    const mask = Array.from({ length: rows }, () => (g.next() < survival ? keep : 0));
    const maskShape = [rows, ...x.shape.slice(1).map(() => 1)];
    return E.mul(x, E.tensor(mask, maskShape, { backend: x.backend }));
  }

  protected override describe(): string {
    return `StochasticDepth(p=${this.p}, mode=${this.mode})`;
  }
}
