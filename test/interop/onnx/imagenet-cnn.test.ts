/**
 * Every convolutional family's ImageNet configuration at its own input size (224×224), exported with a dynamic
 * batch axis and run once in onnxruntime-node at batch 1, logits within 1e-4 × max(1, max |logit|) of convlab's.
 * The Vision Transformers are in imagenet-vit.test.ts; the other depths and widths of each family, at small
 * image sizes, in export.test.ts.
 */
import { test } from 'node:test';
import { initEngine } from '../../../src/engine/engine.js';
import { assertParity, assertStructure, caseLabel, describeDiffs, exportAndRun, withTempDir, type Case } from './onnx-helpers.js';

await initEngine();

const TIMEOUT = { timeout: 180_000 };

const CASES: Case[] = ['alexnet', 'googlenet', 'densenet121', 'mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_large', 'efficientnet_b0']
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

