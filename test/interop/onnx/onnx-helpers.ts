/**
 * Shared by the ONNX tests: a zoo model with non-trivial state (running statistics and the zero-initialised
 * heads and class tokens get seeded values, so that batch norm and the classifier matter), exported to a temp
 * file and run in onnxruntime-node next to convlab's own eval forward.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import * as E from '../../../src/engine/index.js';
import { createModel, getModelSpec } from '../../../src/models/index.js';
import type { Module } from '../../../src/nn/index.js';
import { exportOnnx, type OnnxExportOptions, type OnnxExportResult } from '../../../src/interop/onnx/index.js';
import { readModel, type ModelSummary } from './onnx-reader.js';

export const NUM_CLASSES = 10;

export interface Case {
  model: string;
  imageSize?: number;
  extra?: Record<string, unknown>;
  /** Batch sizes to run from the one exported file. */
  batches: number[];
}

export const caseLabel = (c: Case): string =>
  `${c.model}${c.imageSize ? ` at ${c.imageSize}×${c.imageSize}` : ''}${c.extra ? ` ${JSON.stringify(c.extra)}` : ''}`;

/** Seeded values where a fresh model has constants that would hide mistakes (zero heads, unit variances). */
export function perturb(m: Module, seed = 7): void {
  const rng = new E.Rng(seed);
  for (const [name, t] of m.stateDict()) {
    if (t.dtype !== 'float32') continue;
    let fill: ((i: number) => number) | null = null;
    if (name.endsWith('running_var')) fill = () => 0.5 + rng.next();
    else if (name.endsWith('running_mean')) fill = () => 0.2 * (rng.next() - 0.5);
    // Only small tensors are read for zeros: the large ones are randomly initialised weights (AlexNet's 57 M).
    else if (name.endsWith('.bias') || (t.size <= 1 << 20 && t.toArray().every((v) => v === 0))) fill = () => 0.1 * (rng.next() - 0.5);
    if (fill) t.copyFrom(Float32Array.from({ length: t.size }, (_, i) => fill(i)));
  }
}

/** A deterministic input of shape [n, c, h, w] in roughly [−1.5, 1.5]. */
export function sampleInput(shape: readonly number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, (_, i) => 1.5 * Math.sin(i * 0.37 + 0.1));
}

export interface RunOutcome {
  /** max |convlab − onnxruntime| per batch size, and the scale max(1, max |logit|) it is judged against. */
  diffs: { batch: number; diff: number; scale: number; dims: readonly number[] }[];
  summary: ModelSummary;
  result: OnnxExportResult;
}

export function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'convlab-onnx-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Exports `c`'s model, then runs each batch size in onnxruntime and in convlab. */
export async function exportAndRun(c: Case, dir: string, opts: OnnxExportOptions = {}, prepare: (m: Module) => void = perturb): Promise<RunOutcome> {
  const spec = getModelSpec(c.model);
  const [channels, defaultSize] = spec.defaultInput;
  const size = c.imageSize ?? defaultSize;
  const m = createModel(c.model, { numClasses: NUM_CLASSES, imageSize: size, ...(c.extra ? { extra: c.extra } : {}) });
  try {
    prepare(m);
    const file = join(dir, `${c.model}.onnx`);
    const result = exportOnnx(m, { inChannels: channels, imageSize: size, numClasses: NUM_CLASSES, name: c.model, mean: [0.5], std: [0.25] }, file, opts);
    const summary = readModel(readFileSync(file));
    const session = await ort.InferenceSession.create(file);
    const diffs: RunOutcome['diffs'] = [];
    try {
      for (const n of c.batches) {
        const shape = [n, channels, size, size];
        const x = sampleInput(shape);
        const expected = E.noGrad(() => E.tidy(() => m.eval().forward(E.tensor(x, shape)).toArray()));
        const out = (await session.run({ input: new ort.Tensor('float32', x, shape) }))['logits']!;
        const got = out.data as Float32Array;
        assert.equal(got.length, expected.length, `${caseLabel(c)}: batch ${n} gave ${got.length} logits, expected ${expected.length}`);
        let diff = 0, scale = 1;
        for (let i = 0; i < got.length; i++) {
          diff = Math.max(diff, Math.abs(got[i]! - expected[i]!));
          scale = Math.max(scale, Math.abs(expected[i]!));
        }
        diffs.push({ batch: n, diff, scale, dims: out.dims });
      }
    } finally {
      await session.release();
    }
    return { diffs, summary, result };
  } finally {
    m.dispose();
  }
}

/** The issue's target: logits within 1e-4 × max(1, max |logit|), at every batch size, with shape [n, classes]. */
export function assertParity(c: Case, outcome: RunOutcome): void {
  for (const d of outcome.diffs) {
    assert.deepEqual([...d.dims], [d.batch, NUM_CLASSES], `${caseLabel(c)}: output dims at batch ${d.batch}`);
    assert.ok(d.diff <= 1e-4 * d.scale, `${caseLabel(c)} at batch ${d.batch}: max |convlab − onnxruntime| = ${d.diff.toExponential(2)} > 1e-4 × ${d.scale.toFixed(3)}`);
  }
}

/** Structure: the opset, one input "input" [batch, c, h, w] and one output "logits" [batch, classes]. */
export function assertStructure(c: Case, s: ModelSummary, opset = 17, batchDim: number | string = 'batch'): void {
  const spec = getModelSpec(c.model);
  const size = c.imageSize ?? spec.defaultInput[1];
  assert.deepEqual(s.opsets, [{ domain: '', version: opset }], `${caseLabel(c)}: opset_import`);
  assert.ok(s.irVersion >= 8, `${caseLabel(c)}: IR version ${s.irVersion}`);
  assert.deepEqual(s.inputs, [{ name: 'input', elemType: 1, dims: [batchDim, spec.defaultInput[0], size, size] }]);
  assert.deepEqual(s.outputs, [{ name: 'logits', elemType: 1, dims: [batchDim, NUM_CLASSES] }]);
}

/** "batch 1: 2.1e-8 of 1.000; batch 3: …" for the test log. */
export const describeDiffs = (o: RunOutcome): string =>
  o.diffs.map((d) => `batch ${d.batch}: max diff ${d.diff.toExponential(2)}, scale ${d.scale.toFixed(3)}`).join('; ') + ` (${o.result.nodes} nodes: ${o.result.opTypes.join(' ')})`;
