/**
 * airbench94: the network of Keller Jordan's CIFAR-10 speedrun, after the published script
 * github.com/KellerJordan/cifar10-airbench, legacy/airbench94.py (94.01 % mean test accuracy in 3.83 s on an A100).
 *
 *   whiten  2×2 conv, 3 → 24 channels, no padding, bias; weights set from the eigenvectors of the training
 *           patches' covariance (± each scaled eigenvector) and frozen; only its bias trains, and only early on
 *   GELU
 *   three groups of conv 3×3 → max-pool 2 → BN → GELU → conv 3×3 → BN → GELU, widths 64, 256, 256
 *   max-pool 3, flatten, linear 256 → 10 without bias, times 1/9
 *
 * The convs have no bias and their first `in` filters start as the identity (Dirac); batch norm keeps its scale
 * frozen at 1, trains its bias, uses eps 1e-12 and takes 0.4 of each batch's statistics (the script's "momentum
 * 0.6" in its own convention). Children are indexed as the script's nn.Sequential, so state-dict names match it.
 */
import * as E from '../engine/index.js';
import { symmetricEigen, type Tensor } from '../engine/index.js';
import { BatchNorm, Conv2d, Flatten, GELU, Linear, MaxPool2d, Module, Sequential, Lambda } from '../nn/index.js';

export interface AirbenchOptions {
  numClasses?: number;
  inChannels?: number;
  widths?: [number, number, number];
  /** Fraction of each batch's statistics folded into BN's running statistics (torch's momentum). */
  batchNormMomentum?: number;
  scale?: number;
}

export const AIRBENCH_WIDTHS: [number, number, number] = [64, 256, 256];
const WHITEN_KERNEL = 2;

/** Identity on the first `in` filters of a [out, in, k, k] conv weight, as torch.nn.init.dirac_(w[:in]). */
function diracFirstFilters(weight: Tensor): void {
  const [, inCh, kh, kw] = weight.shape as [number, number, number, number];
  const values = weight.toFloat32();
  const per = inCh * kh * kw;
  for (let o = 0; o < inCh; o++) {
    values.fill(0, o * per, (o + 1) * per);
    values[o * per + o * kh * kw + ((kh - 1) >> 1) * kw + ((kw - 1) >> 1)] = 1;
  }
  weight.copyFrom(values);
}

class ScriptConv extends Conv2d {
  constructor(inCh: number, outCh: number) {
    super(inCh, outCh, 3, { padding: 1, bias: false });
    diracFirstFilters(this.weight);
  }
}

class ScriptBatchNorm extends BatchNorm {
  constructor(channels: number, momentum: number) {
    super(channels, { eps: 1e-12, momentum });
    this.weight.requiresGrad = false;
  }
}

export class ConvGroup extends Module {
  readonly conv1: Conv2d;
  readonly norm1: BatchNorm;
  readonly conv2: Conv2d;
  readonly norm2: BatchNorm;

  constructor(inCh: number, outCh: number, momentum: number) {
    super();
    this.conv1 = this.child('conv1', new ScriptConv(inCh, outCh));
    this.norm1 = this.child('norm1', new ScriptBatchNorm(outCh, momentum));
    this.conv2 = this.child('conv2', new ScriptConv(outCh, outCh));
    this.norm2 = this.child('norm2', new ScriptBatchNorm(outCh, momentum));
  }

  forward(x: Tensor): Tensor {
    const h = E.gelu(this.norm1.forward(E.maxPool2d(this.conv1.forward(x), 2)));
    return E.gelu(this.norm2.forward(this.conv2.forward(h)));
  }
}

export class Airbench94 extends Module {
  readonly net: Sequential;
  readonly whiten: Conv2d;
  readonly widths: [number, number, number];

