/**
 * The trainer's vocabulary: its configuration, the data it takes, the rows it writes to metrics.jsonl and
 * evals.jsonl, its callbacks and result, and the monitors that pick the best epoch.
 */
import type { Module } from '../nn/index.js';
import type { ImageDataset } from '../data/index.js';
import type { Evaluation } from './evaluate.js';
import type { OptimizerConfig } from './optim.js';
import type { ScheduleConfig } from './schedule.js';
import type { LossConfig } from './losses.js';
import type { CheckpointMeta } from './checkpoint.js';
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

export const lowerIsBetter = (monitor: string): boolean => monitor.endsWith('loss');
