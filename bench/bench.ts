/**
 * `npm run bench`: one JSON object on stdout with kernel GFLOP/s, training and inference images/s for the
 * benchmark models, live-buffer growth and peak RSS. Methodology follows ../shared/peers/bench_torch.py
 * (3 warm-up steps, then the median step time over ≥ 5 steps and ≥ min-time seconds), so the figures compare
 * directly with `../shared/peers/run-pytorch.sh`. Pass `--peers` to run that script too and add the ratios.
 *
 * It also times one augmented epoch of the data loader ("loader", see loader.ts).
 *
 * With `--peers`, each model cell alternates convlab and PyTorch `--rounds` times (default 2) and reports medians.
 * LeNet-5's and AlexNet-CIFAR's inference cells also get an ONNX Runtime peer (ort-peer.ts): the same model exported
 * by convlab and run by onnxruntime-node, reported as `onnxruntime` and `ratio_vs_onnxruntime` (convlab / ort).
 *
 * Each model runs in a process of its own, on a fresh heap.
 *
 *   npm run bench -- [--quick] [--peers] [--rounds N] [--profile] [--models lenet5,alexnet_cifar,airbench94|zoo|<names>] [--skip-kernels] [--skip-loader]
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
import { ORT_PEER_MODELS, ortInferCell, type OrtCell } from './ort-peer.js';
import { median } from './stats.js';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const option = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const quick = flag('quick');
const minTime = quick ? 1.5 : 6;

interface PeerCell { model: string; mode: string; batch: number; images_per_s: number; params?: number; error?: undefined }
const SHARED_PEER_MODELS = ['lenet5', 'alexnet_cifar'];

interface ModelCell { model: string; mode: 'train' | 'infer'; batch: number; threads: number; images_per_s: number; median_ms: number; iters: number; params: number; fwd_macs_per_img: number; approx_gflops: number }

const MODELS: Record<string, { registry: string; input: [number, number, number]; batches: number[] }> = {
  lenet5: { registry: 'lenet5', input: [1, 28, 28], batches: [64, 256] },
  alexnet_cifar: { registry: 'alexnet-cifar', input: [3, 32, 32], batches: [64] },
};
/** The zoo's CIFAR variants, benchmarked under their registry names (`--models zoo` selects them all). */
const ZOO = ['googlenet-cifar', 'densenet-bc-100', 'mobilenet_v1-cifar', 'mobilenet_v2-cifar', 'mobilenet_v3-cifar', 'efficientnet_b0-cifar', 'vit-cifar'];
for (const name of ZOO) MODELS[name] = { registry: name, input: [3, 32, 32], batches: [64] };
// GoogLeNet-CIFAR (192–832 channels at 32×32 and 16×16) and DenseNet-BC-100 (every layer's input a new concat) need
// more than the 4 GiB a 32-bit WebAssembly heap can hold to train a batch of 64, so they are measured at 32.
MODELS['googlenet-cifar']!.batches = [32];
MODELS['densenet-bc-100']!.batches = [32];
// airbench94 (the CIFAR-10 speedrun's network) trains at batch 1024; 512 keeps the heap well below its 4 GiB while
// images/s is already flat at that size. In the default list, so `--peers` reports it beside PyTorch's.
MODELS['airbench94'] = { registry: 'airbench94', input: [3, 32, 32], batches: [512] };

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

