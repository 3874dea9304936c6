/**
 * Runs one study cell in this process: trainModel into the cell's run directory, resuming from its checkpoint
 * when an earlier attempt was interrupted, and skipping the training when the cell already finished (eval.json
 * exists). Used by the in-process study runner and by `convlab worker`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { trainModel } from '../api.js';
import type { InterruptRequest } from '../train/trainer.js';
import type { CellProgress, CellResult, CellRunner, StudyCell } from './cell.js';

export interface CellRunnerOptions {
  /** This machine's dataset folder (a cell never carries one: workers keep their data where they like). */
  dataDir?: string;
  threads?: number;
  interrupt?: InterruptRequest;
  onLog?: (line: string) => void;
}

/** With a time budget and no epoch count, the clock alone ends the cell. */
const EPOCHS_UNDER_A_TIME_BUDGET = 10_000;

export function makeCellRunner(o: CellRunnerOptions = {}): CellRunner {
  return async (cell: StudyCell, runDir: string, onProgress?: (p: CellProgress) => void): Promise<CellResult> => {
    const started = performance.now();
    if (!existsSync(join(runDir, 'eval.json'))) {
      const resume = existsSync(join(runDir, 'last.safetensors'));
      const epochs = cell.epochs ?? cell.options.epochs ?? (cell.budgetSeconds !== undefined ? EPOCHS_UNDER_A_TIME_BUDGET : undefined);
      await trainModel({
        ...cell.options, model: cell.model, dataset: cell.dataset, seed: cell.seed, epochs, timeBudgetSeconds: cell.budgetSeconds, budgetCoversEvaluation: true,
        dataDir: o.dataDir, threads: o.threads, outDir: runDir, resume, overwrite: !resume, interrupt: o.interrupt,
        callbacks: {
          onLog: o.onLog,
          onBatchEnd: (b) => {
            const byEpoch = epochs === undefined ? 0 : (b.epoch - 1 + b.batch / b.batches) / epochs;
            const byClock = cell.budgetSeconds === undefined ? 0 : (performance.now() - started) / 1000 / cell.budgetSeconds;
            onProgress?.({ cell: cell.id, fraction: Math.min(1, Math.max(byEpoch, byClock)), message: `epoch ${b.epoch}, batch ${b.batch}/${b.batches}` });
          },
        },
      });
    }
    return readCellResult(cell.id, runDir, (performance.now() - started) / 1000);
  };
}

/** A finished cell's run directory as a CellResult: config.json, metrics.jsonl and eval.json. */
export function readCellResult(id: string, runDir: string, seconds: number): CellResult {
  const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(runDir, file), 'utf8')) as Record<string, unknown>;
  const metrics = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { id, runDir, host: hostname(), config: json('config.json'), metrics, evaluation: json('eval.json'), seconds };
}
