/**
 * BatchNorm's defaults against PyTorch's (fixtures/batchnorm.json, made with torch's defaults momentum 0.1 and
 * eps 1e-5): the nn layer built without options must update its running statistics exactly as torch does.
 * The golden op tests pass momentum explicitly, so only this test sees the default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { BatchNorm } from '../../src/nn/index.js';
import { assertClose, fromFixture, loadFixture, type FixtureTensor } from '../fixtures.js';

interface Case { name: string; training: boolean; momentum: number; eps: number; x: FixtureTensor; gamma: FixtureTensor; beta: FixtureTensor;
  running_mean: FixtureTensor; running_var: FixtureTensor; y: FixtureTensor; running_mean_after: FixtureTensor; running_var_after: FixtureTensor }

test('nn.BatchNorm with default options: running statistics and output match torch (momentum 0.1, eps 1e-5)', () => {
  E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => {
    const cases = loadFixture<{ cases: Case[] }>('batchnorm').cases.filter((c) => c.training);
    assert.deepEqual(cases.map((c) => [c.momentum, c.eps]), [[0.1, 1e-5], [0.1, 1e-5]], 'the fixture uses torch\'s defaults');
    for (const c of cases) {
      const bn = new BatchNorm(c.gamma.shape[0]!);
      bn.loadStateDict({ weight: c.gamma.data, bias: c.beta.data, running_mean: c.running_mean.data, running_var: c.running_var.data, num_batches_tracked: [0] });
      E.tidy(() => {
        const y = bn.forward(fromFixture(c.x));
        assertClose(y, c.y, { atol: 1e-5, rtol: 1e-5 }, `${c.name} output`);
      });
      // A running-stat momentum of 0.2 would move these by another 0.1 × (batch stat − old), up to 0.1 here: far beyond 1e-6.
      assertClose(bn.runningMean, c.running_mean_after, { atol: 1e-6, rtol: 1e-6 }, `${c.name} running_mean`);
      assertClose(bn.runningVar, c.running_var_after, { atol: 1e-6, rtol: 1e-6 }, `${c.name} running_var`);
      bn.dispose();
    }
  });
});
