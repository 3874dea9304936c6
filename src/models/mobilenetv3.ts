/**
 * MobileNetV3: Searching for MobileNetV3 (Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le &
 * Adam, 2019), Tables 1 and 2.
 *
 *   mobilenet_v3_large / mobilenet_v3_small: torchvision's models/mobilenetv3.py (0.14) exactly: inverted residual
 *     blocks with optional squeeze-and-excitation (fc1/fc2 as 1×1 convs, ReLU, hardsigmoid gate, squeeze channels
 *     _make_divisible(expanded // 4, 8)), ReLU or hardswish, BN eps 0.001 momentum 0.01, a 1×1 conv to 6× the last
 *     block's width, classifier Linear → Hardswish → Dropout(0.2) → Linear to 1280 / 1024 hidden units; `width`
 *     is width_mult; no dilation, no reduced tail. Large: 5,483,032 parameters and 0.217 GMACs; small: 2,542,856 and
 *     0.057 GMACs (224×224, 1000 classes). State-dict keys equal torchvision's (features.N.block.2.fc1.weight …).
 *   mobilenet_v3-cifar: mobilenet_v3_small with the stem's stride 2 → 1 for 32×32 inputs, the kuangliu/pytorch-cifar
 *     adaptation; everything else (names included) as torchvision. At 10 classes it has 1,528,106 parameters, the
 *     count the CIFAR-10 MobileNetV3-Small of comb0703/practice (MobileNets_v3, "exactly same architecture with
 *     Table 2", 1.528106 M params) prints; that port reports its accuracy only as plots, so no figure is quoted here.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Dropout, Hardswish, Linear, Module, ReLU, Sequential } from '../nn/index.js';
import { SqueezeExcitation, checkWidth, conv2dNormActivation, initMobileNetWeights, makeDivisible } from './blocks.js';
import type { ModelSpec } from './registry.js';

const V3_NORM = { eps: 0.001, momentum: 0.01 };

/** One row of Tables 1/2: input, kernel, expanded and output channels, SE, nonlinearity (RE or HS), stride. */
type BneckRow = [number, number, number, number, boolean, 'RE' | 'HS', number];

const LARGE: BneckRow[] = [
  [16, 3, 16, 16, false, 'RE', 1], [16, 3, 64, 24, false, 'RE', 2], [24, 3, 72, 24, false, 'RE', 1],
  [24, 5, 72, 40, true, 'RE', 2], [40, 5, 120, 40, true, 'RE', 1], [40, 5, 120, 40, true, 'RE', 1],
  [40, 3, 240, 80, false, 'HS', 2], [80, 3, 200, 80, false, 'HS', 1], [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1], [80, 3, 480, 112, true, 'HS', 1], [112, 3, 672, 112, true, 'HS', 1],
  [112, 5, 672, 160, true, 'HS', 2], [160, 5, 960, 160, true, 'HS', 1], [160, 5, 960, 160, true, 'HS', 1],
];

const SMALL: BneckRow[] = [
  [16, 3, 16, 16, true, 'RE', 2], [16, 3, 72, 24, false, 'RE', 2], [24, 3, 88, 24, false, 'RE', 1],
  [24, 5, 96, 40, true, 'HS', 2], [40, 5, 240, 40, true, 'HS', 1], [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 120, 48, true, 'HS', 1], [48, 5, 144, 48, true, 'HS', 1], [48, 5, 288, 96, true, 'HS', 2],
  [96, 5, 576, 96, true, 'HS', 1], [96, 5, 576, 96, true, 'HS', 1],
];

const ARCHS = { large: { rows: LARGE, lastChannel: 1280 }, small: { rows: SMALL, lastChannel: 1024 } };

/** The bneck block: 1×1 expansion (when widths differ), k×k depthwise, optional SE, linear 1×1 projection. */
export class InvertedResidualV3 extends Module {
  readonly block: Sequential;
  readonly useResConnect: boolean;

