/** Softmax and log-softmax along an axis (the last one by default). */
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { permute } from './shape.js';
import { assertFloat, axisIndex, backendOf, output } from './util.js';

function softmaxLastAxis(x: Tensor, log: boolean): Tensor {
  const backend = backendOf(log ? 'logSoftmax' : 'softmax', x);
  assertFloat('softmax', x);
  const cols = x.shape[x.rank - 1]!, rows = x.size / cols;
  const y = output(backend, x.shape);
  backend.softmax(x.at, y.at, rows, cols, log);
  return record(log ? 'logSoftmax' : 'softmax', [x], y, [y], (g, [sy]) => {
    const dx = output(backend, x.shape);
    backend.softmaxBackward(sy!.at, g.at, dx.at, rows, cols, log);
    return [dx];
  });
}

function alongAxis(x: Tensor, axis: number, log: boolean): Tensor {
  const a = axisIndex('softmax', axis, x.rank);
  if (a === x.rank - 1) return softmaxLastAxis(x, log);
  const perm = x.shape.map((_, i) => i);
  perm[a] = x.rank - 1; perm[x.rank - 1] = a;
  return permute(softmaxLastAxis(permute(x, perm), log), perm);
}

export const softmax = (x: Tensor, axis = -1): Tensor => alongAxis(x, axis, false);
export const logSoftmax = (x: Tensor, axis = -1): Tensor => alongAxis(x, axis, true);
