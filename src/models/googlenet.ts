/**
 * GoogLeNet (Inception v1): Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv:1409.4842).
 *
 *   googlenet:        torchvision 0.14's models/googlenet.py, module for module: BasicConv2d (conv without bias,
 *                     batch norm eps 1e-3, ReLU), max pools with ceil_mode, the Inception module with its "5×5"
 *                     branch built from a 3×3 conv (a known torchvision quirk, pytorch/vision#906, kept so that
 *                     its weights load), dropout 0.2 before fc, and the two auxiliary classifiers (after
 *                     inception4a and inception4d) that run only in training mode. 6,624,904 parameters
 *                     without the auxiliary heads, 13,004,888 with them (1000 classes); 1.498 G multiply-adds.
 *                     Weights start as torchvision's init_weights=True: truncated normal (std 0.01, cut at ±2)
 *                     for conv and linear weights.
 *   googlenet-cifar:  kuangliu/pytorch-cifar models/googlenet.py, the widely used CIFAR-10 GoogLeNet: a 3×3 conv
 *                     to 192 channels instead of the ImageNet stem, Inception a3…b5 with biased convs and a true
 *                     5×5 branch made of two 3×3 convs, two stride-2 max pools; 6,166,250 parameters at 10
 *                     classes; 95.04 % CIFAR-10 test accuracy reported in its README.
 *
 * The paper weights each auxiliary loss 0.3; GoogLeNet reports its auxiliary logits through
 * `auxiliaryOutputs()` and the trainer adds them. torchvision's `transform_input` (which it switches on for
 * its pretrained weights) re-normalises ImageNet-normalised input to the [−1, 1] scaling of the original
 * weights; here it is the option `transformInput`, off by default.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import {
  AdaptiveAvgPool2d, BatchNorm, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential,
  type AuxiliaryOutput, type Conv2dOptions,
} from '../nn/index.js';
import { stage } from './layer-errors.js';
import type { ModelSpec } from './registry.js';

export interface GoogLeNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** The auxiliary classifiers after inception4a and inception4d (torchvision's aux_logits, default true). */
  auxLogits?: boolean;
  /** torchvision's transform_input (default false). */
  transformInput?: boolean;
  /** Dropout before fc (default 0.2). */
  dropout?: number;
  /** Dropout inside the auxiliary classifiers (default 0.7). */
  dropoutAux?: number;
  /** Truncated-normal initialisation of conv and linear weights, as torchvision's init_weights (default true). */
  initWeights?: boolean;
}

/** The paper's weight of each auxiliary classifier's loss. */
export const AUX_LOSS_WEIGHT = 0.3;

/** Conv (no bias) → BatchNorm (eps 1e-3) → ReLU. */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(inChannels: number, outChannels: number, kernel: number, opts: Conv2dOptions = {}) {
    super();
    this.conv = this.child('conv', new Conv2d(inChannels, outChannels, kernel, { ...opts, bias: false }));
    this.bn = this.child('bn', new BatchNorm(outChannels, { eps: 1e-3 }));
  }

  forward(x: Tensor): Tensor {
    return E.relu(this.bn.forward(this.conv.forward(x)));
  }
}

/** Four parallel branches, concatenated along channels: 1×1; 1×1 → 3×3; 1×1 → "5×5" (3×3); 3×3 max pool → 1×1. */
export class Inception extends Module {
  readonly branch1: BasicConv2d;
  readonly branch2: Sequential;
  readonly branch3: Sequential;
  readonly branch4: Sequential;

  constructor(inChannels: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = this.child('branch1', new BasicConv2d(inChannels, ch1x1, 1));
    this.branch2 = this.child('branch2', new Sequential(new BasicConv2d(inChannels, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 })));
    // torchvision's kernel 3 where the paper has 5 (pytorch/vision#906).
    this.branch3 = this.child('branch3', new Sequential(new BasicConv2d(inChannels, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 })));
    this.branch4 = this.child('branch4', new Sequential(
      MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inChannels, poolProj, 1),
    ));
  }

  forward(x: Tensor): Tensor {
    return E.concat([this.branch1, this.branch2, this.branch3, this.branch4].map((b) => b.forward(x)), 1);
  }
}

