/** Evaluation halves its batch until a batch's activations fit in the heap, and gives the same figures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { quadrantDataset } from './helpers.js';

test('a batch too large for the heap is halved until it fits; figures and training mode are unchanged', { timeout: 60_000 }, () => {
  const ds = quadrantDataset(200, { size: 28, classes: 4, seed: 5 });
  const opts = { mean: [100], std: [80] };
  // LeNet-5's activations are about 27 KB an image; 8 MiB holds 64 images at once but not 200.
  E.setBackend(new E.ReferenceBackend(new E.Heap({ shared: false, initialBytes: 2 ** 20, maximumBytes: 8 * 2 ** 20 })));
  E.manualSeed(1);
  const model = createModel('lenet5', { numClasses: 4, inChannels: 1, imageSize: 28 });
  model.train();
  const lines: string[] = [];
  const big = evaluate(model, ds, { ...opts, batchSize: 200, onLog: (l) => lines.push(l) });
  assert.ok(big.batchSize < 200, `batch ${big.batchSize}`);
  assert.equal(lines[0], 'evaluation: 200 images per batch do not fit in memory; retrying with 100');
  assert.equal(model.training, true, 'training mode restored after the failed attempts');
  const small = evaluate(model, ds, { ...opts, batchSize: big.batchSize });
  assert.deepEqual([big.loss, big.report.accuracy], [small.loss, small.report.accuracy]);
  assert.deepEqual(big.logits, small.logits);
  model.dispose();
});
