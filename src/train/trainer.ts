/**
 * The training loop: data → model → loss → backward → optimiser, one `tidy` scope per step so nothing leaks;
 * validation each epoch; metrics.jsonl, last/best checkpoints and early stopping on a monitored metric.
 * Every random choice is a function of the seed and the position in training, so `resume` after a kill
 * reproduces the uninterrupted run exactly.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../engine/index.js';
import { probeForward, type Module } from '../nn/index.js';
import { createModel } from '../models/index.js';
import { DataLoader, classCounts, computeChannelStats, type ImageDataset } from '../data/index.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { createOptimizer, type OptimizerConfig } from './optim.js';
import { learningRate, type ScheduleConfig } from './schedule.js';
import { lossForEpoch, type LossConfig } from './losses.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-file.js';
import { clipGradNorm, DEFAULT_DIVERGENCE_FACTOR, divergenceReason, median, TrainingDiverged } from './divergence.js';
import { removeStaleTempFiles } from './run-lock.js';
import { freezeModules, loadForFineTuning } from './finetune.js';

export interface TrainConfig {
  model: string;
  dataset: string;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  loss: LossConfig;
  seed: number;
  augment: { cropPadding?: number; hflip?: boolean };
  sampler: 'uniform' | 'balanced';
  /** e.g. "val.accuracy", "val.macro_recall", "val.balanced_accuracy", "val.loss". */
  monitor: string;
  /** Stop after this many epochs without improvement of the monitor (0 = never). */
  patience: number;
  modelExtra?: Record<string, unknown>;
  /** Initialise the model from this weights file (a torchvision-named state dict or a convlab checkpoint) before training. */
  weights?: string;
  /** With `weights`: refuse missing or unexpected keys (default true); false lists them and goes on. */
  strictWeights?: boolean;
  /** Module paths whose parameters are not trained (fine-tuning only the head: ["features"]); see finetune.ts. */
  freeze?: string[];
  /** Also checkpoint every this many steps inside an epoch (0 = only at epoch ends). */
  checkpointEvery: number;
  /**
   * Return the best epoch's weights (default) or the last epoch's. Choosing "best" by a metric measured on the
   * test set would tune on the test set, so callers that validate on it ask for the last weights.
   */
  restoreBest?: boolean;
  /** Stop when a step loss exceeds this × the first epoch's median step loss (default 1e4). */
  divergenceFactor?: number;
  /** Scale gradients down to this joint L2 norm before each update (off when absent). */
  clipGradNorm?: number;
  /**
   * Stop once training has taken this many seconds (evaluation not counted), closing the epoch in progress with
   * an evaluation. The schedule then runs on the clock: its progress is the larger of the epoch and time
   * fractions, so the learning rate has decayed when the budget runs out, whichever limit comes first.
   */
  timeBudgetSeconds?: number;
  /**
   * With timeBudgetSeconds: charge the validation passes to the budget as well, and stop early enough to leave
   * room for the closing one, so that training plus evaluation stays within it (a study cell's wall clock).
   */
  budgetCoversEvaluation?: boolean;
  /** Also evaluate on the validation set every this many steps, into evals.jsonl (0 or absent: only per epoch). */
  evalEverySteps?: number;
}

export interface TrainData {
  train: ImageDataset;
  val: ImageDataset;
  /** Channel statistics for normalisation; computed from `train` when absent. */
  mean?: number[];
  std?: number[];
}

export interface EpochRow {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  val_macro_recall: number;
  val_balanced_accuracy: number;
  lr: number;
  epoch_seconds: number;
  images_per_s: number;
  wall_seconds: number;
  /** Share of the epoch's time spent producing batches (the loader's cost). */
  data_fraction: number;
  /** Optimiser steps taken so far. */
  step: number;
  /** Seconds spent evaluating on the validation set during this epoch (not part of wall_seconds). */
  eval_seconds?: number;
  /** Present when the time budget ended training inside this epoch. */
  budget_reached?: true;
}

