/**
 * MobileNetV2: Inverted Residuals and Linear Bottlenecks (Sandler, Howard, Zhu, Zhmoginov & Chen, 2018).
 *
 *   mobilenet_v2:        torchvision's models/mobilenetv2.py (0.14) exactly: the stem, 17 inverted residual blocks
 *                        of Table 2, a 1×1 conv to 1280 channels, dropout 0.2 and a linear classifier; ReLU6, BN
 *                        eps 1e-5 momentum 0.1, `_make_divisible` channel rounding, `width` = width_mult. State-dict
 *                        keys equal torchvision's (features.N.conv.0.0.weight, …): 3,504,872 parameters and
 *                        0.301 GMACs at 224×224 with 1000 classes.
 *   mobilenet_v2-cifar:  kuangliu/pytorch-cifar models/mobilenetv2.py: stride 1 in the stem and in the second stage
 *                        ("change stride 2 -> 1 for CIFAR10"), ReLU (not ReLU6), an expansion conv in every block,
 *                        a 1×1 conv + BN shortcut where a stride-1 block changes width, 1×1 conv to 1280, linear.
 *                        2,296,922 parameters at 10 classes; the repository reports 94.43 % on CIFAR-10. Names
 *                        follow that file (conv1, bn1, layers.N.conv1 …, shortcut.0, linear).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { BatchNorm, Conv2d, Dropout, Linear, Module, ReLU6, Sequential } from '../nn/index.js';
import { checkWidth, conv2dNormActivation, initMobileNetWeights, makeDivisible } from './blocks.js';
import type { ModelSpec } from './registry.js';

/** Table 2: expansion t, output channels c, repeats n, first stride s. */
const INVERTED_RESIDUAL_SETTING: [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/** The inverted residual: 1×1 expansion (unless t = 1), 3×3 depthwise, linear 1×1 projection; identity skip. */
export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly useResConnect: boolean;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(conv2dNormActivation(inp, hidden, 1, { activation: ReLU6 }));
    layers.push(
      conv2dNormActivation(hidden, hidden, 3, { stride, groups: hidden, activation: ReLU6 }),
      new Conv2d(hidden, oup, 1, { bias: false }),
      new BatchNorm(oup),
    );
    this.conv = this.child('conv', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.useResConnect ? E.add(x, y) : y;
  }
}

export interface MobileNetV2Options {
  numClasses?: number;
  inChannels?: number;
  /** torchvision's width_mult (default 1). */
  width?: number;
  dropout?: number;
}

