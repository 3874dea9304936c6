/**
 * The ONNX Runtime inference peer for `npm run bench -- --peers`: the benchmark model, exported by convlab's own
 * exportOnnx, run by onnxruntime-node (a dev dependency, CPU execution provider) at the bench's batch size on the
 * same number of threads, timed like the convlab cells (3 warm-up runs, then the median over ≥ 5 runs and
 * ≥ minTime seconds).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../src/engine/index.js';
import { createModel } from '../src/models/index.js';
import { exportOnnx } from '../src/interop/onnx/index.js';
import { median } from './stats.js';

/** Models with an ONNX Runtime peer (the bench's names → registry names). */
export const ORT_PEER_MODELS: Record<string, string> = { lenet5: 'lenet5', alexnet_cifar: 'alexnet-cifar' };

export interface OrtCell { model: string; batch: number; threads: number; images_per_s: number; median_ms: number; iters: number }

export async function ortInferCell(name: string, input: [number, number, number], batch: number, threads: number, minTime: number): Promise<OrtCell> {
  const registry = ORT_PEER_MODELS[name];
  if (!registry) throw new Error(`no onnxruntime peer for '${name}' (have: ${Object.keys(ORT_PEER_MODELS).join(', ')})`);
  const ort = (await import('onnxruntime-node').catch(() => {
    throw new Error('onnxruntime-node is not installed (it is a dev dependency: npm ci)');
  })).default;
  const dir = mkdtempSync(join(tmpdir(), 'convlab-ort-peer-'));
  try {
    const file = join(dir, `${registry}.onnx`);
    E.manualSeed(0);
    const model = createModel(registry, { numClasses: 10, inChannels: input[0], imageSize: input[1] });
    try {
      exportOnnx(model, { inChannels: input[0], imageSize: input[1], numClasses: 10 }, file);
    } finally {
      model.dispose();
    }
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] });
    try {
      const shape = [batch, ...input];
      const x = new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), shape);
      const step = async (): Promise<void> => { await session.run({ input: x }); };
      for (let i = 0; i < 3; i++) await step();
      const times: number[] = [];
      const start = performance.now();
      while (times.length < 5 || (performance.now() - start) / 1000 < minTime) {
        const t0 = performance.now();
        await step();
        times.push((performance.now() - t0) / 1000);
        if (times.length >= 200) break;
      }
      const med = median(times);
      return { model: name, batch, threads, images_per_s: Math.round((batch / med) * 10) / 10, median_ms: Math.round(med * 1e5) / 100, iters: times.length };
    } finally {
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
