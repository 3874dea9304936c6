/**
 * Run directories (issue 15, item 3): one writer at a time, held by a lock file for the run's life; a stale lock
 * of a dead process is taken over with a line saying so; an earlier run is replaced only with --overwrite; stale
 * temporary files of an interrupted writer are removed on the next start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE, RunDirInUseError, RunLockedError, acquireRunLock, openRunDir, removeStaleTempFiles } from '../../src/train/run-lock.js';
import { convlab, oneLineError, scratchDir, show } from '../cli/run-cli.js';
import { train } from '../../src/train/trainer.js';
import { baseConfig, quadrantDataset, useReferenceBackend } from '../train/helpers.js';

/** A pid that no process has: above Linux's largest pid_max (2^22). */
const DEAD_PID = 4_194_305;

/** A live process whose pid can stand in for another convlab run. */
function sleeper(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  process.on('exit', () => child.kill('SIGKILL'));
  return child;
}

test('a lock held by a live process is refused naming its pid; once that process is gone, the lock is taken over with a line', { timeout: 20_000 }, async () => {
  const dir = scratchDir();
  const other = sleeper();
  writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
  assert.throws(() => acquireRunLock(dir), (e: unknown) => {
    assert.ok(e instanceof RunLockedError);
    assert.equal(e.message, `${dir} is in use by another convlab run (pid ${other.pid}, lock file ${join(dir, LOCK_FILE)}); wait for it to finish or stop it`);
    return true;
  });
  other.kill('SIGKILL');
  await new Promise((resolve) => other.on('exit', resolve));
  const logs: string[] = [];
  const lock = acquireRunLock(dir, (l) => logs.push(l));
  assert.deepEqual(logs, [`taking over the stale lock ${join(dir, LOCK_FILE)} of pid ${other.pid}, which is no longer running`]);
  lock.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)), 'release removes the lock');
});

test('openRunDir: a file is refused; an earlier run is refused unless resuming, and --overwrite removes only its files', { timeout: 10_000 }, () => {
  const root = scratchDir();
  const file = join(root, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => openRunDir(file), { message: `${file}: is a file, expected a run directory` });
  const dir = join(root, 'run');
  mkdirSync(dir);
  for (const f of ['config.json', 'metrics.jsonl', 'last.safetensors', 'report.html', 'notes.txt']) writeFileSync(join(dir, f), 'old');
  assert.throws(() => openRunDir(dir), (e: unknown) => e instanceof RunDirInUseError && /^.*\/run: folder is not empty \(holds config.json, last.safetensors, metrics.jsonl, …\); resume that run or overwrite it$/.test(e.message));
  assert.ok(!existsSync(join(dir, LOCK_FILE)), 'a refused open leaves no lock behind');
  openRunDir(dir, { resume: true }).release();
  assert.equal(readdirSync(dir).length, 5, 'resuming keeps the run');
  openRunDir(dir, { overwrite: true }).release();
  assert.deepEqual(readdirSync(dir), ['notes.txt'], 'the earlier run\'s files are gone, the user\'s own file stays');
});

test('temporary files of dead writers are removed, those of live ones kept', { timeout: 10_000 }, () => {
  const dir = scratchDir();
  const other = sleeper();
  const dead = `.last.safetensors.${DEAD_PID}.tmp`, live = `.last.safetensors.${other.pid}.tmp`;
  for (const f of [dead, live, 'last.safetensors']) writeFileSync(join(dir, f), 'x');
  assert.deepEqual(removeStaleTempFiles(dir), [dead]);
  assert.deepEqual(readdirSync(dir).sort(), [live, 'last.safetensors'].sort());
  other.kill('SIGKILL');
});

test('two trainings started at once into one --out: one runs, the other is refused naming the holder\'s pid', { timeout: 120_000 }, async () => {
  const cwd = scratchDir();
  const out = join(cwd, 'run');
  // The WASM engine on one thread evaluates the test images much faster than the reference backend. 100,000 epochs keep
  // the winner running (and holding the lock) however late the loser starts; Ctrl-C stops it once the loser is refused.
  const args = (epochs: number): string[] => ['train', 'lenet5', '-d', 'mnist-sample', '--limit', '32', '--epochs', String(epochs), '--batch-size', '16',
    '--val-split', '0.02', '--no-report', '--json', '--threads', '1', '-o', out];
  const env = { CONVLAB_BACKEND: 'wasm' };
  const children: ChildProcess[] = [];
  const runs = [0, 1].map(() => convlab(args(100_000), { cwd, env, onSpawn: (c) => children.push(c) }));
  const first = await Promise.race(runs.map((run, index) => run.then((r) => ({ r, index }))));
  const winner = children[1 - first.index]!;
  const line = oneLineError(first.r);
  assert.ok(line.includes(`pid ${winner.pid}`), line);
  assert.match(line, /in use by another convlab run/);
  assert.ok(existsSync(join(out, LOCK_FILE)), 'the running winner holds the lock');
  // Its Ctrl-C handler is in place once it is training: wait for its first epoch's row.
  while (!existsSync(join(out, 'metrics.jsonl'))) await new Promise((resolve) => setTimeout(resolve, 20));
  winner.kill('SIGINT');
  const won = await runs[1 - first.index]!;
  assert.equal(won.code, 130, show(won));
  assert.ok(!existsSync(join(out, LOCK_FILE)), 'the stopped run released its lock');
  // A plain `train` into the stopped run is refused; --overwrite replaces it.
  assert.match(oneLineError(await convlab(args(1), { cwd, env })), /folder is not empty .*pass --resume to continue that run or --overwrite to replace it$/);
  const again = await convlab([...args(1), '--overwrite'], { cwd, env });
  assert.equal(again.code, 0, show(again));
});

test('train() removes the temporary file a killed writer left in the run directory, with a line saying so', { timeout: 30_000 }, () => {
  useReferenceBackend();
  const dir = scratchDir();
  const stale = `.last.safetensors.${DEAD_PID}.tmp`;
  writeFileSync(join(dir, stale), 'half a checkpoint');
  const logs: string[] = [];
  train(baseConfig({ epochs: 1 }), { train: quadrantDataset(8), val: quadrantDataset(4) }, dir, { callbacks: { onLog: (l) => logs.push(l) } }).model.dispose();
  assert.ok(!existsSync(join(dir, stale)));
  assert.ok(logs.includes(`removed temporary files left by an earlier, interrupted run: ${stale}`), logs.join('\n'));
});
