/**
 * Row-wise argmax, the one implementation behind `Tensor.argmaxRows` (engine) and `argmaxRows` (metrics):
 * both must break ties the same way, or training accuracy and the test report would disagree.
 */

/**
 * The column of the largest value in each of `rows` rows of a row-major `rows` × `columns` matrix that starts
 * at `offset` in `values`. Ties go to the lowest column; a NaN never wins (comparisons with it are false).
 */
export function argmaxOfRows(values: ArrayLike<number>, rows: number, columns: number, offset = 0): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const start = offset + i * columns;
    let best = 0;
    let bestValue = values[start] ?? Number.NaN;
    for (let c = 1; c < columns; c++) {
      const v = values[start + c] ?? Number.NaN;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}
