/**
 * Deterministic memory: a training step leaves the heap's live-buffer count exactly where it found it, disposing
 * a model and its optimiser returns to the baseline, and the scope/view/dispose rules hold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { SGD } from '../../src/train/optim.js';

/** Each test gets its own heap, so counts are not disturbed by anything else in the process. */
function freshBackend(): E.Backend {
  return new E.ReferenceBackend(new E.Heap({ shared: false }));
}

test('memory: 100 LeNet-5 training steps do not change the live-buffer count', () => {
  const backend = freshBackend();
  E.withBackend(backend, () => {
    const baseline = E.liveBuffers();
    assert.equal(baseline, backend.heap.liveBuffers);
    const model = createModel('lenet5');
    const params = model.parameters();
    const opt = new SGD(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const withModel = E.liveBuffers();
    assert.equal(withModel - baseline, params.length, 'one buffer per parameter');

    // Four fixed random batches of 4, cycled, so that the loss can be seen to fall.
    const rng = new E.Rng(11);
    const batches = Array.from({ length: 4 }, () => ({
      x: Float32Array.from({ length: 4 * 28 * 28 }, () => rng.normal()),
      y: Array.from({ length: 4 }, () => rng.int(10)),
    }));
    const step = (i: number): number => E.tidy(() => {
      const { x, y } = batches[i % batches.length]!;
      const loss = E.crossEntropy(model.forward(E.tensor(x, [4, 1, 28, 28])), E.intTensor(y));
      E.backward(loss);
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });

    // The first step creates the optimiser's momentum buffers (one per parameter) and nothing else.
    const first = step(0);
    assert.equal(E.liveBuffers() - withModel, params.length, 'the first step adds exactly the momentum buffers');
    let peakAfterSecond = 0;

    const counts: number[] = [];
    const losses = [first];
    for (let i = 1; i <= 100; i++) {
      const before = E.liveBuffers(), bytesBefore = backend.heap.liveBytes;
      losses.push(step(i));
      const after = E.liveBuffers();
      if (after !== before) assert.fail(`step ${i}: ${before} live buffers before, ${after} after`);
      assert.equal(backend.heap.liveBytes, bytesBefore, `step ${i}: live bytes`);
      counts.push(after);
      if (i === 1) peakAfterSecond = backend.heap.peakBytes; // the first step with momentum buffers alive throughout
    }
    assert.ok(counts.every((c) => c === withModel + params.length));
    // Same sizes every step: the free lists hand the same blocks back, so the heap's high-water mark does not move.
    assert.equal(backend.heap.peakBytes, peakAfterSecond, 'peak heap bytes grew after the second step');
    assert.ok(losses.every(Number.isFinite), 'losses are finite');
    const early = losses.slice(0, 8).reduce((a, b) => a + b) / 8, late = losses.slice(-8).reduce((a, b) => a + b) / 8;
    assert.ok(late < early, `the loss should fall on four memorisable batches: ${early.toFixed(3)} → ${late.toFixed(3)}`);

    opt.dispose();
    model.dispose();
    assert.equal(E.liveBuffers(), baseline, 'disposing the model and optimiser returns to the baseline');
    assert.ok(params.every((p) => p.isDisposed && p.grad === null));
  });
});

test('memory: forward passes with and without a graph, never backpropagated, free everything', () => {
  const backend = freshBackend();
  E.withBackend(backend, () => {
    const model = createModel('lenet5-classic');
    const base = E.liveBuffers();
    const x = E.randNormal([2, 1, 28, 28], 0, 1, { rng: new E.Rng(3) });
    E.tidy(() => { model.forward(x); });
    assert.equal(E.liveBuffers(), base + 1, 'graph-recording forward');
    E.noGrad(() => E.tidy(() => { model.forward(x); }));
    assert.equal(E.liveBuffers(), base + 1, 'noGrad forward');
    x.dispose();
    model.dispose();
    assert.equal(E.liveBuffers(), 0);
  });
});

test('memory: tidy returns its result alive and disposes the rest', () => {
  E.withBackend(freshBackend(), () => {
    const base = E.liveBuffers();
    let a!: E.Tensor, b!: E.Tensor, kept!: E.Tensor;
    const c = E.tidy(() => {
      a = E.tensor([1, 2, 3]);
      b = E.mulScalar(a, 2);
      kept = E.tensor([9]).keep();
      return E.add(a, b);
    });
    assert.ok(!c.isDisposed);
    assert.deepEqual([...c.toArray()], [3, 6, 9]);
    assert.ok(a.isDisposed && b.isDisposed, 'intermediates are disposed');
    assert.ok(!kept.isDisposed, 'keep() survives the scope');
    assert.equal(E.liveBuffers(), base + 2);

    // Results of an inner scope belong to the outer one, in arrays and plain objects too.
    let inner!: { sum: E.Tensor; parts: E.Tensor[] };
    E.tidy(() => {
      inner = E.tidy(() => {
        const x = E.tensor([1, 2]);
        return { sum: E.sum(x), parts: [E.neg(x)] };
      });
      assert.ok(!inner.sum.isDisposed && !inner.parts[0]!.isDisposed);
      assert.equal(E.liveBuffers(), base + 4);
    });
    assert.ok(inner.sum.isDisposed && inner.parts[0]!.isDisposed, 'the outer scope disposes what the inner one returned');

    // A scope that throws frees what it allocated.
    assert.throws(() => E.tidy(() => { E.zeros([4]); E.ones([4]); throw new Error('boom'); }), /boom/);
    assert.equal(E.liveBuffers(), base + 2);

    c.dispose();
    kept.dispose();
    assert.equal(E.liveBuffers(), base);
  });
});

test('memory: reshape views keep their storage alive until the last view is disposed', () => {
  E.withBackend(freshBackend(), () => {
    const base = E.liveBuffers();
    const t = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const v1 = E.reshape(t, [3, 2]);
    const column = E.reshape(v1, [6, 1]);
    const v2 = E.flatten(column, 0);
    column.dispose();
    assert.equal(E.liveBuffers(), base + 1, 'views share one buffer');
    assert.equal(v1.storage, t.storage);
    t.dispose();
    assert.equal(E.liveBuffers(), base + 1, 'the storage outlives the original while views exist');
    assert.deepEqual([...v1.toArray()], [1, 2, 3, 4, 5, 6]);
    v1.dispose();
    assert.equal(E.liveBuffers(), base + 1);
    assert.deepEqual([...v2.toArray()], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(v2.shape, [6]);
    v2.dispose();
    assert.equal(E.liveBuffers(), base, 'the last view frees the storage');
    // Disposing twice must not release twice.
    t.dispose();
    v1.dispose();
    assert.equal(E.liveBuffers(), base);
  });
});

test('memory: using a disposed tensor throws "was disposed"', () => {
  E.withBackend(freshBackend(), () => {
    const t = E.tensor([1, -2, 3], [3], { requiresGrad: true });
    const other = E.tensor([1, 1, 1]);
    t.dispose();
    assert.ok(t.isDisposed);
    const uses: [string, () => unknown][] = [
      ['toArray', () => t.toArray()],
      ['item', () => E.sum(t).item()],
      ['relu', () => E.relu(t)],
      ['add', () => E.add(other, t)],
      ['reshape', () => E.reshape(t, [1, 3])],
      ['matmul', () => E.matmul(E.reshape(t, [1, 3]), E.reshape(other, [3, 1]))],
      ['backward', () => E.backward(t)],
    ];
    for (const [name, use] of uses) assert.throws(use, /was disposed/, name);
    assert.throws(() => E.relu(t), { message: /^relu: tensor #\d+ \[3\] was disposed$/ });

    // A gradient root disposed before backward.
    const x = E.tensor([1, 2], [2], { requiresGrad: true });
    const y = E.mulScalar(x, 3);
    const dy = E.tensor([1, 1]);
    dy.dispose();
    assert.throws(() => E.backward(y, dy), /was disposed/);
    for (const u of [x, y, other]) u.dispose();
    assert.equal(E.liveBuffers(), 0);
  });
});
