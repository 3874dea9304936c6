import type { Backend } from '../backend.js';
import { Tensor, empty, fmtShape, type Shape, type DType } from '../tensor.js';

/** Checks that every input is alive, float32 where required, and on one backend; returns that backend. */
export function backendOf(op: string, ...inputs: Tensor[]): Backend {
  const backend = inputs[0]!.backend;
  for (const t of inputs) {
    t.assertAlive(op);
    if (t.backend !== backend) throw new Error(`${op}: inputs live on different backends`);
  }
  return backend;
}

export function output(backend: Backend, shape: Shape, dtype: DType = 'float32'): Tensor {
  return empty(backend, shape, dtype);
}

export function assertFloat(op: string, ...inputs: Tensor[]): void {
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype} ${fmtShape(t.shape)}`);
}

export function shapeError(op: string, message: string, ...shapes: Shape[]): Error {
  return new Error(`${op}: ${message}: ${shapes.map(fmtShape).join(' and ')}`);
}

/** A convolution or pooling whose output would have no rows or columns: the input is too small for it. */
export class SpatialSizeError extends Error {
  override name = 'SpatialSizeError';
}

export function spatialSizeError(op: string, message: string, ...shapes: Shape[]): SpatialSizeError {
  return new SpatialSizeError(shapeError(op, message, ...shapes).message);
}

/** Normalises a possibly negative axis. */
export function axisIndex(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function pair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}
