/**
 * `convlab study <name|file>`: runs a study's cells under a budget each and writes its report. Re-running the
 * command resumes: finished cells are skipped and an interrupted cell continues from its checkpoint. SIGINT or
 * SIGTERM stops the running cell after its current step with a checkpoint (a second one exits at once).
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from '../../report/table-format.js';
import type { CellExecutor } from '../../study/executor.js';
import { loadStudy, planCells, StudyDefinitionError, type Budget } from '../../study/definitions.js';
import { InProcessExecutor } from '../../study/in-process.js';
import { parseRedisUrl } from '../../study/redis-url.js';
import { COMPARISON_COLUMNS } from '../../study/rows.js';
import { runStudy, withStudyDefaults, type StudyProgress } from '../../study/runner.js';
import { TrainingInterrupted, type InterruptRequest } from '../../train/trainer.js';
import { durationFlag, FlagError, numberFlag, type RawFlags } from '../flags.js';
import { installStopHandlers } from './train.js';

export interface StudyFlags { study: string; budget: Budget; out?: string; seeds: number; dataDir?: string; threads?: number; queue?: string; latencyRepeats: number; json: boolean }

/** --budget 10m (wall time per cell: training and its evaluations) or 3e (epochs per cell); default 10m. */
export function budgetFlag(raw: RawFlags): Budget {
  const v = raw['budget'];
  if (v === undefined) return { seconds: 600 };
  const epochs = /^\s*(\d+)\s*e(pochs?)?\s*$/i.exec(String(v));
  if (epochs) {
    if (Number(epochs[1]) < 1) throw new FlagError(`--budget '${String(v)}' is invalid: expected at least 1 epoch, e.g. 3e`);
    return { epochs: Number(epochs[1]) };
  }
  try {
    return { seconds: durationFlag(raw, 'budget', '--budget') };
  } catch {
    throw new FlagError(`--budget '${String(v)}' is invalid: expected a duration such as 90s, 10m or 1.5h, or epochs such as 3e`);
  }
}

export function parseStudyFlags(study: string, raw: RawFlags): StudyFlags {
  const dataDir = typeof raw['dataDir'] === 'string' ? raw['dataDir'] : undefined;
  if (dataDir !== undefined && !(existsSync(dataDir) && statSync(dataDir).isDirectory())) throw new FlagError(`--data-dir '${dataDir}': folder not found`);
  const out = typeof raw['out'] === 'string' ? raw['out'] : undefined;
  if (out !== undefined && existsSync(out) && !statSync(out).isDirectory()) throw new FlagError(`--out '${out}': is a file, expected a study folder`);
  const queue = typeof raw['queue'] === 'string' ? raw['queue'] : undefined;
  if (queue !== undefined) {
    try {
      parseRedisUrl(queue);
    } catch (err) {
      throw new FlagError((err as Error).message);
    }
  }
  return {
    study, budget: budgetFlag(raw), out, dataDir, queue,
    seeds: numberFlag(raw, 'seeds', '--seeds', { min: 1, max: 100, integer: true, allowed: 'a whole number from 1 to 100' }) ?? 1,
    threads: numberFlag(raw, 'threads', '--threads', { min: 1, max: 256, integer: true, allowed: 'a whole number from 1 to 256' }),
    latencyRepeats: raw['latency'] === false ? 0 : 5,
    json: raw['json'] === true,
  };
}

/**
 * The one place that chooses where cells run. Without --queue: in this process. With --queue, the queue
 * executor (src/study/queue.ts, `convlab worker`) plugs in here.
 */
export async function makeExecutor(f: StudyFlags, interrupt: InterruptRequest): Promise<CellExecutor> {
  // BullMQ loads only for a queued study.
  if (f.queue !== undefined) return (await import('../../study/queue.js')).openQueueExecutor(f.queue);
  return new InProcessExecutor({ dataDir: f.dataDir, threads: f.threads, interrupt });
}

export function registerStudy(program: Command): void {
  program.command('study')
    .description('run a study (classic, zoo, datasets, claims, or a .json/.yaml file of models × datasets × options) and write its report')
    .argument('<study>', 'classic, zoo, datasets, claims, or a study file')
    .option('--budget <budget>', 'per cell: wall time for training and its evaluations, such as 10m, or epochs such as 3e (default 10m)')
    .option('-o, --out <dir>', 'study folder (default studies/<name>); re-running resumes it')
    .option('--seeds <n>', 'repeat each cell with seeds 0..n-1 (tables show mean ± std)')
    .option('--data-dir <dir>', 'folder holding the dataset files')
    .option('--threads <n>', 'worker threads (default $CONVLAB_THREADS or the core count)')
    .option('--queue <url>', 'run the cells on a job queue (redis://host:port) served by `convlab worker`')
    .option('--no-latency', 'skip the inference latency measurement')
    .option('--json', 'print the rows as JSON')
    .action(async (study: string, raw: RawFlags) => {
      const f = parseStudyFlags(study, raw);
      let def;
      try {
        def = loadStudy(study);
      } catch (err) {
        if (err instanceof StudyDefinitionError) throw new FlagError(err.message);
        throw err;
      }
      await runStudyCommand(f, def);
    });
}

