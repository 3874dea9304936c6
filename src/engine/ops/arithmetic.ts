/** Broadcasting add, sub, mul and div. Gradients are summed back to each input's shape. */
import type { BinaryOp } from '../backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { broadcastShapes, broadcastStrides } from './broadcast.js';
import { collapseAxes } from '../shape-utils.js';
import { sumTo } from './reduce.js';
import { assertFloat, backendOf, output } from './util.js';
import type { Shape } from '../tensor.js';

/** Runs a broadcasting kernel without recording a graph. */
export function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const backend = backendOf(op, a, b);
  assertFloat(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = output(backend, shape);
  const c = collapseAxes(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  backend.binary(op, a.at, c.strides[0]!, b.at, c.strides[1]!, out.at, c.shape);
  return out;
}

function gradFor(input: Tensor, g: Tensor, shape: Shape): Tensor | null {
  if (!input.requiresGrad) return null;
  return sumTo(g, shape);
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('add', a, b);
  const [as, bs] = [a.shape, b.shape];
  return record('add', [a, b], out, [], (g) => [gradFor(a, g, as), gradFor(b, g, bs)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('sub', a, b);
  const [as, bs] = [a.shape, b.shape];
  return record('sub', [a, b], out, [], (g) => {
    let db: Tensor | null = null;
    if (b.requiresGrad) {
      const s = sumTo(g, bs);
      db = output(s.backend, bs);
      s.backend.unary('neg', s.at, db.at, s.size, 0);
      s.dispose();
    }
    return [gradFor(a, g, as), db];
  });
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('mul', a, b);
  return record('mul', [a, b], out, [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? productGrad(g, sb!, sa!.shape) : null,
    b.requiresGrad ? productGrad(g, sa!, sb!.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('div', a, b);
  return record('div', [a, b], out, [a, b, out], (g, [sa, sb, sy]) => {
    let da: Tensor | null = null, db: Tensor | null = null;
    if (a.requiresGrad) {
      const q = binaryRaw('div', g, sb!);
      da = sumTo(q, sa!.shape);
      q.dispose();
    }
    if (b.requiresGrad) {
      // d(a/b)/db = −(a/b)/b = −y/b
      const t = binaryRaw('mul', g, sy!);
      const q = binaryRaw('div', t, sb!);
      const s = sumTo(q, sb!.shape);
      db = output(s.backend, s.shape);
      s.backend.unary('neg', s.at, db.at, s.size, 0);
      for (const x of [t, q, s]) x.dispose();
    }
    return [da, db];
  });
}

function productGrad(g: Tensor, other: Tensor, shape: Shape): Tensor {
  const p = binaryRaw('mul', g, other);
  const r = sumTo(p, shape);
  p.dispose();
  return r;
}
