/** Matrix products: matmul (batched, broadcasting over batch axes) and linear (x·Wᵀ + b). */
import type { Backend, GemmParams } from '../backend.js';
import { record } from '../autograd.js';
import { Tensor, viewAs } from '../tensor.js';
import { broadcastShapes } from './broadcast.js';
import { expand, sumTo } from './reduce.js';
import { assertFloat, backendOf, output, shapeError } from './util.js';
import { addMacs } from '../macs.js';

function gemm(backend: Backend, p: Partial<GemmParams> & Pick<GemmParams, 'm' | 'n' | 'k' | 'a' | 'b' | 'c'>): void {
  addMacs((p.batch ?? 1) * p.m * p.n * p.k);
  const transA = p.transA ?? false, transB = p.transB ?? false;
  backend.gemm({
    transA, transB, m: p.m, n: p.n, k: p.k,
    a: p.a, lda: p.lda ?? (transA ? p.m : p.k),
    b: p.b, ldb: p.ldb ?? (transB ? p.k : p.n),
    c: p.c, ldc: p.ldc ?? p.n,
    accumulate: p.accumulate ?? false,
    batch: p.batch ?? 1, strideA: p.strideA ?? 0, strideB: p.strideB ?? 0, strideC: p.strideC ?? 0,
  });
}

/**
 * a[..., m, k] @ b[..., k, n]. A 2-D right operand is folded into one large GEMM; other batch axes broadcast.
 * 1-D operands are not promoted: use reshape.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const backend = backendOf('matmul', a, b);
  assertFloat('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw shapeError('matmul', 'operands must have at least 2 dimensions', a.shape, b.shape);
  const m = a.shape[a.rank - 2]!, k = a.shape[a.rank - 1]!, n = b.shape[b.rank - 1]!;
  if (b.shape[b.rank - 2] !== k) throw shapeError('matmul', `inner dimensions differ (${k} vs ${b.shape[b.rank - 2]})`, a.shape, b.shape);
  if (b.rank === 2) {
    const rows = a.size / k;
    const y = output(backend, [...a.shape.slice(0, -1), n]);
    gemm(backend, { m: rows, n, k, a: a.at, b: b.at, c: y.at });
    return record('matmul', [a, b], y, [a, b], (g, [sa, sb]) => {
      let da: Tensor | null = null, db: Tensor | null = null;
      if (a.requiresGrad) { da = output(backend, sa!.shape); gemm(backend, { m: rows, n: k, k: n, a: g.at, b: sb!.at, c: da.at, transB: true }); }
      if (b.requiresGrad) { db = output(backend, sb!.shape); gemm(backend, { m: k, n, k: rows, a: sa!.at, b: g.at, c: db.at, transA: true }); }
      return [da, db];
    });
  }
  let batchShape: number[];
  try {
    batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw shapeError('matmul', 'batch dimensions cannot be broadcast together', a.shape, b.shape);
  }
  const aFull = a.shape.slice(0, -2).join() === batchShape.join() ? a : expand(a, [...batchShape, m, k]);
  const bFull = b.shape.slice(0, -2).join() === batchShape.join() ? b : expand(b, [...batchShape, k, n]);
  const batch = batchShape.reduce((s, d) => s * d, 1);
  const y = output(backend, [...batchShape, m, n]);
  gemm(backend, { m, n, k, a: aFull.at, b: bFull.at, c: y.at, batch, strideA: m * k, strideB: k * n, strideC: m * n });
  const result = record('matmul', [aFull, bFull], y, [aFull, bFull], (g, [sa, sb]) => {
    let da: Tensor | null = null, db: Tensor | null = null;
    if (aFull.requiresGrad) {
      da = output(backend, sa!.shape);
      gemm(backend, { m, n: k, k: n, a: g.at, b: sb!.at, c: da.at, transB: true, batch, strideA: m * n, strideB: k * n, strideC: m * k });
    }
    if (bFull.requiresGrad) {
      db = output(backend, sb!.shape);
      gemm(backend, { m: k, n, k: m, a: sa!.at, b: g.at, c: db.at, transA: true, batch, strideA: m * k, strideB: m * n, strideC: k * n });
    }
    return [da, db];
  });
  return result;
}

/** y = x·Wᵀ + b with PyTorch's layout: weight [out, in], x [..., in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const backend = backendOf('linear', x, weight, ...(bias ? [bias] : []));
  assertFloat('linear', x, weight);
  const [outF, inF] = weight.shape as [number, number];
  if (weight.rank !== 2 || x.shape[x.rank - 1] !== inF) {
    throw shapeError('linear', `input features ${x.shape[x.rank - 1]} do not match weight`, x.shape, weight.shape);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) throw shapeError('linear', 'bias does not match weight', bias.shape, weight.shape);
  const rows = x.size / inF;
  const y = output(backend, [...x.shape.slice(0, -1), outF]);
  if (bias) {
    // Seed C with the bias rows, then accumulate the product into it: one pass over y instead of two.
    backend.copy(bias.at, [0, 1], y.at, [outF, 1], [rows, outF]);
  }
  gemm(backend, { m: rows, n: outF, k: inF, a: x.at, b: weight.at, c: y.at, transB: true, accumulate: !!bias });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record('linear', inputs, y, [x, weight], (g, [sx, sw]) => {
    let dx: Tensor | null = null, dw: Tensor | null = null, db: Tensor | null = null;
    if (x.requiresGrad) { dx = output(backend, sx!.shape); gemm(backend, { m: rows, n: inF, k: outF, a: g.at, b: sw!.at, c: dx.at }); }
    if (weight.requiresGrad) { dw = output(backend, sw!.shape); gemm(backend, { m: outF, n: inF, k: rows, a: g.at, b: sx!.at, c: dw.at, transA: true }); }
    if (bias?.requiresGrad) {
      const g2 = viewAs(g, [rows, outF]);
      db = sumTo(g2, [outF]);
      g2.dispose();
    }
    return [dx, dw, db];
  });
}

