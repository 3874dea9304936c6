/**
 * Every family's ImageNet configuration at its own input size (224×224), exported and run once in
 * onnxruntime-node at batch 1, logits within 1e-4 × max(1, max |logit|) of convlab's. The files have a dynamic
 * batch axis, except ViT-B/16's: its 17.5 GMACs make the second tracing pass the dynamic axis needs the slowest
 * step of this file, and ViT-B/32 (here) and ViT-B/16 at 32×32 (export.test.ts) cover that path.
 */
import { test } from 'node:test';
import { initEngine } from '../../../src/engine/engine.js';
import { assertParity, assertStructure, caseLabel, describeDiffs, exportAndRun, withTempDir, type Case } from './onnx-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 180_000 };

const CASES: Case[] = ['alexnet', 'googlenet', 'densenet121', 'mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_large', 'efficientnet_b0', 'vit_b_32']
  .map((model) => ({ model, batches: [1] }));

for (const c of CASES) {
  test(`${caseLabel(c)} at 224×224: onnxruntime matches convlab at batch 1 (dynamic-batch file)`, TIMEOUT, async (t) => {
    await withTempDir(async (dir) => {
      const outcome = await exportAndRun(c, dir);
      t.diagnostic(describeDiffs(outcome));
      assertParity(c, outcome);
      assertStructure(c, outcome.summary);
    });
  });
}

test('vit_b_16 at 224×224: onnxruntime matches convlab at batch 1 (fixed-batch file)', TIMEOUT, async (t) => {
  const c: Case = { model: 'vit_b_16', batches: [1] };
  await withTempDir(async (dir) => {
    const outcome = await exportAndRun(c, dir, { batch: 1 });
    t.diagnostic(describeDiffs(outcome));
    assertParity(c, outcome);
    assertStructure(c, outcome.summary, 17, 1);
  });
});
