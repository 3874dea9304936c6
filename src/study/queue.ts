/**
 * A study's cells on a BullMQ job queue in Redis, trained by `convlab worker` processes on any number of
 * machines (src/cli/commands/worker.ts). Loaded only for `convlab study … --queue redis://…` (a dynamic
 * import), so that a study without it never needs BullMQ or Redis.
 *
 * One job per cell, with the job id "<study>/<cell id>": enqueueing again (a resumed study) finds the job
 * already there, and a cell finished earlier delivers its stored result at once. The executor polls its jobs'
 * state, forwards the workers' progress, and calls onResult once per cell, however many times the queue ran
 * it. A worker that dies mid-cell stops renewing its lock; after the workers' stall timeout BullMQ puts the job
 * back in the queue for another worker. The run directory is the worker's: `runDirOf` is not used here.
 */
import { Job, Queue, type JobsOptions } from 'bullmq';
import type { CellFailure, CellProgress, CellResult, StudyCell } from './cell.js';
import { reportFailures, type CellExecutor, type ExecutorEvents } from './executor.js';
import { connectRedis, withTimeout, type RedisLink } from './redis-link.js';
import { parseRedisUrl } from './redis-url.js';

/** One queue serves every study: a worker needs only the Redis URL. */
export const QUEUE_NAME = 'convlab-cells';

export interface CellJobData { cell: StudyCell }

/** What a worker reports through job.updateProgress. */
export interface CellJobProgress { fraction: number; message?: string; host: string }

/** BullMQ refuses ':' in custom job ids. */
export const jobIdOf = (cell: StudyCell): string => `${cell.study}/${cell.id}`;

export interface QueueExecutorOptions {
  /** How often the executor looks at its jobs, in ms (default 1000). */
  pollMs?: number;
  /** How long Redis may be unreachable mid-study before the study gives up, in ms (default 10 s). */
  graceMs?: number;
  /** Runs of a cell that fails with an error (a stalled worker does not count), default 3. */
  attempts?: number;
}

/** Parses the URL (one line if malformed, before connecting), then probes Redis (one line if unreachable). */
export async function openQueueExecutor(url: string, o: QueueExecutorOptions = {}): Promise<QueueExecutor> {
  const link = await connectRedis(parseRedisUrl(url), o.graceMs);
  return new QueueExecutor(link, o);
}

interface Watched { cell: StudyCell; state?: string; progress?: string; host?: string }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isCellResult(v: unknown, id: string): v is CellResult {
  const r = v as Partial<CellResult> | null;
  return typeof r === 'object' && r !== null && r.id === id && typeof r.runDir === 'string' && Array.isArray(r.metrics)
    && typeof r.evaluation === 'object' && typeof r.config === 'object';
}

export class QueueExecutor implements CellExecutor {
  private readonly queue: Queue;
  private readonly pollMs: number;
  private readonly jobOptions: JobsOptions;
  private closed = false;

  constructor(private readonly link: RedisLink, o: QueueExecutorOptions = {}) {
    this.pollMs = o.pollMs ?? 1000;
    this.jobOptions = { attempts: o.attempts ?? 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false };
    this.queue = new Queue(QUEUE_NAME, { connection: link.connection });
    this.queue.on('error', (err) => link.noteError(err));
  }

  /** Every Redis call races the link's loss, so that a Redis that went away ends the study with its line. */
  private async redis<T>(call: Promise<T>): Promise<T> {
    try {
      return await Promise.race([call, this.link.lost]);
    } catch (err) {
      throw this.link.lostError ?? err;
    }
  }

