/**
 * Kill-and-resume: `convlab train … --resume` in a child process on the WASM backend (CONVLAB_BACKEND=wasm: its
 * worker threads are what the preload counts) with 2 threads. A run killed with SIGKILL, between checkpoints or in the middle of writing one, and resumed with
 * --resume must end with exactly the checkpoints and metrics of a run that was never interrupted.
 *
 * LeNet-5 on 192 mnist-sample images, batch 16: 12 steps per epoch, 2 epochs, a checkpoint after every step.
 * Each run takes a few seconds; there are four (one uninterrupted, two killed, two resumes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watch, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { assertSameTensors, metricsWithoutTimes, trainerMeta } from '../train/helpers.js';
import { assertOk, convlab as convlabAnyBackend, diskDir, freshDir, show, type Run } from './helpers.js';

const convlab: typeof convlabAnyBackend = (args, o = {}) => convlabAnyBackend(args, { ...o, env: { CONVLAB_BACKEND: 'wasm', ...o.env } });

const RUNS = diskDir('cli-resume-runs');

const trainArgs = (out: string): string[] => ['train', 'lenet5', '-d', 'mnist-sample', '--limit', '192', '--batch-size', '16', '--epochs', '2',
  '--checkpoint-every', '1', '--threads', '2', '--no-report', '--json', '-o', out];
const STEPS = 24;

// The uninterrupted run, started when the file loads; the kill tests compare against it.
const referenceDir = freshDir('reference', RUNS);
const referenceRun = convlab(trainArgs(referenceDir), { countWorkers: true });

/** Same checkpoints (every tensor byte, trainer position and RNG), metrics and test evaluation as the reference. */
function assertSameAsReference(dir: string): void {
  for (const f of ['last.safetensors', 'best.safetensors']) assertSameTensors(join(dir, f), join(referenceDir, f));
  const a = trainerMeta(join(dir, 'last.safetensors')), b = trainerMeta(join(referenceDir, 'last.safetensors'));
  for (const key of ['epoch', 'batch', 'step', 'rng', 'best', 'bestEpoch']) assert.deepEqual(a[key], b[key], `trainer.${key}`);
  assert.deepEqual(metricsWithoutTimes(dir), metricsWithoutTimes(referenceDir));
  const evalOf = (d: string): unknown => JSON.parse(readFileSync(join(d, 'eval.json'), 'utf8'));
  assert.deepEqual(evalOf(dir), evalOf(referenceDir), 'eval.json');
}

/**
 * Trains into `dir` and calls `decide` on every change in the folder while the child runs; `decide` returns
 * true once it has killed the child. Resolves with the killed run.
 */
function trainUntilKilled(dir: string, decide: (child: ChildProcess, file: string) => boolean): Promise<Run> {
  let done = false;
  let watcher: ReturnType<typeof watch> | null = null;
  return convlab(trainArgs(dir), {
    onSpawn(child) {
      watcher = watch(dir, (_event, file) => {
        if (!done && file && decide(child, file)) done = true;
      });
    },
  }).finally(() => watcher?.close());
}

test('the uninterrupted reference run: 2 threads on the WASM backend, 24 steps', async () => {
  const r = await referenceRun;
  assertOk(r);
  assert.equal(r.workers, 1, 'two threads: the main thread and one worker');
  const meta = trainerMeta(join(referenceDir, 'last.safetensors'));
  assert.deepEqual([meta.epoch, meta.batch, meta.step], [2, 0, STEPS]);
});

test('SIGKILL between checkpoints in epoch 1, then --resume: identical to the uninterrupted run', async (t) => {
  const dir = freshDir('killed-between', RUNS);
  let renames = 0;
  const killed = await trainUntilKilled(dir, (child, file) => {
    // The 5th checkpoint has just been renamed into place; the kill lands somewhere in the steps after it.
    if (file === 'last.safetensors' && existsSync(join(dir, 'last.safetensors')) && ++renames === 5) return child.kill('SIGKILL');
    return false;
  });
  assert.equal(killed.signal, 'SIGKILL', show(killed));
  const atKill = trainerMeta(join(dir, 'last.safetensors'));
  t.diagnostic(`the surviving checkpoint is from step ${atKill.step}`);
  assert.ok(atKill.step >= 5 && atKill.step < STEPS, `the surviving checkpoint is mid-run (step ${atKill.step})`);

  await referenceRun;
  const resumed = await convlab([...trainArgs(dir), '--resume']);
  assertOk(resumed);
  assert.match(resumed.stderr, new RegExp(`resuming ${dir} at epoch ${atKill.epoch + 1}, batch ${atKill.batch}`));
  assertSameAsReference(dir);
});

test('SIGKILL while a checkpoint is being written: the previous checkpoint survives, and --resume continues from it exactly', async (t) => {
  const dir = freshDir('killed-in-write', RUNS);
  interface Caught { tmp: string; previous: { epoch: number; batch: number; step: number }; previousBytes: Buffer }
  let caught: Caught | null = null;
  let attempts = 0;
  const killed = await trainUntilKilled(dir, (child, file) => {
    // A temp file of last.safetensors appeared or vanished. Freeze the child, then look: if the temp file is still
    // there, the child is stopped between creating it and renaming it, i.e. inside writeFileAtomic. Kill it there.
    if (!/^\.last\.safetensors\.\d+\.tmp$/.test(file) || !existsSync(join(dir, 'last.safetensors'))) return false;
    child.kill('SIGSTOP');
    attempts++;
    const tmp = join(dir, file);
    if (existsSync(tmp)) {
      const previous = join(dir, 'last.safetensors');
      const m = trainerMeta(previous);
      caught = { tmp, previous: { epoch: m.epoch, batch: m.batch, step: m.step }, previousBytes: readFileSync(previous) };
      return child.kill('SIGKILL');
    }
    child.kill('SIGCONT');
    return false;
  });
  assert.ok(caught, `no kill landed inside a checkpoint write in ${attempts} tries: ${show(killed)}`);
  const { tmp, previous, previousBytes } = caught as Caught;
  t.diagnostic(`killed inside the write of the checkpoint after step ${previous.step + 1}, at try ${attempts}`);
  assert.equal(killed.signal, 'SIGKILL', show(killed));
  assert.ok(existsSync(tmp), 'the interrupted write left its temp file, never renamed');
  assert.ok(readFileSync(join(dir, 'last.safetensors')).equals(previousBytes), 'last.safetensors is the previous checkpoint, byte for byte');
  assert.ok(previous.step >= 1 && previous.step < STEPS, `previous checkpoint at step ${previous.step}`);

  await referenceRun;
  const resumed = await convlab([...trainArgs(dir), '--resume']);
  assertOk(resumed);
  assert.match(resumed.stderr, new RegExp(`resuming ${dir} at epoch ${previous.epoch + 1}, batch ${previous.batch}`));
  assertSameAsReference(dir);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp') && join(dir, f) !== tmp), [], 'the resumed run left no temp files of its own');
});
