/** Broadcasting rules (NumPy's) and the axis bookkeeping shared by binary ops, sums and expand (axis collapsing: ../shape-utils.ts). */
import { fmtShape, type Shape } from '../tensor.js';

export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides of a contiguous `shape` read as the larger `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = outShape.length - shape.length + i;
    strides[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

/** The axes of `outShape` over which a tensor of `shape` was broadcast. */
export function broadcastAxes(shape: Shape, outShape: Shape): number[] {
  const axes: number[] = [];
  for (let o = 0; o < outShape.length; o++) {
    const i = o - (outShape.length - shape.length);
    if ((i < 0 || shape[i] === 1) && outShape[o] !== 1) axes.push(o);
  }
  return axes;
}
