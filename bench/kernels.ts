/**
 * Kernel throughput of the WASM backend and, when its addon is built, the native one (on its best kernel set, or
 * CONVLAB_NATIVE_ISA): square GEMMs (n = 256 and 1024 on 1 and 2 threads) and the convolution passes of two
 * AlexNet-CIFAR layers. Every row names its backend and instruction set.
 * Each measurement is the best of several timed repetitions after a warm-up (which also lets V8 tier the module
 * up from Liftoff to TurboFan). Run standalone with `node dist/bench/kernels.js` to print JSON.
 */
import { pathToFileURL } from 'node:url';
import type { Backend, Conv2dParams } from '../src/engine/backend.js';
import { Heap } from '../src/engine/heap.js';
import { WasmBackend } from '../src/engine/backends/wasm.js';
import { NativeBackend } from '../src/engine/backends/native.js';
import { loadNativeAddon } from '../src/engine/backends/native-addon.js';
import { benchZooKernels, type ZooKernelRow } from './kernels-zoo.js';

interface Row { backend: string; isa: string; threads: number; gflops: number }

export interface KernelBenchResult {
  gemm: (Row & { n: number })[];
  conv: (Row & { layer: string; pass: 'forward' | 'input_grad' | 'weight_grad' })[];
  /** Depthwise convolution, attention and batch norm at zoo layers, on the conv thread counts. */
  zoo: (ZooKernelRow & { backend: string; isa: string })[];
}

export interface KernelBenchOptions {
  /** Thread counts for the GEMMs (default [1, 2]). */
  gemmThreads?: number[];
  /** Thread counts for the convolutions (default [2]). */
  convThreads?: number[];
  /** Minimum wall time per measurement, in ms (default 400). */
  minMs?: number;
  /** Backends to measure (default: wasm, and native when its addon loads). */
  backends?: ('wasm' | 'native')[];
  /** Only the square GEMMs (bench/gemm-blocks.ts times one blocking per process). */
  gemmOnly?: boolean;
}

/** Best-of timing: repeats `fn` until `minMs` has elapsed (and at least `minReps` times); returns the fastest run in ms. */
function bestTime(fn: () => void, minMs: number, minReps = 3): number {
  fn(); // warm-up
  fn();
  let best = Infinity, reps = 0;
  const start = performance.now();
  while (reps < minReps || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
    reps++;
  }
  return best;
}

function randomFill(heap: Heap, ptr: number, n: number, scale = 1): void {
  const f = heap.f;
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    f[ptr + i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
}

const LAYERS: { layer: string; p: Conv2dParams }[] = [
  {
    layer: 'alexnet_cifar.conv2',
    p: { n: 64, c: 64, h: 16, w: 16, oc: 192, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1, oh: 16, ow: 16 },
  },
  {
    layer: 'alexnet_cifar.conv4',
    p: { n: 64, c: 384, h: 8, w: 8, oc: 256, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1, oh: 8, ow: 8 },
  },
];

export async function benchKernels(opts: KernelBenchOptions = {}): Promise<KernelBenchResult> {
  const kinds = opts.backends ?? ((await loadNativeAddon()).addon ? ['wasm', 'native'] : ['wasm']);
  const result: KernelBenchResult = { gemm: [], conv: [], zoo: [] };
  for (const kind of kinds) await benchBackend(kind, opts, result);
  return result;
}

async function benchBackend(kind: 'wasm' | 'native', opts: KernelBenchOptions, result: KernelBenchResult): Promise<void> {
  const gemmThreads = opts.gemmThreads ?? [1, 2];
  const convThreads = opts.convThreads ?? [2];
  const minMs = opts.minMs ?? 400;
  const heap = new Heap();
  const backends = new Map<number, Backend>();
  const backend = async (threads: number): Promise<Backend> => {
    let b = backends.get(threads);
    if (!b) {
      b = kind === 'native' ? await NativeBackend.create(heap, { threads }) : await WasmBackend.create(heap, { threads });
      backends.set(threads, b);
    }
    return b;
  };
  const alloc = (n: number, scale = 1): number => {
    const p = heap.alloc(n * 4) / 4;
    randomFill(heap, p, n, scale);
    return p;
  };
  try {
    for (const n of [256, 1024]) {
      const a = alloc(n * n), b = alloc(n * n), c = alloc(n * n);
      for (const threads of gemmThreads) {
        const be = await backend(threads);
        const p = { transA: false, transB: false, m: n, n, k: n, a, lda: n, b, ldb: n, c, ldc: n, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
        const ms = bestTime(() => be.gemm(p), minMs);
        result.gemm.push({ backend: be.name, isa: be.isa, n, threads: be.threads, gflops: round((2 * n ** 3) / ms / 1e6) });
      }
      for (const ptr of [a, b, c]) heap.free(ptr * 4);
    }
    if (opts.gemmOnly) return;
    for (const { layer, p } of LAYERS) {
      const xn = p.n * p.c * p.h * p.w, yn = p.n * p.oc * p.oh * p.ow, wn = p.oc * (p.c / p.groups) * p.kh * p.kw;
      const x = alloc(xn), w = alloc(wn, 0.05), bias = alloc(p.oc), y = alloc(yn), dy = alloc(yn), dx = alloc(xn);
      const dw = alloc(wn), db = alloc(p.oc);
      const flops = 2 * p.n * p.oc * p.oh * p.ow * (p.c / p.groups) * p.kh * p.kw;
      for (const threads of convThreads) {
        const be = await backend(threads);
        const passes = [
          ['forward', () => be.conv2d(p, x, w, bias, y)],
          ['input_grad', () => be.conv2dBackwardInput(p, dy, w, dx)],
          ['weight_grad', () => be.conv2dBackwardWeight(p, x, dy, dw, db)],
        ] as const;
        for (const [pass, fn] of passes) {
          const ms = bestTime(fn, minMs);
          result.conv.push({ backend: be.name, isa: be.isa, layer, pass, threads: be.threads, gflops: round(flops / ms / 1e6) });
        }
      }
      for (const ptr of [x, w, bias, y, dy, dx, dw, db]) heap.free(ptr * 4);
    }
    for (const threads of convThreads) {
      const be = await backend(threads);
      const rows = benchZooKernels(be, heap, { bestMs: (fn) => bestTime(fn, minMs), alloc, free: (ptr) => heap.free(ptr * 4) });
      result.zoo.push(...rows.map((r) => ({ backend: be.name, isa: be.isa, ...r })));
    }
  } finally {
    for (const b of backends.values()) b.dispose?.();
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const convThreads = process.env.CONVLAB_BENCH_CONV_THREADS?.split(',').map(Number) ?? [2];
  const minMs = process.env.CONVLAB_BENCH_MIN_MS ? Number(process.env.CONVLAB_BENCH_MIN_MS) : undefined;
  const backends = process.env.CONVLAB_BENCH_BACKENDS?.split(',') as ('wasm' | 'native')[] | undefined;
  const gemmOnly = process.env.CONVLAB_BENCH_GEMM_ONLY === '1';
  console.log(JSON.stringify(await benchKernels({ convThreads, minMs, backends, gemmOnly }), null, 2));
}
