/** Max, average and adaptive-average 2-D pooling. */
import type { Pool2dParams } from '../backend.js';
import { record, type OpAttrs } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, backendOf, output, pair, shapeError, spatialSizeError } from './util.js';

export interface Pool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceilMode?: boolean;
  /** Average pooling: count padded zeros in the divisor (PyTorch's default, true). */
  countIncludePad?: boolean;
}

export function maxPool2d(x: Tensor, kernel: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  const backend = backendOf('maxPool2d', x);
  assertFloat('maxPool2d', x);
  const p = poolParams('maxPool2d', x, kernel, opts);
  const y = output(backend, [p.n, p.c, p.oh, p.ow]);
  const idx = output(backend, y.shape, 'int32');
  backend.maxPool2d(p, x.at, y.at, idx.at);
  const result = record('maxPool2d', [x], y, [idx], (g, [si]) => {
    const dx = output(backend, x.shape);
    backend.maxPool2dBackward(p, g.at, si!.at, dx.at);
    return [dx];
  }, poolAttrs(p));
  idx.dispose(); // the graph node keeps its own reference while it needs the indices
  return result;
}

export function avgPool2d(x: Tensor, kernel: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  const backend = backendOf('avgPool2d', x);
  assertFloat('avgPool2d', x);
  const p = poolParams('avgPool2d', x, kernel, opts);
  const y = output(backend, [p.n, p.c, p.oh, p.ow]);
  backend.avgPool2d(p, x.at, y.at);
  return record('avgPool2d', [x], y, [], (g) => {
    const dx = output(backend, x.shape);
    backend.avgPool2dBackward(p, g.at, dx.at);
    return [dx];
  }, { ...poolAttrs(p), countIncludePad: p.countIncludePad });
}

export function adaptiveAvgPool2d(x: Tensor, size: number | [number, number]): Tensor {
  const backend = backendOf('adaptiveAvgPool2d', x);
  assertFloat('adaptiveAvgPool2d', x);
  if (x.rank !== 4) throw shapeError('adaptiveAvgPool2d', 'input must be [n, c, h, w]', x.shape);
  const [oh, ow] = pair(size);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const p = { n, c, h, w, oh, ow };
  const y = output(backend, [n, c, oh, ow]);
  backend.adaptiveAvgPool2d(p, x.at, y.at);
  return record('adaptiveAvgPool2d', [x], y, [], (g) => {
    const dx = output(backend, x.shape);
    backend.adaptiveAvgPool2dBackward(p, g.at, dx.at);
    return [dx];
  }, { outputSize: [oh, ow] });
}

/** The window geometry an observer needs; the output size tells it whether ceil mode added a window. */
function poolAttrs(p: Pool2dParams): OpAttrs {
  return { kernel: [p.kh, p.kw], stride: [p.sh, p.sw], padding: [p.ph, p.pw], outputSize: [p.oh, p.ow] };
}

function poolParams(op: string, x: Tensor, kernel: number | [number, number], opts: Pool2dOptions): Pool2dParams {
  if (x.rank !== 4) throw shapeError(op, 'input must be [n, c, h, w]', x.shape);
  const [kh, kw] = pair(kernel), [sh, sw] = pair(opts.stride ?? kernel), [ph, pw] = pair(opts.padding ?? 0);
  if (ph > kh / 2 || pw > kw / 2) throw new Error(`${op}: padding (${ph}, ${pw}) must be at most half the kernel (${kh}, ${kw})`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const oh = outputSize(h, kh, sh, ph, opts.ceilMode ?? false);
  const ow = outputSize(w, kw, sw, pw, opts.ceilMode ?? false);
  if (oh < 1 || ow < 1) throw spatialSizeError(op, `kernel (${kh}, ${kw}) is larger than the padded input`, x.shape);
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, countIncludePad: opts.countIncludePad ?? true };
}

/** PyTorch's rule, including ceil mode's "the last window must start inside the input or left padding". */
function outputSize(size: number, k: number, s: number, p: number, ceil: boolean): number {
  const span = size + 2 * p - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}
