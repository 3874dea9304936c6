/**
 * observeOps: every forward op reports itself with its inputs, output and attributes, with gradients on or off;
 * one observer at a time; the observer is gone once the body returns or throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { OpAttrs, Tensor } from '../../src/engine/index.js';

const TIMEOUT = { timeout: 10_000 };

interface Seen { op: string; inputs: readonly Tensor[]; out: Tensor; attrs: OpAttrs }

function observe(body: () => Tensor): { seen: Seen[]; y: Tensor } {
  const seen: Seen[] = [];
  const y = E.observeOps((op, inputs, out, attrs) => { seen.push({ op, inputs, out, attrs }); }, body);
  return { seen, y };
}

test('ops report their inputs, output and attributes, without gradients too', TIMEOUT, () => {
  E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => {
    const x = E.randNormal([2, 3, 5, 5]), w = E.randNormal([4, 3, 3, 3]);
    const { seen, y } = E.noGrad(() => observe(() => E.reshape(E.maxPool2d(E.conv2d(x, w, null, { stride: 2, padding: 1 }), 2, { ceilMode: true }), [2, -1])));
    assert.deepEqual(seen.map((s) => s.op), ['conv2d', 'maxPool2d', 'reshape']);
    const [conv, pool, reshape] = seen as [Seen, Seen, Seen];
    assert.deepEqual(conv.inputs, [x, w]);
    assert.deepEqual(conv.attrs, { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 });
    assert.equal(pool.inputs[0], conv.out);
    assert.deepEqual(pool.attrs, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], outputSize: [2, 2] });
    assert.deepEqual(reshape.attrs, { shape: [2, 16] }, 'the inferred dimension is resolved');
    assert.equal(reshape.out, y);
  }));
});

test('batch norm reports its running statistics; the observer is removed after a throw; one at a time', TIMEOUT, () => {
  E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => E.tidy(() => {
    const x = E.randNormal([2, 3, 4, 4]), mean = E.zeros([3]), variance = E.ones([3]);
    const { seen } = observe(() => E.batchNorm(x, mean, variance, null, null, { training: false, eps: 1e-3 }));
    assert.deepEqual(seen[0]!.attrs, { training: false, eps: 1e-3, runningMean: mean, runningVar: variance, weight: null, bias: null });

    assert.throws(() => observe(() => E.reshape(x, [5, -1])), /reshape: cannot reshape/);
    let calls = 0;
    E.relu(x);
    E.observeOps(() => { calls++; }, () => E.relu(x));
    assert.equal(calls, 1, 'only ops inside the body are observed');
    assert.throws(() => E.observeOps(() => {}, () => E.observeOps(() => {}, () => x)), { message: 'observeOps: another observer is already active' });
  }));
});
