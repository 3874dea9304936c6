/**
 * EfficientNet-B0 for 32×32 inputs, ported from kuangliu/pytorch-cifar models/efficientnet.py (EfficientNetB0,
 * the version with `drop_connect` and the cfg dict), with its module names (conv1, bn1, layers.N.conv1 …
 * layers.N.se.se1 …, linear). The stem conv has stride 1, there is no 1280-channel head conv, and the classifier
 * reads the 320 channels of the last stage directly.
 *
 * Reference count: 3,599,686 parameters at 10 classes (counted from that file with torch 1.13). This port has
 * 3,598,598: kuangliu's first block builds an expansion conv1/bn1 (1,088 parameters) that its forward never
 * uses when expand_ratio = 1; we leave it out. kuangliu's README publishes no accuracy for EfficientNetB0.
 * Stochastic depth rises linearly to 0.2 over the blocks as the file intends (its loop never increments the block
 * index, so there every rate is 0: `stochasticDepthProb: 0` reproduces that); dropout 0.2 before the classifier.
 * Initialisation is PyTorch's default (the file sets none).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { BatchNorm, Conv2d, Dropout, Linear, Module, Sequential, StochasticDepth } from '../nn/index.js';

const CFG = {
  numBlocks: [1, 2, 2, 3, 3, 4, 1],
  expansion: [1, 6, 6, 6, 6, 6, 6],
  outChannels: [16, 24, 40, 80, 112, 192, 320],
  kernelSize: [3, 3, 5, 3, 5, 5, 3],
  stride: [1, 2, 2, 2, 1, 2, 1],
};

const swish = (x: Tensor): Tensor => E.silu(x);

/** Squeeze-and-excitation with a swish between the two 1×1 convs. */
class SE extends Module {
  readonly se1: Conv2d;
  readonly se2: Conv2d;

  constructor(channels: number, squeezeChannels: number) {
    super();
    this.se1 = this.child('se1', new Conv2d(channels, squeezeChannels, 1));
    this.se2 = this.child('se2', new Conv2d(squeezeChannels, channels, 1));
  }

  forward(x: Tensor): Tensor {
    const w = E.sigmoid(this.se2.forward(swish(this.se1.forward(E.adaptiveAvgPool2d(x, 1)))));
    return E.mul(x, w);
  }
}

/** Expansion (skipped at ratio 1) + depthwise + squeeze-excitation + pointwise projection. */
class Block extends Module {
  readonly conv1: Conv2d | null = null;
  readonly bn1: BatchNorm | null = null;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly se: SE;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm;
  readonly dropConnect: StochasticDepth;
  readonly hasSkip: boolean;

  constructor(inChannels: number, outChannels: number, kernel: number, stride: number, expandRatio: number, dropRate: number) {
    super();
    const channels = expandRatio * inChannels;
    if (expandRatio !== 1) {
      this.conv1 = this.child('conv1', new Conv2d(inChannels, channels, 1, { bias: false }));
      this.bn1 = this.child('bn1', new BatchNorm(channels));
    }
    this.conv2 = this.child('conv2', new Conv2d(channels, channels, kernel, { stride, padding: (kernel - 1) >> 1, groups: channels, bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm(channels));
    this.se = this.child('se', new SE(channels, Math.max(1, Math.floor(inChannels * 0.25))));
    this.conv3 = this.child('conv3', new Conv2d(channels, outChannels, 1, { bias: false }));
    this.bn3 = this.child('bn3', new BatchNorm(outChannels));
    this.dropConnect = this.child('drop_connect', new StochasticDepth(dropRate, 'row')); // no state, so no keys
    this.hasSkip = stride === 1 && inChannels === outChannels;
  }

  forward(x: Tensor): Tensor {
    let out = this.conv1 && this.bn1 ? swish(this.bn1.forward(this.conv1.forward(x))) : x;
    out = swish(this.bn2.forward(this.conv2.forward(out)));
    out = this.bn3.forward(this.conv3.forward(this.se.forward(out)));
    if (!this.hasSkip) return out;
    return E.add(this.dropConnect.forward(out), x);
  }
}

export interface EfficientNetCifarOptions {
  numClasses?: number;
  inChannels?: number;
  dropout?: number;
  stochasticDepthProb?: number;
  /** Scales every channel count (default 1), e.g. 0.25 for quick tests. */
  width?: number;
}

export class EfficientNetCifar extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly layers: Sequential;
  readonly dropout: Module;
  readonly linear: Linear;

  constructor(opts: EfficientNetCifarOptions = {}) {
    super();
    const width = opts.width ?? 1;
    if (!(width > 0)) throw new Error(`efficientnet_b0-cifar: width must be positive, got ${width}`);
    const scale = (c: number): number => Math.max(1, Math.round(c * width));
    const sdProb = opts.stochasticDepthProb ?? 0.2;
    let inChannels = scale(32);
    this.conv1 = this.child('conv1', new Conv2d(opts.inChannels ?? 3, inChannels, 3, { padding: 1, bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(inChannels));
    const total = CFG.numBlocks.reduce((a, b) => a + b, 0);
    const blocks: Block[] = [];
    CFG.numBlocks.forEach((n, stage) => {
      const out = scale(CFG.outChannels[stage]!);
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? CFG.stride[stage]! : 1;
        blocks.push(new Block(inChannels, out, CFG.kernelSize[stage]!, stride, CFG.expansion[stage]!, (sdProb * blocks.length) / total));
        inChannels = out;
      }
    });
    this.layers = this.child('layers', new Sequential(...blocks));
    this.dropout = this.child('dropout', Dropout(opts.dropout ?? 0.2));
    this.linear = this.child('linear', new Linear(inChannels, opts.numClasses ?? 10));
  }

  forward(x: Tensor): Tensor {
    const features = this.layers.forward(swish(this.bn1.forward(this.conv1.forward(x))));
    return this.linear.forward(this.dropout.forward(E.flatten(E.adaptiveAvgPool2d(features, 1), 1)));
  }
}
