/**
 * Auxiliary losses (GoogLeNet's side classifiers): the trainer's step loss is the main loss plus
 * 0.3 × each auxiliary head's loss in training mode, and the plain loss in eval mode or for models without heads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { initEngine } from '../../src/engine/engine.js';
import { GoogLeNet } from '../../src/models/googlenet.js';
import { createModel } from '../../src/models/index.js';
import { forwardLoss } from '../../src/train/trainer.js';

await initEngine();

const ce = (logits: E.Tensor, target: E.Tensor): E.Tensor => E.crossEntropy(logits, target);

test('training mode: loss = main + 0.3 · (aux1 + aux2), and the auxiliary heads receive gradients', { timeout: 60_000 }, () => {
  const m = new GoogLeNet({ numClasses: 5 });
  try {
    E.tidy(() => {
      const x = E.randNormal([2, 3, 32, 32], 0, 1, { rng: new E.Rng(3) });
      const y = E.intTensor([1, 4]);
      m.train();
      const { logits, loss } = forwardLoss(m, x, y, ce);
      const [aux1, aux2] = m.auxiliaryOutputs();
      const parts = [ce(logits, y).item(), ce(aux1!.logits, y).item(), ce(aux2!.logits, y).item()];
      assert.ok(Math.abs(loss.item() - (parts[0]! + 0.3 * (parts[1]! + parts[2]!))) <= 1e-6 * loss.item(), `${loss.item()} vs parts ${parts.join(', ')}`);
      assert.ok(Math.abs(parts[1]! - parts[0]!) > 1e-4, 'the auxiliary losses differ from the main loss');
      E.backward(loss);
      for (const head of ['aux1', 'aux2']) {
        const grad = m.stateDict().get(`${head}.fc2.weight`)!.grad!;
        assert.ok(grad.toArray().some((g) => g !== 0), `${head} has a gradient`);
      }
    });
  } finally {
    m.dispose();
  }
});

test('eval mode (and a model without auxiliary heads): the loss is the main loss alone', { timeout: 60_000 }, () => {
  for (const m of [new GoogLeNet({ numClasses: 5 }).eval(), createModel('alexnet-cifar', { numClasses: 5, extra: { width: 1 / 16 } }).train()]) {
    try {
      E.tidy(() => {
        const x = E.randNormal([2, 3, 32, 32], 0, 1, { rng: new E.Rng(3) });
        const y = E.intTensor([1, 4]);
        const { logits, loss } = E.noGrad(() => forwardLoss(m, x, y, ce));
        assert.deepEqual(m.auxiliaryOutputs(), []);
        assert.deepEqual([...logits.shape], [2, 5]);
        assert.equal(loss.item(), E.noGrad(() => ce(logits, y).item()));
      });
    } finally {
      m.dispose();
    }
  }
});
