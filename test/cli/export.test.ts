/**
 * `convlab export RUN --format safetensors|pth|onnx` and the library's exportWeights: a run's weights written with
 * torchvision's key names load back into a fresh model identically, the ONNX model gives the run's logits in
 * onnxruntime-node; bad formats and outputs are one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { exportWeights } from '../../src/api.js';
import { sniffWeightsFormat } from '../../src/interop/pth/index.js';
import { createModel } from '../../src/models/index.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../../src/train/checkpoint.js';
import { loadWeights } from '../../src/train/weights.js';
import { useReferenceBackend } from '../train/helpers.js';
import ort from 'onnxruntime-node';
import { convlab, oneLineError, scratchDir, show, type CliRun } from './run-cli.js';

useReferenceBackend();
process.env.CONVLAB_BACKEND = 'reference'; // exportWeights starts the engine: keep it on the reference backend
const CWD = scratchDir('convlab-export-');
const TIMEOUT = { timeout: 120_000 };
const run = (args: string[]): Promise<CliRun> => convlab(args, { cwd: CWD });

/** A run directory holding best.safetensors of a seeded 2-class LeNet-5. */
function makeRun(name: string): string {
  const dir = join(CWD, name);
  mkdirSync(dir, { recursive: true });
  const meta: CheckpointMeta = { model: { name: 'lenet5', numClasses: 2, inChannels: 1, imageSize: 28 }, classes: ['a', 'b'], mean: [0.13], std: [0.31] };
  E.manualSeed(9);
  const m = createModel('lenet5', { numClasses: 2 });
  saveCheckpoint(join(dir, 'best.safetensors'), m, meta);
  m.dispose();
  return dir;
}

/** The exported file loaded into a fresh model equals the checkpoint's tensors exactly. */
function assertSameWeights(file: string, runDir: string): void {
  const expected = loadCheckpoint(join(runDir, 'best.safetensors')).model;
  E.manualSeed(1234);
  const fresh = createModel('lenet5', { numClasses: 2 });
  try {
    assert.equal(loadWeights(fresh, file, { modelName: 'lenet5' }).loaded, expected.size);
    for (const [name, t] of fresh.stateDict()) assert.deepEqual([...t.toArray()], [...expected.get(name)!], `${file}: ${name}`);
  } finally {
    fresh.dispose();
  }
}

test('exportWeights: pth and safetensors beside the checkpoint load back identically; the checkpoint itself is not overwritten', TIMEOUT, async () => {
  const dir = makeRun('lib');
  for (const format of ['pth', 'safetensors'] as const) {
    const r = await exportWeights(dir, format);
    assert.deepEqual(r, { file: join(dir, `model.${format}`), tensors: 10 });
    assert.equal(sniffWeightsFormat(r.file), format === 'pth' ? 'pth' : 'other', `${r.file}: a zip for pth only`);
    assertSameWeights(r.file, dir);
  }
  const custom = join(CWD, 'out', 'lenet.pth');
  assert.equal((await exportWeights(join(dir, 'best.safetensors'), 'pth', custom)).file, custom);
  assertSameWeights(custom, dir);
  const best = join(dir, 'best.safetensors');
  const before = readFileSync(best);
  await assert.rejects(exportWeights(dir, 'safetensors', best), { message: `${best}: is the checkpoint being exported; choose another output file` });
  assert.deepEqual(readFileSync(best), before);
});

test('convlab export: --format pth writes a loadable file; a missing or unknown format is one line', TIMEOUT, async () => {
  const dir = makeRun('cli');
  const out = join(CWD, 'cli.pth');
  const [written, unknown, missing, absent] = await Promise.all([
    run(['export', dir, '--format', 'pth', '-o', out]),
    run(['export', dir, '--format', 'tflite']),
    run(['export', dir]),
    run(['export', join(CWD, 'nope'), '--format', 'pth']),
  ]);
  assert.equal(written.code, 0, show(written));
  assert.equal(written.stdout, `wrote ${out} (pth, 10 tensors)\n`);
  assertSameWeights(out, dir);
  assert.equal(sniffWeightsFormat(out), 'pth');
  assert.equal(oneLineError(unknown), "--format 'tflite' is invalid: must be one of safetensors, pth, onnx");
  assert.equal(oneLineError(missing), '--format is required: one of safetensors, pth, onnx');
  assert.equal(oneLineError(absent), `${join(CWD, 'nope')}: checkpoint not found`);
  assert.equal(existsSync(join(dir, 'model.tflite')), false);

  // --weights takes the .pth wherever it takes safetensors (summary here; train, eval and predict share loadWeights).
  const summary = await run(['summary', 'lenet5', '--num-classes', '2', '--weights', out, '--no-latency', '--json']);
  assert.equal(summary.code, 0, show(summary));
  const weights = (JSON.parse(summary.stdout) as { weights?: { file: string; loaded: number } }).weights;
  assert.deepEqual([weights?.file, weights?.loaded], [out, 10]);
});

test('convlab export --format onnx: the model in onnxruntime-node gives convlab\'s logits, at any batch size', TIMEOUT, async () => {
  const dir = makeRun('onnx');
  const out = join(CWD, 'lenet.onnx');
  const written = await run(['export', dir, '--format', 'onnx', '-o', out]);
  assert.equal(written.code, 0, show(written));
  assert.equal(written.stdout, `wrote ${out} (onnx, 10 tensors)\n`);
  const session = await ort.InferenceSession.create(out);
  const ckpt = loadCheckpoint(join(dir, 'best.safetensors'));
  const model = createModel('lenet5', { numClasses: 2 });
  model.loadStateDict(ckpt.model, ckpt.shapes);
  model.eval();
  try {
    for (const batch of [1, 3]) {
      const x = Float32Array.from({ length: batch * 28 * 28 }, (_, i) => Math.sin(i * 0.37));
      const expected = E.noGrad(() => E.tidy(() => model.forward(E.tensor(x, [batch, 1, 28, 28])).toFloat32()));
      const got = (await session.run({ input: new ort.Tensor('float32', x, [batch, 1, 28, 28]) }))['logits']!.data as Float32Array;
      assert.equal(got.length, batch * 2);
      const scale = Math.max(1, ...[...expected].map(Math.abs));
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-4 * scale, `batch ${batch}, logit ${i}: ${got[i]} vs ${expected[i]}`);
    }
  } finally {
    model.dispose();
    await session.release();
  }
});
