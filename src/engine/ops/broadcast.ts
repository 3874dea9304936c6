/** Broadcasting rules (NumPy's) and the axis bookkeeping shared by binary ops, sums and expand. */
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

/**
 * Merges neighbouring axes that every operand walks contiguously, so kernels see the smallest rank
 * (a same-shape add becomes one flat loop; a bias add becomes [n, c, hw] with strides [0, 1, 0]).
 */
export function collapseAxes(shape: Shape, strideSets: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strideSets.every((s, k) => outStrides[k]![last] === s[d]! * shape[d]!);
    if (mergeable) {
      outShape[last]! *= shape[d]!;
      strideSets.forEach((s, k) => { outStrides[k]![last] = s[d]!; });
    } else {
      outShape.push(shape[d]!);
      strideSets.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strideSets.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
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
