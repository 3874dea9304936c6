/**
 * A time-budgeted run and evaluation every n steps, on a fake clock so that nothing depends on this machine's
 * speed: the clock advances 100 ms per reading, and a step reads it twice (its start and end), so each step
 * takes 0.2 s of training time and evaluation none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { train, type EpochRow, type EvalPoint } from '../../src/train/trainer.js';
import { learningRate } from '../../src/train/schedule.js';
import { baseConfig, quadrantDataset, tempDir, useReferenceBackend } from './helpers.js';

useReferenceBackend();

const data = { train: quadrantDataset(48, { seed: 31 }), val: quadrantDataset(24, { seed: 32 }) };
const fakeClock = (): (() => number) => { let ms = 0; return () => (ms += 100); };
const readLines = <T>(file: string): T[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

test('a time budget ends training after the step that spends it, with a closing evaluation and a decayed lr', { timeout: 60_000 }, () => {
  const dir = tempDir();
  const lrs: number[] = [];
  const config = baseConfig({ epochs: 100, timeBudgetSeconds: 1.9, schedule: { name: 'cosine' } });
  const result = train(config, data, dir, { clock: fakeClock(), callbacks: { onBatchEnd: (b) => lrs.push(b.lr) } });
  // 6 batches of 8 per epoch; 0.2 s a step: the budget of 1.9 s is spent by step 10, inside epoch 2.
  assert.equal(lrs.length, 10);
  const rows = readLines<EpochRow>(join(dir, 'metrics.jsonl'));
  assert.deepEqual(rows.map((r) => [r.epoch, r.step, r.budget_reached ?? false]), [[1, 6, false], [2, 10, true]]);
  assert.ok(Math.abs(rows[1]!.wall_seconds - 2.0) < 1e-9, `wall_seconds ${rows[1]!.wall_seconds}`);
  assert.equal(result.history.length, 2);
  // The schedule runs on the clock: step 10 starts at 1.8 s of 1.9, far past its epoch share (1.5 of 100 epochs).
  assert.equal(lrs[9], learningRate(0.05, { name: 'cosine' }, 1 + 3 / 6, 100, 1.8 / 1.9));
  assert.ok(lrs[9]! < 0.05 * 0.01, `last lr ${lrs[9]}`);
  // Resumed with the same budget, the run stays stopped; with more, it goes on from epoch 3.
  const again = train(config, data, dir, { resume: true, clock: fakeClock() });
  assert.equal(again.history.length, 2);
  const more = train({ ...config, timeBudgetSeconds: 2.5 }, data, dir, { resume: true, clock: fakeClock() });
  assert.deepEqual(more.history.map((r) => [r.epoch, r.step]), [[1, 6], [2, 10], [3, 13]]);
});

test('a budget that covers evaluation charges each validation pass and leaves room for the closing one', { timeout: 60_000 }, () => {
  // A validation pass reads the clock twice, so it takes 0.1 s. Before the first pass, one is expected to take
  // half the training time for as many images: 24 images × (0.2 s / 8) / 2 = 0.3 s.
  const cases: { budget: number; covers: boolean; steps: number[]; evalSeconds: number[] }[] = [
    // Inside epoch 1: 0.2 k + 0.3 (the expected pass) reaches 0.85 at step 3; training alone reaches it at step 5.
    { budget: 0.85, covers: true, steps: [3], evalSeconds: [0.1] },
    { budget: 0.85, covers: false, steps: [5], evalSeconds: [0.1] },
    // Inside epoch 2: 0.2 k + 0.1 (epoch 1's pass) + 0.1 (the closing one, as measured) reaches 1.95 at step 9.
    { budget: 1.95, covers: true, steps: [6, 9], evalSeconds: [0.1, 0.1] },
    { budget: 1.95, covers: false, steps: [6, 10], evalSeconds: [0.1, 0.1] },
  ];
  for (const c of cases) {
    const dir = tempDir();
    const config = baseConfig({ epochs: 100, timeBudgetSeconds: c.budget, budgetCoversEvaluation: c.covers, restoreBest: false });
    const result = train(config, data, dir, { clock: fakeClock() });
    const label = `budget ${c.budget}, covers evaluation: ${c.covers}`;
    assert.deepEqual(result.history.map((r) => r.step), c.steps, label);
    assert.deepEqual(result.history.map((r) => Math.round(r.eval_seconds! * 1e6) / 1e6), c.evalSeconds, label);
    assert.equal(result.history.at(-1)!.budget_reached, true, label);
    // The closing pass evaluated the weights the model holds: the last epoch's, as the best are not restored.
    assert.equal(result.finalValidation?.loss, result.history.at(-1)!.val_loss, label);
  }
});

test('evalEverySteps writes a validation point every n steps and at each epoch end', { timeout: 60_000 }, () => {
  const dir = tempDir();
  const result = train(baseConfig({ epochs: 2, evalEverySteps: 4 }), data, dir, { clock: fakeClock() });
  const points = readLines<EvalPoint>(join(dir, 'evals.jsonl'));
  assert.deepEqual(points.map((p) => p.step), [4, 6, 8, 12]);
  assert.deepEqual(points.map((p) => p.epoch), [4 / 6, 1, 1 + 2 / 6, 2]);
  assert.deepEqual(points.map((p) => Math.round(p.wall_seconds * 10) / 10), [0.8, 1.2, 1.6, 2.4]);
  // The epoch-end points are the epoch rows' own evaluation.
  assert.equal(points[1]!.val_acc, result.history[0]!.val_acc);
  assert.equal(points[3]!.val_loss, result.history[1]!.val_loss);
  for (const p of points) assert.ok(p.val_acc >= 0 && p.val_acc <= 1 && Number.isFinite(p.train_loss));
  assert.equal(existsSync(join(tempDir(), 'evals.jsonl')), false);
});

test('budget and eval-every settings are checked before any work', { timeout: 10_000 }, () => {
  const cases: [Partial<Parameters<typeof baseConfig>[0]>, RegExp][] = [
    [{ timeBudgetSeconds: 0 }, /^the time budget must be > 0 seconds, got 0$/],
    [{ timeBudgetSeconds: -5 }, /^the time budget must be > 0 seconds, got -5$/],
    [{ evalEverySteps: 2.5 }, /^evalEverySteps must be a whole number ≥ 0, got 2.5$/],
  ];
  for (const [over, message] of cases) {
    const dir = join(tempDir(), 'run');
    assert.throws(() => train(baseConfig(over), data, dir), { message });
    assert.equal(existsSync(dir), false, 'nothing written');
  }
});
