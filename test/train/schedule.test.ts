/** Learning-rate schedules: table-driven values at the endpoints, the peak, step boundaries and in warmup. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate, SCHEDULES, type ScheduleConfig } from '../../src/train/schedule.js';

function close(actual: number, expected: number, what: string): void {
  const tol = 1e-12 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

/** [schedule, base lr, total epochs, epoch progress, expected lr, why] */
const TABLE: [ScheduleConfig, number, number, number, number, string][] = [
  [{ name: 'constant' }, 0.1, 10, 0, 0.1, 'constant at the start'],
  [{ name: 'constant' }, 0.1, 10, 7.3, 0.1, 'constant mid-run'],
  [{ name: 'constant' }, 0.1, 10, 10, 0.1, 'constant at the end'],

  [{ name: 'step', stepEpochs: 2, gamma: 0.5 }, 0.1, 10, 0, 0.1, 'step: first interval'],
  [{ name: 'step', stepEpochs: 2, gamma: 0.5 }, 0.1, 10, 1.999, 0.1, 'step: just before the first decay'],
  [{ name: 'step', stepEpochs: 2, gamma: 0.5 }, 0.1, 10, 2, 0.05, 'step: at the first decay'],
  [{ name: 'step', stepEpochs: 2, gamma: 0.5 }, 0.1, 10, 5, 0.025, 'step: two decays'],
  [{ name: 'step', stepEpochs: 2, gamma: 0.5 }, 0.1, 10, 9.5, 0.00625, 'step: four decays'],
  [{ name: 'step' }, 0.1, 90, 29.99, 0.1, 'step defaults (30 epochs, γ 0.1): before'],
  [{ name: 'step' }, 0.1, 90, 30, 0.1 * 0.1, 'step defaults: after 30 epochs'],
  [{ name: 'step' }, 0.1, 90, 60, 0.1 * 0.1 * 0.1, 'step defaults: after 60 epochs'],

  [{ name: 'cosine' }, 0.1, 10, 0, 0.1, 'cosine starts at the base lr'],
  [{ name: 'cosine' }, 0.1, 10, 2.5, 0.1 * (1 + Math.SQRT1_2) / 2, 'cosine at a quarter'],
  [{ name: 'cosine' }, 0.1, 10, 5, 0.05, 'cosine at half-way'],
  [{ name: 'cosine' }, 0.1, 10, 10, 0, 'cosine ends at 0'],
  [{ name: 'cosine', minFactor: 0.1 }, 0.1, 10, 5, 0.055, 'cosine with a floor, half-way'],
  [{ name: 'cosine', minFactor: 0.1 }, 0.1, 10, 10, 0.01, 'cosine ends at the floor'],
  [{ name: 'cosine', minFactor: 0.1 }, 0.1, 10, 12, 0.01, 'cosine stays at the floor past the end'],

  [{ name: 'onecycle' }, 1, 10, 0, 1 / 25, 'onecycle starts at max/25'],
  [{ name: 'onecycle' }, 1, 10, 1.5, (1 / 25 + 1) / 2, 'onecycle half-way up (cosine rise)'],
  [{ name: 'onecycle' }, 1, 10, 3, 1, 'onecycle peaks at pct_start = 0.3'],
  [{ name: 'onecycle' }, 1, 10, 6.5, (1 + 1 / 25 / 1e4) / 2, 'onecycle half-way down'],
  [{ name: 'onecycle' }, 1, 10, 10, 1 / 25 / 1e4, 'onecycle ends at max/(25·1e4)'],
  [{ name: 'onecycle', pctStart: 0.5 }, 0.2, 4, 2, 0.2, 'onecycle peak moves with pctStart'],
  [{ name: 'onecycle', pctStart: 0.5 }, 0.2, 4, 0, 0.2 / 25, 'onecycle start with pctStart'],

  [{ name: 'constant', warmupEpochs: 2 }, 0.1, 10, 0, 0.1 * 1e-9 / 2, 'warmup starts (almost) at 0'],
  [{ name: 'constant', warmupEpochs: 2 }, 0.1, 10, 0.5, 0.1 * (0.5 + 1e-9) / 2, 'warmup a quarter in'],
  [{ name: 'constant', warmupEpochs: 2 }, 0.1, 10, 1, 0.1 * (1 + 1e-9) / 2, 'warmup half-way'],
  [{ name: 'constant', warmupEpochs: 2 }, 0.1, 10, 2, 0.1, 'warmup done'],
  [{ name: 'constant', warmupEpochs: 2 }, 0.1, 10, 5, 0.1, 'after warmup'],
  [{ name: 'cosine', warmupEpochs: 1 }, 0.1, 10, 0.5, 0.1 * (1 + Math.cos(Math.PI * 0.05)) / 2 * (0.5 + 1e-9), 'warmup scales the cosine'],
  [{ name: 'step', stepEpochs: 1, gamma: 0.5, warmupEpochs: 2 }, 0.1, 10, 1, 0.05 * (1 + 1e-9) / 2, 'warmup scales the step schedule'],
];

test('schedule values (table)', () => {
  for (const [c, base, total, progress, expected, why] of TABLE) close(learningRate(base, c, progress, total), expected, why);
});

test('cosine never increases and onecycle rises to its peak then falls', () => {
  const grid = Array.from({ length: 101 }, (_, i) => i / 10);
  const cos = grid.map((p) => learningRate(0.1, { name: 'cosine' }, p, 10));
  for (let i = 1; i < cos.length; i++) assert.ok(cos[i]! <= cos[i - 1]!, `cosine at ${grid[i]}`);
  const one = grid.map((p) => learningRate(0.1, { name: 'onecycle' }, p, 10));
  const peak = one.indexOf(Math.max(...one));
  assert.equal(grid[peak], 3);
  close(one[peak]!, 0.1, 'peak value');
  for (let i = 1; i <= peak; i++) assert.ok(one[i]! > one[i - 1]!, `rising at ${grid[i]}`);
  for (let i = peak + 1; i < one.length; i++) assert.ok(one[i]! < one[i - 1]!, `falling at ${grid[i]}`);
});

test('schedules are pure functions of progress (what resume relies on)', () => {
  for (const name of SCHEDULES) {
    const c: ScheduleConfig = { name, warmupEpochs: 0.5 };
    const a = [0, 0.25, 3.125, 7.9].map((p) => learningRate(0.05, c, p, 8));
    learningRate(0.05, c, 100, 8);
    assert.deepEqual([0, 0.25, 3.125, 7.9].map((p) => learningRate(0.05, c, p, 8)), a, name);
  }
});

test('an unknown schedule lists the valid ones', () => {
  assert.throws(() => learningRate(0.1, { name: 'linear' } as unknown as ScheduleConfig, 0, 10),
    { message: "unknown schedule 'linear'. Valid schedules: constant, step, cosine, onecycle" });
});