  constructor(row: BneckRow, width: number, strideOverride?: number) {
    super();
    const [inRaw, kernel, expRaw, outRaw, useSe, nonlinearity, rowStride] = row;
    const [inp, exp, out] = [inRaw, expRaw, outRaw].map((c) => makeDivisible(c * width)) as [number, number, number];
    const stride = strideOverride ?? rowStride;
    this.useResConnect = stride === 1 && inp === out;
    const activation = nonlinearity === 'HS' ? Hardswish : ReLU;
    const layers: Module[] = [];
    if (exp !== inp) layers.push(conv2dNormActivation(inp, exp, 1, { norm: V3_NORM, activation }));
    layers.push(conv2dNormActivation(exp, exp, kernel, { stride, groups: exp, norm: V3_NORM, activation }));
    if (useSe) layers.push(new SqueezeExcitation(exp, makeDivisible(Math.floor(exp / 4)), E.relu, E.hardsigmoid));
    layers.push(conv2dNormActivation(exp, out, 1, { norm: V3_NORM, activation: null }));
    this.block = this.child('block', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    const y = this.block.forward(x);
    return this.useResConnect ? E.add(y, x) : y;
  }
}

export interface MobileNetV3Options {
  arch: 'large' | 'small';
  numClasses?: number;
  inChannels?: number;
  /** torchvision's width_mult (default 1). */
  width?: number;
  dropout?: number;
  /** The stem conv's stride: 2 in torchvision, 1 for the 32×32 adaptation. */
  stemStride?: number;
}

export class MobileNetV3 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(opts: MobileNetV3Options) {
    super();
    const width = checkWidth(`mobilenet_v3_${opts.arch}`, opts.width ?? 1);
    const { rows, lastChannel } = ARCHS[opts.arch];
    const firstChannels = makeDivisible(rows[0]![0] * width);
    const features: Module[] = [conv2dNormActivation(opts.inChannels ?? 3, firstChannels, 3, {
      stride: opts.stemStride ?? 2, norm: V3_NORM, activation: Hardswish,
    })];
    for (const row of rows) features.push(new InvertedResidualV3(row, width));
    const lastConvInput = makeDivisible(rows[rows.length - 1]![3] * width);
    const lastConvOutput = 6 * lastConvInput;
    features.push(conv2dNormActivation(lastConvInput, lastConvOutput, 1, { norm: V3_NORM, activation: Hardswish }));
    this.features = this.child('features', new Sequential(...features));
    const hidden = makeDivisible(lastChannel * width);
    this.classifier = this.child('classifier', new Sequential(
      new Linear(lastConvOutput, hidden), Hardswish(), Dropout(opts.dropout ?? 0.2), new Linear(hidden, opts.numClasses ?? 1000),
    ));
    initMobileNetWeights(this);
  }

  forward(x: Tensor): Tensor {
    const pooled = E.adaptiveAvgPool2d(this.features.forward(x), 1);
    return this.classifier.forward(E.flatten(pooled, 1));
  }
}

export const mobilenetV3Models: ModelSpec[] = [
  {
    name: 'mobilenet_v3_large',
    description: "MobileNetV3-Large (2019), torchvision's architecture: SE, hardswish; 5,483,032 params at 1000 classes",
    defaultInput: [3, 224, 224],
    extraOptions: ['width', 'dropout'],
    create: (o) => new MobileNetV3({ ...o, ...(o.extra as object), arch: 'large' }),
  },
  {
    name: 'mobilenet_v3_small',
    description: "MobileNetV3-Small (2019), torchvision's architecture: SE, hardswish; 2,542,856 params at 1000 classes",
    defaultInput: [3, 224, 224],
    extraOptions: ['width', 'dropout'],
    create: (o) => new MobileNetV3({ ...o, ...(o.extra as object), arch: 'small' }),
  },
  {
    name: 'mobilenet_v3-cifar',
    description: 'MobileNetV3-Small for 32×32: stride-1 stem, otherwise torchvision; 1,528,106 params at 10 classes',
    defaultInput: [3, 32, 32],
    extraOptions: ['width', 'dropout'],
    create: (o) => new MobileNetV3({ ...o, ...(o.extra as object), arch: 'small', stemStride: 1 }),
  },
];
