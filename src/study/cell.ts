/**
 * One cell of a study: a single training run (model × dataset × options × seed) under a budget, and what it
 * returns. The in-process runner and the queue's workers (`convlab worker`) both run cells through a CellRunner,
 * so a study's report never knows where a cell ran.
 */
import type { TrainOverrides } from '../api.js';

export interface StudyCell {
  /** Stable across runs of the same study definition, e.g. "lenet5@mnist#s0"; the run directory's name. */
  id: string;
  study: string;
  model: string;
  dataset: string;
  seed: number;
  /** Trainer settings beyond the recipe (JSON-safe: they travel through the queue). */
  options: TrainOverrides & { valSplit?: number; imbalance?: string; limit?: number };
  /** Wall-clock training budget in seconds (the trainer's timeBudgetSeconds); evaluation is not counted. */
  budgetSeconds?: number;
  /** Or an epoch budget. */
  epochs?: number;
}

export interface CellResult {
  id: string;
  /** Where the run directory lives, on the machine that ran it (checkpoints stay there). */
  runDir: string;
  host: string;
  /** The run's config.json, metrics.jsonl rows and eval.json, as the report layer reads them. */
  config: Record<string, unknown>;
  metrics: Record<string, unknown>[];
  evaluation: Record<string, unknown>;
  /** Wall-clock seconds the cell took on its machine, evaluation included. */
  seconds: number;
}

export interface CellProgress { cell: string; fraction: number; message?: string }

export type CellRunner = (cell: StudyCell, runDir: string, onProgress?: (p: CellProgress) => void) => Promise<CellResult>;

/** A cell whose training failed with an error (not an interruption), and the error's first line. */
export interface CellFailure { id: string; reason: string }
