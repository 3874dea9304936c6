/**
 * Eigen-decomposition of a small real symmetric matrix by cyclic Jacobi rotations, in float64. Meant for matrices
 * of a few dozen rows (airbench94's 12×12 patch covariance); the cost is O(n³) per sweep and a handful of sweeps.
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Row i of this n×n row-major matrix is the unit eigenvector of values[i]. */
  vectors: Float64Array;
}

/** `a` is n×n row-major and must be symmetric (to 1e-9 relative); it is not modified. */
export function symmetricEigen(a: ArrayLike<number>, n: number, maxSweeps = 60): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const m = Float64Array.from(a);
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(m[i]!));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(m[i * n + j]! - m[j * n + i]!) > 1e-9 * Math.max(scale, 1e-300)) {
        throw new Error(`symmetricEigen: matrix is not symmetric at (${i}, ${j}): ${m[i * n + j]} vs ${m[j * n + i]}`);
      }
    }
  }
  // v holds the eigenvectors as columns while rotating.
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
    if (off <= (1e-30 * scale) ** 2 || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        // The rotation angle that zeroes m[p][q] (Golub & Van Loan, algorithm 8.4.1), in its stable form.
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) { // columns p and q
          const mkp = m[k * n + p]!, mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) { // rows p and q
          const mpk = m[p * n + k]!, mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j]! - m[i * n + i]!);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    values[row] = m[col * n + col]!;
    for (let k = 0; k < n; k++) vectors[row * n + k] = v[k * n + col]!;
  });
  return { values, vectors };
}
