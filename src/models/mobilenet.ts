/**
 * MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications (Howard, Zhu, Chen,
 * Kalenichenko, Wang, Weyand, Andreetto & Adam, 2017), Table 1.
 *
 *   mobilenet_v1:        a 3×3 stride-2 conv to 32 channels, 13 depthwise-separable blocks (3×3 depthwise + BN +
 *                        ReLU, 1×1 pointwise + BN + ReLU), global average pooling and a 1024 → classes linear layer:
 *                        4,231,976 parameters and 569 M multiply-adds at 224×224 with 1000 classes. `width` is the
 *                        paper's width multiplier α (every channel count × α, rounded); the resolution multiplier ρ is
 *                        just the input size. torchvision has no MobileNet v1, so the names are our own, in
 *                        torchvision's style: features.0 = the stem (conv "0", BN "1", ReLU "2"), features.1–13 =
 *                        blocks with `depthwise` and `pointwise` (each conv "0", BN "1", ReLU "2"), `fc` = the
 *                        classifier. Initialisation as torchvision's MobileNetV2 (kaiming_normal_ fan_out,
 *                        N(0, 0.01) for fc). Table 1 prints "s2" on the last depthwise conv, yet keeps the map at
 *                        7×7; like every port, it has stride 1 here (568.7 M MACs, the paper's 569 M).
 *   mobilenet_v1-cifar:  kuangliu/pytorch-cifar models/mobilenet.py: the stem is a 3×3 stride-1 conv (32 channels),
 *                        then the same 13 blocks and strides, a 2×2 average pool (the map is 2×2 at 32×32) and
 *                        linear 1024 → 10: 3,217,226 parameters at 10 classes (the "3.2 M" of that file); its README
 *                        lists no accuracy for this model. Names follow that file (conv1, bn1, layers.N.conv1/bn1/
 *                        conv2/bn2, linear), as does PyTorch's default initialisation.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { BatchNorm, Conv2d, Linear, Module, ReLU, Sequential } from '../nn/index.js';
import { checkWidth, conv2dNormActivation, initMobileNetWeights } from './blocks.js';
import type { ModelSpec } from './registry.js';

/** Table 1 after the stem: each depthwise-separable block's output channels and depthwise stride. */
const BLOCKS: [number, number][] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

const scaleBy = (width: number) => (c: number): number => Math.max(1, Math.round(c * width));

/** A depthwise-separable convolution: 3×3 depthwise + BN + ReLU, then 1×1 pointwise + BN + ReLU. */
export class DepthwiseSeparable extends Module {
  readonly depthwise: Sequential;
  readonly pointwise: Sequential;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    this.depthwise = this.child('depthwise', conv2dNormActivation(inChannels, inChannels, 3, { stride, groups: inChannels, activation: ReLU }));
    this.pointwise = this.child('pointwise', conv2dNormActivation(inChannels, outChannels, 1, { activation: ReLU }));
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.depthwise.forward(x));
  }
}

export interface MobileNetV1Options {
  numClasses?: number;
  inChannels?: number;
  /** The width multiplier α (default 1). */
  width?: number;
}

export class MobileNetV1 extends Module {
  readonly features: Sequential;
  readonly fc: Linear;

  constructor(opts: MobileNetV1Options = {}) {
    super();
    const scaled = scaleBy(checkWidth('mobilenet_v1', opts.width ?? 1));
    let channels = scaled(32);
    const stem = conv2dNormActivation(opts.inChannels ?? 3, channels, 3, { stride: 2, activation: ReLU });
    const blocks = BLOCKS.map(([out, stride]) => {
      const block = new DepthwiseSeparable(channels, scaled(out), stride);
      channels = scaled(out);
      return block;
    });
    this.features = this.child('features', new Sequential(stem, ...blocks));
    this.fc = this.child('fc', new Linear(channels, opts.numClasses ?? 1000));
    initMobileNetWeights(this);
  }

  forward(x: Tensor): Tensor {
    return this.fc.forward(E.flatten(E.adaptiveAvgPool2d(this.features.forward(x), 1), 1));
  }
}

/** kuangliu's Block: conv1 (depthwise) + bn1 + ReLU, conv2 (pointwise) + bn2 + ReLU. */
class CifarBlock extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm;
  readonly conv2: Conv2d; readonly bn2: BatchNorm;

  constructor(inPlanes: number, outPlanes: number, stride: number) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(inPlanes, inPlanes, 3, { stride, padding: 1, groups: inPlanes, bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(inPlanes));
    this.conv2 = this.child('conv2', new Conv2d(inPlanes, outPlanes, 1, { bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm(outPlanes));
  }

  forward(x: Tensor): Tensor {
    const out = E.relu(this.bn1.forward(this.conv1.forward(x)));
    return E.relu(this.bn2.forward(this.conv2.forward(out)));
  }
}

export class MobileNetV1Cifar extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm;
  readonly layers: Sequential;
  readonly linear: Linear;

  constructor(opts: MobileNetV1Options = {}) {
    super();
    const scaled = scaleBy(checkWidth('mobilenet_v1-cifar', opts.width ?? 1));
    let inPlanes = scaled(32);
    this.conv1 = this.child('conv1', new Conv2d(opts.inChannels ?? 3, inPlanes, 3, { padding: 1, bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(inPlanes));
    this.layers = this.child('layers', new Sequential(...BLOCKS.map(([out, stride]) => {
      const block = new CifarBlock(inPlanes, scaled(out), stride);
      inPlanes = scaled(out);
      return block;
    })));
    this.linear = this.child('linear', new Linear(inPlanes, opts.numClasses ?? 10));
  }

  forward(x: Tensor): Tensor {
    const out = this.layers.forward(E.relu(this.bn1.forward(this.conv1.forward(x))));
    // kuangliu pools with avg_pool2d(out, 2) over the 2×2 map of a 32×32 input; adaptive pooling is the same there.
    return this.linear.forward(E.flatten(E.adaptiveAvgPool2d(out, 1), 1));
  }
}

export const mobilenetV1Models: ModelSpec[] = [
  {
    name: 'mobilenet_v1',
    description: 'MobileNet v1 (2017), Table 1: 13 depthwise-separable blocks; 4,231,976 params, 569 M MACs at 224×224',
    defaultInput: [3, 224, 224],
    extraOptions: ['width'],
    create: (o) => new MobileNetV1({ ...o, ...(o.extra as object) }),
  },
  {
    name: 'mobilenet_v1-cifar',
    description: 'MobileNet v1 for 32×32 (kuangliu/pytorch-cifar): stride-1 stem; 3,217,226 params at 10 classes',
    defaultInput: [3, 32, 32],
    extraOptions: ['width'],
    create: (o) => new MobileNetV1Cifar({ ...o, ...(o.extra as object) }),
  },
];
