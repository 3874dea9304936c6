/**
 * SGD over parameter groups, each with its own learning rate and weight decay, as torch.optim.SGD(param_groups):
 * d = g + wd·p; buf = momentum·buf + d (buf = d on the first step); p −= lr · (d + momentum·buf) with Nesterov.
 * `lr` of the optimiser is the schedule's factor applied to every group's base rate, as torch's LambdaLR does.
 * Parameters without a gradient at a step (frozen ones) are skipped, momentum and decay included.
 */
import type { Tensor } from '../engine/index.js';
import { Optimizer } from './optim.js';

export interface ParamGroup {
  name: string;
  params: Tensor[];
  lr: number;
  weightDecay: number;
}

export class GroupedSGD extends Optimizer {
  readonly kind = 'sgd-groups';
  /** Group index of each parameter, in the order of `params`. */
  private readonly groupOf: number[];

  constructor(readonly groups: ParamGroup[], readonly o: { momentum: number; nesterov: boolean }) {
    super(groups.flatMap((g) => g.params), 1);
    for (const g of groups) {
      if (!(g.lr >= 0) || !(g.weightDecay >= 0)) throw new Error(`sgd: group '${g.name}' needs lr ≥ 0 and weight decay ≥ 0, got ${g.lr} and ${g.weightDecay}`);
    }
    if (o.nesterov && !(o.momentum > 0)) throw new Error('sgd: Nesterov momentum requires momentum > 0');
    this.groupOf = groups.flatMap((g, i) => g.params.map(() => i));
    const seen = new Set<Tensor>();
    for (const p of this.params) {
      if (seen.has(p)) throw new Error('sgd: a parameter appears in more than one group');
      seen.add(p);
    }
  }

  protected update(p: Tensor, g: Tensor, index: number): void {
    const group = this.groups[this.groupOf[index]!]!;
    const buf = this.o.momentum ? this.slot('momentum', index, p) : null;
    p.backend.sgdStep(p.at, g.at, buf ? buf.tensor.at : -1, p.size, {
      lr: group.lr * this.lr, momentum: this.o.momentum, dampening: 0, weightDecay: group.weightDecay,
      nesterov: this.o.nesterov, firstStep: buf?.fresh ?? false,
    });
  }
}
