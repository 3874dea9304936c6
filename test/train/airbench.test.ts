/**
 * The airbench94 loop on a small random CIFAR-shaped set (3×32×32, conv widths 4/8/8, reference backend): test-time
 * augmentation averages its views; the loss falls over three steps on a repeated batch while the frozen weights
 * stay bit-identical; a run interrupted mid-epoch and at an epoch end, then resumed, ends bit-identical to an
 * uninterrupted one; too large a batch for the heap is refused with the flag to use instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { Flatten, Linear, Sequential } from '../../src/nn/index.js';
import { Airbench94, whiteningWeights } from '../../src/models/index.js';
import { mirrorBatch, normalizeImages, translateBatch, type ImageDataset } from '../../src/data/index.js';
import { AIRBENCH94, type AirbenchConfig } from '../../src/train/airbench-recipe.js';
import { checkMemory, trainAirbench, type AirbenchData } from '../../src/train/airbench-trainer.js';
import { ttaLogits } from '../../src/train/airbench-eval.js';
import { TrainingInterrupted, type InterruptRequest } from '../../src/train/trainer.js';
import { assertSameTensors, metricsWithoutTimes, tempDir, useReferenceBackend } from './helpers.js';

useReferenceBackend();

function randomCifar(n: number, seed: number): ImageDataset {
  let s = seed >>> 0;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s >>> 24; };
  const images = Uint8Array.from({ length: n * 3 * 32 * 32 }, rand), labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  return { name: 'random', classes: ['a', 'b', 'c', 'd'], channels: 3, height: 32, width: 32, length: n, images, labels };
}

const data = (n: number): AirbenchData => ({ train: randomCifar(n, 1), test: randomCifar(4, 2), mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
const config = (over: Partial<AirbenchConfig>): AirbenchConfig => ({
  ...AIRBENCH94, model: 'airbench94', dataset: 'random', widths: [4, 8, 8], whitenImages: 8, ...over,
});

test('ttaLogits: level 0, 1 and 2 are the plain logits, the mirror average, and the six-view weighted average', { timeout: 20_000 }, () => {
  const [n, c, h, w] = [2, 1, 3, 3];
  const model = new Sequential(Flatten(), new Linear(9, 2, { rng: new E.Rng(4) }));
  const x = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i + 1));
  const f = (v: Float32Array): Float32Array => E.noGrad(() => E.tidy(() => model.forward(E.tensor(v, [n, c, h, w])).toFloat32()));
  const m = (v: Float32Array): Float32Array => mirrorBatch(v, n, c, h, w);
  const up = translateBatch(x, n, c, h, w, -1, -1), down = translateBatch(x, n, c, h, w, 1, 1);
  const combine = (parts: [Float32Array, number][]): number[] => [...f(x)].map((_, i) => parts.reduce((s, [v, wgt]) => s + wgt * f(v)[i]!, 0));
  const cases: [number, number[]][] = [
    [0, [...f(x)]],
    [1, combine([[x, 0.5], [m(x), 0.5]])],
    [2, combine([[x, 0.25], [m(x), 0.25], [up, 0.125], [m(up), 0.125], [down, 0.125], [m(down), 0.125]])],
  ];
  for (const [level, want] of cases) {
    const got = ttaLogits(model, x, n, c, h, w, level);
    want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-5, `level ${level}, logit ${i}: ${got[i]} vs ${v}`));
  }
  assert.throws(() => ttaLogits(model, x, n, c, h, w, 3), { message: 'test-time augmentation level must be 0, 1 or 2, got 3' });
  model.dispose();
});

test('airbench94 loop: three steps on one repeated batch lower the loss; frozen weights stay bit-identical', { timeout: 60_000 }, async () => {
  const d = data(8);
  const c = config({ epochs: 3, batchSize: 8, microBatch: 8, flip: false, translate: 0, whitenBiasEpochs: 0, lookaheadEvery: 1, ttaLevel: 1 });
  const result = await trainAirbench(c, d, tempDir('convlab-airbench-'));
  const losses = result.history.map((r) => r.train_loss);
  assert.equal(losses.length, 3);
  // wall_seconds is training time so far, as the main trainer writes it: evaluation and preparation stay out.
  let trained = 0;
  for (const row of result.history) {
    trained += row.epoch_seconds;
    assert.ok(Math.abs(row.wall_seconds - trained) < 1e-9, `epoch ${row.epoch}: wall_seconds ${row.wall_seconds}, summed epoch_seconds ${trained}`);
  }
  assert.ok(losses[2]! < losses[0]! && losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
  const state = new Map([...result.model.namedState()].map(([name, t]) => [name, [...t.toFloat32()]]));
  const whitening = whiteningWeights(normalizeImages(d.train, d.mean, d.std, 0, 8), 8, 3, 32, 32);
  assert.deepEqual(state.get('0.weight'), [...whitening], 'whitening filters unchanged since their init');
  assert.deepEqual(state.get('0.bias'), new Array(24).fill(0), 'whitening bias frozen from epoch 0 (whitenBiasEpochs 0)');
  for (const [name, values] of state) if (/norm\d\.weight$/.test(name)) assert.ok(values.every((v) => v === 1), `${name} stays 1`);
  assert.ok(state.get('2.norm1.bias')!.some((v) => v !== 0), 'BN biases train');
  assert.ok(result.testTta.report.numSamples === 4 && result.test.report.numSamples === 4);
  result.model.dispose();
});

test('airbench94 loop: micro-batches accumulate the batch; a batch too large for the heap names the flag', { timeout: 60_000 }, async () => {
  const result = await trainAirbench(config({ epochs: 1, batchSize: 8, microBatch: 4, ttaLevel: 0 }), data(8), tempDir('convlab-airbench-'));
  assert.ok(Number.isFinite(result.history[0]!.train_loss));
  result.model.dispose();
  const model = new Airbench94();
  assert.throws(() => checkMemory(config({ batchSize: 1024, microBatch: 1024, widths: undefined }), model, 2 ** 31),
    { message: 'airbench94: a batch of 1024 images needs about 2.98 GiB of engine memory, more than 85 % of the 2.00 GiB heap; pass --micro-batch 512 to accumulate the batch of 1024 over 2 passes' });
  assert.throws(() => checkMemory(config({ batchSize: 1024, microBatch: 1000 }), model, 2 ** 32),
    { message: '--micro-batch 1000 is invalid: it must be a whole number dividing the batch size (1024)' });
  checkMemory(config({ batchSize: 1024, microBatch: 1024, widths: undefined }), model, 2 ** 32); // the 4 GiB heap holds the full batch
  model.dispose();
});

test('airbench94 loop: interrupted mid-epoch and at an epoch end, then resumed, ends bit-identical to an uninterrupted run', { timeout: 60_000 }, async () => {
  // 12 images in batches of 4: 3 steps per epoch, 2.5 epochs = 8 steps; lookahead every 2 steps; whitening bias frozen after epoch 1.
  const c = config({ epochs: 2.5, batchSize: 4, microBatch: 4, lookaheadEvery: 2, whitenBiasEpochs: 1, ttaLevel: 0 });
  const reference = tempDir('convlab-airbench-ref-');
  (await trainAirbench(c, data(12), reference)).model.dispose();

  const resumed = tempDir('convlab-airbench-resumed-');
  const stops: number[] = [];
  for (const stopAfterStep of [2, 3]) { // 2: mid-epoch (batch 2 of 3); 3: the end of epoch 1
    const interrupt: InterruptRequest = {};
    let step = 0;
    const callbacks = { onBatchEnd: () => { if (++step + (stops.at(-1) ?? 0) === stopAfterStep) interrupt.signal = 'SIGINT'; } };
    await assert.rejects(trainAirbench(c, data(12), resumed, { resume: stops.length > 0, interrupt, callbacks }), (err: unknown) => {
      assert.ok(err instanceof TrainingInterrupted, String(err));
      return true;
    });
    stops.push(stopAfterStep);
  }
  (await trainAirbench(c, data(12), resumed, { resume: true })).model.dispose();
  assert.ok(assertSameTensors(join(resumed, 'last.safetensors'), join(reference, 'last.safetensors')) > 20, 'model, optimiser and lookahead tensors');
  assertSameTensors(join(resumed, 'best.safetensors'), join(reference, 'best.safetensors'));
  assert.deepEqual(metricsWithoutTimes(resumed), metricsWithoutTimes(reference));
  assert.equal(metricsWithoutTimes(reference).length, 3);
});
