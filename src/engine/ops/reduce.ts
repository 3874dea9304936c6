/** Sums and means over axes, expand (their adjoint), and sumTo (the adjoint of broadcasting). */
import { record } from '../autograd.js';
import { Tensor, contiguousStrides, viewAs, type Shape } from '../tensor.js';
import { broadcastAxes, broadcastStrides } from './broadcast.js';
import { collapseAxes } from '../shape-utils.js';
import { assertFloat, axisIndex, backendOf, output, shapeError } from './util.js';

/** Sum over `axes` (all when omitted). The result keeps size-1 axes when keepDims. */
export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return scaledSum('sum', x, axes, keepDims, false);
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return scaledSum('mean', x, axes, keepDims, true);
}

function scaledSum(op: string, x: Tensor, axes: number | number[] | undefined, keepDims: boolean, average: boolean): Tensor {
  const backend = backendOf(op, x);
  assertFloat(op, x);
  const list = axes === undefined ? x.shape.map((_, i) => i) : (Array.isArray(axes) ? axes : [axes]);
  const reduced = new Set(list.map((a) => axisIndex(op, a, x.rank)));
  const count = [...reduced].reduce((n, a) => n * x.shape[a]!, 1);
  const factor = average ? 1 / count : 1;
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const y = sumKeepDims(x, reduced);
  if (average) backend.unary('mul_scalar', y.at, y.at, y.size, factor);
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => !reduced.has(i));
  const result = viewAs(y, outShape);
  y.dispose();
  const inShape = x.shape;
  return record(op, [x], result, [], (g) => {
    const gk = viewAs(g, keptShape);
    const dx = expandRaw(gk, inShape);
    gk.dispose();
    if (average) backend.unary('mul_scalar', dx.at, dx.at, dx.size, factor);
    return [dx];
  }, { axes: [...reduced].sort((a, b) => a - b), keepDims });
}

/** Broadcasts x to `shape` (a copy). Its gradient sums back over the broadcast axes. */
export function expand(x: Tensor, shape: Shape): Tensor {
  backendOf('expand', x);
  if (shape.length < x.rank || x.shape.some((d, i) => d !== 1 && d !== shape[shape.length - x.rank + i])) {
    throw shapeError('expand', 'cannot expand', x.shape, shape);
  }
  const y = expandRaw(x, shape);
  const inShape = x.shape;
  return record('expand', [x], y, [], (g) => [sumTo(g, inShape)], { shape: [...shape] });
}

function expandRaw(x: Tensor, shape: Shape): Tensor {
  const y = output(x.backend, shape);
  const c = collapseAxes(shape, [broadcastStrides(x.shape, shape), contiguousStrides(shape)]);
  x.backend.copy(x.at, c.strides[0]!, y.at, c.strides[1]!, c.shape);
  return y;
}

/** Sums g over the axes along which `shape` was broadcast to g's shape; no graph is recorded. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  const axes = broadcastAxes(shape, g.shape);
  if (axes.length === 0) {
    const copy = output(g.backend, shape);
    g.backend.copy(g.at, [1], copy.at, [1], [g.size]);
    return copy;
  }
  const y = sumKeepDims(g, new Set(axes));
  const result = viewAs(y, shape);
  y.dispose();
  return result;
}

/**
 * The sum with reduced axes kept as size 1, as a sequence of [outer, reduce, inner] reductions: runs of
 * neighbouring reduced axes are merged so that each pass reads memory in order.
 */
function sumKeepDims(x: Tensor, reduced: Set<number>): Tensor {
  const backend = x.backend;
  let shape = [...x.shape];
  let current: Tensor | null = null;
  let d = 0;
  while (d < shape.length) {
    if (!reduced.has(d) || shape[d] === 1) { d++; continue; }
    let end = d + 1;
    while (end < shape.length && reduced.has(end)) end++;
    const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
    const r = shape.slice(d, end).reduce((a, b) => a * b, 1);
    const inner = shape.slice(end).reduce((a, b) => a * b, 1);
    const nextShape = shape.map((s, i) => (i >= d && i < end ? 1 : s));
    const next = output(backend, nextShape);
    backend.reduceSum((current ?? x).at, next.at, outer, r, inner);
    current?.dispose();
    current = next;
    shape = nextShape;
    d = end;
  }
  if (!current) {
    current = output(backend, shape);
    backend.copy(x.at, [1], current.at, [1], [x.size]);
  }
  return current;
}
