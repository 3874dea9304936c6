/** Reshape (a view), permute, concat, split, slice and zero padding. */
import { record } from '../autograd.js';
import { Tensor, contiguousStrides, fmtShape, shapeSize, viewAs, type Shape } from '../tensor.js';
import { axisIndex, backendOf, output, shapeError } from './util.js';

/** A view with a new shape; one dimension may be −1 and is inferred. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  backendOf('reshape', x);
  const dims = [...shape];
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) {
    const known = dims.reduce((n, d, i) => (i === inferred ? n : n * d), 1);
    if (known === 0 || x.size % known !== 0) throw shapeError('reshape', 'cannot reshape', x.shape, shape);
    dims[inferred] = x.size / known;
  }
  if (shapeSize(dims) !== x.size) throw shapeError('reshape', 'cannot reshape', x.shape, shape);
  const inShape = x.shape;
  return record('reshape', [x], viewAs(x, dims), [], (g) => [viewAs(g, inShape)], { shape: dims });
}

/** Flattens axes from `startAxis` on into one, like torch.flatten(x, 1). */
export function flatten(x: Tensor, startAxis = 1): Tensor {
  const a = axisIndex('flatten', startAxis, x.rank);
  return reshape(x, [...x.shape.slice(0, a), x.shape.slice(a).reduce((n, d) => n * d, 1)]);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  backendOf('permute', x);
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the axes of ${fmtShape(x.shape)}`);
  }
  const y = permuteRaw(x, perm);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => { inverse[p] = i; });
  return record('permute', [x], y, [], (g) => [permuteRaw(g, inverse)], { perm: [...perm] });
}

function permuteRaw(x: Tensor, perm: readonly number[]): Tensor {
  const inStrides = contiguousStrides(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const y = output(x.backend, shape);
  x.backend.copy(x.at, perm.map((p) => inStrides[p]!), y.at, contiguousStrides(shape), shape);
  return y;
}

export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = axisIndex('transpose', axis0, x.rank), b = axisIndex('transpose', axis1, x.rank);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b; perm[b] = a;
  return permute(x, perm);
}

/** Copies `src` into the block of `dst` that starts at `offset` along `axis`. */
function copyBlock(src: Tensor, dst: Tensor, axis: number, offset: number): void {
  const dstStrides = contiguousStrides(dst.shape);
  src.backend.copy(src.at, contiguousStrides(src.shape), dst.at + offset * dstStrides[axis]!, dstStrides, src.shape);
}

export function concat(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: no tensors given');
  const backend = backendOf('concat', ...tensors);
  const first = tensors[0]!;
  const a = axisIndex('concat', axis, first.rank);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw shapeError('concat', `shapes differ outside axis ${a}`, first.shape, t.shape);
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((n, t) => n + t.shape[a]!, 0);
  const y = output(backend, shape);
  let offset = 0;
  for (const t of tensors) {
    copyBlock(t, y, a, offset);
    offset += t.shape[a]!;
  }
  const sizes = tensors.map((t) => t.shape[a]!);
  return record('concat', tensors, y, [], (g) => {
    let at = 0;
    return sizes.map((n) => { const piece = sliceRaw(g, a, at, n); at += n; return piece; });
  }, { axis: a });
}

/** Splits x along `axis` into pieces of the given sizes (or `sizes` equal pieces when a number). */
export function split(x: Tensor, sizes: number | number[], axis = 0): Tensor[] {
  const a = axisIndex('split', axis, x.rank);
  const dim = x.shape[a]!;
  const list = typeof sizes === 'number' ? new Array<number>(sizes).fill(dim / sizes) : sizes;
  if (list.some((n) => !Number.isInteger(n) || n < 0) || list.reduce((s, n) => s + n, 0) !== dim) {
    throw new Error(`split: sizes [${list.join(', ')}] do not add up to ${dim}, the size of axis ${a} of ${fmtShape(x.shape)}`);
  }
  let at = 0;
  return list.map((n) => { const piece = slice(x, a, at, n); at += n; return piece; });
}

/** x[..., start:start+length, ...] along `axis`. */
export function slice(x: Tensor, axis: number, start: number, length: number): Tensor {
  backendOf('slice', x);
  const a = axisIndex('slice', axis, x.rank);
  if (start < 0 || length < 0 || start + length > x.shape[a]!) {
    throw new Error(`slice: [${start}, ${start + length}) is out of range for axis ${a} of ${fmtShape(x.shape)}`);
  }
  const y = sliceRaw(x, a, start, length);
  const inShape = x.shape;
  return record('slice', [x], y, [], (g) => {
    const dx = output(g.backend, inShape);
    g.backend.fill(dx.at, dx.size, 0);
    copyBlock(g, dx, a, start);
    return [dx];
  }, { axis: a, start, length });
}

function sliceRaw(x: Tensor, axis: number, start: number, length: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = length;
  const y = output(x.backend, shape);
  const strides = contiguousStrides(x.shape);
  x.backend.copy(x.at + start * strides[axis]!, strides, y.at, contiguousStrides(shape), shape);
  return y;
}

/** Zero padding: `pads[i] = [before, after]` for axis i (missing leading axes are not padded). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
  backendOf('pad', x);
  if (pads.length > x.rank) throw new Error(`pad: ${pads.length} pad pairs for a tensor of rank ${x.rank}`);
  const full = [...new Array<[number, number]>(x.rank - pads.length).fill([0, 0]), ...pads];
  if (full.some(([b, e]) => b < 0 || e < 0)) throw new Error('pad: negative padding');
  const shape = x.shape.map((d, i) => d + full[i]![0] + full[i]![1]);
  const y = output(x.backend, shape);
  x.backend.fill(y.at, y.size, 0);
  const strides = contiguousStrides(shape);
  const origin = full.reduce((o, [b], i) => o + b * strides[i]!, 0);
  x.backend.copy(x.at, contiguousStrides(x.shape), y.at + origin, strides, x.shape);
  const inShape = x.shape;
  return record('pad', [x], y, [], (g) => {
    const dx = output(g.backend, inShape);
    g.backend.copy(g.at + origin, strides, dx.at, contiguousStrides(inShape), inShape);
    return [dx];
  }, { before: full.map(([b]) => b), after: full.map(([, e]) => e) });
}
