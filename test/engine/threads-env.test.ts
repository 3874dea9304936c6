/**
 * CONVLAB_THREADS: the default (native or WASM) backend's thread count, in a fresh process each (the variable is read
 * when the backend starts). An explicit `threads` option wins over it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../fixtures.js';

const ENGINE = join(repoRoot(), 'dist', 'src', 'engine', 'engine.js');
const TMP = mkdtempSync(join(tmpdir(), 'convlab-threads-'));
process.on('exit', () => rmSync(TMP, { recursive: true, force: true }));

function runWith(env: string | undefined, option?: number): SpawnSyncReturns<string> {
  const script = `const { initEngine } = await import(${JSON.stringify(ENGINE)});
const b = await initEngine(${option === undefined ? '' : `{ threads: ${option} }`});
process.stdout.write(b.name + ' ' + b.threads);
b.dispose?.();`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.CONVLAB_BACKEND;
  delete childEnv.CONVLAB_THREADS;
  if (env !== undefined) childEnv.CONVLAB_THREADS = env;
  // A script file, not `node -e`: worker threads inherit the parent's exec arguments, and `--input-type` breaks them.
  const file = join(TMP, `threads-${env ?? 'unset'}-${option ?? 'default'}.mjs`);
  writeFileSync(file, script);
  return spawnSync(process.execPath, [file], { env: childEnv, encoding: 'utf8', timeout: 60_000 });
}

function threadsIn(env: string | undefined, option?: number): number {
  const r = runWith(env, option);
  assert.equal(r.status, 0, r.stderr);
  const [name, threads] = r.stdout.split(' ');
  assert.ok(name === 'native' || name === 'wasm', `the default backend: got ${name} (${r.stderr})`);
  return Number(threads);
}

test('CONVLAB_THREADS sets the default thread count; the threads option wins over it; unset means the core count', () => {
  const cases: [string, string | undefined, number | undefined, number][] = [
    ['CONVLAB_THREADS=1', '1', undefined, 1],
    ['CONVLAB_THREADS=2', '2', undefined, 2],
    ['CONVLAB_THREADS=3 (more than this machine may have cores: still honoured)', '3', undefined, 3],
    ['threads: 1 over CONVLAB_THREADS=2', '2', 1, 1],
    ['unset: the core count', undefined, undefined, Math.max(1, availableParallelism())],
  ];
  for (const [name, env, option, expected] of cases) assert.equal(threadsIn(env, option), expected, name);
});

test('an invalid CONVLAB_THREADS stops with one line instead of falling back to the core count', { timeout: 120_000 }, () => {
  for (const bad of ['abc', '0', '-2', '1.5']) {
    const r = runWith(bad);
    assert.notEqual(r.status, 0, bad);
    assert.match(r.stderr, new RegExp(`CONVLAB_THREADS '${bad.replace('.', '\\.')}' is invalid: must be a whole number ≥ 1`), bad);
  }
  assert.equal(threadsIn('abc', 2), 2, 'an explicit threads option does not read the variable');
});