/** The ONNX Runtime peer's median and convlab's ratio to it, or the reason it is missing. */
function ortFigures(convlab: number, cells: OrtCell[], error: string | undefined): Record<string, unknown> {
  const ips = cells.length ? round(median(cells.map((c) => c.images_per_s)), 1) : null;
  return { onnxruntime: ips, ratio_vs_onnxruntime: ips ? round(convlab / ips, 3) : null, ...(error ? { onnxruntime_error: error } : {}) };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One PyTorch cell, measured by the peer script that knows the model: ../shared/peers for LeNet-5 and AlexNet-CIFAR,
 * the project's bench/torch_zoo.py for the zoo's CIFAR variants. */
function peerCell(model: string, mode: 'train' | 'infer', batch: number, threads: number): PeerCell | { error: string } {
  const shared = join(process.cwd(), '..', 'shared', 'peers', 'run-pytorch.sh');
  const own = join(process.cwd(), 'bench', 'run-torch-zoo.sh');
  const script = SHARED_PEER_MODELS.includes(model) ? shared : own;
  if (!existsSync(script)) return { error: `${script} not found` };
  const r = spawnSync('bash', [script, String(threads), mode, model, String(batch)], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith('{'));
  if (!line) return { error: `${script} printed no result for ${model} ${mode} batch ${batch}: ${r.stderr.trim().split('\n').at(-1) ?? ''}` };
  return JSON.parse(line) as PeerCell;
}

/** Runs this script once per model with the same options, and gathers the rows. */
function benchEachModelApart(models: string[]): Record<string, unknown> {
  const passOn = ['peers', 'quick', 'profile'].filter(flag).map((f) => `--${f}`);
  if (args.includes('--rounds')) passOn.push('--rounds', option('rounds', ''));
  const gathered = { models: [] as unknown[], ratio_vs_pytorch: [] as unknown[], memory: [] as unknown[], profile: [] as unknown[] };
  for (const m of models) {
    const r = spawnSync(process.execPath, [process.argv[1]!, '--skip-kernels', '--skip-loader', '--models', m, ...passOn],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) { gathered.models.push({ model: m, error: `exit code ${r.status}` }); continue; }
    const child = JSON.parse(r.stdout) as { models: unknown[]; ratio_vs_pytorch?: unknown[]; memory: unknown; profile?: unknown };
    gathered.models.push(...child.models);
    gathered.ratio_vs_pytorch.push(...(child.ratio_vs_pytorch ?? []));
    gathered.memory.push({ model: m, ...(child.memory as object) });
    if (child.profile) gathered.profile.push({ model: m, kernels: child.profile });
  }
  return {
    models: gathered.models, memory: gathered.memory,
    ...(flag('peers') ? { ratio_vs_pytorch: gathered.ratio_vs_pytorch } : {}),
    ...(flag('profile') ? { profile: gathered.profile } : {}),
  };
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
  const models = option('models', 'lenet5,alexnet_cifar,airbench94').split(',').flatMap((m) => (m === 'zoo' ? ZOO : [m]));
  for (const m of models) if (!MODELS[m]) throw new Error(`unknown benchmark model '${m}'. Valid: ${Object.keys(MODELS).join(', ')}`);
  if (!flag('skip-loader')) out.loader = benchLoader();
  if (models.length > 1) {
    // One process per model: the heap never shrinks and keeps freed blocks by exact size, so after a large model
    // (GoogLeNet-CIFAR fills the 4 GiB a 32-bit heap can hold) the next one would find no room.
    Object.assign(out, benchEachModelApart(models));
    process.stdout.write(JSON.stringify(out, null, 1) + '\n');
    process.exit(0);
  }
  await initEngine({ threads });
  // With --peers each cell alternates convlab and PyTorch (A, B, A, B, …) and reports the medians, so that a change in
  // the machine's load during the run hits both sides alike.
  const peers = flag('peers');
  const rounds = Number(option('rounds', peers ? '2' : '1'));
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds '${option('rounds', '')}' is invalid: must be a whole number ≥ 1`);
  const cells: ModelCell[] = [];
  const comparisons: unknown[] = [];
  const growth: number[] = [];
  if (flag('profile')) E.getBackend().profile = new Map();
  for (const m of models) {
    for (const mode of ['train', 'infer'] as const) {
      for (const batch of MODELS[m]!.batches) {
        const ours: ModelCell[] = [], theirs: PeerCell[] = [], ort: OrtCell[] = [];
        let peerError: string | undefined, ortError: string | undefined;
        const withOrt = peers && mode === 'infer' && m in ORT_PEER_MODELS;
        let failure: string | undefined;
        for (let r = 0; r < rounds && !failure; r++) {
          try {
            ours.push(benchModel(m, mode, batch, E.getBackend().threads, growth));
          } catch (err) {
            failure = (err as Error).message.split('\n')[0];
            continue;
          }
          process.stderr.write(`${JSON.stringify(ours.at(-1))}\n`);
          if (withOrt && !ortError) {
            try {
              ort.push(await ortInferCell(m, MODELS[m]!.input, batch, E.getBackend().threads, minTime));
              process.stderr.write(`${JSON.stringify({ onnxruntime: ort.at(-1) })}\n`);
            } catch (err) {
              ortError = (err as Error).message.split('\n')[0];
            }
          }
          if (!peers || peerError) continue;
          const p = peerCell(m, mode, batch, threads);
          if ('error' in p && p.error) peerError = p.error;
          else theirs.push(p as PeerCell);
          process.stderr.write(`${JSON.stringify(p)}\n`);
        }
        if (failure || !ours.length) {
          comparisons.push({ model: m, mode, batch, error: failure });
          process.stderr.write(`${m} ${mode} batch ${batch}: ${failure}\n`);
          continue;
        }
        const cell = {
          ...ours[0]!, rounds,
          images_per_s: round(median(ours.map((c) => c.images_per_s)), 1),
          median_ms: round(median(ours.map((c) => c.median_ms)), 2),
          approx_gflops: round(median(ours.map((c) => c.approx_gflops)), 2),
        };
        cells.push(cell);
        if (peers) {
          const pytorch = theirs.length ? round(median(theirs.map((p) => p.images_per_s)), 1) : null;
          comparisons.push({
            model: m, mode, batch, convlab: cell.images_per_s, pytorch, ratio: pytorch ? round(cell.images_per_s / pytorch, 3) : null,
            rounds: ours.map((c, i) => ({ convlab: c.images_per_s, pytorch: theirs[i]?.images_per_s ?? null })),
            ...(peerError ? { error: peerError } : {}),
            ...(withOrt ? ortFigures(cell.images_per_s, ort, ortError) : {}),
            ...(theirs[0]?.params !== undefined && theirs[0].params !== cell.params ? { warning: `params differ: convlab ${cell.params}, pytorch ${theirs[0].params}` } : {}),
          });
        }
      }
    }
  }
  out.models = cells;
  if (peers) out.ratio_vs_pytorch = comparisons;
  out.memory = { live_buffers_growth: Math.max(0, ...growth), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  const profile = E.getBackend().profile;
  if (profile) {
    out.profile = [...profile].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)
      .map(([kernel, v]) => ({ kernel, calls: v.calls, ms: round(v.ms, 1) }));
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