/** The auxiliary classifier: 4×4 adaptive average pool → 1×1 conv to 128 → fc 2048→1024 → ReLU → dropout → fc. */
export class InceptionAux extends Module {
  readonly conv: BasicConv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly dropout: Module;

  constructor(inChannels: number, numClasses: number, dropout = 0.7) {
    super();
    this.conv = this.child('conv', new BasicConv2d(inChannels, 128, 1));
    this.fc1 = this.child('fc1', new Linear(2048, 1024));
    this.fc2 = this.child('fc2', new Linear(1024, numClasses));
    this.dropout = this.child('dropout', Dropout(dropout));
  }

  forward(x: Tensor): Tensor {
    const h = E.flatten(this.conv.forward(E.adaptiveAvgPool2d(x, 4)), 1);
    return this.fc2.forward(this.dropout.forward(E.relu(this.fc1.forward(h))));
  }
}

/** Every module of the tree, depth first (torch's `modules()`). */
function* modules(m: Module): Generator<Module> {
  yield m;
  for (const [, child] of m.namedChildren()) yield* modules(child);
}

/** torchvision's ImageNet normalisation undone and redone as (x − 0.5) / 0.5, channel by channel. */
const TRANSFORM_SCALE = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5];
const TRANSFORM_SHIFT = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5];

export class GoogLeNet extends Module {
  readonly conv1: BasicConv2d;
  readonly conv2: BasicConv2d;
  readonly conv3: BasicConv2d;
  readonly inception3a: Inception;
  readonly inception3b: Inception;
  readonly inception4a: Inception;
  readonly inception4b: Inception;
  readonly inception4c: Inception;
  readonly inception4d: Inception;
  readonly inception4e: Inception;
  readonly inception5a: Inception;
  readonly inception5b: Inception;
  readonly aux1: InceptionAux | null;
  readonly aux2: InceptionAux | null;
  readonly fc: Linear;
  readonly transformInput: boolean;
  private readonly pools: Record<'maxpool1' | 'maxpool2' | 'maxpool3' | 'maxpool4', Module>;
  private readonly dropout: Module;
  private lastAuxiliary: AuxiliaryOutput[] = [];

