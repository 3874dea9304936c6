/**
 * ONNX export at small sizes: every zoo family (the CIFAR variants, and the ImageNet architectures not in
 * imagenet-*.test.ts at reduced image sizes) is exported once with a dynamic batch axis and run in onnxruntime-node at batch 1 and 3 from that
 * one file, with logits within 1e-4 × max(1, max |logit|) of convlab's eval forward. The file's structure (opset,
 * input and output names and shapes, torchvision's initialiser names) and the exporter's errors are checked too.
 * The ImageNet configurations at their own input size run in imagenet.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../../src/engine/index.js';
import { initEngine } from '../../../src/engine/engine.js';
import { createModel } from '../../../src/models/index.js';
import { Module } from '../../../src/nn/index.js';
import type { Tensor } from '../../../src/engine/index.js';
import { exportOnnx } from '../../../src/interop/onnx/index.js';
import { readModel } from './onnx-reader.js';
import { assertParity, assertStructure, caseLabel, describeDiffs, exportAndRun, withTempDir, type Case } from './onnx-helpers.js';

await initEngine();

const summary = (file: string): ReturnType<typeof readModel> => readModel(readFileSync(file));

const TIMEOUT = { timeout: 120_000 }; // generous: the machine running the suite may be shared
const B = [1, 3];

const CASES: Case[] = [
  { model: 'lenet5', batches: B },
  { model: 'lenet5-classic', batches: B },
  { model: 'alexnet-cifar', batches: B, extra: { lrn: true, width: 0.25 } },
  { model: 'googlenet-cifar', batches: B },
  // ceil-mode max pools on odd sizes; transform_input's per-channel slices.
  { model: 'googlenet', imageSize: 75, extra: { transformInput: true }, batches: B },
  { model: 'densenet-bc-100', batches: B },
  { model: 'densenet161', imageSize: 40, batches: B },
  { model: 'densenet169', imageSize: 40, batches: B },
  { model: 'densenet201', imageSize: 40, batches: B },
  { model: 'mobilenet_v1-cifar', batches: B },
  { model: 'mobilenet_v2-cifar', batches: B },
  { model: 'mobilenet_v3-cifar', batches: B },
  { model: 'mobilenet_v3_small', imageSize: 64, batches: B },
  { model: 'efficientnet_b0-cifar', batches: B },
  { model: 'efficientnet_b1', imageSize: 48, batches: B },
  { model: 'efficientnet_b2', imageSize: 48, batches: B },
  { model: 'vit-cifar', batches: B },
];

for (const c of CASES) {
  test(`${caseLabel(c)}: onnxruntime matches convlab at batch ${B.join(' and ')} from one dynamic-batch file`, TIMEOUT, async (t) => {
    await withTempDir(async (dir) => {
      const outcome = await exportAndRun(c, dir);
      t.diagnostic(describeDiffs(outcome));
      assertParity(c, outcome);
      assertStructure(c, outcome.summary);
    });
  });
}

test('initialisers carry the state-dict key names (torchvision\'s); metadata holds the input contract', TIMEOUT, async () => {
  await withTempDir(async (dir) => {
    const { summary } = await exportAndRun({ model: 'mobilenet_v2-cifar', batches: [1] }, dir);
    const m = createModel('mobilenet_v2-cifar', { numClasses: 10 });
    // num_batches_tracked is not part of the computation; every other entry is an initialiser under its own name.
    const used = [...m.stateDict().keys()].filter((k) => !k.endsWith('num_batches_tracked'));
    m.dispose();
    assert.deepEqual(summary.initializers.filter((n) => !n.startsWith('const_')).sort(), used.sort());
    assert.deepEqual(summary.metadata, {
      in_channels: '3', image_size: '32', num_classes: '10', model: 'mobilenet_v2-cifar', mean: '[0.5]', std: '[0.25]',
    });
  });
});

test('opset 18 and 20 (ReduceMean axes as an input, Gelu as one op) and a fixed batch also match', TIMEOUT, async () => {
  await withTempDir(async (dir) => {
    for (const opset of [18, 20]) {
      const c: Case = { model: 'vit-cifar', batches: [2] };
      const outcome = await exportAndRun(c, dir, { opset, batch: 2 });
      assertParity(c, outcome);
      assertStructure(c, outcome.summary, opset, 2);
      assert.equal(outcome.summary.opTypes.includes('Gelu'), opset >= 20, `opset ${opset}: Gelu node present?`);
    }
  });
});

/**
 * A model whose forward uses the ops no zoo model exercises in eval mode at its usual size: sum/mean, log-softmax,
 * pad, leaky ReLU, and adaptive pooling into uneven windows (AlexNet's below 224×224).
 */
