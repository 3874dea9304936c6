/** 2-D convolution with stride, padding, dilation and groups (depthwise when groups = channels). */
import type { Conv2dParams } from '../backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, backendOf, output, pair, shapeError, spatialSizeError } from './util.js';
import { addMacs } from '../macs.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** x [n, c, h, w], weight [oc, c/groups, kh, kw], bias [oc] → [n, oc, oh, ow]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const backend = backendOf('conv2d', x, weight, ...(bias ? [bias] : []));
  assertFloat('conv2d', x, weight);
  const p = convParams(x, weight, bias ?? null, opts);
  const y = output(backend, [p.n, p.oc, p.oh, p.ow]);
  backend.conv2d(p, x.at, weight.at, bias ? bias.at : -1, y.at);
  addMacs(p.n * p.oc * p.oh * p.ow * (p.c / p.groups) * p.kh * p.kw);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record('conv2d', inputs, y, [x, weight], (g, [sx, sw]) => {
    let dx: Tensor | null = null, dw: Tensor | null = null, db: Tensor | null = null;
    if (x.requiresGrad) { dx = output(backend, sx!.shape); backend.conv2dBackwardInput(p, g.at, sw!.at, dx.at); }
    if (weight.requiresGrad || bias?.requiresGrad) {
      dw = output(backend, sw!.shape);
      db = bias ? output(backend, [p.oc]) : null;
      backend.conv2dBackwardWeight(p, sx!.at, g.at, dw.at, db ? db.at : -1);
    }
    return [dx, dw, db];
  }, { stride: [p.sh, p.sw], padding: [p.ph, p.pw], dilation: [p.dh, p.dw], groups: p.groups });
}

function convParams(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions): Conv2dParams {
  const [sh, sw] = pair(opts.stride ?? 1), [ph, pw] = pair(opts.padding ?? 0), [dh, dw] = pair(opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  if (x.rank !== 4) throw shapeError('conv2d', 'input must be [n, c, h, w]', x.shape);
  if (w.rank !== 4) throw shapeError('conv2d', 'weight must be [out, in/groups, kh, kw]', w.shape);
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [oc, cg, kh, kw] = w.shape as [number, number, number, number];
  if (c % groups !== 0 || oc % groups !== 0) throw shapeError('conv2d', `channels are not divisible by groups=${groups}`, x.shape, w.shape);
  if (cg * groups !== c) throw shapeError('conv2d', `input has ${c} channels but weight expects ${cg * groups}`, x.shape, w.shape);
  if (b && (b.rank !== 1 || b.shape[0] !== oc)) throw shapeError('conv2d', 'bias does not match weight', b.shape, w.shape);
  if ([sh, sw, dh, dw].some((v) => v < 1) || ph < 0 || pw < 0) throw new Error('conv2d: stride and dilation must be ≥ 1 and padding ≥ 0');
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (oh < 1 || ow < 1) throw spatialSizeError('conv2d', 'kernel is larger than the padded input', x.shape, w.shape);
  return { n, c, h, w: wd, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow };
}
