/**
 * Running the real `convlab` command in a child process (not a test file itself), on the reference backend with
 * an empty dataset cache, and the checks every user-facing failure must pass: a non-zero exit code, nothing on
 * stdout, exactly one line on stderr, no stack trace.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir } from '../train/helpers.js';
import { assertOneLineError, convlab as runConvlab, show, type Run } from './helpers.js';

export { MAIN, show } from './helpers.js';
export type CliRun = Run;

/** A fresh temp folder, removed when the process exits. */
export const scratchDir = (prefix = 'convlab-cli-'): string => tempDir(prefix);

export interface CliOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the child once it is running (e.g. to send it a signal later). */
  onSpawn?: (child: ChildProcess) => void;
}

/** The command on the reference backend, offline, with its dataset cache inside `cwd`. */
export function convlab(args: string[], o: CliOptions): Promise<CliRun> {
  return runConvlab(args, {
    cwd: o.cwd, onSpawn: o.onSpawn,
    env: { CONVLAB_BACKEND: 'reference', CONVLAB_HOME: join(o.cwd, 'home'), CONVLAB_OFFLINE: '1', ...o.env },
  });
}

export function assertNoStack(r: CliRun): void {
  for (const text of [r.stdout, r.stderr]) assert.ok(!/^\s{4}at /m.test(text), `stack trace in output of ${show(r)}`);
}

/** Exit code 1, nothing on stdout, exactly one line on stderr (returned without the "convlab: " prefix), no stack trace. */
export function oneLineError(r: CliRun): string {
  return assertOneLineError(r).replace(/^convlab: /, '');
}

/** Every file under `dir` (relative paths), to check that a refused command wrote nothing. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
