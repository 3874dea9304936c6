/**
 * The airbench94 training loop, after github.com/KellerJordan/cifar10-airbench, legacy/airbench94.py (main):
 * whitening init from the first 5000 training images, grouped Nesterov SGD on the sum of label-smoothed losses,
 * the warmup/warmdown lr factor, lookahead every 5 steps and once more at the end, the whitening bias frozen after
 * 3 epochs, a test evaluation after each epoch and test-time augmentation at the end. Checkpoints hold the model,
 * the optimiser and the lookahead average, so `resume` continues exactly where a run stopped.
 * One deliberate difference: the lookahead average starts after the whitening init (the script snapshots before
 * it, so its first update blends in ~1e-6 of the random init into the frozen filters).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { Airbench94, activationFloatsPerImage, createModel } from '../models/index.js';
import { AirbenchBatches, normalizeImages, type ImageDataset } from '../data/index.js';
import { encodeCheckpoint, loadCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, type NamedArray } from './safetensors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-file.js';
import { GroupedSGD } from './param-groups.js';
import { Lookahead } from './lookahead.js';
import { lookaheadDecay, lrFactor, paramGroups, totalSteps, type AirbenchConfig } from './airbench-recipe.js';
import { evaluateTta } from './airbench-eval.js';
import type { Evaluation } from './evaluate.js';
import { TrainingInterrupted, type EpochRow, type InterruptRequest, type TrainCallbacks } from './trainer.js';
import { removeStaleTempFiles } from './run-lock.js';

export interface AirbenchData { train: ImageDataset; test: ImageDataset; mean: number[]; std: number[] }

export interface AirbenchTimes { prepare: number; train: number; evaluate: number }

interface AirbenchState {
  epoch: number; // epochs fully done
  batch: number; // batches done inside the current epoch
  step: number;
  history: EpochRow[];
  partial: { lossSum: number; correct: number; seen: number; seconds: number };
  times: AirbenchTimes;
}

export interface AirbenchResult {
  model: Module;
  history: EpochRow[];
  test: Evaluation;
  testTta: Evaluation;
  times: AirbenchTimes;
  meta: CheckpointMeta;
}

export interface AirbenchRunOptions {
  resume?: boolean;
  callbacks?: TrainCallbacks;
  interrupt?: InterruptRequest;
  /** Seconds spent before this function (loading data), counted as preparation. */
  prepareSeconds?: number;
}

/** Share of the heap the activations may take, leaving room for weights, optimiser state and fragmentation. */
const HEAP_SHARE = 0.85;

/** Refuses a micro-batch whose activations and their gradients would not fit the engine's heap, naming the way out. */
export function checkMemory(c: AirbenchConfig, model: Airbench94, heapBytes: number): void {
  if (!Number.isInteger(c.microBatch) || c.microBatch < 1 || c.batchSize % c.microBatch !== 0) {
    throw new Error(`--micro-batch ${c.microBatch} is invalid: it must be a whole number dividing the batch size (${c.batchSize})`);
  }
  // Forward activations, plus about as much again for their gradients during the backward pass.
  const needed = 2 * 4 * activationFloatsPerImage(model.widths) * c.microBatch + 5 * 4 * model.parameterCount();
  if (needed <= HEAP_SHARE * heapBytes) return;
  let micro = c.microBatch;
  while (micro > 1 && 2 * 4 * activationFloatsPerImage(model.widths) * micro + 5 * 4 * model.parameterCount() > HEAP_SHARE * heapBytes) {
    micro = [...Array(micro).keys()].reverse().find((d) => d > 0 && d < micro && c.batchSize % d === 0) ?? 1;
  }
  const gib = (b: number): string => (b / 2 ** 30).toFixed(2);
  throw new Error(`airbench94: a batch of ${c.microBatch} images needs about ${gib(needed)} GiB of engine memory, more than ${Math.round(HEAP_SHARE * 100)} % of the ${gib(heapBytes)} GiB heap; ` +
    `pass --micro-batch ${micro} to accumulate the batch of ${c.batchSize} over ${c.batchSize / micro} passes`);
}

