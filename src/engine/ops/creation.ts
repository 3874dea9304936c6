/** Tensors from data, constants and seeded random distributions. */
import { getBackend } from '../engine.js';
import { rng, type Rng } from '../random.js';
import { Tensor, empty, shapeSize, type Shape } from '../tensor.js';
import type { Backend } from '../backend.js';

export interface CreateOptions {
  backend?: Backend;
  requiresGrad?: boolean;
}

export function tensor(data: ArrayLike<number>, shape?: Shape, opts: CreateOptions = {}): Tensor {
  const dims = shape ?? [data.length];
  if (shapeSize(dims) !== data.length) {
    throw new Error(`tensor: ${data.length} values do not fill shape [${dims.join(', ')}] (${shapeSize(dims)} elements)`);
  }
  const t = empty(opts.backend ?? getBackend(), dims);
  t.backend.heap.f.set(data, t.at);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/** An int32 tensor (class labels, indices). */
export function intTensor(data: ArrayLike<number>, shape?: Shape, opts: CreateOptions = {}): Tensor {
  const dims = shape ?? [data.length];
  if (shapeSize(dims) !== data.length) throw new Error(`intTensor: ${data.length} values do not fill shape [${dims.join(', ')}]`);
  const t = empty(opts.backend ?? getBackend(), dims, 'int32');
  t.backend.heap.i.set(data, t.at);
  return t;
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  const t = empty(opts.backend ?? getBackend(), shape);
  t.backend.fill(t.at, t.size, value);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

export const zeros = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 1, opts);

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { backend: t.backend });
}

export function fromGenerator(shape: Shape, sample: () => number, opts: CreateOptions = {}): Tensor {
  const data = new Float32Array(shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = sample();
  return tensor(data, shape, opts);
}

export function randUniform(shape: Shape, low = 0, high = 1, opts: CreateOptions & { rng?: Rng } = {}): Tensor {
  const g = opts.rng ?? rng();
  return fromGenerator(shape, () => g.uniform(low, high), opts);
}

export function randNormal(shape: Shape, mean = 0, std = 1, opts: CreateOptions & { rng?: Rng } = {}): Tensor {
  const g = opts.rng ?? rng();
  return fromGenerator(shape, () => mean + std * g.normal(), opts);
}
