/** The standard layers, each a thin Module over one engine op. Initialisation follows PyTorch's defaults. */
import * as E from '../engine/index.js';
import type { Rng, Tensor } from '../engine/index.js';
import { init } from '../engine/index.js';
import { Module } from './module.js';

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; rng?: Rng } = {}) {
    super();
    this.weight = this.param('weight', [outFeatures, inFeatures]);
    this.bias = opts.bias === false ? null : this.param('bias', [outFeatures]);
    init.torchDefaultInit(this.weight, this.bias, opts.rng);
  }

  forward(x: Tensor): Tensor {
    return E.linear(x, this.weight, this.bias);
  }

  protected override describe(): string {
    return `Linear(${this.inFeatures} → ${this.outFeatures}${this.bias ? '' : ', no bias'})`;
  }
}

export interface Conv2dOptions extends E.Conv2dOptions {
  bias?: boolean;
  rng?: Rng;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernel: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernel: number | [number, number], readonly opts: Conv2dOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    if (inChannels % groups || outChannels % groups) {
      throw new Error(`Conv2d: in (${inChannels}) and out (${outChannels}) channels must be divisible by groups (${groups})`);
    }
    this.kernel = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    this.weight = this.param('weight', [outChannels, inChannels / groups, ...this.kernel]);
    this.bias = opts.bias === false ? null : this.param('bias', [outChannels]);
    init.torchDefaultInit(this.weight, this.bias, opts.rng);
  }

  forward(x: Tensor): Tensor {
    return E.conv2d(x, this.weight, this.bias, this.opts);
  }

  protected override describe(): string {
    const o = this.opts;
    const extras = [o.stride && `stride ${o.stride}`, o.padding && `padding ${o.padding}`, o.dilation && `dilation ${o.dilation}`,
      o.groups && o.groups > 1 && `groups ${o.groups}`].filter(Boolean).join(', ');
    return `Conv2d(${this.inChannels} → ${this.outChannels}, ${this.kernel.join('×')}${extras ? ', ' + extras : ''})`;
  }
}

/** BatchNorm over axis 1 of [n, c] or [n, c, h, w] inputs (torch's BatchNorm1d and BatchNorm2d). */
export class BatchNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** How many training batches updated the running statistics (torch's int64 buffer, kept for its state_dict). */
  readonly numBatchesTracked: Tensor;

  constructor(readonly numFeatures: number, readonly opts: { eps?: number; momentum?: number } = {}) {
    super();
    this.weight = this.param('weight', [numFeatures]);
    this.bias = this.param('bias', [numFeatures]);
    init.constant_(this.weight, 1);
    init.constant_(this.bias, 0);
    this.runningMean = this.buffer('running_mean', [numFeatures], 0);
    this.runningVar = this.buffer('running_var', [numFeatures], 1);
    this.numBatchesTracked = this.buffer('num_batches_tracked', [], 0, 'int32');
  }

  forward(x: Tensor): Tensor {
    if (this.training) this.numBatchesTracked.copyFrom([this.numBatchesTracked.item() + 1]);
    return E.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, { training: this.training, ...this.opts });
  }

  protected override describe(): string {
    const { eps, momentum } = this.opts;
    return `BatchNorm(${this.numFeatures}${eps !== undefined ? `, eps=${eps}` : ''}${momentum !== undefined ? `, momentum=${momentum}` : ''})`;
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly shape: number[];

  constructor(normalizedShape: number | number[], readonly eps = 1e-5) {
    super();
    this.shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.weight = init.constant_(this.param('weight', this.shape), 1);
    this.bias = init.constant_(this.param('bias', this.shape), 0);
  }

  forward(x: Tensor): Tensor {
    return E.layerNorm(x, this.shape, this.weight, this.bias, this.eps);
  }
}

export class DropoutLayer extends Module {
  constructor(readonly p = 0.5, readonly rng?: Rng) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: probability must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return E.dropout(x, this.p, this.training, this.rng);
  }

  protected override describe(): string {
    return `Dropout(p=${this.p})`;
  }
}

/** A parameter-free function as a module (activations, flatten, pooling). */
export class Lambda extends Module {
  constructor(readonly name: string, readonly fn: (x: Tensor) => Tensor) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }

  protected override describe(): string {
    return this.name;
  }
}

export const Dropout = (p = 0.5, rng?: Rng): DropoutLayer => new DropoutLayer(p, rng);
export const ReLU = (): Lambda => new Lambda('ReLU()', E.relu);
export const LeakyReLU = (slope = 0.01): Lambda => new Lambda(`LeakyReLU(${slope})`, (x) => E.leakyRelu(x, slope));
export const Tanh = (): Lambda => new Lambda('Tanh()', E.tanh);
export const Sigmoid = (): Lambda => new Lambda('Sigmoid()', E.sigmoid);
export const GELU = (): Lambda => new Lambda('GELU()', E.gelu);
export const SiLU = (): Lambda => new Lambda('SiLU()', E.silu);
export const Hardswish = (): Lambda => new Lambda('Hardswish()', E.hardswish);
export const Hardsigmoid = (): Lambda => new Lambda('Hardsigmoid()', E.hardsigmoid);
export const ReLU6 = (): Lambda => new Lambda('ReLU6()', E.relu6);
export const Identity = (): Lambda => new Lambda('Identity()', (x) => x);
export const Flatten = (startAxis = 1): Lambda => new Lambda('Flatten()', (x) => E.flatten(x, startAxis));
export const MaxPool2d = (kernel: number | [number, number], opts: E.Pool2dOptions = {}): Lambda =>
  new Lambda(`MaxPool2d(${kernel})`, (x) => E.maxPool2d(x, kernel, opts));
export const AvgPool2d = (kernel: number | [number, number], opts: E.Pool2dOptions = {}): Lambda =>
  new Lambda(`AvgPool2d(${kernel})`, (x) => E.avgPool2d(x, kernel, opts));
export const AdaptiveAvgPool2d = (size: number | [number, number]): Lambda =>
  new Lambda(`AdaptiveAvgPool2d(${size})`, (x) => E.adaptiveAvgPool2d(x, size));
export const LocalResponseNorm = (size: number, alpha = 1e-4, beta = 0.75, k = 1): Lambda =>
  new Lambda(`LocalResponseNorm(${size}, α=${alpha}, β=${beta}, k=${k})`, (x) => E.localResponseNorm(x, { size, alpha, beta, k }));
