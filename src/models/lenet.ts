/**
 * LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998). The paper feeds 32×32 images; MNIST's 28×28 digits are
 * zero-padded by 2 in C1, which is the same thing. C5 convolves 5×5 maps with 5×5 kernels, so it is a full
 * connection over the 400 values of S4, written here as Linear(400, 120) (same weights, same layout).
 *
 *   classic: tanh activations and average-pooling subsampling, as in the paper (without its trainable
 *            subsampling coefficients and RBF output layer, as is customary).
 *   modern:  ReLU and max pooling, the variant most courses use today.
 */
import type { Tensor } from '../engine/index.js';
import * as E from '../engine/index.js';
import { Conv2d, Linear, Module } from '../nn/index.js';

export interface LeNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** Input height/width; C1 pads it to 32×32. */
  imageSize?: number;
  variant?: 'classic' | 'modern';
}

export class LeNet5 extends Module {
  readonly c1: Conv2d; readonly c3: Conv2d; readonly c5: Linear; readonly f6: Linear; readonly output: Linear;
  readonly variant: 'classic' | 'modern';

  constructor(opts: LeNetOptions = {}) {
    super();
    const size = opts.imageSize ?? 28;
    if (size > 32 || (32 - size) % 2) throw new Error(`lenet5: image size must be even and at most 32, got ${size}`);
    this.variant = opts.variant ?? 'modern';
    this.c1 = this.child('c1', new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: (32 - size) / 2 })); // 6@28×28
    this.c3 = this.child('c3', new Conv2d(6, 16, 5));                                                  // 16@10×10
    this.c5 = this.child('c5', new Linear(16 * 5 * 5, 120));
    this.f6 = this.child('f6', new Linear(120, 84));
    this.output = this.child('output', new Linear(84, opts.numClasses ?? 10));
  }

  forward(x: Tensor): Tensor {
    const act = this.variant === 'classic' ? E.tanh : E.relu;
    const subsample = (t: Tensor): Tensor => (this.variant === 'classic' ? E.avgPool2d(t, 2) : E.maxPool2d(t, 2));
    const s2 = subsample(act(this.c1.forward(x)));  // S2: 6@14×14
    const s4 = subsample(act(this.c3.forward(s2))); // S4: 16@5×5
    const c5 = act(this.c5.forward(E.flatten(s4)));
    const f6 = act(this.f6.forward(c5));
    return this.output.forward(f6);
  }
}
