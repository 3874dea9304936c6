/**
 * The airbench94 recipe's numbers and schedules, from github.com/KellerJordan/cifar10-airbench,
 * legacy/airbench94.py (its `hyp` dictionary and main()). The script states lr and weight decay in a decoupled
 * form (per 1024 examples, independent of momentum); groupRates converts them to torch SGD's form as it does.
 */
import type { Module } from '../nn/index.js';
import type { Tensor } from '../engine/index.js';
import type { ParamGroup } from './param-groups.js';

export interface AirbenchConfig {
  model: string;
  dataset: string;
  seed: number;
  /** May be fractional: training stops after ceil(batches per epoch × epochs) steps. */
  epochs: number;
  batchSize: number;
  /** Images per forward/backward pass; the batch's gradients are accumulated over batchSize / microBatch passes. */
  microBatch: number;
  /** Decoupled learning rate, per 1024 examples. */
  lr: number;
  momentum: number;
  /** Decoupled weight decay, per 1024 examples. */
  weightDecay: number;
  /** Learning-rate multiplier (not weight decay) of the batch-norm biases. */
  biasScaler: number;
  labelSmoothing: number;
  /** Epochs during which the whitening conv's bias trains; frozen afterwards. */
  whitenBiasEpochs: number;
  /** Training images whose 2×2 patches set the whitening filters. */
  whitenImages: number;
  flip: boolean;
  translate: number;
  /** 0: none, 1: mirror, 2: mirror and ±1-pixel translation. */
  ttaLevel: number;
  /** The three conv groups' widths (default 64, 256, 256); smaller for tests. */
  widths?: [number, number, number];
  /** Steps between lookahead updates. */
  lookaheadEvery: number;
  /** Also checkpoint every this many steps inside an epoch (0: at epoch ends only). */
  checkpointEvery: number;
}

export const AIRBENCH94: Omit<AirbenchConfig, 'model' | 'dataset'> = {
  seed: 0, epochs: 9.9, batchSize: 1024, microBatch: 1024,
  lr: 11.5, momentum: 0.85, weightDecay: 0.0153, biasScaler: 64, labelSmoothing: 0.2, whitenBiasEpochs: 3, whitenImages: 5000,
  flip: true, translate: 2, ttaLevel: 2, lookaheadEvery: 5, checkpointEvery: 0,
};

/** The script's normalisation constants for CIFAR-10 (per channel, of pixels in [0, 1]). */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD = [0.2470, 0.2435, 0.2616];

/** torch SGD's lr and weight decay for the two groups: batch-norm biases, and every other trained parameter. */
export function groupRates(c: Pick<AirbenchConfig, 'lr' | 'momentum' | 'weightDecay' | 'biasScaler' | 'batchSize'>): { lr: number; lrBiases: number; wd: number } {
  // With Nesterov momentum and a constant gradient, steps are (1 + 1/(1 − momentum)) × the gradient: divide it out.
  const kilostepScale = 1024 * (1 + 1 / (1 - c.momentum));
  const lr = c.lr / kilostepScale;
  return { lr, lrBiases: lr * c.biasScaler, wd: (c.weightDecay * c.batchSize) / kilostepScale };
}

/**
 * The script's two groups: trained parameters with "norm" in their name (batch-norm biases; the scales are frozen),
 * and the rest. Weight decay is given as wd / lr so that lr · decay stays the decoupled amount.
 */
export function paramGroups(model: Module, c: AirbenchConfig): ParamGroup[] {
  const { lr, lrBiases, wd } = groupRates(c);
  const trained = [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
  const isNorm = ([name]: [string, Tensor]): boolean => name.includes('norm');
  return [
    { name: 'norm biases', params: trained.filter(isNorm).map(([, p]) => p), lr: lrBiases, weightDecay: wd / lrBiases },
    { name: 'other', params: trained.filter((e) => !isNorm(e)).map(([, p]) => p), lr, weightDecay: wd / lr },
  ];
}

export const totalSteps = (batchesPerEpoch: number, epochs: number): number => Math.ceil(batchesPerEpoch * epochs);

/** The lr factor of step `step` (0-based): linear from 0.2 to 1 over the first 23 % of steps, then down to 0.07. */
export function lrFactor(step: number, total: number): number {
  const warmup = Math.floor(total * 0.23), warmdown = total - warmup;
  if (step < warmup) {
    const frac = step / warmup;
    return 0.2 * (1 - frac) + frac;
  }
  const frac = (step - warmup) / warmdown;
  return (1 - frac) + 0.07 * frac;
}

/** How much of the lookahead average is kept at step `step`: 0.95⁵ · (step / total)³. */
export const lookaheadDecay = (step: number, total: number): number => 0.95 ** 5 * (step / total) ** 3;
