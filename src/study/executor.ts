/**
 * Where a study's cells run: in this process, one after another (the default), or on a job queue served by
 * `convlab worker` processes on any number of machines (src/study/queue.ts). The study runner hands an executor
 * the cells still to do and receives each result as it arrives; it never knows where a cell ran.
 */
import type { CellProgress, CellResult, StudyCell } from './cell.js';

export interface ExecutorEvents {
  /** A cell finished; called once per cell. */
  onResult(result: CellResult): void;
  onProgress?(progress: CellProgress): void;
  onLog?(line: string): void;
}

export interface CellExecutor {
  /** Runs every cell (each into `runDirOf(cell)` on the machine that runs it) and resolves when all are done. */
  run(cells: StudyCell[], runDirOf: (cell: StudyCell) => string, events: ExecutorEvents): Promise<void>;
  close(): Promise<void>;
}
