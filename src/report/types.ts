// Shapes of the JSON files the report layer reads from a run directory.
// They are defined here (not imported from src/metrics or src/train) so the report
// layer depends only on the on-disk format, never on the training code.

/** `config.json`: the run's configuration. Only `model` and `dataset` are required; anything else is kept. */
export interface RunConfig {
  model: string;
  dataset: string;
  epochs?: number;
  batch_size?: number;
  optimizer?: unknown;
  seed?: number;
  classes?: string[];
  params?: number;
  /** Fraction held out for validation; 0 means the per-epoch "val" metrics were measured on the test set. */
  valSplit?: number;
  [key: string]: unknown;
}

/** The name of the set behind a run's per-epoch "val" metrics, as charts and the report call it. */
export function evalSetOf(config: RunConfig): 'Validation' | 'Test' {
  return config.valSplit === 0 ? 'Test' : 'Validation';
}

/** One line of `metrics.jsonl`: the metrics of one epoch. */
export interface EpochMetrics {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  val_macro_recall?: number;
  val_balanced_accuracy?: number;
  lr?: number;
  epoch_seconds?: number;
  images_per_s?: number;
  /** Cumulative wall-clock seconds since the start of training, at the end of this epoch. */
  wall_seconds?: number;
  /** Seconds spent in this epoch's validation passes (not part of wall_seconds). */
  eval_seconds?: number;
  [key: string]: unknown;
}

/** Precision / recall / F1 averaged over classes. `null` when undefined (e.g. no support). */
export interface AveragedMetrics {
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface PerClassMetrics extends AveragedMetrics {
  class: string;
  support: number;
}

/** `eval.json`: final evaluation on a held-out split (usually the test set). */
export interface EvalResult {
  split: string;
  loss: number | null;
  accuracy: number;
  top5_accuracy?: number | null;
  balanced_accuracy?: number | null;
  macro: AveragedMetrics;
  weighted: AveragedMetrics;
  per_class: PerClassMetrics[];
  /** Square matrix; rows = true class, columns = predicted class. */
  confusion: number[][];
  classes: string[];
  [key: string]: unknown;
}

/** Optional `class_counts.json`: number of examples per class, per split (index-aligned with the classes). */
export interface ClassCounts {
  train?: number[];
  test?: number[];
  [split: string]: number[] | undefined;
}

/** Everything `readRun` parsed from one run directory. */
export interface RunData {
  /** The directory as given to `readRun`. */
  dir: string;
  config: RunConfig;
  /** Epoch rows in file order. */
  metrics: EpochMetrics[];
  /** evals.jsonl, when the run evaluated every n steps: the finer accuracy-against-time curve. */
  evals?: EpochMetrics[];
  /** Absent only when `readRun` was called with `requireEval: false` and there is no eval.json. */
  eval?: EvalResult;
  classCounts?: ClassCounts;
}

/** One run's summary line, used by `compareRuns` and `comparisonSpec`. */
export interface ComparisonRow {
  dir: string;
  /** Short unique label for charts: the model name, or `model (dir name)` when models repeat. */
  label: string;
  model: string;
  dataset: string;
  params: number | null;
  /** Forward multiply-accumulates per image (config.json's macs_per_image). */
  macsPerImage: number | null;
  epochs: number;
  /** Validation accuracy of the last epoch. */
  valAcc: number | null;
  /** Best validation accuracy over all epochs. */
  bestValAcc: number | null;
  testAcc: number | null;
  /** Test-set macro recall (from eval.json), else the last epoch's val_macro_recall. */
  macroRecall: number | null;
  balancedAcc: number | null;
  /** Median training throughput over epochs. */
  imagesPerSec: number | null;
  wallSeconds: number | null;
}
