/**
 * `npm run bench`: one JSON object on stdout with kernel GFLOP/s, training and inference images/s for the
 * benchmark models, live-buffer growth and peak RSS. Methodology follows ../shared/peers/bench_torch.py
 * (3 warm-up steps, then the median step time over ≥ 5 steps and ≥ min-time seconds), so the figures compare
 * directly with `../shared/peers/run-pytorch.sh`. Pass `--peers` to run that script too and add the ratios.
 *
 * It also times one augmented epoch of the data loader ("loader", see loader.ts).
 *
 *   npm run bench -- [--quick] [--peers] [--profile] [--models lenet5,alexnet_cifar] [--skip-kernels]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as E from '../src/engine/index.js';
import { initEngine } from '../src/engine/engine.js';
import { createModel } from '../src/models/index.js';
import { SGD } from '../src/train/optim.js';
import type { Module } from '../src/nn/index.js';
import { benchLoader } from './loader.js';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const option = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const quick = flag('quick');
const minTime = quick ? 1.5 : 6;

interface ModelCell { model: string; mode: 'train' | 'infer'; batch: number; threads: number; images_per_s: number; median_ms: number; iters: number; params: number; fwd_macs_per_img: number; approx_gflops: number }

const MODELS: Record<string, { registry: string; input: [number, number, number]; batches: number[] }> = {
  lenet5: { registry: 'lenet5', input: [1, 28, 28], batches: [64, 256] },
  alexnet_cifar: { registry: 'alexnet-cifar', input: [3, 32, 32], batches: [64] },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function timeSteps(step: () => void): { med: number; iters: number } {
  for (let i = 0; i < 3; i++) step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || (performance.now() - start) / 1000 < minTime) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 200) break;
  }
  return { med: median(times), iters: times.length };
}

function benchModel(name: string, mode: 'train' | 'infer', batch: number, threads: number, liveGrowth: number[]): ModelCell {
  const spec = MODELS[name]!;
  E.manualSeed(0);
  const [c, h] = spec.input;
  const model: Module = createModel(spec.registry, { numClasses: 10, inChannels: c, imageSize: h });
  const macs = E.noGrad(() => E.tidy(() => E.countMacs(() => { model.eval().forward(E.randNormal([1, ...spec.input])); })));
  const x = E.randNormal([batch, ...spec.input]).keep();
  const y = E.intTensor(Array.from({ length: batch }, (_, i) => i % 10)).keep();
  const params = model.parameterCount();
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const step = mode === 'train'
    ? (): void => {
      model.train();
      E.tidy(() => { E.backward(E.crossEntropy(model.forward(x), y)); });
      opt.step();
      opt.zeroGrad();
    }
    : (): void => { model.eval(); E.noGrad(() => E.tidy(() => { model.forward(x); })); };
  step();
  const before = E.liveBuffers();
  const { med, iters } = timeSteps(step);
  liveGrowth.push(E.liveBuffers() - before);
  opt.dispose(); model.dispose(); x.dispose(); y.dispose();
  const ips = batch / med;
  return {
    model: name, mode, batch, threads, images_per_s: round(ips, 1), median_ms: round(med * 1000, 2), iters,
    params, fwd_macs_per_img: macs, approx_gflops: round((ips * 2 * macs * (mode === 'train' ? 3 : 1)) / 1e9, 2),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function runPeers(threads: number, models: string[]): unknown[] {
  const script = join(process.cwd(), '..', 'shared', 'peers', 'run-pytorch.sh');
  if (!existsSync(script)) return [{ error: `${script} not found` }];
  const rows: unknown[] = [];
  for (const mode of ['train', 'infer']) {
    for (const m of models) {
      const r = spawnSync('bash', [script, String(threads), mode, m, MODELS[m]!.batches.join(',')], { encoding: 'utf8' });
      for (const line of r.stdout.split('\n')) if (line.trim().startsWith('{')) rows.push(JSON.parse(line));
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const threads = Number(process.env.CONVLAB_THREADS ?? availableParallelism());
  const backend = await initEngine({ threads });
  const out: Record<string, unknown> = { threads: backend.threads, backend: backend.name, isa: backend.isa, node: process.version, cores: availableParallelism() };
  if (!flag('skip-kernels')) {
    const kernelsPath = './kernels.js';
    try {
      const { benchKernels } = (await import(kernelsPath)) as { benchKernels: (o?: { quick?: boolean }) => Promise<{ gemm: unknown[]; conv: unknown[] }> };
      Object.assign(out, await benchKernels({ quick }));
    } catch (err) {
      out.kernels_error = (err as Error).message;
    }
  }
  out.loader = benchLoader();
  await initEngine({ threads });
  const models = option('models', 'lenet5,alexnet_cifar').split(',');
  const cells: ModelCell[] = [];
  const growth: number[] = [];
  if (flag('profile')) E.getBackend().profile = new Map();
  for (const m of models) {
    if (!MODELS[m]) throw new Error(`unknown benchmark model '${m}'. Valid: ${Object.keys(MODELS).join(', ')}`);
    for (const mode of ['train', 'infer'] as const) {
      for (const batch of MODELS[m]!.batches) {
        cells.push(benchModel(m, mode, batch, E.getBackend().threads, growth));
        process.stderr.write(`${JSON.stringify(cells.at(-1))}\n`);
      }
    }
  }
  out.models = cells;
  out.memory = { live_buffers_growth: Math.max(0, ...growth), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  const profile = E.getBackend().profile;
  if (profile) {
    out.profile = [...profile].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)
      .map(([kernel, v]) => ({ kernel, calls: v.calls, ms: round(v.ms, 1) }));
  }
  if (flag('peers')) {
    const peers = runPeers(threads, models) as { model: string; mode: string; batch: number; images_per_s: number }[];
    out.peers = peers;
    out.ratio_vs_pytorch = cells.map((c) => {
      const p = peers.find((q) => q.model === c.model && q.mode === c.mode && q.batch === c.batch);
      return { model: c.model, mode: c.mode, batch: c.batch, convlab: c.images_per_s, pytorch: p?.images_per_s ?? null, ratio: p ? round(c.images_per_s / p.images_per_s, 3) : null };
    });
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  E.getBackend().dispose?.();
  process.exit(0);
}

try {
  await main();
} catch (err) {
  // One line, never a stack trace: a failed kernel or a missing peer script is reported, not dumped.
  process.stderr.write(`bench: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  process.exit(1);
}
