/**
 * Torch storages and the tensors that view them. A storage is one record of the zip (`archive/data/KEY`), read
 * once; a tensor is (storage, offset, size, stride). Contiguous float32 tensors are views of their storage's
 * buffer (no copy); anything else (other dtypes, strided views) is gathered into a fresh contiguous array.
 */
import { DataFormatError } from '../../data/index.js';
import { halfToFloat, halvesToFloat32 } from '../../train/safetensors-format.js';

export type PthDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** torch's storage classes (the global a persistent id names) → dtype and bytes per element. */
export const STORAGE_CLASSES: ReadonlyMap<string, { dtype: PthDtype; itemSize: number }> = new Map([
  ['FloatStorage', { dtype: 'float32', itemSize: 4 }],
  ['HalfStorage', { dtype: 'float16', itemSize: 2 }],
  ['BFloat16Storage', { dtype: 'bfloat16', itemSize: 2 }],
  ['DoubleStorage', { dtype: 'float64', itemSize: 8 }],
  ['LongStorage', { dtype: 'int64', itemSize: 8 }],
  ['IntStorage', { dtype: 'int32', itemSize: 4 }],
  ['ShortStorage', { dtype: 'int16', itemSize: 2 }],
  ['CharStorage', { dtype: 'int8', itemSize: 1 }],
  ['ByteStorage', { dtype: 'uint8', itemSize: 1 }],
  ['BoolStorage', { dtype: 'bool', itemSize: 1 }],
] as const);

/** The most elements one tensor may have: the largest typed array length on every supported Node. */
const MAX_ELEMENTS = 2 ** 31 - 1;

export const isFloatDtype = (d: PthDtype): boolean => d.startsWith('float') || d === 'bfloat16';

/** A persistent id `('storage', torch.FloatStorage, key, location, numel)`, before its bytes are read. */
export interface StorageRef { key: string; className: string; dtype: PthDtype; itemSize: number; numel: number }

/** What `_rebuild_tensor_v2(storage, offset, size, stride, …)` describes. */
export interface TensorRef { storage: StorageRef; offset: number; shape: number[]; stride: number[] }

export const isTensorRef = (v: unknown): v is TensorRef => typeof v === 'object' && v !== null && 'storage' in v && 'stride' in v;

/** A storage's bytes in a buffer of their own (offset 0, so every typed view is aligned). */
export type StorageBytes = Uint8Array;

/** The tensor's elements as float32 (float dtypes) or int32 (integer dtypes), contiguous in row-major order. */
export function materialise(t: TensorRef, bytes: StorageBytes, file: string, name: string): Float32Array | Int32Array {
  const { storage, offset, shape, stride } = t;
  const fail = (problem: string): never => { throw new DataFormatError(file, `${file}: tensor ${name}: ${problem}`); };
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel > MAX_ELEMENTS) fail(`${numel} elements, more than a typed array holds (${MAX_ELEMENTS})`);
  if (numel === 0) return isFloatDtype(storage.dtype) ? new Float32Array(0) : new Int32Array(0);
  // The highest element the view touches must lie inside the storage.
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    if (stride[d]! < 0) fail(`negative stride ${stride[d]}`);
    last += (shape[d]! - 1) * stride[d]!;
  }
  const have = Math.floor(bytes.length / storage.itemSize);
  if (last >= have) fail(`storage ${storage.key} is too short (${have} ${storage.dtype} elements, the tensor reaches element ${last})`);
  const contiguous = isContiguous(shape, stride);
  const buffer = bytes.buffer;
  switch (storage.dtype) {
    case 'float32': {
      const all = new Float32Array(buffer, 0, have);
      return contiguous ? all.subarray(offset, offset + numel) : gather(all, t, new Float32Array(numel));
    }
    case 'int32': {
      const all = new Int32Array(buffer, 0, have);
      return contiguous ? all.subarray(offset, offset + numel) : gather(all, t, new Int32Array(numel));
    }
    case 'float64': return gather(new Float64Array(buffer, 0, have), t, new Float32Array(numel));
    case 'float16': {
      const all = new Uint16Array(buffer, 0, have);
      return contiguous ? halvesToFloat32(all.subarray(offset, offset + numel)) : gather(all, t, new Float32Array(numel), halfToFloat);
    }
    case 'bfloat16': {
      const f32 = new Float32Array(1), bits = new Uint32Array(f32.buffer);
      return gather(new Uint16Array(buffer, 0, have), t, new Float32Array(numel), (h) => { bits[0] = h << 16; return f32[0]!; });
    }
    case 'int64': {
      const out = gather(new BigInt64Array(buffer, 0, have), t, new BigInt64Array(numel));
      const narrow = new Int32Array(numel);
      for (let i = 0; i < numel; i++) {
        const v = out[i]!;
        if (v > 2147483647n || v < -2147483648n) fail(`int64 value ${v} at index ${i} does not fit in 32 bits`);
        narrow[i] = Number(v);
      }
      return narrow;
    }
    case 'int16': return gather(new Int16Array(buffer, 0, have), t, new Int32Array(numel));
    case 'int8': return gather(new Int8Array(buffer, 0, have), t, new Int32Array(numel));
    case 'uint8': case 'bool': return gather(new Uint8Array(buffer, 0, have), t, new Int32Array(numel));
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

interface Indexed<T> { readonly length: number; [i: number]: T }

/** Copies the strided view into `out` in row-major order, converting each element with `convert`. */
function gather<S, T, O extends Indexed<T>>(src: Indexed<S>, t: TensorRef, out: O, convert?: (v: S) => T): O {
  const { shape, stride, offset } = t;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  const cv = convert ?? ((v: S) => v as unknown as T);
  for (let i = 0; i < out.length; i++) {
    out[i] = cv(src[at]!);
    // Odometer increment over the dimensions, innermost first.
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) { at += stride[d]!; break; }
      at -= (shape[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}