export class MobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(opts: MobileNetV2Options = {}) {
    super();
    const width = checkWidth('mobilenet_v2', opts.width ?? 1);
    let inputChannel = makeDivisible(32 * width);
    const lastChannel = makeDivisible(1280 * Math.max(1, width));
    const features: Module[] = [conv2dNormActivation(opts.inChannels ?? 3, inputChannel, 3, { stride: 2, activation: ReLU6 })];
    for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTING) {
      const outputChannel = makeDivisible(c * width);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(inputChannel, outputChannel, i === 0 ? s : 1, t));
        inputChannel = outputChannel;
      }
    }
    features.push(conv2dNormActivation(inputChannel, lastChannel, 1, { activation: ReLU6 }));
    this.features = this.child('features', new Sequential(...features));
    this.classifier = this.child('classifier', new Sequential(Dropout(opts.dropout ?? 0.2), new Linear(lastChannel, opts.numClasses ?? 1000)));
    initMobileNetWeights(this);
  }

  forward(x: Tensor): Tensor {
    const pooled = E.adaptiveAvgPool2d(this.features.forward(x), 1);
    return this.classifier.forward(E.flatten(pooled, 1));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// kuangliu/pytorch-cifar's MobileNetV2 for 32×32 inputs.

/** kuangliu's cfg: (expansion, out_planes, num_blocks, stride), the second stage's stride 2 → 1 for CIFAR. */
const CIFAR_CFG: [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/** kuangliu's Block: expand + depthwise + pointwise, each with BN; the shortcut only at stride 1. */
class CifarBlock extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm;
  readonly conv2: Conv2d; readonly bn2: BatchNorm;
  readonly conv3: Conv2d; readonly bn3: BatchNorm;
  readonly shortcut: Sequential;

  constructor(inPlanes: number, outPlanes: number, expansion: number, readonly stride: number) {
    super();
    const planes = expansion * inPlanes;
    this.conv1 = this.child('conv1', new Conv2d(inPlanes, planes, 1, { bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(planes));
    this.conv2 = this.child('conv2', new Conv2d(planes, planes, 3, { stride, padding: 1, groups: planes, bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm(planes));
    this.conv3 = this.child('conv3', new Conv2d(planes, outPlanes, 1, { bias: false }));
    this.bn3 = this.child('bn3', new BatchNorm(outPlanes));
    const project = stride === 1 && inPlanes !== outPlanes;
    this.shortcut = this.child('shortcut', project
      ? new Sequential(new Conv2d(inPlanes, outPlanes, 1, { bias: false }), new BatchNorm(outPlanes))
      : new Sequential());
  }

  forward(x: Tensor): Tensor {
    let out = E.relu(this.bn1.forward(this.conv1.forward(x)));
    out = E.relu(this.bn2.forward(this.conv2.forward(out)));
    out = this.bn3.forward(this.conv3.forward(out));
    return this.stride === 1 ? E.add(out, this.shortcut.forward(x)) : out;
  }
}

export interface MobileNetV2CifarOptions {
  numClasses?: number;
  inChannels?: number;
  /** Scales every channel count (default 1; kuangliu has no such knob, it is for small tests). */
  width?: number;
}

export class MobileNetV2Cifar extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm;
  readonly layers: Sequential;
  readonly conv2: Conv2d; readonly bn2: BatchNorm;
  readonly linear: Linear;

  constructor(opts: MobileNetV2CifarOptions = {}) {
    super();
    const width = checkWidth('mobilenet_v2-cifar', opts.width ?? 1);
    const scaled = (c: number): number => Math.max(1, Math.round(c * width));
    let inPlanes = scaled(32);
    this.conv1 = this.child('conv1', new Conv2d(opts.inChannels ?? 3, inPlanes, 3, { padding: 1, bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(inPlanes));
    const blocks: Module[] = [];
    for (const [expansion, out, n, s] of CIFAR_CFG) {
      for (let i = 0; i < n; i++) {
        blocks.push(new CifarBlock(inPlanes, scaled(out), expansion, i === 0 ? s : 1));
        inPlanes = scaled(out);
      }
    }
    this.layers = this.child('layers', new Sequential(...blocks));
    const last = scaled(1280);
    this.conv2 = this.child('conv2', new Conv2d(inPlanes, last, 1, { bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm(last));
    this.linear = this.child('linear', new Linear(last, opts.numClasses ?? 10));
  }

  forward(x: Tensor): Tensor {
    let out = E.relu(this.bn1.forward(this.conv1.forward(x)));
    out = E.relu(this.bn2.forward(this.conv2.forward(this.layers.forward(out))));
    // kuangliu pools with avg_pool2d(out, 4) over the 4×4 map of a 32×32 input; adaptive pooling is the same there.
    return this.linear.forward(E.flatten(E.adaptiveAvgPool2d(out, 1), 1));
  }
}

export const mobilenetV2Models: ModelSpec[] = [
  {
    name: 'mobilenet_v2',
    description: "MobileNetV2 (2018), torchvision's architecture: inverted residuals, ReLU6; 3,504,872 params at 1000 classes",
    defaultInput: [3, 224, 224],
    extraOptions: ['width', 'dropout'],
    create: (o) => new MobileNetV2({ ...o, ...(o.extra as object) }),
  },
  {
    name: 'mobilenet_v2-cifar',
    description: 'MobileNetV2 for 32×32 (kuangliu/pytorch-cifar): stride-1 stem and stage 2; 2,296,922 params, 94.43 % reported',
    defaultInput: [3, 32, 32],
    extraOptions: ['width'],
    create: (o) => new MobileNetV2Cifar({ ...o, ...(o.extra as object) }),
  },
];