/**
 * One line of evals.jsonl: a validation point every `evalEverySteps` steps and at each epoch's end. The fields are
 * EpochRow's, measured at that step; train_loss and train_acc are the epoch's running figures so far.
 */
export type EvalPoint = Pick<EpochRow, 'step' | 'wall_seconds' | 'train_loss' | 'train_acc' | 'val_loss' | 'val_acc' | 'val_macro_recall' | 'val_balanced_accuracy'> & {
  /** Epochs done, fractional. */
  epoch: number;
};

export interface BatchInfo { epoch: number; batch: number; batches: number; loss: number; accuracy: number; imagesPerSecond: number; lr: number }

export interface TrainCallbacks {
  onEpochStart?(epoch: number, batches: number): void;
  onBatchEnd?(info: BatchInfo): void;
  onEpochEnd?(row: EpochRow, improved: boolean): void;
  onLog?(line: string): void;
}

interface TrainerState {
  epoch: number;          // epochs fully done
  batch: number;          // batches done inside the current epoch
  step: number;
  rng: number[];
  best: number | null;
  bestEpoch: number;
  sinceBest: number;
  history: EpochRow[];
  partial: { lossSum: number; correct: number; seen: number; seconds: number; dataSeconds: number };
  wallSeconds: number;
  /** Step losses of epoch 1: their median is the scale against which an exploding loss is judged. */
  firstEpochLosses?: number[];
  /** The time budget ended training. */
  budgetReached?: boolean;
  evals?: EvalPoint[];
  /** Seconds of validation passes so far, and the latest pass's (absent in checkpoints from before they were kept). */
  evalSeconds?: number;
  lastEvalSeconds?: number;
}

export interface TrainResult {
  model: Module;
  history: EpochRow[];
  bestEpoch: number;
  /** The epoch whose weights `model` holds. */
  returnedEpoch: number;
  stoppedEarly: boolean;
  meta: CheckpointMeta;
  /** The validation pass of the weights `model` holds, when this call made one (the last epoch's, without restoreBest). */
  finalValidation?: Evaluation;
}

/** Set `signal` (e.g. from a SIGINT handler) to stop after the current step with a checkpoint. */
export interface InterruptRequest { signal?: NodeJS.Signals }

export interface TrainOptions {
  resume?: boolean;
  /** Milliseconds, for the step timings and the time budget (tests pass a fake clock); default performance.now. */
  clock?: () => number;
  callbacks?: TrainCallbacks;
  interrupt?: InterruptRequest;
}

/** Training stopped on request after a step; `checkpoint` holds the state to resume from. */
export class TrainingInterrupted extends Error {
  override name = 'TrainingInterrupted';
  constructor(readonly signal: NodeJS.Signals, readonly checkpoint: string, readonly epoch: number, readonly batch: number) {
    super(`training interrupted by ${signal} at epoch ${epoch}, batch ${batch}; the state is saved in ${checkpoint}`);
  }
}

export { TrainingDiverged };

type MonitorKey = 'val_acc' | 'val_loss' | 'val_macro_recall' | 'val_balanced_accuracy';
const MONITORS: Record<string, MonitorKey> = {
  'val.accuracy': 'val_acc', 'val.loss': 'val_loss', 'val.macro_recall': 'val_macro_recall', 'val.balanced_accuracy': 'val_balanced_accuracy',
};
export const MONITOR_NAMES = Object.keys(MONITORS);

export function monitorKey(monitor: string): MonitorKey {
  const key = MONITORS[monitor];
  if (!key) throw new Error(`unknown monitor '${monitor}'. Valid monitors: ${Object.keys(MONITORS).join(', ')}`);
  return key;
}

export function monitorValue(row: EpochRow, monitor: string): number {
  return row[monitorKey(monitor)];
}

const lowerIsBetter = (monitor: string): boolean => monitor.endsWith('loss');

