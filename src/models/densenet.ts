/**
 * DenseNet: Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks", CVPR 2017
 * (arXiv:1608.06993).
 *
 *   densenet121/161/169/201:  torchvision 0.14's models/densenet.py, module for module: the stem
 *                     (conv0 7×7/2, norm0, relu0, pool0 3×3/2), dense blocks of dense layers
 *                     (norm1 → relu1 → conv1 1×1 to bn_size·k → norm2 → relu2 → conv2 3×3 to k, concatenated onto
 *                     the block's input), transitions (norm → relu → conv 1×1 halving the channels → 2×2
 *                     average pool), norm5, then ReLU, global average pool and the classifier. Parameters at
 *                     1000 classes: 7,978,856 / 28,681,000 / 14,149,480 / 20,013,928; densenet121 costs 2.834 G
 *                     multiply-adds. Initialisation as torchvision: kaiming_normal_ (fan_in) conv weights,
 *                     batch norm 1/0, classifier bias 0.
 *   densenet-bc-100:  the paper's CIFAR DenseNet-BC (Table 2: L = 100, k = 12, 0.8 M parameters, 4.51 % C10+
 *                     error, i.e. 95.5 % accuracy, after 300 epochs), as its reference code
 *                     (liuzhuang13/DenseNet, models/densenet.lua) builds it: a 3×3 conv to 2k = 24 channels, three
 *                     dense blocks of 16 bottleneck layers, transitions with compression 0.5, 32×32 inputs.
 *                     769,162 parameters at 10 classes (computed from a PyTorch re-implementation in
 *                     scripts/fixtures/zoo_densenet.py, which also checks torchvision's DenseNet with the stem
 *                     swapped). It is this file's DenseNet with `stem: 'cifar'`, so its state-dict names and its
 *                     initialisation follow torchvision's (the Lua code draws conv weights with fan-out He scaling).
 *
 * Older torchvision checkpoints name the dense layers' modules `norm.1`, `conv.2`, …; `remapStateDictKey`
 * renames them as torchvision's `_load_state_dict` does.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { BatchNorm, Conv2d, Dropout, Linear, MaxPool2d, AvgPool2d, Module, ReLU } from '../nn/index.js';
import { stage } from './layer-errors.js';
import type { ModelSpec } from './registry.js';

export interface DenseNetOptions {
  /** k: the channels each dense layer adds (torchvision's growth_rate, default 32). */
  growthRate?: number;
  /** Dense layers per block (torchvision's block_config, default [6, 12, 24, 16]). */
  blockConfig?: readonly number[];
  /** Channels of the first convolution (num_init_features, default 64). */
  numInitFeatures?: number;
  /** The bottleneck's width as a multiple of k (bn_size, default 4). */
  bnSize?: number;
  /** Dropout after each dense layer (drop_rate, default 0). */
  dropRate?: number;
  numClasses?: number;
  inChannels?: number;
  /** 'imagenet': 7×7/2 conv, batch norm, ReLU, 3×3/2 max pool (torchvision). 'cifar': one 3×3 conv (the paper's CIFAR nets). */
  stem?: 'imagenet' | 'cifar';
}

/** torchvision's _DenseLayer: BN-ReLU-Conv(1×1) bottleneck, then BN-ReLU-Conv(3×3) to growthRate channels. */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm;
  readonly conv2: Conv2d;
  private readonly dropout: Module | null;

  constructor(numInputFeatures: number, growthRate: number, bnSize: number, dropRate: number) {
    super();
    this.norm1 = this.child('norm1', new BatchNorm(numInputFeatures));
    this.child('relu1', ReLU());
    this.conv1 = this.child('conv1', new Conv2d(numInputFeatures, bnSize * growthRate, 1, { bias: false }));
    this.norm2 = this.child('norm2', new BatchNorm(bnSize * growthRate));
    this.child('relu2', ReLU());
    this.conv2 = this.child('conv2', new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false }));
    this.dropout = dropRate > 0 ? this.child('dropout', Dropout(dropRate)) : null; // torchvision's F.dropout: no state
  }

  /** The new feature maps computed from all earlier ones (already concatenated along channels). */
  forward(features: Tensor): Tensor {
    const bottleneck = this.conv1.forward(E.relu(this.norm1.forward(features)));
    const out = this.conv2.forward(E.relu(this.norm2.forward(bottleneck)));
    return this.dropout ? this.dropout.forward(out) : out;
  }
}

