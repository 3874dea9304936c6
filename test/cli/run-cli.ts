/**
 * Running the real `convlab` command in a child process (not a test file itself), on the reference backend with
 * an empty dataset cache, and the checks every user-facing failure must pass: a non-zero exit code, nothing on
 * stdout, exactly one line on stderr, no stack trace.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot, tempDir } from '../train/helpers.js';

export const MAIN = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

/** A fresh temp folder, removed when the process exits. */
export const scratchDir = (prefix = 'convlab-cli-'): string => tempDir(prefix);

export interface CliRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; args: string[] }

export interface CliOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the child once it is running (e.g. to send it a signal later). */
  onSpawn?: (child: ChildProcess) => void;
}

export function convlab(args: string[], o: CliOptions): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONVLAB_BACKEND: 'reference', CONVLAB_HOME: join(o.cwd, 'home'), CONVLAB_OFFLINE: '1', ...o.env };
    delete env.CONVLAB_DEBUG;
    if (!o.env?.CONVLAB_DATA_DIR) delete env.CONVLAB_DATA_DIR;
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, args }));
    o.onSpawn?.(child);
  });
}

export const show = (r: CliRun): string => `convlab ${r.args.join(' ')} → exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

export function assertNoStack(r: CliRun): void {
  for (const text of [r.stdout, r.stderr]) assert.ok(!/^\s{4}at /m.test(text), `stack trace in output of ${show(r)}`);
}

/** Exit code 1, nothing on stdout, exactly one line on stderr (returned without the "convlab: " prefix), no stack trace. */
export function oneLineError(r: CliRun): string {
  assertNoStack(r);
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, '', show(r));
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, show(r));
  return lines[0]!.replace(/^convlab: /, '');
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