class OddOps extends Module {
  readonly w: Tensor;
  constructor() {
    super();
    this.w = this.param('w', [3, 4]);
    this.w.copyFrom(Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)));
  }

  forward(x: Tensor): Tensor {
    const padded = E.pad(E.leakyRelu(x, 0.2), [[1, 2], [0, 3]]); // [n, 3, 4+3, 4+3]
    const uneven = E.adaptiveAvgPool2d(E.sqrt(E.abs(E.sub(padded, E.exp(E.neg(padded))))), [3, 2]); // 7×7 → 3×2
    const pooled = E.mean(E.mul(uneven, uneven), [2, 3]); // [n, 3]
    const s = E.sum(E.div(E.log(E.addScalar(E.square(pooled), 1)), E.addScalar(E.abs(pooled), 0.5)), 1, true); // [n, 1]
    return E.logSoftmax(E.add(E.matmul(pooled, this.w), E.pow(E.addScalar(s, 2), 1.5)), -1);
  }
}

test('the ops only custom models use (pad, uneven adaptive pooling, reductions, log-softmax, leaky ReLU, pow) match too', TIMEOUT, async () => {
  await withTempDir(async (dir) => {
    const ort = (await import('onnxruntime-node')).default;
    const m = new OddOps();
    const file = join(dir, 'odd.onnx');
    exportOnnx(m, { inChannels: 3, imageSize: 4, numClasses: 4 }, file);
    const session = await ort.InferenceSession.create(file);
    const shape = [3, 3, 4, 4], x = Float32Array.from({ length: 144 }, (_, i) => Math.sin(i * 1.3) * 2);
    const expected = E.noGrad(() => E.tidy(() => m.forward(E.tensor(x, shape)).toArray()));
    const got = (await session.run({ input: new ort.Tensor('float32', x, shape) }))['logits']!.data as Float32Array;
    await session.release();
    m.dispose();
    const diff = Math.max(...expected.map((v, i) => Math.abs(v - got[i]!)));
    assert.ok(diff <= 1e-5, `max difference ${diff}`);
    assert.equal(summary(file).opTypes.filter((t) => t === 'MatMul').length, 3, 'uneven adaptive pooling is two MatMuls, plus the model\'s own');
  });
});

test('bad options and untraceable models are one clear error each, and write nothing', TIMEOUT, async () => {
  await withTempDir(async (dir) => {
    const m = createModel('lenet5', { numClasses: 10 });
    const file = join(dir, 'x.onnx');
    const meta = { inChannels: 1, imageSize: 28, numClasses: 10 };
    assert.throws(() => exportOnnx(m, meta, file, { opset: 13 }), { message: 'onnx export: opset 13 is not supported (expected an integer from 17 to 21)' });
    assert.throws(() => exportOnnx(m, meta, file, { batch: 0 }), { message: "onnx export: batch must be 'dynamic' or a positive integer, got 0" });
    assert.throws(() => exportOnnx(m, { ...meta, imageSize: 4 }, file),
      { message: 'input 1×4×4 is too small for LeNet5: the spatial size reaches zero at c3 (Conv2d), whose input is 1×6×2×2' });
    m.dispose();

    class BatchConstant extends Module {
      forward(x: Tensor): Tensor { return E.add(E.flatten(x), E.zeros([x.shape[0]!, 4])); }
    }
    assert.throws(() => exportOnnx(new BatchConstant(), { inChannels: 1, imageSize: 2, numClasses: 4 }, file),
      { message: 'onnx export: op #1 (add) has an input 1 that depends on the batch size; export with a fixed batch' });
    assert.equal(existsSync(file), false);
    assert.deepEqual(readdirSync(dir), [], 'no temp file left behind');
  });
});