  constructor(opts: GoogLeNetOptions = {}) {
    super();
    const numClasses = opts.numClasses ?? 1000;
    this.transformInput = opts.transformInput ?? false;
    if (this.transformInput && (opts.inChannels ?? 3) !== 3) throw new Error(`googlenet: transformInput needs 3 input channels, got ${opts.inChannels}`);
    const pool = (name: string, k: number): Module => this.child(name, MaxPool2d(k, { stride: 2, ceilMode: true }));
    this.conv1 = this.child('conv1', new BasicConv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3 }));
    const maxpool1 = pool('maxpool1', 3);
    this.conv2 = this.child('conv2', new BasicConv2d(64, 64, 1));
    this.conv3 = this.child('conv3', new BasicConv2d(64, 192, 3, { padding: 1 }));
    const maxpool2 = pool('maxpool2', 3);
    this.inception3a = this.child('inception3a', new Inception(192, 64, 96, 128, 16, 32, 32));
    this.inception3b = this.child('inception3b', new Inception(256, 128, 128, 192, 32, 96, 64));
    const maxpool3 = pool('maxpool3', 3);
    this.inception4a = this.child('inception4a', new Inception(480, 192, 96, 208, 16, 48, 64));
    this.inception4b = this.child('inception4b', new Inception(512, 160, 112, 224, 24, 64, 64));
    this.inception4c = this.child('inception4c', new Inception(512, 128, 128, 256, 24, 64, 64));
    this.inception4d = this.child('inception4d', new Inception(512, 112, 144, 288, 32, 64, 64));
    this.inception4e = this.child('inception4e', new Inception(528, 256, 160, 320, 32, 128, 128));
    const maxpool4 = pool('maxpool4', 2);
    this.inception5a = this.child('inception5a', new Inception(832, 256, 160, 320, 32, 128, 128));
    this.inception5b = this.child('inception5b', new Inception(832, 384, 192, 384, 48, 128, 128));
    const aux = opts.auxLogits ?? true;
    this.aux1 = aux ? this.child('aux1', new InceptionAux(512, numClasses, opts.dropoutAux ?? 0.7)) : null;
    this.aux2 = aux ? this.child('aux2', new InceptionAux(528, numClasses, opts.dropoutAux ?? 0.7)) : null;
    this.child('avgpool', AdaptiveAvgPool2d(1));
    this.dropout = this.child('dropout', Dropout(opts.dropout ?? 0.2));
    this.fc = this.child('fc', new Linear(1024, numClasses));
    this.pools = { maxpool1, maxpool2, maxpool3, maxpool4 };
    if (opts.initWeights ?? true) {
      for (const m of modules(this)) {
        if (m instanceof Conv2d || m instanceof Linear) E.init.truncNormal_(m.weight, { std: 0.01, low: -2, high: 2 });
      }
    }
  }

  /** torchvision's _transform_input: x_c · (std_c / 0.5) + (mean_c − 0.5) / 0.5. */
  private transform(x: Tensor): Tensor {
    if (!this.transformInput) return x;
    const channels = TRANSFORM_SCALE.map((s, c) => E.addScalar(E.mulScalar(E.slice(x, 1, c, 1), s), TRANSFORM_SHIFT[c]!));
    return E.concat(channels, 1);
  }

  forward(input: Tensor): Tensor {
    const at = (name: string, x: Tensor, m: Module): Tensor => stage('googlenet', name, x, (t) => m.forward(t));
    const auxiliary: AuxiliaryOutput[] = [];
    this.lastAuxiliary = auxiliary; // a pass that throws half-way leaves no stale outputs of an earlier one
    let x = this.transform(input);
    x = at('conv1', x, this.conv1);
    x = at('maxpool1', x, this.pools.maxpool1);
    x = this.conv3.forward(this.conv2.forward(x));
    x = at('maxpool2', x, this.pools.maxpool2);
    x = this.inception3b.forward(this.inception3a.forward(x));
    x = at('maxpool3', x, this.pools.maxpool3);
    x = this.inception4a.forward(x);
    if (this.aux1 && this.training) auxiliary.push({ logits: this.aux1.forward(x), weight: AUX_LOSS_WEIGHT });
    x = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(x)));
    if (this.aux2 && this.training) auxiliary.push({ logits: this.aux2.forward(x), weight: AUX_LOSS_WEIGHT });
    x = this.inception4e.forward(x);
    x = at('maxpool4', x, this.pools.maxpool4);
    x = this.inception5b.forward(this.inception5a.forward(x));
    x = E.flatten(E.adaptiveAvgPool2d(x, 1), 1);
    return this.fc.forward(this.dropout.forward(x));
  }

  /** aux1's and aux2's logits of the last training-mode forward pass, each weighted 0.3; none in eval mode. */
  override auxiliaryOutputs(): AuxiliaryOutput[] {
    return this.lastAuxiliary;
  }
}

const convBnRelu = (inChannels: number, outChannels: number, kernel: number, padding = 0): Module[] => [
  new Conv2d(inChannels, outChannels, kernel, { padding }), new BatchNorm(outChannels), ReLU(),
];

/** kuangliu's CIFAR Inception module: biased convs, and a 5×5 receptive field from two stacked 3×3 convs. */
export class InceptionCifar extends Module {
  readonly branches: Sequential[];

  constructor(inPlanes: number, n1x1: number, n3x3red: number, n3x3: number, n5x5red: number, n5x5: number, poolPlanes: number) {
    super();
    this.branches = [
      this.child('b1', new Sequential(...convBnRelu(inPlanes, n1x1, 1))),
      this.child('b2', new Sequential(...convBnRelu(inPlanes, n3x3red, 1), ...convBnRelu(n3x3red, n3x3, 3, 1))),
      this.child('b3', new Sequential(...convBnRelu(inPlanes, n5x5red, 1), ...convBnRelu(n5x5red, n5x5, 3, 1), ...convBnRelu(n5x5, n5x5, 3, 1))),
      this.child('b4', new Sequential(MaxPool2d(3, { stride: 1, padding: 1 }), ...convBnRelu(inPlanes, poolPlanes, 1))),
    ];
  }