export async function trainAirbench(c: AirbenchConfig, data: AirbenchData, runDir: string, o: AirbenchRunOptions = {}): Promise<AirbenchResult> {
  const cb = o.callbacks ?? {};
  const started = performance.now();
  if (!(c.epochs > 0)) throw new Error(`epochs must be > 0, got ${c.epochs}`);
  mkdirSync(runDir, { recursive: true });
  const stale = removeStaleTempFiles(runDir);
  if (stale.length) cb.onLog?.(`removed temporary files left by an earlier, interrupted run: ${stale.join(', ')}`);
  const { train: trainSet, test: testSet, mean, std } = data;
  E.manualSeed(c.seed);
  const meta: CheckpointMeta = {
    model: { name: c.model, numClasses: trainSet.classes.length, inChannels: trainSet.channels, imageSize: trainSet.height, extra: c.widths ? { widths: c.widths } : undefined },
    classes: trainSet.classes, mean, std,
  };
  const model = createModel(c.model, { numClasses: meta.model.numClasses, inChannels: meta.model.inChannels, extra: meta.model.extra });
  if (!(model instanceof Airbench94)) throw new Error(`airbench recipe: model '${c.model}' is not airbench94`);
  checkMemory(c, model, E.getBackend().heap.maximumBytes);
  const batches = new AirbenchBatches(trainSet, { batchSize: c.batchSize, seed: c.seed, mean, std, flip: c.flip, translate: c.translate });
  const whitenCount = Math.min(c.whitenImages, trainSet.length);
  model.initWhitening(normalizeImages(trainSet, mean, std, 0, whitenCount), whitenCount, trainSet.height, trainSet.width);
  const optimizer = new GroupedSGD(paramGroups(model, c), { momentum: c.momentum, nesterov: true });
  const lookahead = new Lookahead(model);
  const total = totalSteps(batches.numBatches, c.epochs);
  const lastPath = join(runDir, 'last.safetensors');

  let state: AirbenchState = {
    epoch: 0, batch: 0, step: 0, history: [], partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    times: { prepare: o.prepareSeconds ?? 0, train: 0, evaluate: 0 },
  };
  if (o.resume && existsSync(lastPath)) {
    const ckpt = loadCheckpoint(lastPath);
    model.loadStateDict(ckpt.model, ckpt.shapes);
    if (ckpt.optimizer) optimizer.loadStateDict(ckpt.optimizer);
    lookahead.load(lookaheadEntries(lastPath));
    const resumedTimes = state.times;
    state = ckpt.meta.trainer as AirbenchState;
    state.times.prepare += resumedTimes.prepare;
    cb.onLog?.(`resuming ${runDir} at epoch ${state.epoch + 1}, batch ${state.batch} (step ${state.step} of ${total})`);
  } else {
    writeJsonAtomic(join(runDir, 'config.json'), { ...c, batch_size: c.batchSize, classes: trainSet.classes, params: model.parameterCount(),
      total_steps: total, train_size: trainSet.length, val_size: testSet.length, mean, std, validation: 'test set' });
  }
  state.times.prepare += (performance.now() - started) / 1000;
  const save = (): void => writeFileAtomic(lastPath, encodeWithLookahead(lastPath, model, { ...meta, trainer: state }, optimizer, lookahead));

  const [ch, h, w] = [trainSet.channels, trainSet.height, trainSet.width];
  const x = new Float32Array(c.batchSize * ch * h * w), y = new Int32Array(c.batchSize);
  const passes = c.batchSize / c.microBatch, microSize = c.microBatch * ch * h * w;
  const epochs = Math.ceil(c.epochs);
  model.train();
  for (let epoch = state.epoch; epoch < epochs && state.step < total; epoch++) {
    model.whiten.bias!.requiresGrad = epoch < c.whitenBiasEpochs;
    const order = batches.order(epoch), p = state.partial;
    const epochBatches = Math.min(batches.numBatches, total - (state.step - state.batch));
    cb.onEpochStart?.(epoch + 1, epochBatches);
    while (state.batch < epochBatches) {
      const t0 = performance.now();
      batches.fill(epoch, state.batch, order, x, y);
      optimizer.lr = lrFactor(state.step, total);
      let lossSum = 0, correct = 0;
      for (let m = 0; m < passes; m++) {
        E.tidy(() => {
          const xs = E.tensor(x.subarray(m * microSize, (m + 1) * microSize), [c.microBatch, ch, h, w]);
          const labels = y.subarray(m * c.microBatch, (m + 1) * c.microBatch);
          const logits = model.forward(xs);
          // The script sums the per-image losses (its lr is scaled for that).
          const loss = E.crossEntropy(logits, E.intTensor(labels), { labelSmoothing: c.labelSmoothing, reduction: 'sum' });
          lossSum += loss.item();
          E.backward(loss);
          const predicted = logits.argmaxRows();
          for (let i = 0; i < c.microBatch; i++) if (predicted[i] === labels[i]) correct++;
        });
      }
      if (!Number.isFinite(lossSum)) throw new Error(`training stopped: the loss is ${lossSum} at epoch ${epoch + 1}, step ${state.step + 1}`);
      optimizer.step();
      optimizer.zeroGrad();
      state.step++; state.batch++;
      if (state.step % c.lookaheadEvery === 0) lookahead.update(model, lookaheadDecay(state.step, total));
      if (state.step >= total) lookahead.update(model, 1);
      const seconds = (performance.now() - t0) / 1000;
      state.times.train += seconds;
      p.lossSum += lossSum; p.correct += correct; p.seen += c.batchSize; p.seconds += seconds;
      cb.onBatchEnd?.({ epoch: epoch + 1, batch: state.batch, batches: epochBatches, loss: p.lossSum / p.seen, accuracy: p.correct / p.seen,
        imagesPerSecond: p.seen / p.seconds, lr: optimizer.lr * optimizer.groups[1]!.lr });
      if (state.batch < epochBatches && c.checkpointEvery > 0 && state.step % c.checkpointEvery === 0) save();
      if (o.interrupt?.signal && state.batch < epochBatches) {
        save();
        throw new TrainingInterrupted(o.interrupt.signal, lastPath, epoch + 1, state.batch);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const t0 = performance.now();
    const val = evaluateTta(model, testSet, { mean, std, level: 0 });
    state.times.evaluate += (performance.now() - t0) / 1000;
    const row: EpochRow = {
      epoch: epoch + 1, train_loss: p.lossSum / p.seen, train_acc: p.correct / p.seen, val_loss: val.loss, val_acc: val.report.accuracy,
      val_macro_recall: val.report.macroAvg.recall, val_balanced_accuracy: val.report.balancedAccuracy, lr: optimizer.lr * optimizer.groups[1]!.lr,
      epoch_seconds: p.seconds, images_per_s: p.seen / p.seconds,
      // Training time so far, as the main trainer counts it (preparation and evaluation are in airbench.json), so that
      // accuracy-against-time charts put both trainers on one axis.
      wall_seconds: state.times.train, data_fraction: 0, step: state.step,
    };
    state.history.push(row);
    writeFileAtomic(join(runDir, 'metrics.jsonl'), state.history.map((r) => JSON.stringify(r)).join('\n') + '\n');
    state.epoch = epoch + 1; state.batch = 0;
    state.partial = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
    save();
    cb.onEpochEnd?.(row, false);
    if (o.interrupt?.signal && state.step < total) throw new TrainingInterrupted(o.interrupt.signal, lastPath, epoch + 2, 0);
  }
  optimizer.dispose();
  const t0 = performance.now();
  const test = evaluateTta(model, testSet, { mean, std, level: 0 });
  const testTta = c.ttaLevel > 0 ? evaluateTta(model, testSet, { mean, std, level: c.ttaLevel }) : test;
  state.times.evaluate += (performance.now() - t0) / 1000;
  writeFileAtomic(join(runDir, 'best.safetensors'), encodeCheckpoint(join(runDir, 'best.safetensors'), model, { ...meta, trainer: { epoch: state.epoch, step: state.step } }));
  return { model, history: state.history, test, testTta, times: state.times, meta };
}

const LOOKAHEAD_PREFIX = 'lookahead.';

/** A checkpoint (model, optimiser, metadata) plus the lookahead average under "lookahead.*", which loadCheckpoint ignores. */
function encodeWithLookahead(path: string, model: Module, meta: CheckpointMeta, optimizer: GroupedSGD, lookahead: Lookahead): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(encodeCheckpoint(path, model, meta, optimizer), path);
  const all = new Map<string, NamedArray>(tensors);
  for (const [name, avg] of lookahead.average) all.set(LOOKAHEAD_PREFIX + name, { shape: [avg.length], data: avg });
  return encodeSafetensors(all, metadata);
}

function lookaheadEntries(path: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of readSafetensors(path).tensors) {
    if (name.startsWith(LOOKAHEAD_PREFIX) && t.data instanceof Float32Array) out.set(name.slice(LOOKAHEAD_PREFIX.length), t.data);
  }
  return out;
}
