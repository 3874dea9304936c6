/**
 * The default executor: the study's cells one after another in this process, through makeCellRunner (which
 * resumes an interrupted cell from its checkpoint and skips a finished one).
 */
import { TrainingInterrupted, type InterruptRequest } from '../train/trainer.js';
import type { CellFailure, StudyCell } from './cell.js';
import { reportFailures, type CellExecutor, type ExecutorEvents } from './executor.js';
import { makeCellRunner } from './run-cell.js';

export interface InProcessOptions {
  dataDir?: string;
  threads?: number;
  /** The CLI's SIGINT/SIGTERM request: the running cell stops after its current step with a checkpoint. */
  interrupt?: InterruptRequest;
}

export class InProcessExecutor implements CellExecutor {
  constructor(private readonly options: InProcessOptions = {}) {}

  async run(cells: StudyCell[], runDirOf: (cell: StudyCell) => string, events: ExecutorEvents): Promise<void> {
    const runner = makeCellRunner({ ...this.options, onLog: events.onLog });
    const failures: CellFailure[] = [];
    for (const cell of cells) {
      if (this.options.interrupt?.signal) return;
      try {
        events.onResult(await runner(cell, runDirOf(cell), events.onProgress));
      } catch (err) {
        if (err instanceof TrainingInterrupted) throw err;
        // One cell's failure (a model too large for the heap, an input too small for it) does not cost the others.
        const reason = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        events.onLog?.(`${cell.id}: failed: ${reason}`);
        failures.push({ id: cell.id, reason });
      }
    }
    reportFailures(failures, events, 'in this process');
  }

  async close(): Promise<void> {}
}
