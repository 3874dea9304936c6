/**
 * One writer per run directory. A training run holds `<run>/.convlab.lock` (its pid) for its whole life; a
 * second run into the same directory is refused with the holder's pid. A lock left by a process that no longer
 * exists (killed with SIGKILL, power loss) is taken over, with a line saying so.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { atomicTempWriterPid } from '../util/atomic-file.js';

export const LOCK_FILE = '.convlab.lock';

/** The files a training run writes: what `--overwrite` removes before starting afresh. */
export const RUN_FILES = [
  'config.json', 'class_counts.json', 'metrics.jsonl', 'evals.jsonl', 'val-eval.json', 'last.safetensors', 'best.safetensors', 'eval.json', 'report.html',
  ...['learning-curves', 'confusion-matrix', 'accuracy-vs-time'].flatMap((chart) => [`${chart}.svg`, `${chart}.png`]),
];

export class RunLockedError extends Error {
  override name = 'RunLockedError';
  constructor(readonly dir: string, readonly pid: number) {
    super(`${dir} is in use by another convlab run (pid ${pid}, lock file ${join(dir, LOCK_FILE)}); wait for it to finish or stop it`);
  }
}

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLockPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of a live process holding the directory's lock, if any. */
export function lockHolder(dir: string): number | undefined {
  const pid = readLockPid(join(dir, LOCK_FILE));
  return pid !== undefined && pid !== process.pid && processAlive(pid) ? pid : undefined;
}

export interface RunLock {
  readonly path: string;
  release(): void;
}

/** Takes the run directory's lock (creating the directory), or throws RunLockedError naming the holder. */
export function acquireRunLock(dir: string, log: (line: string) => void = () => {}): RunLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = lockHolder(dir);
      if (holder !== undefined) throw new RunLockedError(dir, holder);
      const pid = readLockPid(path);
      log(`taking over the stale lock ${path}${pid === undefined ? '' : ` of pid ${pid}, which is no longer running`}`);
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    break;
  }
  const release = (): void => {
    if (readLockPid(path) === process.pid) rmSync(path, { force: true });
    process.off('exit', release);
  };
  // A run that ends by process.exit (a second Ctrl-C, a fatal error) still frees its directory.
  process.on('exit', release);
  return { path, release };
}

/**
 * Removes temporary files (`.<name>.<pid>.tmp`) left in `dir` by writers that no longer run, e.g. a checkpoint
 * write cut short by a kill. Returns the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const pid = atomicTempWriterPid(name);
    if (pid === undefined || (pid !== process.pid && processAlive(pid))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** `--overwrite`: removes the files of the earlier run (and nothing else the user keeps there). */
export function clearRunFiles(dir: string): void {
  for (const name of RUN_FILES) rmSync(join(dir, name), { force: true });
}

/** A run directory that cannot be used as asked (a file, or an earlier run's folder without --resume/--overwrite). */
export class RunDirInUseError extends Error {
  override name = 'RunDirInUseError';
}

/**
 * Prepares `dir` for a training run and locks it: refuses a file, and a non-empty folder unless resuming or
 * overwriting (then the earlier run's files are removed). Release the returned lock when the run ends.
 */
export function openRunDir(dir: string, o: { resume?: boolean; overwrite?: boolean; log?: (line: string) => void } = {}): RunLock {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new RunDirInUseError(`${dir}: is a file, expected a run directory`);
  const lock = acquireRunLock(dir, o.log);
  try {
    const others = readdirSync(dir).filter((f) => f !== LOCK_FILE && !f.endsWith('.tmp'));
    if (!o.resume && others.length > 0) {
      if (!o.overwrite) {
        throw new RunDirInUseError(`${dir}: folder is not empty (holds ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}); resume that run or overwrite it`);
      }
      clearRunFiles(dir);
    }
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}