/** Trains synchronously (tests, scripts). Signals cannot be handled while it runs; use trainAsync for that. */
export function train(config: TrainConfig, data: TrainData, runDir: string, opts: TrainOptions = {}): TrainResult {
  const steps = trainSteps(config, data, runDir, opts);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Trains, returning to the event loop after every step so that signal handlers can request a stop. */
export async function trainAsync(config: TrainConfig, data: TrainData, runDir: string, opts: TrainOptions = {}): Promise<TrainResult> {
  const steps = trainSteps(config, data, runDir, opts);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The training loop; yields after every optimiser step. */
function* trainSteps(config: TrainConfig, data: TrainData, runDir: string, opts: TrainOptions): Generator<void, TrainResult> {
  const cb = opts.callbacks ?? {};
  const clock = opts.clock ?? ((): number => performance.now());
  // Zero epochs would evaluate an untrained model and leave a run directory without metrics.
  if (!Number.isInteger(config.epochs) || config.epochs < 1) throw new Error(`epochs must be a whole number ≥ 1, got ${config.epochs}`);
  const budget = config.timeBudgetSeconds;
  if (budget !== undefined && !(budget > 0)) throw new Error(`the time budget must be > 0 seconds, got ${budget}`);
  const evalEvery = config.evalEverySteps ?? 0;
  if (!Number.isInteger(evalEvery) || evalEvery < 0) throw new Error(`evalEverySteps must be a whole number ≥ 0, got ${evalEvery}`);
  mkdirSync(runDir, { recursive: true });
  const stale = removeStaleTempFiles(runDir);
  if (stale.length) cb.onLog?.(`removed temporary files left by an earlier, interrupted run: ${stale.join(', ')}`);
  const { train: trainSet, val: valSet } = data;
  const stats = data.mean && data.std ? { mean: data.mean, std: data.std } : computeChannelStats(trainSet);
  const counts = classCounts(trainSet);
  monitorKey(config.monitor); // fail before any work on a misspelt monitor
  const divergenceFactor = config.divergenceFactor ?? DEFAULT_DIVERGENCE_FACTOR;
  E.manualSeed(config.seed);
  const meta: CheckpointMeta = {
    model: { name: config.model, numClasses: trainSet.classes.length, inChannels: trainSet.channels, imageSize: trainSet.height, extra: config.modelExtra },
    classes: trainSet.classes, mean: stats.mean, std: stats.std,
  };
  const model = createModel(config.model, { ...meta.model });
  const frozen = config.freeze?.length ? freezeModules(model, config.freeze, config.model) : undefined;
  if (frozen) cb.onLog?.(frozen.message);
  const optimizer = createOptimizer(frozen?.trainable ?? model.parameters(), config.optimizer);
  const lastPath = join(runDir, 'last.safetensors'), bestPath = join(runDir, 'best.safetensors');

  let state: TrainerState = {
    epoch: 0, batch: 0, step: 0, rng: E.rng().state(), best: null, bestEpoch: 0, sinceBest: 0, history: [],
    partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0, dataSeconds: 0 }, wallSeconds: 0, firstEpochLosses: [],
  };
  if (opts.resume && existsSync(lastPath)) {
    const ckpt = loadCheckpoint(lastPath);
    model.loadStateDict(ckpt.model, ckpt.shapes);
    if (ckpt.optimizer) optimizer.loadStateDict(ckpt.optimizer);
    state = ckpt.meta.trainer as TrainerState;
    E.rng().setState(state.rng);
    cb.onLog?.(`resuming ${runDir} at epoch ${state.epoch + 1}, batch ${state.batch}`);
  } else {
    if (config.weights !== undefined) {
      const loaded = loadForFineTuning(model, config.weights, { strict: config.strictWeights ?? true, modelName: config.model });
      for (const warning of loaded.warnings) cb.onLog?.(`warning: ${warning}`);
      cb.onLog?.(loaded.message);
    }
    // One traced forward at batch 1: the MACs, and an input too small for the model named by its layer before any work.
    const { macs } = probeForward(model, [trainSet.channels, trainSet.height, trainSet.width], config.model);
    model.train();
    writeJsonAtomic(join(runDir, 'config.json'), { ...config, batch_size: config.batchSize, classes: trainSet.classes, params: model.parameterCount(), macs_per_image: macs,
      train_size: trainSet.length, val_size: valSet.length, mean: stats.mean, std: stats.std, class_counts: counts });
  }
  const firstEpochLosses = state.firstEpochLosses ?? [];
  state.firstEpochLosses = firstEpochLosses;
  const evals = state.evals ?? [];
  state.evals = evals;
  const evalOptions = { mean: stats.mean, std: stats.std, batchSize: Math.max(256, config.batchSize), onLog: cb.onLog };
  let epochEvalSeconds = 0;
  const evaluateVal = (): Evaluation => {
    const start = clock();
    const val = evaluate(model, valSet, evalOptions);
    evalOptions.batchSize = val.batchSize; // what fitted once fits every time
    const seconds = (clock() - start) / 1000;
    state.evalSeconds = (state.evalSeconds ?? 0) + seconds;
    state.lastEvalSeconds = seconds;
    epochEvalSeconds += seconds;
    return val;
  };
  /** Evaluates on the validation set and appends a point to evals.jsonl (only when evalEverySteps asks for it). */
  const recordEval = (val: Evaluation, epochsDone: number, wallSeconds: number): void => {
    if (evalEvery === 0) return;
    const p = state.partial;
    evals.push({
      step: state.step, epoch: epochsDone, wall_seconds: wallSeconds, train_loss: p.lossSum / p.seen, train_acc: p.correct / p.seen,
      val_loss: val.loss, val_acc: val.report.accuracy, val_macro_recall: val.report.macroAvg.recall, val_balanced_accuracy: val.report.balancedAccuracy,
    });
    writeFileAtomic(join(runDir, 'evals.jsonl'), evals.map((r) => JSON.stringify(r)).join('\n') + '\n');
  };
  const trainedSeconds = (): number => state.wallSeconds + state.partial.seconds;
  const coversEvaluation = budget !== undefined && config.budgetCoversEvaluation === true;
  /**
   * One validation pass's expected seconds: the latest pass's, or before any, a third of what training steps take
   * for as many images (a forward pass is about a third of a training step).
   */
  const expectedEvalSeconds = (): number => {
    if (state.lastEvalSeconds !== undefined) return state.lastEvalSeconds;
    const p = state.partial;
    return p.seen > 0 ? valSet.length * (p.seconds / p.seen) / 3 : 0;
  };
  /** The seconds charged to the time budget: training, plus with coversEvaluation every pass so far and the closing one. */
  const budgetClock = (): number => trainedSeconds() + (coversEvaluation ? (state.evalSeconds ?? 0) + expectedEvalSeconds() : 0);

  const loader = new DataLoader(trainSet, {
    batchSize: config.batchSize, seed: config.seed, mean: stats.mean, std: stats.std, augment: config.augment,
    sampler: config.sampler, reuseBuffers: true,
  });
  const [c, h, w] = [trainSet.channels, trainSet.height, trainSet.width];
  const checkpoint = (rng: number[]): void => {
    state.rng = rng;
    saveCheckpoint(lastPath, model, { ...meta, trainer: state }, optimizer);
  };
  const diverged = (why: string, where: string): TrainingDiverged => {
    optimizer.zeroGrad();
    const last = existsSync(lastPath) ? `the last good checkpoint is ${lastPath}` : 'no checkpoint was written yet';
    return new TrainingDiverged(`training stopped: ${why} at ${where}; ${last}`);
  };

  // A run that already stopped early stays stopped when resumed (unless resumed with a larger patience).
  let stoppedEarly = config.patience > 0 && state.epoch > 0 && state.sinceBest >= config.patience;
  // So does one whose budget ran out, unless resumed with a larger budget.
  const budgetSpent = (): boolean => budget !== undefined && budgetClock() >= budget;
  if (state.budgetReached && budgetSpent()) stoppedEarly = true;
  let finalValidation: Evaluation | undefined;
  model.train();
  for (let epoch = state.epoch + 1; !stoppedEarly && epoch <= config.epochs; epoch++) {
    const lossFn = lossForEpoch(config.loss, counts, epoch);
    const batches = loader.numBatches;
    cb.onEpochStart?.(epoch, batches);
    const p = state.partial;
    // A mid-epoch checkpoint is written only once the next step's loss shows its weights are sane: weights that
    // exploded in the last update are finite, and only the next forward pass reveals them.
    let checkpointDue = false;
    let dataStart = clock();
    for (const batch of loader.batches(epoch, { startBatch: state.batch })) {
      const stepStart = clock();
      const rngBeforeStep = E.rng().state();
      p.dataSeconds += (stepStart - dataStart) / 1000;
      const epochProgress = epoch - 1 + state.batch / batches;
      const fraction = Math.max(epochProgress / config.epochs, budget === undefined ? 0 : budgetClock() / budget);
      const lr = learningRate(config.optimizer.lr, config.schedule, epochProgress, config.epochs, fraction);
      optimizer.lr = lr;
      const { loss, correct, why } = E.tidy(() => {
        const x = E.tensor(batch.x.subarray(0, batch.size * c * h * w), [batch.size, c, h, w]);
        const y = E.intTensor(batch.y.subarray(0, batch.size));
        const { logits, loss: lossT } = forwardLoss(model, x, y, lossFn);
        const value = lossT.item();
        const reason = divergenceReason(value, firstEpochLosses, divergenceFactor);
        if (reason) return { loss: value, correct: 0, why: reason }; // no backward pass through a diverged loss
        E.backward(lossT);
        return { loss: value, correct: countCorrect(logits, batch.y, batch.size), why: undefined };
      });
      if (why) throw diverged(why, `epoch ${epoch}, batch ${state.batch + 1} (step ${state.step + 1})`);
      if (checkpointDue) checkpoint(rngBeforeStep); // the weights are still those of the previous step
      checkpointDue = false;
      if (epoch === 1) firstEpochLosses.push(loss);
      if (config.clipGradNorm) clipGradNorm(optimizer.params, config.clipGradNorm);
      optimizer.step();
      optimizer.zeroGrad();
      state.step++;
      state.batch++;
      p.lossSum += loss * batch.size; p.correct += correct; p.seen += batch.size;
      const now = clock();
      p.seconds += (now - stepStart) / 1000 + (stepStart - dataStart) / 1000;
      cb.onBatchEnd?.({ epoch, batch: state.batch, batches, loss: p.lossSum / p.seen, accuracy: p.correct / p.seen, imagesPerSecond: p.seen / p.seconds, lr });
      if (config.checkpointEvery > 0 && state.step % config.checkpointEvery === 0 && state.batch < batches) checkpointDue = true;
      if (budgetSpent()) {
        state.budgetReached = true;
        cb.onLog?.(`time budget of ${budget} s reached at epoch ${epoch}, batch ${state.batch} (step ${state.step})`);
        break;
      }
      if (evalEvery > 0 && state.step % evalEvery === 0 && state.batch < batches) {
        recordEval(evaluateVal(), epoch - 1 + state.batch / batches, trainedSeconds());
      }
      if (opts.interrupt?.signal && state.batch < batches) {
        checkpoint(E.rng().state());
        throw new TrainingInterrupted(opts.interrupt.signal, lastPath, epoch, state.batch);
      }
      yield;
      dataStart = clock();
    }

    const val = evaluateVal();
    const valWhy = divergenceReason(val.loss, firstEpochLosses, divergenceFactor);
    if (valWhy) throw diverged(`validation ${valWhy}`, `the end of epoch ${epoch}`);
    state.wallSeconds += p.seconds;
    const row: EpochRow = {
      epoch, train_loss: p.lossSum / p.seen, train_acc: p.correct / p.seen,
      val_loss: val.loss, val_acc: val.report.accuracy, val_macro_recall: val.report.macroAvg.recall,
      val_balanced_accuracy: val.report.balancedAccuracy, lr: optimizer.lr, epoch_seconds: p.seconds,
      images_per_s: p.seen / p.seconds, wall_seconds: state.wallSeconds, data_fraction: p.dataSeconds / p.seconds, step: state.step,
      eval_seconds: epochEvalSeconds,
    };
    epochEvalSeconds = 0;
    finalValidation = val;
    if (state.budgetReached) row.budget_reached = true;
    recordEval(val, epoch - 1 + state.batch / batches, state.wallSeconds);
    state.history.push(row);
    writeFileAtomic(join(runDir, 'metrics.jsonl'), state.history.map((r) => JSON.stringify(r)).join('\n') + '\n');
    // The latest epoch's per-class recall and confusion matrix, for the live dashboard (`convlab ui`).
    writeJsonAtomic(join(runDir, 'val-eval.json'), {
      epoch, classes: val.report.classNames, recall: val.report.perClass.map((k) => k.recall), confusion: val.report.confusionMatrix,
    });
    const value = monitorValue(row, config.monitor);
    const improved = state.best === null || (lowerIsBetter(config.monitor) ? value < state.best : value > state.best);
    if (improved) {
      state.best = value; state.bestEpoch = epoch; state.sinceBest = 0;
      saveCheckpoint(bestPath, model, { ...meta, trainer: { epoch, monitor: config.monitor, value } });
    } else state.sinceBest++;
    state.epoch = epoch; state.batch = 0;
    state.partial = { lossSum: 0, correct: 0, seen: 0, seconds: 0, dataSeconds: 0 };
    // Once epoch 1 is over only its median matters; keep that alone so checkpoints stay small.
    if (epoch === 1 && firstEpochLosses.length > 1) firstEpochLosses.splice(0, firstEpochLosses.length, median(firstEpochLosses));
    checkpoint(E.rng().state());
    cb.onEpochEnd?.(row, improved);
    if (state.budgetReached) break;
    if (opts.interrupt?.signal && epoch < config.epochs) throw new TrainingInterrupted(opts.interrupt.signal, lastPath, epoch + 1, 0);
    if (config.patience > 0 && state.sinceBest >= config.patience) {
      cb.onLog?.(`early stopping: ${config.monitor} has not improved for ${config.patience} epochs (best ${state.best?.toFixed(4)} at epoch ${state.bestEpoch})`);
      stoppedEarly = true;
      break;
    }
  }
  optimizer.dispose();
  const restoreBest = config.restoreBest !== false && existsSync(bestPath);
  if (restoreBest) {
    const best = loadCheckpoint(bestPath);
    model.loadStateDict(best.model, best.shapes);
  }
  const returnedEpoch = restoreBest ? state.bestEpoch : state.epoch;
  return {
    model, history: state.history, bestEpoch: state.bestEpoch, returnedEpoch, stoppedEarly, meta,
    finalValidation: restoreBest ? undefined : finalValidation,
  };
}

/** The model's logits and its loss, plus `weight × loss` of each auxiliary output (GoogLeNet's side classifiers). */
export function forwardLoss(model: Module, x: E.Tensor, y: E.Tensor, lossFn: (logits: E.Tensor, target: E.Tensor) => E.Tensor): { logits: E.Tensor; loss: E.Tensor } {
  const logits = model.forward(x);
  let loss = lossFn(logits, y);
  for (const aux of model.auxiliaryOutputs()) loss = E.add(loss, E.mulScalar(lossFn(aux.logits, y), aux.weight));
  return { logits, loss };
}

function countCorrect(logits: E.Tensor, labels: Int32Array, n: number): number {
  const predicted = logits.argmaxRows();
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}

/** Writes eval.json in the shape the report layer reads. */
export function writeEvaluation(runDir: string, split: string, ev: Evaluation): void {
  const r = ev.report;
  writeJsonAtomic(join(runDir, 'eval.json'), {
    split, loss: ev.loss, accuracy: r.accuracy, top5_accuracy: r.topK?.['5'], balanced_accuracy: r.balancedAccuracy,
    macro: r.macroAvg, weighted: r.weightedAvg,
    per_class: r.perClass.map((k) => ({ class: k.name, precision: k.precision, recall: k.recall, f1: k.f1, support: k.support })),
    confusion: r.confusionMatrix, classes: r.classNames,
  });
}
