/** Models by name. Each family file exports its classes; this table is what the CLI and the trainer see. */
import type { Module } from '../nn/index.js';
import { AlexNet, AlexNetCifar } from './alexnet.js';
import { LeNet5 } from './lenet.js';
import { densenetModels } from './densenet.js';
import { googlenetModels } from './googlenet.js';
import { mobilenetV1Models } from './mobilenet.js';
import { mobilenetV2Models } from './mobilenetv2.js';
import { mobilenetV3Models } from './mobilenetv3.js';
import { efficientnetModels } from './efficientnet.js';
import { vitModels } from './vit.js';
import { Airbench94 } from './airbench.js';

export interface ModelOptions {
  numClasses: number;
  inChannels: number;
  imageSize: number;
  /** Family-specific switches, e.g. { lrn: true } or { dropout: 0.3 }. */
  extra?: Record<string, unknown>;
}

export interface ModelSpec {
  name: string;
  description: string;
  /** The input the architecture was designed for: [channels, height, width]. */
  defaultInput: [number, number, number];
  /** The family-specific switches `extra` may hold; any other key is refused rather than silently ignored. */
  extraOptions: readonly string[];
  create(opts: ModelOptions): Module;
  /**
   * Maps a key of a weights file to this model's state-dict key, for names older releases used (DenseNet's
   * `norm.1` for `norm1`); loadWeights applies it to every key of the file before checking names.
   */
  stateDictKeyMap?: (key: string) => string;
}

const specs: ModelSpec[] = [
  {
    name: 'lenet5',
    description: 'LeNet-5 (1998), modern variant: ReLU and max pooling; 61,706 params on MNIST',
    defaultInput: [1, 28, 28],
    extraOptions: [],
    create: (o) => new LeNet5({ ...o, variant: 'modern' }),
  },
  {
    name: 'lenet5-classic',
    description: 'LeNet-5 as in the paper: tanh and average-pooling subsampling',
    defaultInput: [1, 28, 28],
    extraOptions: [],
    create: (o) => new LeNet5({ ...o, variant: 'classic' }),
  },
  {
    name: 'alexnet',
    description: "AlexNet (2012), torchvision's architecture for 224×224 inputs; 61,100,840 params at 1000 classes",
    defaultInput: [3, 224, 224],
    extraOptions: ['lrn', 'dropout'],
    create: (o) => new AlexNet({ ...o, ...(o.extra as object) }),
  },
  {
    name: 'alexnet-cifar',
    description: 'AlexNet for 32×32 inputs: five 3×3 convs, three max pools, 4096-wide classifier; 35,855,178 params',
    defaultInput: [3, 32, 32],
    extraOptions: ['lrn', 'dropout', 'width'],
    create: (o) => new AlexNetCifar({ ...o, ...(o.extra as object) }),
  },
  ...googlenetModels,
  ...densenetModels,
  ...mobilenetV1Models,
  ...mobilenetV2Models,
  ...mobilenetV3Models,
  ...efficientnetModels,
  ...vitModels,
  {
    name: 'airbench94',
    description: "airbench94 (Keller Jordan's CIFAR-10 speedrun): whitening conv, three conv groups 64/256/256; 1,972,792 params",
    defaultInput: [3, 32, 32],
    extraOptions: ['widths'],
    create: (o) => new Airbench94({ numClasses: o.numClasses, inChannels: o.inChannels, widths: o.extra?.['widths'] as [number, number, number] | undefined }),
  },
];

export function listModels(): ModelSpec[] {
  return specs;
}

export function getModelSpec(name: string): ModelSpec {
  const spec = specs.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown model '${name}'. Valid models: ${specs.map((s) => s.name).join(', ')}`);
  return spec;
}

export function createModel(name: string, opts: Partial<ModelOptions> = {}): Module {
  const spec = getModelSpec(name);
  for (const key of Object.keys(opts.extra ?? {})) {
    if (!spec.extraOptions.includes(key)) throw new Error(unsupportedOptionMessage(spec, key));
  }
  const [c, h] = spec.defaultInput;
  return spec.create({ numClasses: opts.numClasses ?? 10, inChannels: opts.inChannels ?? c, imageSize: opts.imageSize ?? h, extra: opts.extra });
}

/** "model 'lenet5' has no option 'lrn' (it takes none)": shared by createModel and the CLI's flag check. */
export function unsupportedOptionMessage(spec: ModelSpec, option: string): string {
  const takes = spec.extraOptions.length ? spec.extraOptions.join(', ') : 'none';
  return `model '${spec.name}' has no option '${option}' (it takes: ${takes})`;
}
