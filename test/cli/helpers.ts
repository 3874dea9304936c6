/**
 * Running `node dist/src/cli/main.js` as a user would, for the CLI tests (not a test file itself): a fresh
 * empty --out folder per run, an empty dataset cache, and an optional preload that counts the worker threads
 * the WASM backend starts (so that --threads and CONVLAB_THREADS can be observed from outside).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../train/helpers.js';

export const ROOT = repoRoot();
export const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const TMP = mkdtempSync(join(tmpdir(), 'convlab-cli2-'));
process.on('exit', () => rmSync(TMP, { recursive: true, force: true }));

/** A fresh, empty folder under `base` (every run gets its own --out, so no run ever needs --overwrite). */
export function freshDir(prefix: string, base = TMP): string {
  return mkdtempSync(join(base, `${prefix}-`));
}

/**
 * A folder on the repository's own file system (under dist/, which git ignores), removed at exit. The kill
 * tests use it: /tmp may be a tmpfs, where fsync is free and a checkpoint write is too short to land in.
 */
export function diskDir(prefix: string): string {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'dist', `${prefix}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A preload (node --import) that counts the Worker threads started in the process and writes the count to
 * $CONVLAB_TEST_WORKERS_FILE at exit. The WASM backend runs `threads − 1` workers beside the main thread.
 */
const PRELOAD = join(TMP, 'count-workers.mjs');
writeFileSync(PRELOAD, `import { createRequire, syncBuiltinESMExports } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const threads = require('node:worker_threads');
// Workers inherit --import and run this file too; only the main thread counts and reports.
if (threads.isMainThread) {
  const Original = threads.Worker;
  let started = 0;
  threads.Worker = class extends Original { constructor(...args) { super(...args); started++; } };
  syncBuiltinESMExports();
  process.on('exit', () => writeFileSync(process.env.CONVLAB_TEST_WORKERS_FILE, String(started)));
}
`);

export interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; args: string[]; workers?: number }

export interface ConvlabOptions {
  env?: Record<string, string | undefined>;
  /** Count the worker threads the process starts (Run.workers). */
  countWorkers?: boolean;
  /** Called with the child once it is spawned (the kill tests watch it). */
  onSpawn?: (child: ChildProcess) => void;
  cwd?: string;
}

export function convlab(args: string[], o: ConvlabOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONVLAB_HOME: join(TMP, 'home') };
    for (const k of ['CONVLAB_DEBUG', 'CONVLAB_DATA_DIR', 'CONVLAB_BACKEND', 'CONVLAB_THREADS']) delete env[k];
    const workersFile = join(TMP, `workers-${process.pid}-${Math.random().toString(36).slice(2)}`);
    if (o.countWorkers) env.CONVLAB_TEST_WORKERS_FILE = workersFile;
    Object.assign(env, o.env);
    const nodeArgs = o.countWorkers ? ['--import', PRELOAD] : [];
    const child = spawn(process.execPath, [...nodeArgs, MAIN, ...args], { cwd: o.cwd ?? TMP, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    o.onSpawn?.(child);
    child.on('close', (code, signal) => {
      const workers = o.countWorkers && existsSync(workersFile) ? Number(readFileSync(workersFile, 'utf8')) : undefined;
      resolve({ code, signal, stdout, stderr, args, workers });
    });
  });
}

export const show = (r: Run): string => `convlab ${r.args.join(' ')} → exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Exit code 0 and no stack trace. */
export function assertOk(r: Run): void {
  assert.equal(r.code, 0, show(r));
  assert.ok(!/^\s{4}at /m.test(r.stdout + r.stderr), `stack trace in ${show(r)}`);
}

/** Exit code 1, nothing on stdout, one line on stderr (returned), no stack trace. */
export function assertOneLineError(r: Run): string {
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, '', show(r));
  assert.ok(!/^\s{4}at /m.test(r.stderr), `stack trace in ${show(r)}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, show(r));
  return lines[0]!;
}