  forward(x: Tensor): Tensor {
    return E.concat(this.branches.map((b) => b.forward(x)), 1);
  }
}

export class GoogLeNetCifar extends Module {
  private readonly stages: [string, Module][];

  constructor(opts: { numClasses?: number; inChannels?: number } = {}) {
    super();
    const inception = (name: string, ...cfg: [number, number, number, number, number, number, number]): [string, Module] =>
      [name, this.child(name, new InceptionCifar(...cfg))];
    const preLayers = this.child('pre_layers', new Sequential(...convBnRelu(opts.inChannels ?? 3, 192, 3, 1)));
    const maxpool = this.child('maxpool', MaxPool2d(3, { stride: 2, padding: 1 }));
    this.stages = [
      ['pre_layers', preLayers],
      inception('a3', 192, 64, 96, 128, 16, 32, 32),
      inception('b3', 256, 128, 128, 192, 32, 96, 64),
      ['maxpool', maxpool],
      inception('a4', 480, 192, 96, 208, 16, 48, 64),
      inception('b4', 512, 160, 112, 224, 24, 64, 64),
      inception('c4', 512, 128, 128, 256, 24, 64, 64),
      inception('d4', 512, 112, 144, 288, 32, 64, 64),
      inception('e4', 528, 256, 160, 320, 32, 128, 128),
      ['maxpool', maxpool],
      inception('a5', 832, 256, 160, 320, 32, 128, 128),
      inception('b5', 832, 384, 192, 384, 48, 128, 128),
      // kuangliu's AvgPool2d(8) on the 8×8 map of a 32×32 input, as a global average for other sizes.
      ['avgpool', this.child('avgpool', AdaptiveAvgPool2d(1))],
      ['flatten', Flatten()],
      ['linear', this.child('linear', new Linear(1024, opts.numClasses ?? 10))],
    ];
  }

  forward(x: Tensor): Tensor {
    return this.stages.reduce((h, [name, m]) => stage('googlenet-cifar', name, h, (t) => m.forward(t)), x);
  }
}

function booleanOption(name: string, v: unknown): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  throw new Error(`googlenet: option '${name}' must be true or false, got ${JSON.stringify(v)}`);
}

function googlenetExtra(extra: Record<string, unknown> = {}): GoogLeNetOptions {
  const { dropout } = extra;
  if (dropout !== undefined && typeof dropout !== 'number') throw new Error(`googlenet: option 'dropout' must be a number in [0, 1), got ${JSON.stringify(dropout)}`);
  return { dropout, auxLogits: booleanOption('auxLogits', extra['auxLogits']), transformInput: booleanOption('transformInput', extra['transformInput']) };
}

export const googlenetModels: ModelSpec[] = [
  {
    name: 'googlenet',
    description: "GoogLeNet / Inception v1 (2014), torchvision's layout with auxiliary classifiers in training; 6,624,904 params (13,004,888 with the aux heads) at 1000 classes",
    defaultInput: [3, 224, 224],
    extraOptions: ['dropout', 'auxLogits', 'transformInput'],
    create: (o) => new GoogLeNet({ numClasses: o.numClasses, inChannels: o.inChannels, ...googlenetExtra(o.extra) }),
  },
  {
    name: 'googlenet-cifar',
    description: 'GoogLeNet for 32×32 inputs (kuangliu/pytorch-cifar): 3×3 stem, Inception a3…b5; 6,166,250 params, 95.04 % on CIFAR-10',
    defaultInput: [3, 32, 32],
    extraOptions: [],
    create: (o) => new GoogLeNetCifar({ numClasses: o.numClasses, inChannels: o.inChannels }),
  },
];
