/**
 * The default executor: the study's cells one after another in this process, through makeCellRunner (which
 * resumes an interrupted cell from its checkpoint and skips a finished one).
 */
import type { InterruptRequest } from '../train/trainer.js';
import type { StudyCell } from './cell.js';
import type { CellExecutor, ExecutorEvents } from './executor.js';
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
    for (const cell of cells) {
      if (this.options.interrupt?.signal) return;
      events.onResult(await runner(cell, runDirOf(cell), events.onProgress));
    }
  }

  async close(): Promise<void> {}
}
