/**
 * The body of `convlab worker`: takes cells from a study's queue (queue.ts), trains each in this process with
 * the cell runner into `<runs>/<study>/<cell id>` (checkpoints stay on this machine; the result records where),
 * and returns the CellResult through the queue. Loaded only by `convlab worker` (a dynamic import).
 *
 * Cells train on a worker thread (cell-thread.ts), so this process's main thread renews the lock on a running
 * cell every half stall timeout even through a long evaluation; a worker that dies stops renewing it, and
 * after the stall timeout another worker's stalled-job check puts the cell back in the queue. A signal stops
 * training after the current step (with a checkpoint) and hands the cell back to the queue at once.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { WaitingError, Worker, type Job } from 'bullmq';
import { TrainingInterrupted } from '../train/trainer.js';
import type { CellResult } from './cell.js';
import { QUEUE_NAME, type CellJobData, type CellJobProgress } from './queue.js';
import { connectRedis, withTimeout } from './redis-link.js';
import type { RedisTarget } from './redis-url.js';
import { makeThreadedCellRunner } from './cell-thread.js';

export interface QueueWorkerOptions {
  runsDir: string;
  dataDir?: string;
  threads?: number;
  /** Cells trained at once in this process (default 1). */
  concurrency?: number;
  /** A running cell whose worker stops answering for this long goes back to the queue, in ms (default 30 s). */
  stallTimeoutMs?: number;
  /** How long Redis may be unreachable before the worker gives up, in ms. */
  graceMs?: number;
  /** Also print the trainer's own log lines. */
  verbose?: boolean;
  log: (line: string) => void;
}

/** How many times a cell may lose its worker before the queue gives up on it. */
const MAX_STALLS = 3;
/** Progress updates sent to Redis at most this often, in ms. */
const PROGRESS_EVERY_MS = 1000;
/** After Redis is lost: how long the running cells get to reach a checkpoint. */
const CHECKPOINT_WAIT_MS = 30_000;

function accuracyText(result: CellResult): string {
  const accuracy = result.evaluation['accuracy'];
  return typeof accuracy === 'number' ? `, test accuracy ${(accuracy * 100).toFixed(1)} %` : '';
}

/**
 * Serves the queue until SIGINT/SIGTERM (resolves with the signal once the running cells are back in the queue)
 * or until Redis is lost (rejects with RedisUnavailable, after the running cells have checkpointed).
 */
export async function runQueueWorker(target: RedisTarget, o: QueueWorkerOptions): Promise<NodeJS.Signals> {
  const link = await connectRedis(target, o.graceMs);
  const host = hostname();
  const cells = makeThreadedCellRunner({ dataDir: o.dataDir, threads: o.threads, onLog: o.verbose ? (l) => o.log(`  ${l}`) : undefined });
  const running = new Set<Promise<unknown>>();

  const processor = async (job: Job<CellJobData, CellResult>, token?: string): Promise<CellResult> => {
    const { cell } = job.data;
    const runDir = resolve(o.runsDir, cell.study, cell.id);
    o.log(`${cell.id} (study ${cell.study}): started${job.attemptsStarted > 1 ? ` (attempt ${job.attemptsStarted})` : ''} → ${runDir}`);
    const send = (p: CellJobProgress): void => { job.updateProgress(p).catch((err: unknown) => link.noteError(err)); };
    send({ fraction: 0, message: 'starting', host });
    let lastSent = 0;
    const work = cells.run(cell, runDir, (p) => {
      if (Date.now() - lastSent < PROGRESS_EVERY_MS) return;
      lastSent = Date.now();
      send({ fraction: p.fraction, message: p.message, host });
    });
    running.add(work);
    try {
      const result = await work;
      o.log(`${cell.id}: finished in ${result.seconds.toFixed(1)} s${accuracyText(result)}`);
      return result;
    } catch (err) {
      if (err instanceof TrainingInterrupted && token !== undefined) {
        o.log(`${cell.id}: stopped at epoch ${err.epoch}, batch ${err.batch} (checkpoint ${err.checkpoint}); back to the queue`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      o.log(`${cell.id}: failed: ${(err as Error).message.split('\n')[0]}`);
      throw err;
    } finally {
      running.delete(work);
    }
  };

  const stallTimeoutMs = o.stallTimeoutMs ?? 30_000;
  const worker = new Worker<CellJobData, CellResult>(QUEUE_NAME, processor, {
    connection: link.connection, concurrency: o.concurrency ?? 1,
    lockDuration: stallTimeoutMs, stalledInterval: Math.max(500, Math.round(stallTimeoutMs / 2)), maxStalledCount: MAX_STALLS,
  });
  worker.on('error', (err) => link.noteError(err));

  const stopped = new Promise<NodeJS.Signals>((resolveStop) => {
    const uninstall = (): void => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); };
    function onSignal(signal: NodeJS.Signals): void {
      cells.interrupt(signal);
      uninstall(); // a second signal ends the process at once
      o.log(running.size === 0 ? `${signal}: stopping (no cell running)`
        : `${signal}: finishing the current step, saving a checkpoint and handing the cell back to the queue (again to quit at once)`);
      void worker.close().then(() => resolveStop(signal), () => resolveStop(signal));
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  o.log(`worker on ${host} serving ${target.display} (queue ${QUEUE_NAME}), runs in ${resolve(o.runsDir)}`);
  try {
    return await Promise.race([stopped, link.lost]);
  } catch (err) {
    cells.interrupt('SIGTERM'); // Redis is gone: checkpoint the running cells before giving up
    await withTimeout(Promise.allSettled([...running]), CHECKPOINT_WAIT_MS);
    await withTimeout(worker.close(true), 2000);
    throw err;
  }
}
