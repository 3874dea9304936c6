/**
 * The Vision Transformers' ImageNet configurations at 224×224 in onnxruntime-node, logits within
 * 1e-4 × max(1, max |logit|) of convlab's: ViT-B/32 from a dynamic-batch file, ViT-B/16 from a fixed-batch one
 * (its 17.5 GMACs make the second tracing pass a dynamic axis needs the slowest step here, and ViT-B/32 and
 * ViT-B/16 at 32×32 in export.test.ts cover that path).
 */
import { test } from 'node:test';
import { initEngine } from '../../../src/engine/engine.js';
import { assertParity, assertStructure, describeDiffs, exportAndRun, withTempDir, type Case } from './onnx-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 180_000 };

test('vit_b_32 at 224×224: onnxruntime matches convlab at batch 1 (dynamic-batch file)', TIMEOUT, async (t) => {
  const c: Case = { model: 'vit_b_32', batches: [1] };
  await withTempDir(async (dir) => {
    const outcome = await exportAndRun(c, dir);
    t.diagnostic(describeDiffs(outcome));
    assertParity(c, outcome);
    assertStructure(c, outcome.summary);
  });
});

test('vit_b_16 at 224×224: onnxruntime matches convlab at batch 1 (fixed-batch file)', TIMEOUT, async (t) => {
  const c: Case = { model: 'vit_b_16', batches: [1] };
  await withTempDir(async (dir) => {
    const outcome = await exportAndRun(c, dir, { batch: 1 });
    t.diagnostic(describeDiffs(outcome));
    assertParity(c, outcome);
    assertStructure(c, outcome.summary, 17, 1);
  });
});