/** torchvision's _DenseBlock: layer i sees the block's input and the outputs of layers 1…i−1. */
export class DenseBlock extends Module {
  readonly layers: DenseLayer[] = [];

  constructor(numLayers: number, numInputFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++) {
      this.layers.push(this.child(`denselayer${i + 1}`, new DenseLayer(numInputFeatures + i * growthRate, growthRate, bnSize, dropRate)));
    }
  }

  forward(x: Tensor): Tensor {
    // Concatenating as the block goes gives each layer torch.cat(features) without re-joining the whole list.
    let features = x;
    for (const layer of this.layers) features = E.concat([features, layer.forward(features)], 1);
    return features;
  }
}

/** torchvision's _Transition: BN → ReLU → 1×1 conv (compression) → 2×2 average pool. */
export class Transition extends Module {
  readonly norm: BatchNorm;
  readonly conv: Conv2d;
  private readonly pool: Module;

  constructor(numInputFeatures: number, numOutputFeatures: number) {
    super();
    this.norm = this.child('norm', new BatchNorm(numInputFeatures));
    this.child('relu', ReLU());
    this.conv = this.child('conv', new Conv2d(numInputFeatures, numOutputFeatures, 1, { bias: false }));
    this.pool = this.child('pool', AvgPool2d(2, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    return this.pool.forward(this.conv.forward(E.relu(this.norm.forward(x))));
  }
}

/** torchvision's `features` Sequential, whose children have names (conv0, denseblock1, …) rather than indices. */
class Features extends Module {
  private readonly stages: [string, Module][] = [];

  add<M extends Module>(name: string, module: M): M {
    this.stages.push([name, this.child(name, module)]);
    return module;
  }

  forward(x: Tensor): Tensor {
    return this.stages.reduce((h, [name, m]) => stage('densenet', `features.${name}`, h, (t) => m.forward(t)), x);
  }
}

export class DenseNet extends Module {
  readonly features: Module;
  readonly classifier: Linear;

  constructor(opts: DenseNetOptions = {}) {
    super();
    const growthRate = opts.growthRate ?? 32, blockConfig = opts.blockConfig ?? [6, 12, 24, 16];
    const numInitFeatures = opts.numInitFeatures ?? 64, bnSize = opts.bnSize ?? 4, dropRate = opts.dropRate ?? 0;
    const inChannels = opts.inChannels ?? 3;
    for (const [name, v] of [['growthRate', growthRate], ['numInitFeatures', numInitFeatures], ['bnSize', bnSize], ...blockConfig.map((n, i) => [`blockConfig[${i}]`, n] as const)] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`densenet: ${name} must be a positive integer, got ${v}`);
    }
    if (blockConfig.length === 0) throw new Error('densenet: blockConfig needs at least one dense block');
    const features = new Features();
    if ((opts.stem ?? 'imagenet') === 'imagenet') {
      features.add('conv0', new Conv2d(inChannels, numInitFeatures, 7, { stride: 2, padding: 3, bias: false }));
      features.add('norm0', new BatchNorm(numInitFeatures));
      features.add('relu0', ReLU());
      features.add('pool0', MaxPool2d(3, { stride: 2, padding: 1 }));
    } else {
      features.add('conv0', new Conv2d(inChannels, numInitFeatures, 3, { padding: 1, bias: false }));
    }
    let numFeatures = numInitFeatures;
    blockConfig.forEach((numLayers, i) => {
      features.add(`denseblock${i + 1}`, new DenseBlock(numLayers, numFeatures, bnSize, growthRate, dropRate));
      numFeatures += numLayers * growthRate;
      if (i !== blockConfig.length - 1) {
        features.add(`transition${i + 1}`, new Transition(numFeatures, Math.floor(numFeatures / 2)));
        numFeatures = Math.floor(numFeatures / 2);
      }
    });
    features.add('norm5', new BatchNorm(numFeatures));
    this.features = this.child('features', features);
    this.classifier = this.child('classifier', new Linear(numFeatures, opts.numClasses ?? 1000));
    // torchvision's "official init from torch repo" (batch norm already starts at weight 1, bias 0).
    for (const [name, t] of this.namedParameters()) {
      if (t.rank === 4) E.init.kaimingNormal_(t, { nonlinearity: 'relu' });
      else if (name === 'classifier.bias') E.init.constant_(t, 0);
    }
  }

  forward(x: Tensor): Tensor {
    const features = E.relu(this.features.forward(x));
    return this.classifier.forward(E.flatten(E.adaptiveAvgPool2d(features, 1), 1));
  }
}

/** Matches torchvision's pattern: `…denselayerN.norm.1.weight` → `…denselayerN.norm1.weight`. */
const LEGACY_DENSE_LAYER_KEY = /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$/;

/** One key of an old DenseNet checkpoint under its current name; other keys are returned unchanged. */
export function remapStateDictKey(key: string): string {
  const m = LEGACY_DENSE_LAYER_KEY.exec(key);
  return m ? m[1]! + m[2]! : key;
}

export function mapLegacyDenseNetKeys(keys: readonly string[]): string[] {
  return keys.map(remapStateDictKey);
}

/** torchvision's four ImageNet configurations: growth rate, dense layers per block, stem width. */
export const DENSENET_CONFIGS = {
  densenet121: { growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64, params: 7_978_856 },
  densenet161: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, params: 28_681_000 },
  densenet169: { growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64, params: 14_149_480 },
  densenet201: { growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64, params: 20_013_928 },
} as const;

