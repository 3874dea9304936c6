/**
 * AlexNet (Krizhevsky, Sutskever & Hinton, 2012).
 *
 *   alexnet:        torchvision's single-tower version for 224×224 inputs: 61,100,840 parameters at 1000
 *                   classes. Layer indices match torchvision, so its state_dict names load as they are.
 *   alexnet-cifar:  the same five-conv/three-FC design for 32×32 inputs (3×3 convs, three 2×2 max pools,
 *                   4×4×256 features, 4096-wide classifier): 35,855,178 parameters at 10 classes.
 *
 * `lrn: true` restores the paper's local response normalisation (n=5, α=1e-4, β=0.75, k=2) after the first
 * two ReLUs. torchvision leaves it out; so does the default here.
 */
import type { Tensor } from '../engine/index.js';
import {
  AdaptiveAvgPool2d, Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, Module, ReLU, Sequential,
} from '../nn/index.js';

export interface AlexNetOptions {
  numClasses?: number;
  inChannels?: number;
  imageSize?: number;
  dropout?: number;
  lrn?: boolean;
  /** alexnet-cifar only: scales every layer's channels and the classifier's width (default 1), e.g. 1/16 for tests. */
  width?: number;
}

const paperLrn = (): Module => LocalResponseNorm(5, 1e-4, 0.75, 2);

export class AlexNet extends Module {
  readonly features: Sequential;
  readonly avgpool: Module;
  readonly classifier: Sequential;

  constructor(opts: AlexNetOptions = {}) {
    super();
    const c = opts.inChannels ?? 3, p = opts.dropout ?? 0.5, lrn = opts.lrn ? [paperLrn()] : [];
    this.features = this.child('features', new Sequential(
      new Conv2d(c, 64, 11, { stride: 4, padding: 2 }), ReLU(), ...lrn, MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }), ReLU(), ...(opts.lrn ? [paperLrn()] : []), MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }), ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }), ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }), ReLU(), MaxPool2d(3, { stride: 2 }),
    ));
    this.avgpool = this.child('avgpool', AdaptiveAvgPool2d(6));
    this.classifier = this.child('classifier', new Sequential(
      Dropout(p), new Linear(256 * 6 * 6, 4096), ReLU(),
      Dropout(p), new Linear(4096, 4096), ReLU(),
      new Linear(4096, opts.numClasses ?? 1000),
    ));
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(Flatten().forward(this.avgpool.forward(this.features.forward(x))));
  }
}

export class AlexNetCifar extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(opts: AlexNetOptions = {}) {
    super();
    const c = opts.inChannels ?? 3, p = opts.dropout ?? 0.5, size = opts.imageSize ?? 32, width = opts.width ?? 1;
    if (!(width > 0 && Number.isInteger(64 * width))) throw new Error(`alexnet-cifar: width must be a positive multiple of 1/64, got ${width}`);
    const [c1, c2, c3, c4, c5, hidden] = [64, 192, 384, 256, 256, 4096].map((n) => n * width) as [number, number, number, number, number, number];
    const lrn = (): Module[] => (opts.lrn ? [paperLrn()] : []);
    const finalSize = Math.floor(Math.floor(Math.floor(size / 2) / 2) / 2); // three 2×2 max pools: 32 → 4
    if (finalSize < 1) throw new Error(`alexnet-cifar: image size ${size} is too small (at least 8)`);
    this.features = this.child('features', new Sequential(
      new Conv2d(c, c1, 3, { padding: 1 }), ReLU(), ...lrn(), MaxPool2d(2),
      new Conv2d(c1, c2, 3, { padding: 1 }), ReLU(), ...lrn(), MaxPool2d(2),
      new Conv2d(c2, c3, 3, { padding: 1 }), ReLU(),
      new Conv2d(c3, c4, 3, { padding: 1 }), ReLU(),
      new Conv2d(c4, c5, 3, { padding: 1 }), ReLU(), MaxPool2d(2),
    ));
    this.classifier = this.child('classifier', new Sequential(
      Flatten(), Dropout(p), new Linear(c5 * finalSize * finalSize, hidden), ReLU(),
      Dropout(p), new Linear(hidden, hidden), ReLU(),
      new Linear(hidden, opts.numClasses ?? 10),
    ));
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}
