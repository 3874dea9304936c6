/**
 * `convlab worker --queue redis://HOST:6379`: trains the cells of studies run with `convlab study … --queue`,
 * on this machine, until stopped. Flags and the URL are checked before anything connects; BullMQ is loaded
 * only here (a dynamic import), so other commands never need it.
 */
import type { Command } from 'commander';
import { durationFlag, numberFlag, type RawFlags } from '../flags.js';
import { parseRedisUrl } from '../../study/redis-url.js';

/** Exit codes of a process ended by a signal, as shells report them (128 + signal number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function registerWorker(program: Command): void {
  program.command('worker')
    .description('train the cells of studies queued with `convlab study <name> --queue <url>`, on this machine, until stopped')
    .requiredOption('--queue <url>', 'the Redis the study queued its cells on, e.g. redis://HOST:6379')
    .option('--data-dir <dir>', 'folder holding the dataset files on this machine')
    .option('--runs <dir>', 'where run directories go: <runs>/<study>/<cell id> (default runs)')
    .option('--threads <n>', 'worker threads per cell (default $CONVLAB_THREADS or the core count)')
    .option('--concurrency <n>', 'cells trained at once (default 1)')
    .option('--stall-timeout <duration>', 'a cell whose worker stops answering for this long goes to another worker (default 30s; it must exceed the longest step or evaluation)')
    .option('--verbose', 'also print the trainer\'s log lines')
    .action(async (raw: RawFlags) => {
      const target = parseRedisUrl(String(raw['queue']));
      const threads = numberFlag(raw, 'threads', '--threads', { min: 1, max: 256, integer: true, allowed: 'a whole number from 1 to 256' });
      const concurrency = numberFlag(raw, 'concurrency', '--concurrency', { min: 1, max: 64, integer: true, allowed: 'a whole number from 1 to 64' });
      const stallTimeout = durationFlag(raw, 'stallTimeout', '--stall-timeout');
      const { runQueueWorker } = await import('../../study/queue-worker.js');
      const signal = await runQueueWorker(target, {
        runsDir: typeof raw['runs'] === 'string' ? raw['runs'] : 'runs',
        dataDir: typeof raw['dataDir'] === 'string' ? raw['dataDir'] : undefined,
        threads, concurrency, stallTimeoutMs: stallTimeout === undefined ? undefined : stallTimeout * 1000,
        verbose: raw['verbose'] === true,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    });
}
