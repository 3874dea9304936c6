/**
 * Kill-and-resume: a training process killed with SIGKILL (mid-epoch, or at an epoch boundary) and resumed
 * with `resume: true` must end with exactly the weights, optimiser state, RNG state and metrics of a run
 * that was never interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as E from '../../src/engine/index.js';
import { train } from '../../src/train/trainer.js';
import {
  assertSameTensors, metricsWithoutTimes, preset, repoRoot, tempDir, trainerMeta, useReferenceBackend,
} from './helpers.js';

useReferenceBackend();
const CHILD = join(repoRoot(), 'dist', 'test', 'train', 'resume-child.js');

interface Killed { lines: string[]; signal: NodeJS.Signals | null; code: number | null }

/** Runs resume-child.js and SIGKILLs it as soon as it reports READY (it blocks right after printing it). */
function trainAndKill(args: Record<string, unknown>): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('READY')) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`)); }, 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended with code ${code}, signal ${signal}; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
      else resolve({ lines, signal, code });
    });
  });
}

/** Compares a resumed run directory with an uninterrupted one: every tensor byte, trainer state and metric. */
function assertSameRun(resumedDir: string, referenceDir: string): void {
  const n = assertSameTensors(join(resumedDir, 'last.safetensors'), join(referenceDir, 'last.safetensors'));
  assert.ok(n > 4, 'last.safetensors holds model and optimiser tensors');
  assertSameTensors(join(resumedDir, 'best.safetensors'), join(referenceDir, 'best.safetensors'));
  const a = trainerMeta(join(resumedDir, 'last.safetensors')), b = trainerMeta(join(referenceDir, 'last.safetensors'));
  for (const key of ['epoch', 'batch', 'step', 'rng', 'best', 'bestEpoch', 'sinceBest']) assert.deepEqual(a[key], b[key], `trainer.${key}`);
  assert.deepEqual(metricsWithoutTimes(resumedDir), metricsWithoutTimes(referenceDir));
  assert.deepEqual(noTempFiles(resumedDir), []);
}

const noTempFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

const referenceRuns = new Map<string, string>();
/** The uninterrupted run of a preset (trained once per test process). */
function reference(name: string): string {
  if (!referenceRuns.has(name)) {
    const dir = tempDir('convlab-ref-');
    const { config, data } = preset(name);
    train(config, data, dir);
    referenceRuns.set(name, dir);
  }
  return referenceRuns.get(name)!;
}

test('SIGKILL right after the first mid-epoch checkpoint, then resume: same weights as an uninterrupted run (LeNet-5, SGD+Nesterov, cosine, crops)', async () => {
  const dir = tempDir();
  // Checkpoint at step 2 (epoch 1, batch 2 of 4); the child then runs step 3 and is killed inside it.
  const killed = await trainAndKill({ preset: 'lenet', runDir: dir, killAtStep: 3 });
  assert.equal(killed.lines.at(-1), 'READY step 3');
  const atKill = trainerMeta(join(dir, 'last.safetensors'));
  assert.deepEqual([atKill.epoch, atKill.batch, atKill.step], [0, 2, 2], 'the checkpoint on disk is mid-epoch 1, after batch 2');
  assert.ok(!existsSync(join(dir, 'metrics.jsonl')), 'no epoch finished before the kill');

  const logs: string[] = [];
  const { config, data } = preset('lenet');
  const result = train(config, data, dir, { resume: true, callbacks: { onLog: (l) => logs.push(l) } });
  assert.match(logs[0]!, /resuming .* at epoch 1, batch 2/);
  assert.equal(result.history.length, 2);
  result.model.dispose();
  assertSameRun(dir, reference('lenet'));
});

test('SIGKILL at an epoch boundary, then resume: same weights as an uninterrupted run', async () => {
  const dir = tempDir();
  const killed = await trainAndKill({ preset: 'lenet', runDir: dir, killAtEpochStart: 2 });
  assert.equal(killed.lines.at(-1), 'READY epoch-start 2');
  const atKill = trainerMeta(join(dir, 'last.safetensors'));
  assert.deepEqual([atKill.epoch, atKill.batch, atKill.step], [1, 0, 4], 'the checkpoint on disk is the end of epoch 1');
  assert.equal(metricsWithoutTimes(dir).length, 1);

  const { config, data } = preset('lenet');
  const logs: string[] = [];
  train(config, data, dir, { resume: true, callbacks: { onLog: (l) => logs.push(l) } }).model.dispose();
  assert.match(logs[0]!, /resuming .* at epoch 2, batch 0/);
  assertSameRun(dir, reference('lenet'));
});

test('SIGKILL mid-epoch 2 of a run whose every step uses dropout (AdamW, one-cycle, crop+flip, balanced sampler, DRW), then resume: identical', async () => {
  const dir = tempDir();
  // 8 batches per epoch, checkpointEvery 3: checkpoints at steps 3, 6, 8 (end of epoch 1), 9, 12; killed in step 14.
  const killed = await trainAndKill({ preset: 'dropout', runDir: dir, killAtStep: 14 });
  assert.equal(killed.lines.at(-1), 'READY step 14');
  const atKill = trainerMeta(join(dir, 'last.safetensors'));
  assert.deepEqual([atKill.epoch, atKill.batch, atKill.step], [1, 4, 12]);
  assert.equal(atKill.history.length, 1);

  const { config, data } = preset('dropout');
  train(config, data, dir, { resume: true }).model.dispose();
  assertSameRun(dir, reference('dropout'));

  // Resuming a finished run changes nothing.
  const before = readFileSync(join(dir, 'last.safetensors'));
  const again = train(config, data, dir, { resume: true });
  again.model.dispose();
  assert.equal(again.history.length, 3);
  assert.ok(readFileSync(join(dir, 'last.safetensors')).equals(before));
});

test('control: the dropout run really depends on the RNG stream (a resumed run with a wrong RNG state diverges)', () => {
  // Guards the test above against passing vacuously: if the restored RNG state did not matter, a different
  // state would give the same weights.
  const { config, data } = preset('dropout');
  const dir = tempDir();
  let copied = false;
  const src = tempDir();
  train({ ...config, epochs: 1 }, data, src, {
    callbacks: {
      onBatchEnd(info) {
        if (info.batch === 4 && !copied) { // checkpoint of step 3 is on disk; copy it out
          copyFileSync(join(src, 'last.safetensors'), join(dir, 'last.safetensors'));
          copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
          copied = true;
        }
      },
    },
  }).model.dispose();
  assert.ok(copied);
  train({ ...config, epochs: 1 }, data, dir, {
    resume: true,
    callbacks: { onEpochStart: () => { E.rng().nextUint32(); } }, // one extra draw after the restore
  }).model.dispose();
  assert.throws(() => assertSameTensors(join(dir, 'last.safetensors'), join(src, 'last.safetensors')), /differs/);
});

test('the engine RNG state is written into every checkpoint and restored on resume', () => {
  const { config, data } = preset('dropout');
  const dir = tempDir(), copy = tempDir();
  let initial: number[] = [], afterStep3: number[] = [], savedAtStep3: number[] | null = null;
  train({ ...config, epochs: 1 }, data, dir, {
    callbacks: {
      onEpochStart() { initial = E.rng().state(); },
      onBatchEnd(info) {
        if (info.batch === 3) afterStep3 = E.rng().state(); // the step-3 checkpoint is written right after this callback
        if (info.batch === 4) {
          savedAtStep3 = trainerMeta(join(dir, 'last.safetensors')).rng as number[];
          assert.equal(trainerMeta(join(dir, 'last.safetensors')).step, 3);
          copyFileSync(join(dir, 'last.safetensors'), join(copy, 'last.safetensors'));
        }
      },
    },
  }).model.dispose();
  assert.notDeepEqual(afterStep3, initial, 'dropout consumed the engine RNG during the first three steps');
  assert.deepEqual(savedAtStep3, afterStep3, 'the checkpoint holds the RNG state after step 3');

  // Resume from the step-3 checkpoint after scrambling the global RNG: train() must restore the saved state.
  E.manualSeed(12345);
  let restored: number[] = [];
  train({ ...config, epochs: 1 }, data, copy, { resume: true, callbacks: { onEpochStart() { restored = E.rng().state(); } } }).model.dispose();
  assert.deepEqual(restored, afterStep3);
  // …and the resumed epoch ends exactly where the uninterrupted one did.
  assertSameTensors(join(copy, 'last.safetensors'), join(dir, 'last.safetensors'));
});

test('the LeNet-5 run (no dropout) also records the post-initialisation RNG state', () => {
  const { config, data } = preset('lenet');
  E.manualSeed(config.seed);
  const before = E.rng().state();
  const dir = tempDir();
  let atStart: number[] = [];
  train({ ...config, epochs: 1 }, data, dir, { callbacks: { onEpochStart() { atStart = E.rng().state(); } } }).model.dispose();
  assert.notDeepEqual(atStart, before, 'initialisation draws from the engine RNG');
  assert.deepEqual(trainerMeta(join(dir, 'last.safetensors')).rng, atStart, 'no dropout: the state is unchanged since initialisation');
});
