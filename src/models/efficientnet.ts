/**
 * EfficientNet (Tan & Le, 2019, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks").
 *
 * efficientnet_b0 … _b3: torchvision 0.14's torchvision/models/efficientnet.py, module for module, so its
 *   state_dict keys load as they are: MBConv blocks (1×1 expand, depthwise k×k, squeeze-and-excitation, 1×1
 *   project), stochastic depth rising linearly to 0.2 over the blocks, BatchNorm with torch's defaults
 *   (eps 1e-5, momentum 0.1: torchvision sets eps 1e-3 only for the V2 models), kaiming-normal fan-out convs and
 *   U(±1/√out) classifier. Parameters at 1000 classes: b0 5,288,548; b1 7,794,184; b2 9,109,994; b3 12,233,232.
 * efficientnet_b0-cifar: kuangliu/pytorch-cifar models/efficientnet.py (EfficientNetB0), see efficientnet-cifar.ts.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { init } from '../engine/index.js';
import {
  AdaptiveAvgPool2d, Conv2d, Dropout, Flatten, Linear, Module, Sequential, SiLU, StochasticDepth,
} from '../nn/index.js';
import { SqueezeExcitation, conv2dNormActivation, makeDivisible } from './blocks.js';
import type { ModelSpec } from './registry.js';
import { EfficientNetCifar } from './efficientnet-cifar.js';

/** One stage of Table 1: MBConv(expandRatio, kernel) × numLayers, the first with `stride`. */
export interface MBConvConfig {
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

/** torchvision's MBConvConfig: channels scaled by width and rounded to multiples of 8, depth scaled and ceiled. */
export function mbconvConfig(expandRatio: number, kernel: number, stride: number, inputChannels: number, outChannels: number,
  numLayers: number, widthMult = 1, depthMult = 1): MBConvConfig {
  return {
    expandRatio, kernel, stride,
    inputChannels: makeDivisible(inputChannels * widthMult),
    outChannels: makeDivisible(outChannels * widthMult),
    numLayers: Math.ceil(numLayers * depthMult),
  };
}

/** The B0 baseline (Table 1 of the paper), scaled by width and depth. */
export function efficientnetSetting(widthMult: number, depthMult: number): MBConvConfig[] {
  const stage = (e: number, k: number, s: number, i: number, o: number, n: number): MBConvConfig => mbconvConfig(e, k, s, i, o, n, widthMult, depthMult);
  return [
    stage(1, 3, 1, 32, 16, 1),
    stage(6, 3, 2, 16, 24, 2),
    stage(6, 5, 2, 24, 40, 2),
    stage(6, 3, 2, 40, 80, 3),
    stage(6, 5, 1, 80, 112, 3),
    stage(6, 5, 2, 112, 192, 4),
    stage(6, 3, 1, 192, 320, 1),
  ];
}

/** Mobile inverted bottleneck: expand → depthwise → SE → project, with a stochastic-depth residual when shapes allow. */
export class MBConv extends Module {
  readonly block: Sequential;
  readonly stochasticDepth: StochasticDepth;
  readonly useResidual: boolean;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number) {
    super();
    if (!(cnf.stride >= 1 && cnf.stride <= 2)) throw new Error(`MBConv: stride must be 1 or 2, got ${cnf.stride}`);
    this.useResidual = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const expanded = makeDivisible(cnf.inputChannels * cnf.expandRatio);
    const layers: Module[] = [];
    if (expanded !== cnf.inputChannels) layers.push(conv2dNormActivation(cnf.inputChannels, expanded, 1, { activation: SiLU }));
    layers.push(conv2dNormActivation(expanded, expanded, cnf.kernel, { stride: cnf.stride, groups: expanded, activation: SiLU }));
    layers.push(new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), E.silu, E.sigmoid));
    layers.push(conv2dNormActivation(expanded, cnf.outChannels, 1, { activation: null }));
    this.block = this.child('block', new Sequential(...layers));
    this.stochasticDepth = this.child('stochastic_depth', new StochasticDepth(stochasticDepthProb, 'row'));
  }

  forward(x: Tensor): Tensor {
    const y = this.block.forward(x);
    return this.useResidual ? E.add(this.stochasticDepth.forward(y), x) : y;
  }
}

export interface EfficientNetOptions {
  /** The stages; default B0's. torchvision's `inverted_residual_setting`. */
  setting?: MBConvConfig[];
  dropout?: number;
  stochasticDepthProb?: number;
  numClasses?: number;
  inChannels?: number;
  /** Channels of the last 1×1 conv; default 4 × the last stage's. */
  lastChannel?: number;
}

