/**
 * Tensors: a shape, a dtype and a reference-counted block of the backend's heap. Views made by reshape share
 * the block; everything else allocates. Every tensor is disposed deterministically, either by `dispose()` or
 * by the `tidy` scope it was created in, so a training step leaks nothing.
 *
 * Code above the engine touches tensor data only through the methods here (`copyFrom`, `readInto`, `fill`,
 * `toArray`, `argmaxRows`), never through the heap, so the heap's layout stays the engine's business.
 */
import type { Backend } from './backend.js';
import type { FloatArray } from './heap.js';
import { trackTensor } from './scope.js';
import type { GradNode } from './autograd.js';
import { argmaxOfRows } from '../util/argmax.js';
export { contiguousStrides } from './shape-utils.js';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];

/** A block of heap memory shared by a tensor and its reshaped views. */
export class Storage {
  refs = 1;
  constructor(readonly backend: Backend, readonly byteAddress: number, readonly bytes: number) {}

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs === 0) this.backend.heap.free(this.byteAddress);
  }
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The op that made this tensor, while its graph is alive. */
  node: GradNode | null = null;
  /** Parameters, gradients and optimiser state outlive every scope. */
  kept = false;
  private disposedFlag = false;

  constructor(readonly storage: Storage, readonly shape: Shape, readonly dtype: DType = 'float32') {
    this.size = shapeSize(shape);
    trackTensor(this);
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposedFlag;
  }

  /** Element index of the first element in the heap's typed view for this dtype. */
  get at(): number {
    this.assertAlive();
    const bytes = this.dtype === 'int32' ? 4 : this.backend.heap.floatBytes;
    return this.storage.byteAddress / bytes;
  }

  assertAlive(op = 'use'): void {
    if (this.disposedFlag) throw new Error(`${op}: tensor #${this.id} [${this.shape.join(', ')}] was disposed`);
  }

  /** A copy of the data as a plain typed array. */
  toArray(): Float32Array | Float64Array | Int32Array {
    return this.heapView().slice(this.at, this.at + this.size);
  }

  /**
   * Copies `source` (exactly `size` values, row-major) into this tensor. An int32 tensor takes an Int32Array
   * or integers: float data would be truncated silently, so it is refused.
   */
  copyFrom(source: ArrayLike<number>): this {
    this.assertAlive('copyFrom');
    this.assertLength('copyFrom', 'source', source.length);
    if (this.dtype === 'int32') {
      if (source instanceof Float32Array || source instanceof Float64Array) {
        throw new Error(`copyFrom: ${this.describe()} cannot take ${source.constructor.name} data; pass an Int32Array or integers`);
      }
      if (!(source instanceof Int32Array)) {
        for (let i = 0; i < source.length; i++) {
          const v = source[i] ?? Number.NaN;
          if ((v | 0) !== v) throw new Error(`copyFrom: ${this.describe()} got ${v} at index ${i}; expected a 32-bit integer`);
        }
      }
    }
    this.heapView().set(source, this.at);
    return this;
  }

  /** Copies this tensor's data into `target`, which must hold exactly `size` values; returns `target`. */
  readInto<T extends Float32Array | Float64Array | Int32Array>(target: T): T {
    this.assertAlive('readInto');
    this.assertLength('readInto', 'target', target.length);
    if (this.dtype !== 'int32' && target instanceof Int32Array) {
      throw new Error(`readInto: ${this.describe()} cannot be read into an Int32Array; pass a Float32Array or Float64Array`);
    }
    target.set(this.heapView().subarray(this.at, this.at + this.size));
    return target;
  }

  /** Sets every element to `value` (an integer for int32 tensors). */
  fill(value: number): this {
    this.assertAlive('fill');
    if (this.dtype === 'int32') {
      if ((value | 0) !== value) throw new Error(`fill: ${this.describe()} needs a 32-bit integer, got ${value}`);
      this.heapView().fill(value, this.at, this.at + this.size);
    } else {
      this.backend.fill(this.at, this.size, value);
    }
    return this;
  }

  /** For a 2-D [rows, columns] tensor, the column of each row's largest value (ties → the lowest column). */
  argmaxRows(): Int32Array {
    this.assertAlive('argmaxRows');
    const [rows, columns] = this.shape;
    if (this.rank !== 2 || rows === undefined || columns === undefined) {
      throw new Error(`argmaxRows: expected a 2-D tensor [rows, columns], got ${fmtShape(this.shape)}`);
    }
    if (columns === 0 && rows > 0) throw new Error(`argmaxRows: ${this.describe()} has no columns to choose from`);
    return argmaxOfRows(this.heapView(), rows, columns, this.at);
  }

  /** A copy as float32, whatever the heap's precision. */
  toFloat32(): Float32Array {
    const data = this.toArray();
    return data instanceof Float32Array ? data : Float32Array.from(data);
  }

  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements [${this.shape.join(', ')}], not 1`);
    return this.toArray()[0]!;
  }

  /** Releases the heap block (when no view still shares it) and the graph node this tensor carries. */
  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.node?.release();
    this.node = null;
    this.grad?.dispose();
    this.grad = null;
    this.storage.release();
  }

  /** Marks this tensor to survive the enclosing `tidy` scopes. */
  keep(): this {
    this.kept = true;
    return this;
  }

  toString(): string {
    return `Tensor(${this.dtype} [${this.shape.join(', ')}])`;
  }

  /** The heap's typed view for this dtype; re-read it after any allocation, which may grow the heap. */
  private heapView(): FloatArray | Int32Array {
    const heap = this.backend.heap;
    return this.dtype === 'int32' ? heap.i : heap.f;
  }

  private describe(): string {
    return `${this.dtype} tensor #${this.id} ${fmtShape(this.shape)}`;
  }

  private assertLength(op: string, what: string, length: number): void {
    if (length !== this.size) throw new Error(`${op}: ${this.describe()} has ${this.size} elements, ${what} has ${length}`);
  }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Drops the gradients of `params`: the one implementation behind `Module.zeroGrad` and `Optimizer.zeroGrad`. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

/** An uninitialised tensor on `backend`. */
export function empty(backend: Backend, shape: Shape, dtype: DType = 'float32'): Tensor {
  const elementBytes = dtype === 'int32' ? 4 : backend.heap.floatBytes;
  const bytes = shapeSize(shape) * elementBytes;
  return new Tensor(new Storage(backend, backend.heap.alloc(bytes), bytes), [...shape], dtype);
}

/** A view with a new shape over the same storage. */
export function viewAs(t: Tensor, shape: Shape): Tensor {
  t.assertAlive('reshape');
  t.storage.retain();
  return new Tensor(t.storage, [...shape], t.dtype);
}