  constructor(opts: AirbenchOptions = {}) {
    super();
    const c = opts.inChannels ?? 3, momentum = opts.batchNormMomentum ?? 0.4, scale = opts.scale ?? 1 / 9;
    const widths = this.widths = opts.widths ?? AIRBENCH_WIDTHS;
    const whitenWidth = 2 * c * WHITEN_KERNEL ** 2;
    this.whiten = new Conv2d(c, whitenWidth, WHITEN_KERNEL, { padding: 0 });
    init0(this.whiten.bias!);
    this.whiten.weight.requiresGrad = false;
    this.net = new Sequential(
      this.whiten, GELU(),
      new ConvGroup(whitenWidth, widths[0], momentum),
      new ConvGroup(widths[0], widths[1], momentum),
      new ConvGroup(widths[1], widths[2], momentum),
      MaxPool2d(3), Flatten(),
      new Linear(widths[2], opts.numClasses ?? 10, { bias: false }),
      new Lambda(`Mul(${scale.toPrecision(4)})`, (x) => E.mulScalar(x, scale)),
    );
    // Register the layers under the Sequential's own indices ("0.weight", "2.norm1.bias", …), as the script names them.
    this.net.namedChildren().forEach(([name, m]) => this.child(name, m));
  }

  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }

  /** Sets the frozen whitening weights from normalised training images (see whiteningWeights). */
  initWhitening(images: Float32Array, count: number, height: number, width: number, eps = 5e-4): void {
    this.whiten.weight.copyFrom(whiteningWeights(images, count, this.whiten.inChannels, height, width, eps));
  }
}

function init0(t: Tensor): void {
  t.copyFrom(new Float32Array(t.size));
}

/**
 * The whitening filters from `count` normalised images ([count, c, h, w], planar): the uncentred covariance of all
 * 2×2 patches (stride 1), its eigenvectors largest first, each divided by √(λ + eps), then the same filters negated,
 * giving 2·c·4 filters [2·c·4, c, 2, 2]. GELU after this conv keeps both signs of every whitened direction.
 */
export function whiteningWeights(images: Float32Array, count: number, c: number, h: number, w: number, eps = 5e-4): Float32Array {
  if (images.length < count * c * h * w) throw new Error(`whiteningWeights: expected ${count}×${c}×${h}×${w} values, got ${images.length}`);
  const k = WHITEN_KERNEL, d = c * k * k;
  const cov = patchCovariance(images, count, c, h, w);
  const { values, vectors } = symmetricEigen(cov, d);
  const out = new Float32Array(2 * d * d);
  for (let i = 0; i < d; i++) {
    const s = 1 / Math.sqrt(values[i]! + eps);
    for (let j = 0; j < d; j++) {
      out[i * d + j] = vectors[i * d + j]! * s;
      out[(i + d) * d + j] = -vectors[i * d + j]! * s;
    }
  }
  return out;
}

/** Σ p pᵀ / N over every 2×2 patch p (flattened c, dy, dx), in float64. */
export function patchCovariance(images: Float32Array, count: number, c: number, h: number, w: number): Float64Array {
  const k = WHITEN_KERNEL, d = c * k * k;
  const sum = new Float64Array(d * d), p = new Float64Array(d);
  for (let n = 0; n < count; n++) {
    const base = n * c * h * w;
    for (let y = 0; y + k <= h; y++) {
      for (let x = 0; x + k <= w; x++) {
        for (let ch = 0; ch < c; ch++) {
          for (let dy = 0; dy < k; dy++) {
            for (let dx = 0; dx < k; dx++) p[(ch * k + dy) * k + dx] = images[base + (ch * h + y + dy) * w + x + dx]!;
          }
        }
        for (let i = 0; i < d; i++) {
          const pi = p[i]!;
          for (let j = i; j < d; j++) sum[i * d + j] = sum[i * d + j]! + pi * p[j]!;
        }
      }
    }
  }
  const patches = count * (h - k + 1) * (w - k + 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      sum[i * d + j] = sum[i * d + j]! / patches;
      sum[j * d + i] = sum[i * d + j]!;
    }
  }
  return sum;
}

/**
 * Floats of activations kept for the backward pass per training image at 32×32 (every layer's output, pooling
 * indices included), for the memory check before training: the gradients of the backward pass need about as many.
 */
export function activationFloatsPerImage(widths: [number, number, number] = AIRBENCH_WIDTHS, size = 32, inChannels = 3): number {
  let s = size - WHITEN_KERNEL + 1, ch = 2 * inChannels * WHITEN_KERNEL ** 2;
  let total = inChannels * size * size + 2 * ch * s * s; // input, whiten conv, GELU
  for (const width of widths) {
    const pooled = Math.floor(s / 2);
    total += width * s * s + 6 * width * pooled * pooled + width * pooled * pooled; // conv1; pool, BN, GELU, conv2, BN, GELU; indices
    s = pooled; ch = width;
  }
  return total + ch;
}
