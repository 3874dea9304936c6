/**
 * The worker-pool stress run, bounded for the suite: a few thousand kernel calls of every kind on two threads
 * against the reference, with late workers (they run a job's function after the main thread has begun the next
 * job) and memory grown from the worker thread. `npm run stress -- --minutes N` runs it for longer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KERNEL_NAMES, runStress } from './stress.js';

test('stress: 8000 kernel calls of every kind on two threads match the reference, with late workers and heap growth', { timeout: 180_000 }, async () => {
  const r = await runStress({ calls: 8000, seed: 7, hooks: { stallPerMille: 200, growPerMille: 20 } });
  assert.equal(r.calls, 8000);
  assert.deepEqual([...r.kernels.keys()].sort(), [...KERNEL_NAMES].sort(), 'every kernel was called');
});