/** DenseNet-BC (L = 100, k = 12) for CIFAR: (100 − 4) / 6 = 16 bottleneck layers per block, 2k stem channels. */
export const DENSENET_BC_100: DenseNetOptions = { growthRate: 12, blockConfig: [16, 16, 16], numInitFeatures: 24, bnSize: 4, stem: 'cifar' };

function dropRateOption(extra: Record<string, unknown> = {}): number | undefined {
  const p = extra['dropout'];
  if (p === undefined) return undefined;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`densenet: option 'dropout' (dropout after each dense layer) must be a number in [0, 1), got ${JSON.stringify(p)}`);
  return p;
}

export const densenetModels: ModelSpec[] = [
  ...Object.entries(DENSENET_CONFIGS).map(([name, c]): ModelSpec => ({
    name,
    description: `${name.replace('densenet', 'DenseNet-')} (2017), torchvision's layout; k = ${c.growthRate}, blocks ${c.blockConfig.join('-')}; ${c.params.toLocaleString('en-US')} params at 1000 classes`,
    defaultInput: [3, 224, 224],
    extraOptions: ['dropout'],
    create: (o) => new DenseNet({ ...c, numClasses: o.numClasses, inChannels: o.inChannels, dropRate: dropRateOption(o.extra) }),
    stateDictKeyMap: remapStateDictKey,
  })),
  {
    name: 'densenet-bc-100',
    description: 'DenseNet-BC (L=100, k=12) for 32×32 inputs, as in the paper; 769,162 params, 95.5 % reported on CIFAR-10',
    defaultInput: [3, 32, 32],
    extraOptions: ['dropout'],
    create: (o) => new DenseNet({ ...DENSENET_BC_100, numClasses: o.numClasses, inChannels: o.inChannels, dropRate: dropRateOption(o.extra) }),
    stateDictKeyMap: remapStateDictKey,
  },
];
