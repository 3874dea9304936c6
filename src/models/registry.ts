/** Models by name. Each family file exports its classes; this table is what the CLI and the trainer see. */
import type { Module } from '../nn/index.js';
import { AlexNet, AlexNetCifar } from './alexnet.js';
import { LeNet5 } from './lenet.js';

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
  create(opts: ModelOptions): Module;
}

const specs: ModelSpec[] = [
  {
    name: 'lenet5',
    description: 'LeNet-5 (1998), modern variant: ReLU and max pooling; 61,706 params on MNIST',
    defaultInput: [1, 28, 28],
    create: (o) => new LeNet5({ ...o, variant: 'modern' }),
  },
  {
    name: 'lenet5-classic',
    description: 'LeNet-5 as in the paper: tanh and average-pooling subsampling',
    defaultInput: [1, 28, 28],
    create: (o) => new LeNet5({ ...o, variant: 'classic' }),
  },
  {
    name: 'alexnet',
    description: "AlexNet (2012), torchvision's architecture for 224×224 inputs; 61,100,840 params at 1000 classes",
    defaultInput: [3, 224, 224],
    create: (o) => new AlexNet({ ...o, ...(o.extra as object) }),
  },
  {
    name: 'alexnet-cifar',
    description: 'AlexNet for 32×32 inputs: five 3×3 convs, three max pools, 4096-wide classifier; 35,855,178 params',
    defaultInput: [3, 32, 32],
    create: (o) => new AlexNetCifar({ ...o, ...(o.extra as object) }),
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
  const [c, h] = spec.defaultInput;
  return spec.create({ numClasses: opts.numClasses ?? 10, inChannels: opts.inChannels ?? c, imageSize: opts.imageSize ?? h, extra: opts.extra });
}
