/**
 * Building blocks the mobile families (MobileNet v1–v3, EfficientNet) share, after torchvision's:
 * `_make_divisible` (models/_utils.py), `Conv2dNormActivation` and `SqueezeExcitation` (ops/misc.py), and the weight
 * initialisation every torchvision MobileNet applies (kaiming_normal_ fan_out for convs, N(0, 0.01) for linear
 * layers, zero biases, BatchNorm ones/zeros, which BatchNorm already does).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { init } from '../engine/index.js';
import { BatchNorm, Conv2d, Linear, Module, Sequential } from '../nn/index.js';

/** torchvision's _make_divisible: v rounded to a multiple of divisor, never below min or 90 % of v. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor((Math.trunc(v + divisor / 2)) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor; // rounding down never loses more than 10 %
  return rounded;
}

export interface ConvNormActivationOptions {
  stride?: number;
  groups?: number;
  /** BatchNorm eps and momentum (torchvision's defaults 1e-5 and 0.1 unless given). */
  norm?: { eps?: number; momentum?: number };
  /** null: no activation (the linear bottleneck's projection). */
  activation: (() => Module) | null;
}

/** torchvision's Conv2dNormActivation: bias-free conv with "same" padding, BatchNorm, optional activation. */
export function conv2dNormActivation(inChannels: number, outChannels: number, kernel: number, o: ConvNormActivationOptions): Sequential {
  const conv = new Conv2d(inChannels, outChannels, kernel, {
    stride: o.stride ?? 1, padding: (kernel - 1) >> 1, groups: o.groups ?? 1, bias: false,
  });
  const layers: Module[] = [conv, new BatchNorm(outChannels, o.norm ?? {})];
  if (o.activation) layers.push(o.activation());
  return new Sequential(...layers);
}

/**
 * Squeeze-and-excitation (Hu et al., 2018) as torchvision.ops.SqueezeExcitation: x · gate(fc2(act(fc1(avgpool(x))))),
 * fc1 and fc2 being 1×1 convs. EfficientNet uses SiLU and a sigmoid gate; MobileNetV3 ReLU and a hard sigmoid.
 */
export class SqueezeExcitation extends Module {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;

  constructor(inputChannels: number, squeezeChannels: number,
    readonly activation: (x: Tensor) => Tensor = E.relu, readonly gate: (x: Tensor) => Tensor = E.sigmoid) {
    super();
    this.fc1 = this.child('fc1', new Conv2d(inputChannels, squeezeChannels, 1));
    this.fc2 = this.child('fc2', new Conv2d(squeezeChannels, inputChannels, 1));
  }

  forward(x: Tensor): Tensor {
    const squeezed = this.activation(this.fc1.forward(E.adaptiveAvgPool2d(x, 1)));
    return E.mul(this.gate(this.fc2.forward(squeezed)), x);
  }
}

/** Every descendant module, depth first, in registration order. */
function* modulesOf(m: Module): Generator<Module> {
  yield m;
  for (const [, child] of m.namedChildren()) yield* modulesOf(child);
}

/** The initialisation of torchvision's MobileNetV2/V3 constructors, applied to every conv and linear layer. */
export function initMobileNetWeights(model: Module): void {
  for (const m of modulesOf(model)) {
    if (m instanceof Conv2d) {
      init.kaimingNormal_(m.weight, { mode: 'fan_out' });
      if (m.bias) init.constant_(m.bias, 0);
    } else if (m instanceof Linear) {
      init.normal_(m.weight, 0, 0.01);
      if (m.bias) init.constant_(m.bias, 0);
    }
  }
}

/** The channel scale factor of a width multiplier option: a positive finite number. */
export function checkWidth(model: string, width: number): number {
  if (!(width > 0 && Number.isFinite(width))) throw new Error(`${model}: width must be a positive number, got ${width}`);
  return width;
}
