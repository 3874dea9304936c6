/**
 * Where a study's cells run: in this process, one after another (the default), or on a job queue served by
 * `convlab worker` processes on any number of machines (src/study/queue.ts). The study runner hands an executor
 * the cells still to do and receives each result as it arrives; it never knows where a cell ran.
 */
import type { CellFailure, CellProgress, CellResult, StudyCell } from './cell.js';

export interface ExecutorEvents {
  /** A cell finished; called once per cell. */
  onResult(result: CellResult): void;
  /**
   * A cell failed (an error in training, not an interruption); the executor goes on with the others. Absent, the
   * executor throws the failures together once every other cell is done.
   */
  onFailure?(failure: CellFailure): void;
  onProgress?(progress: CellProgress): void;
  onLog?(line: string): void;
}

export interface CellExecutor {
  /** Runs every cell (each into `runDirOf(cell)` on the machine that runs it) and resolves when all are done. */
  run(cells: StudyCell[], runDirOf: (cell: StudyCell) => string, events: ExecutorEvents): Promise<void>;
  close(): Promise<void>;
}

/** Hands each failure to onFailure, or without one, throws them together in one line. */
export function reportFailures(failures: CellFailure[], events: ExecutorEvents, where: string): void {
  if (failures.length === 0) return;
  if (events.onFailure) {
    failures.forEach((f) => events.onFailure!(f));
    return;
  }
  throw new Error(`${failures.length} cell${failures.length === 1 ? '' : 's'} failed ${where}: ${failures.map((f) => `${f.id}: ${f.reason}`).join('; ')}`);
}