  async run(cells: StudyCell[], _runDirOf: (cell: StudyCell) => string, events: ExecutorEvents): Promise<void> {
    const pending = new Map<string, Watched>();
    for (const cell of cells) {
      if (pending.has(jobIdOf(cell))) continue;
      await this.enqueue(cell, events);
      pending.set(jobIdOf(cell), { cell });
    }
    events.onLog?.(`queued ${pending.size} cell${pending.size === 1 ? '' : 's'} on ${this.link.target.display} (queue ${QUEUE_NAME}); start \`convlab worker --queue ${this.link.target.display}\` on any machine`);
    const failures: CellFailure[] = [];
    const delivered = new Set<string>();
    while (pending.size > 0) {
      for (const [jobId, watched] of pending) {
        const outcome = await this.look(jobId, watched, events);
        if (outcome === 'waiting') continue;
        pending.delete(jobId);
        if (outcome === 'failed') failures.push({ id: watched.cell.id, reason: watched.state ?? 'failed' });
        else if (!delivered.has(jobId)) { // a late duplicate of a delivered cell is dropped
          delivered.add(jobId);
          events.onResult(outcome);
        }
      }
      if (pending.size > 0) await this.redis(sleep(this.pollMs));
      if (this.closed) throw new Error(`the study's queue connection was closed with ${pending.size} cell${pending.size === 1 ? '' : 's'} still to do`);
    }
    reportFailures(failures, events, 'on the workers');
  }

  /** Adds the cell's job unless the queue already holds it (waiting, running or finished with this definition). */
  private async enqueue(cell: StudyCell, events: ExecutorEvents): Promise<void> {
    const jobId = jobIdOf(cell);
    const existing = await this.redis(Job.fromId<CellJobData, CellResult>(this.queue, jobId));
    if (existing) {
      const state = await this.redis(existing.getState());
      const sameCell = JSON.stringify(existing.data.cell) === JSON.stringify(cell);
      if (sameCell && state === 'failed') return this.redis(existing.retry('failed'));
      if (sameCell || state === 'active') return; // an active job of an older definition is checked when it finishes
      events.onLog?.(`${cell.id}: the queue held an older definition of this cell (${state}); replacing it`);
      await this.redis(existing.remove());
    }
    await this.redis(this.queue.add(cell.id, { cell }, { ...this.jobOptions, jobId }));
  }

  /** One look at a job: its result, 'failed' (reason left in watched.state), or 'waiting'; logs its moves. */
  private async look(jobId: string, watched: Watched, events: ExecutorEvents): Promise<CellResult | 'failed' | 'waiting'> {
    const { cell } = watched;
    // The state first: once it says completed, the job read after it holds the result.
    const state = await this.redis(this.queue.getJobState(jobId));
    const job = state === 'unknown' ? undefined : await this.redis(Job.fromId<CellJobData, CellResult>(this.queue, jobId));
    if (!job) { // removed by someone else: put it back
      events.onLog?.(`${cell.id}: its job disappeared from the queue; enqueueing it again`);
      await this.enqueue(cell, events);
      return 'waiting';
    }
    if (state === 'completed') {
      if (JSON.stringify(job.data.cell) !== JSON.stringify(cell)) { // finished an older definition of the cell
        await this.enqueue(cell, events);
        return 'waiting';
      }
      if (isCellResult(job.returnvalue, cell.id)) return job.returnvalue;
      watched.state = 'the worker returned no valid result';
      return 'failed';
    }
    if (state === 'failed') {
      watched.state = (job.failedReason || 'failed').split('\n')[0] ?? 'failed';
      return 'failed';
    }
    this.report(watched, state, job.progress, events);
    return 'waiting';
  }

  private report(watched: Watched, state: string, progress: unknown, events: ExecutorEvents): void {
    const { cell } = watched;
    const p = progress as Partial<CellJobProgress> | undefined;
    if (state === 'active' && typeof p === 'object' && p !== null && typeof p.host === 'string' && p.host !== watched.host) {
      watched.host = p.host;
      events.onLog?.(`${cell.id}: running on ${p.host}`);
    }
    if (watched.state === 'active' && (state === 'waiting' || state === 'prioritized')) {
      events.onLog?.(`${cell.id}: back in the queue (its worker stopped)`);
      watched.host = undefined;
    }
    watched.state = state;
    const key = JSON.stringify(p ?? null);
    if (state === 'active' && key !== watched.progress && typeof p?.fraction === 'number') {
      watched.progress = key;
      const update: CellProgress = { cell: cell.id, fraction: p.fraction, message: `${p.message ?? ''}${p.host ? ` on ${p.host}` : ''}`.trim() };
      events.onProgress?.(update);
    }
  }

  /** Closes this side's connection; the jobs (and finished results) stay in Redis for a resumed study. */
  async close(): Promise<void> {
    this.closed = true;
    await withTimeout(this.queue.close(), 2000);
  }
}
