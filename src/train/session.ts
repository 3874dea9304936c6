/**
 * A training session driven one step at a time by its host (the browser playground's worker): SGD on an in-memory
 * dataset whose learning rate and batch size may change between steps, evaluation and prediction on demand, and
 * checkpoints as bytes. No file access and no Node built-ins. The CLI's trainer (trainer.ts) is the full loop with
 * run directories, resume and schedules; this is the interactive one.
 */
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { createModel } from '../models/index.js';
import { computeChannelStats, hashSeed, mulberry32, shuffleInPlace, type ImageDataset } from '../data/portable.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { createOptimizer, type Optimizer } from './optim.js';
import { encodeCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint-format.js';

export interface SessionOptions {
  model: string;
  train: ImageDataset;
  test: ImageDataset;
  lr: number;
  batchSize: number;
  seed?: number;
  momentum?: number;
  weightDecay?: number;
}

export interface StepResult {
  /** Mean loss over the batch. */
  loss: number;
  correct: number;
  size: number;
  /** Seconds spent in this step: batch assembly, forward, backward and update. */
  seconds: number;
  epoch: number;
  /** Images of the epoch consumed so far, and the epoch's size. */
  seen: number;
  epochSize: number;
}

export class TrainingSession {
  readonly model: Module;
  readonly optimizer: Optimizer;
  readonly meta: CheckpointMeta;
  readonly train: ImageDataset;
  readonly test: ImageDataset;
  readonly seed: number;
  epoch = 1;
  steps = 0;
  private size: number;
  private order: Int32Array;
  private cursor = 0;
  private x = new Float32Array(0);
  private y = new Int32Array(0);

  constructor(opts: SessionOptions) {
    this.train = opts.train;
    this.test = opts.test;
    this.seed = opts.seed ?? 0;
    this.size = checkBatchSize(opts.batchSize);
    const stats = computeChannelStats(opts.train);
    E.manualSeed(this.seed);
    this.meta = {
      model: { name: opts.model, numClasses: opts.train.classes.length, inChannels: opts.train.channels, imageSize: opts.train.height },
      classes: opts.train.classes, mean: stats.mean, std: stats.std,
    };
    this.model = createModel(opts.model, { ...this.meta.model });
    this.model.train();
    this.optimizer = createOptimizer(this.model.parameters(), {
      name: 'sgd', lr: checkLearningRate(opts.lr), momentum: opts.momentum ?? 0.9, nesterov: true, weightDecay: opts.weightDecay ?? 5e-4,
    });
    this.order = this.epochOrder(1);
  }

  get lr(): number { return this.optimizer.lr; }
  set lr(value: number) { this.optimizer.lr = checkLearningRate(value); }

  /** Takes effect from the next step; the epoch goes on where it was. */
  get batchSize(): number { return this.size; }
  set batchSize(value: number) { this.size = checkBatchSize(value); }

  /** One optimiser step on the next batch of the epoch (a new, reshuffled epoch once this one is used up). */
  step(): StepResult {
    const start = performance.now();
    if (this.cursor >= this.order.length) {
      this.epoch++;
      this.order = this.epochOrder(this.epoch);
      this.cursor = 0;
    }
    const size = Math.min(this.size, this.order.length - this.cursor);
    this.fillBatch(this.order.subarray(this.cursor, this.cursor + size));
    this.cursor += size;
    const { loss, correct } = this.forwardBackward(size);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.steps++;
    const seconds = (performance.now() - start) / 1000;
    return { loss, correct, size, seconds, epoch: this.epoch, seen: this.cursor, epochSize: this.order.length };
  }

  /**
   * Loss and gradients of the model on the dataset images `indices` (gradients left in the parameters' .grad,
   * nothing updated): the probe that compares the browser's arithmetic with Node's.
   */
  gradients(indices: Int32Array): { loss: number; grads: Map<string, Float32Array> } {
    this.fillBatch(indices);
    const { loss } = this.forwardBackward(indices.length);
    const grads = new Map<string, Float32Array>();
    for (const [name, p] of this.model.namedParameters()) grads.set(name, p.grad ? p.grad.toFloat32() : new Float32Array(p.size));
    this.optimizer.zeroGrad();
    return { loss, grads };
  }

  /** Loss, accuracy, per-class metrics and the confusion matrix on the test set (the first `limit` images). */
  evaluate(limit?: number): Evaluation {
    const n = Math.min(limit ?? this.test.length, this.test.length);
    const indices = n < this.test.length ? Int32Array.from({ length: n }, (_, i) => i) : undefined;
    return evaluate(this.model, this.test, { mean: this.meta.mean, std: this.meta.std, batchSize: 250, indices });
  }

  /** Class probabilities for one image of C×H×W bytes (0..255, the dataset's convention). */
  predict(pixels: Uint8Array): Float32Array {
    const x = this.normalise(pixels);
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      return E.noGrad(() => E.tidy(() => E.softmax(this.model.forward(E.tensor(x, [1, this.train.channels, this.train.height, this.train.width]))).toFloat32()));
    } finally {
      this.model.train(wasTraining);
    }
  }

  /** One image as normalised floats, C×H×W. */
  normalise(pixels: Uint8Array): Float32Array {
    const { channels, height, width } = this.train;
    const plane = height * width;
    if (pixels.length !== channels * plane) throw new Error(`an image must have ${channels}×${height}×${width} = ${channels * plane} bytes, got ${pixels.length}`);
    const out = new Float32Array(pixels.length);
    for (let c = 0; c < channels; c++) {
      const mean = this.meta.mean[c] ?? this.meta.mean[0]!, std = this.meta.std[c] ?? this.meta.std[0]!;
      for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = (pixels[i]! / 255 - mean) / std;
    }
    return out;
  }

  /**
   * Loads a checkpoint's weights (and its normalisation) after checking that it is for this model and input; on a
   * mismatch throws one line and leaves the model as it was.
   */
  load(ckpt: LoadedCheckpoint): void {
    const want = this.meta.model, got = ckpt.meta.model;
    const describe = (m: CheckpointMeta['model']): string => `'${m?.name}' (${m?.inChannels}×${m?.imageSize}×${m?.imageSize}, ${m?.numClasses} classes)`;
    if (!got || got.name !== want.name || got.inChannels !== want.inChannels || got.imageSize !== want.imageSize || got.numClasses !== want.numClasses) {
      throw new Error(`the checkpoint is for model ${describe(got)}, not ${describe(want)}`);
    }
    for (const [name, t] of this.model.namedState()) {
      const shape = ckpt.shapes.get(name);
      if (!shape || shape.join('×') !== t.shape.join('×')) throw new Error(`the checkpoint's ${name} has shape ${shape ? shape.join('×') : '(missing)'}, the model expects ${t.shape.join('×')}`);
    }
    this.model.loadStateDict(ckpt.model, ckpt.shapes);
    if (ckpt.meta.mean?.length && ckpt.meta.std?.length) {
      this.meta.mean = ckpt.meta.mean;
      this.meta.std = ckpt.meta.std;
    }
  }

  /** The model as a safetensors checkpoint, loadable by the CLI (`convlab predict`, `eval`). */
  checkpoint(name: string): Uint8Array {
    return encodeCheckpoint(name, this.model, { ...this.meta, trainer: { epoch: this.epoch, steps: this.steps, source: 'playground' } });
  }

  private epochOrder(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.train.length }, (_, i) => i);
    shuffleInPlace(order, mulberry32(hashSeed(this.seed, epoch)));
    return order;
  }

  private fillBatch(indices: Int32Array): void {
    const { channels, height, width } = this.train;
    const per = channels * height * width, plane = height * width;
    if (this.x.length < indices.length * per) { this.x = new Float32Array(indices.length * per); this.y = new Int32Array(indices.length); }
    const scale = this.meta.mean.map((_, c) => 1 / (255 * (this.meta.std[c] ?? this.meta.std[0]!)));
    const shift = this.meta.mean.map((m, c) => m / (this.meta.std[c] ?? this.meta.std[0]!));
    for (let b = 0; b < indices.length; b++) {
      const src = indices[b]! * per, dst = b * per;
      for (let c = 0; c < channels; c++) {
        const k = scale[c] ?? scale[0]!, s = shift[c] ?? shift[0]!;
        for (let i = c * plane; i < (c + 1) * plane; i++) this.x[dst + i] = this.train.images[src + i]! * k - s;
      }
      this.y[b] = this.train.labels[indices[b]!]!;
    }
  }

  private forwardBackward(size: number): { loss: number; correct: number } {
    const { channels, height, width } = this.train;
    return E.tidy(() => {
      const x = E.tensor(this.x.subarray(0, size * channels * height * width), [size, channels, height, width]);
      const logits = this.model.forward(x);
      const loss = E.crossEntropy(logits, E.intTensor(this.y.subarray(0, size)));
      const value = loss.item();
      if (!Number.isFinite(value)) throw new Error(`training diverged: the loss is ${value} at step ${this.steps + 1}; lower the learning rate`);
      E.backward(loss);
      const predicted = logits.argmaxRows();
      let correct = 0;
      for (let i = 0; i < size; i++) if (predicted[i] === this.y[i]) correct++;
      return { loss: value, correct };
    });
  }
}

function checkBatchSize(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new Error(`batch size must be a whole number from 1 to 4096, got ${n}`);
  return n;
}

function checkLearningRate(lr: number): number {
  if (!(lr > 0 && lr <= 10)) throw new Error(`learning rate must be > 0 and ≤ 10, got ${lr}`);
  return lr;
}
