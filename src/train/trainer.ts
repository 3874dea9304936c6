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
import { DataLoader, classCounts, computeChannelStats } from '../data/index.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { createOptimizer } from './optim.js';
import { learningRate } from './schedule.js';
import { lossForEpoch } from './losses.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-file.js';
import { clipGradNorm, DEFAULT_DIVERGENCE_FACTOR, divergenceReason, median, TrainingDiverged } from './divergence.js';
import { removeStaleTempFiles } from './run-lock.js';
import { freezeModules, loadForFineTuning } from './finetune.js';
import {
  lowerIsBetter, monitorKey, monitorValue, TrainingInterrupted,
  type EpochRow, type EvalPoint, type TrainConfig, type TrainData, type TrainOptions, type TrainResult,
} from './training-types.js';

export * from './training-types.js';

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

export { TrainingDiverged };

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
   * One validation pass's expected seconds: the latest pass's, or before any, half of what training steps take for
   * as many images. A forward pass costs about a third of a training step, but large models evaluate at smaller
   * batches than they would like (GoogLeNet-CIFAR's first pass took 0.49× its training time per image), and the
   * estimate only matters when the budget ends inside the first epoch: for exactly those large models.
   */
  const expectedEvalSeconds = (): number => {
    if (state.lastEvalSeconds !== undefined) return state.lastEvalSeconds;
    const p = state.partial;
    return p.seen > 0 ? valSet.length * (p.seconds / p.seen) / 2 : 0;
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
