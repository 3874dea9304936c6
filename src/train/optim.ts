/**
 * Optimisers with PyTorch's update rules (torch.optim.SGD, Adam, AdamW). Their state lives in heap tensors
 * kept across steps and can be exported for checkpoints, so a resumed run continues exactly.
 */
import { Tensor, empty, zeroGrad } from '../engine/index.js';

export interface OptimizerState {
  kind: string;
  step: number;
  /** Per-parameter state tensors by parameter index and slot name ("momentum", "exp_avg", "exp_avg_sq"). */
  slots: Record<string, Float32Array>;
}

export abstract class Optimizer {
  lr: number;
  protected stepCount = 0;
  protected readonly slots = new Map<string, Tensor>();

  constructor(readonly params: Tensor[], lr: number) {
    if (!(lr >= 0)) throw new Error(`optimizer: learning rate must be ≥ 0, got ${lr}`);
    this.lr = lr;
  }

  abstract readonly kind: string;
  protected abstract update(p: Tensor, g: Tensor, index: number): void;

  step(): void {
    this.stepCount++;
    this.params.forEach((p, i) => {
      if (p.grad) this.update(p, p.grad, i);
    });
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }

  protected slot(name: string, index: number, like: Tensor): { tensor: Tensor; fresh: boolean } {
    const key = `${index}.${name}`;
    let t = this.slots.get(key);
    const fresh = !t;
    if (!t) {
      t = empty(like.backend, like.shape).keep().fill(0);
      this.slots.set(key, t);
    }
    return { tensor: t, fresh };
  }

  stateDict(): OptimizerState {
    const slots: Record<string, Float32Array> = {};
    for (const [key, t] of this.slots) slots[key] = t.toFloat32();
    return { kind: this.kind, step: this.stepCount, slots };
  }

  loadStateDict(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new Error(`optimizer: checkpoint holds ${state.kind} state, not ${this.kind}`);
    this.stepCount = state.step;
    for (const [key, data] of Object.entries(state.slots)) {
      const index = Number(key.split('.')[0]);
      const p = this.params[index];
      if (!p || p.size !== data.length) throw new Error(`optimizer: state ${key} does not match the model's parameters`);
      const { tensor } = this.slot(key.slice(key.indexOf('.') + 1), index, p);
      tensor.copyFrom(data);
    }
  }

  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}

export interface SgdOptions { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }

export class SGD extends Optimizer {
  readonly kind = 'sgd';
  constructor(params: Tensor[], readonly o: SgdOptions) {
    super(params, o.lr);
    if (o.nesterov && (!o.momentum || o.dampening)) throw new Error('sgd: Nesterov momentum requires momentum > 0 and zero dampening');
  }

  protected update(p: Tensor, g: Tensor, i: number): void {
    const momentum = this.o.momentum ?? 0;
    const buf = momentum ? this.slot('momentum', i, p) : null;
    p.backend.sgdStep(p.at, g.at, buf ? buf.tensor.at : -1, p.size, {
      lr: this.lr, momentum, dampening: this.o.dampening ?? 0, weightDecay: this.o.weightDecay ?? 0,
      nesterov: this.o.nesterov ?? false, firstStep: buf?.fresh ?? false,
    });
  }
}

export interface AdamOptions { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number }

export class Adam extends Optimizer {
  readonly kind: string = 'adam';
  protected readonly decoupled: boolean = false;
  constructor(params: Tensor[], readonly o: AdamOptions) {
    super(params, o.lr);
  }

  protected update(p: Tensor, g: Tensor, i: number): void {
    const [beta1, beta2] = this.o.betas ?? [0.9, 0.999];
    p.backend.adamStep(p.at, g.at, this.slot('exp_avg', i, p).tensor.at, this.slot('exp_avg_sq', i, p).tensor.at, p.size, {
      lr: this.lr, beta1, beta2, eps: this.o.eps ?? 1e-8, weightDecay: this.o.weightDecay ?? this.defaultDecay(),
      decoupled: this.decoupled, step: this.stepCount,
    });
  }

  protected defaultDecay(): number {
    return 0;
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); PyTorch's default decay is 0.01. */
export class AdamW extends Adam {
  override readonly kind = 'adamw';
  protected override readonly decoupled = true;
  protected override defaultDecay(): number {
    return 0.01;
  }
}

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  betas?: [number, number];
}

export function createOptimizer(params: Tensor[], c: OptimizerConfig): Optimizer {
  switch (c.name) {
    case 'sgd': return new SGD(params, { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
    case 'adam': return new Adam(params, { lr: c.lr, betas: c.betas, weightDecay: c.weightDecay });
    case 'adamw': return new AdamW(params, { lr: c.lr, betas: c.betas, weightDecay: c.weightDecay });
    default: throw new Error(`unknown optimizer '${(c as { name: string }).name}'. Valid optimizers: sgd, adam, adamw`);
  }
}