async function runStudyCommand(f: StudyFlags, def: ReturnType<typeof loadStudy>): Promise<void> {
  const planned = withStudyDefaults(planCells(def, f.budget, f.seeds));
  const outDir = f.out ?? join('studies', def.name);
  const interrupt: InterruptRequest = {};
  const executor = await makeExecutor(f, interrupt);
  const removeHandlers = installStopHandlers(interrupt);
  const view = progressView(f.budget, process.stderr);
  try {
    const outcome = await runStudy({
      def, planned, budget: f.budget, outDir, executor, threads: f.threads, latencyRepeats: f.latencyRepeats,
      onLog: view.log, onProgress: view.update,
    });
    view.stop();
    if (f.json) process.stdout.write(JSON.stringify({ report: outcome.report, ran: outcome.ran, skipped: outcome.skipped, failed: outcome.failed }, null, 2) + '\n');
    else process.stdout.write(`${formatTable(COMPARISON_COLUMNS, outcome.rows)}\n\n${outcome.ran} cells trained, ${outcome.skipped} already finished\nreport: ${outcome.report.html}\n`);
    if (outcome.failed.length) {
      const n = outcome.failed.length;
      process.stderr.write(`convlab: ${n} cell${n === 1 ? '' : 's'} failed (${outcome.failed.map((c) => `${c.id}: ${c.reason}`).join('; ')}); run the same command again to retry ${n === 1 ? 'it' : 'them'}\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    view.stop();
    if (!(err instanceof TrainingInterrupted)) throw err;
    process.stderr.write(`stopped at epoch ${err.epoch}, batch ${err.batch}; checkpoint: ${err.checkpoint}\nto continue: run the same command again (finished cells are skipped, this one resumes)\n`);
    process.exit(err.signal === 'SIGTERM' ? 143 : 130);
  } finally {
    removeHandlers();
    await executor.close();
  }
}

/**
 * Cells done / total, the current cell's progress and the whole study's ETA: a bar on a terminal, one line per
 * finished cell otherwise. The ETA assumes each remaining cell takes the time budget, or, under an epoch
 * budget, the mean time of the cells finished in this session.
 */
function progressView(budget: Budget, out: NodeJS.WriteStream): { update(p: StudyProgress): void; log(line: string): void; stop(): void } {
  const started = Date.now();
  let bar: cliProgress.SingleBar | null = null, ranHere = 0, lastDone = -1, cellStarted = Date.now();
  const eta = (p: StudyProgress): string => {
    const remaining = p.total - p.done, fraction = p.current?.fraction ?? 0;
    const perCell = budget.seconds ?? (ranHere > 0 ? (Date.now() - started) / 1000 / ranHere : NaN);
    const left = remaining > 0 ? (remaining - fraction) * perCell : 0;
    if (!Number.isFinite(left)) return '?';
    const s = Math.max(0, Math.round(left));
    return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  };
  return {
    update(p) {
      if (p.done !== lastDone) {
        if (lastDone >= 0 && p.done > lastDone) ranHere += p.done - lastDone;
        if (lastDone >= 0 && !out.isTTY) out.write(`cell ${p.done}/${p.total} done (${Math.round((Date.now() - cellStarted) / 1000)} s); study ETA ${eta(p)}\n`);
        lastDone = p.done;
        cellStarted = Date.now();
      }
      if (!out.isTTY) return;
      if (!bar) {
        bar = new cliProgress.SingleBar({ stream: out, hideCursor: true, clearOnComplete: true, format: 'cells {done}/{total} | {cell} {bar} {percentage}% | {message} | study ETA {study_eta}' }, cliProgress.Presets.shades_classic);
        bar.start(100, 0, { done: p.done, total: p.total, cell: '-', message: '', study_eta: eta(p) });
      }
      bar.update(Math.round(100 * (p.current?.fraction ?? 0)), { done: p.done, total: p.total, cell: p.current?.cell ?? '-', message: p.current?.message ?? '', study_eta: eta(p) });
    },
    log(line) {
      if (bar) bar.stop(), bar = null;
      out.write(line + '\n');
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
