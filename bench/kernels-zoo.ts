/**
 * The zoo's other hot kernels, beside the GEMM they are judged against (issue: depthwise convolution, attention and
 * batch norm should each reach half of the GEMM's GFLOP/s, or a profile must show why not):
 *   - depthwise 3×3 convolution, forward and both gradients, at a MobileNetV2-CIFAR layer;
 *   - attention at a ViT-CIFAR layer: Q·Kᵀ and P·V as batched GEMMs over heads, and the row softmax between them;
 *   - batch norm forward (statistics + apply) and backward, at a DenseNet-BC layer.
 * Memory-bound kernels also report GB/s (bytes each pass must at least read and write once), which says more about
 * them than GFLOP/s does.
 */
import type { Backend, Conv2dParams } from '../src/engine/backend.js';
import type { Heap } from '../src/engine/heap.js';

export interface ZooKernelRow { kernel: string; pass: string; threads: number; gflops: number; gbytes_per_s: number }

interface Timing { bestMs(fn: () => void): number; alloc(n: number, scale?: number): number; free(ptr: number): void }

const round = (x: number): number => Math.round(x * 10) / 10;

export function benchZooKernels(be: Backend, heap: Heap, t: Timing): ZooKernelRow[] {
  const rows: ZooKernelRow[] = [];
  const row = (kernel: string, pass: string, flops: number, bytes: number, fn: () => void): void => {
    const ms = t.bestMs(fn);
    rows.push({ kernel, pass, threads: be.threads, gflops: round(flops / ms / 1e6), gbytes_per_s: round(bytes / ms / 1e6) });
  };

  // MobileNetV2-CIFAR, stage 3 expanded to 144 channels at 16×16, batch 64.
  const dw: Conv2dParams = { n: 64, c: 144, h: 16, w: 16, oc: 144, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 144, oh: 16, ow: 16 };
  {
    const xn = dw.n * dw.c * dw.h * dw.w, wn = dw.oc * dw.kh * dw.kw;
    const x = t.alloc(xn), w = t.alloc(wn, 0.3), y = t.alloc(xn), dy = t.alloc(xn), dx = t.alloc(xn), dwt = t.alloc(wn), db = t.alloc(dw.oc);
    const flops = 2 * xn * 9, bytes = 2 * xn * 4;
    row('depthwise_conv3x3', 'forward', flops, bytes, () => be.conv2d(dw, x, w, -1, y));
    row('depthwise_conv3x3', 'input_grad', flops, bytes, () => be.conv2dBackwardInput(dw, dy, w, dx));
    row('depthwise_conv3x3', 'weight_grad', flops, bytes, () => be.conv2dBackwardWeight(dw, x, dy, dwt, db));
    for (const p of [x, w, y, dy, dx, dwt, db]) t.free(p);
  }

  // ViT-CIFAR: batch 64, 8 heads, 65 tokens (64 patches + class token), head dim 48.
  {
    const b = 64 * 8, tok = 65, d = 48;
    const q = t.alloc(b * tok * d), k = t.alloc(b * tok * d), v = t.alloc(b * tok * d), s = t.alloc(b * tok * tok), o = t.alloc(b * tok * d);
    const gemm = (transB: boolean, a: number, bm: number, c: number, n: number, kk: number, sa: number, sb: number, sc: number): void =>
      be.gemm({ transA: false, transB, m: tok, n, k: kk, a, lda: kk, b: bm, ldb: transB ? kk : n, c, ldc: n, accumulate: false, batch: b, strideA: sa, strideB: sb, strideC: sc });
    const gemmFlops = 2 * b * tok * tok * d;
    row('attention', 'q_kt', gemmFlops, 4 * b * (2 * tok * d + tok * tok), () => gemm(true, q, k, s, tok, d, tok * d, tok * d, tok * tok));
    row('attention', 'softmax', 4 * b * tok * tok, 8 * b * tok * tok, () => be.softmax(s, s, b * tok, tok, false));
    row('attention', 'p_v', gemmFlops, 4 * b * (2 * tok * d + tok * tok), () => gemm(false, s, v, o, d, tok, tok * tok, tok * d, tok * d));
    for (const p of [q, k, v, s, o]) t.free(p);
  }

  // DenseNet-BC-100, dense block 2: 168 channels at 16×16, batch 64.
  {
    const n = 64, c = 168, hw = 256, len = n * c * hw;
    const x = t.alloc(len), y = t.alloc(len), dy = t.alloc(len), dx = t.alloc(len);
    const mean = t.alloc(c), invstd = t.alloc(c), gamma = t.alloc(c), beta = t.alloc(c), dg = t.alloc(c), dbeta = t.alloc(c);
    row('batch_norm', 'forward', 6 * len, 12 * len, () => {
      be.batchNormStats(x, n, c, hw, 1e-5, mean, invstd);
      be.batchNormApply(x, n, c, hw, mean, invstd, gamma, beta, y);
    });
    row('batch_norm', 'backward', 8 * len, 16 * len, () => be.batchNormBackward(x, dy, n, c, hw, mean, invstd, gamma, true, dx, dg, dbeta));
    for (const p of [x, y, dy, dx, mean, invstd, gamma, beta, dg, dbeta]) t.free(p);
  }
  return rows;
}
