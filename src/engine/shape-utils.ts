/**
 * Shape arithmetic shared by the ops and the backends (it needs no tensor): contiguous strides, and collapsing a
 * strided iteration to the fewest axes. The ops collapse before they call a kernel (Backend.binary's contract);
 * the WASM backend collapses the copies it is handed.
 */

/** Element strides of a dense row-major `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) { strides[d] = acc; acc *= shape[d]!; }
  return strides;
}

/**
 * Drops unit axes and merges neighbouring axes that every operand walks contiguously (stride[d] =
 * stride[d+1]·shape[d+1] in each), so kernels see the smallest rank: a same-shape add becomes one flat loop, a
 * bias add becomes [n, c, hw] with strides [0, 1, 0].
 */
export function collapseAxes(shape: readonly number[], strideSets: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strideSets.every((s, k) => outStrides[k]![last] === s[d]! * n)) {
      outShape[last]! *= n;
      strideSets.forEach((s, k) => { outStrides[k]![last] = s[d]!; });
    } else {
      outShape.push(n);
      strideSets.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strideSets.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
}