export class EfficientNet extends Module {
  readonly features: Sequential;
  readonly avgpool: Module;
  readonly classifier: Sequential;

  constructor(opts: EfficientNetOptions = {}) {
    super();
    const setting = opts.setting ?? efficientnetSetting(1, 1);
    if (setting.length === 0) throw new Error('EfficientNet: the inverted residual setting is empty');
    const sdProb = opts.stochasticDepthProb ?? 0.2;
    const stem = conv2dNormActivation(opts.inChannels ?? 3, setting[0]!.inputChannels, 3, { stride: 2, activation: SiLU });
    const totalBlocks = setting.reduce((n, s) => n + s.numLayers, 0);
    let blockId = 0;
    const stages = setting.map((cnf) => new Sequential(...Array.from({ length: cnf.numLayers }, (_, i) => {
      // After a stage's first block, the rest keep its output width and stride 1.
      const blockCnf = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
      return new MBConv(blockCnf, (sdProb * blockId++) / totalBlocks);
    })));
    const lastIn = setting[setting.length - 1]!.outChannels, lastOut = opts.lastChannel ?? 4 * lastIn;
    this.features = this.child('features', new Sequential(stem, ...stages, conv2dNormActivation(lastIn, lastOut, 1, { activation: SiLU })));
    this.avgpool = this.child('avgpool', AdaptiveAvgPool2d(1));
    this.classifier = this.child('classifier', new Sequential(Dropout(opts.dropout ?? 0.2), new Linear(lastOut, opts.numClasses ?? 1000)));
    initEfficientNet(this);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(Flatten().forward(this.avgpool.forward(this.features.forward(x))));
  }
}

/** torchvision's loop over self.modules(): kaiming-normal fan-out convs, U(±1/√out) linears, zero biases. */
function initEfficientNet(root: Module): void {
  const visit = (m: Module): void => {
    if (m instanceof Conv2d) {
      init.kaimingNormal_(m.weight, { mode: 'fan_out' });
      if (m.bias) init.constant_(m.bias, 0);
    } else if (m instanceof Linear) {
      const range = 1 / Math.sqrt(m.outFeatures);
      init.uniform_(m.weight, -range, range);
      if (m.bias) init.constant_(m.bias, 0);
    }
    for (const [, child] of m.namedChildren()) visit(child);
  };
  visit(root);
}

/** The named variants: (width, depth, dropout) from torchvision's efficientnet_bN builders. */
const VARIANTS = [
  { name: 'efficientnet_b0', width: 1.0, depth: 1.0, dropout: 0.2, params: '5,288,548', resolution: 224 },
  { name: 'efficientnet_b1', width: 1.0, depth: 1.1, dropout: 0.2, params: '7,794,184', resolution: 240 },
  { name: 'efficientnet_b2', width: 1.1, depth: 1.2, dropout: 0.3, params: '9,109,994', resolution: 260 },
  { name: 'efficientnet_b3', width: 1.2, depth: 1.4, dropout: 0.3, params: '12,233,232', resolution: 300 },
] as const;

interface EfficientNetExtra { dropout?: number; stochasticDepthProb?: number; width?: number }

export const efficientnetModels: ModelSpec[] = [
  ...VARIANTS.map((v): ModelSpec => ({
    name: v.name,
    description: `EfficientNet-${v.name.slice(-2).toUpperCase()} (2019), torchvision's: width ×${v.width}, depth ×${v.depth}, ` +
      `dropout ${v.dropout}; ${v.params} params at 1000 classes (trained at ${v.resolution}×${v.resolution})`,
    defaultInput: [3, 224, 224],
    extraOptions: ['dropout', 'stochasticDepthProb', 'width'],
    create: (o) => {
      const extra = (o.extra ?? {}) as EfficientNetExtra;
      if (extra.width !== undefined && !(extra.width > 0)) throw new Error(`${v.name}: width must be a positive multiplier, got ${extra.width}`);
      return new EfficientNet({
        setting: efficientnetSetting(v.width * (extra.width ?? 1), v.depth),
        dropout: extra.dropout ?? v.dropout, stochasticDepthProb: extra.stochasticDepthProb,
        numClasses: o.numClasses, inChannels: o.inChannels,
      });
    },
  })),
  {
    name: 'efficientnet_b0-cifar',
    description: 'EfficientNet-B0 for 32×32 inputs (kuangliu/pytorch-cifar): stride-1 stem, no 1280 head conv; 3,598,598 params',
    defaultInput: [3, 32, 32],
    extraOptions: ['dropout', 'stochasticDepthProb', 'width'],
    create: (o) => new EfficientNetCifar({ ...(o.extra as EfficientNetExtra), numClasses: o.numClasses, inChannels: o.inChannels }),
  },
];
