/** The Jacobi eigen-decomposition behind airbench94's whitening init: known spectra, reconstruction, bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricEigen } from '../../src/engine/index.js';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('symmetricEigen: a known 3×3 matrix, eigenvalues largest first, unit eigenvectors', { timeout: 10_000 }, () => {
  // [[2, 1, 0], [1, 2, 0], [0, 0, 5]] has eigenvalues 5, 3, 1 with vectors e3, (1, 1, 0)/√2, (1, −1, 0)/√2.
  const { values, vectors } = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
  [5, 3, 1].forEach((v, i) => close(values[i]!, v, 1e-12, `λ${i}`));
  const expected = [[0, 0, 1], [Math.SQRT1_2, Math.SQRT1_2, 0], [Math.SQRT1_2, -Math.SQRT1_2, 0]];
  expected.forEach((e, i) => {
    const sign = Math.sign(vectors[i * 3 + e.findIndex((x) => x !== 0)]!); // eigenvectors are defined up to sign
    e.forEach((x, k) => close(sign * vectors[i * 3 + k]!, x, 1e-12, `v${i}[${k}]`));
  });
});

test('symmetricEigen: a random 12×12 covariance is rebuilt as V diag(λ) Vᵀ with orthonormal V', { timeout: 10_000 }, () => {
  const n = 12, rows = 40;
  let s = 7;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32 - 0.5; };
  const data = Array.from({ length: rows * n }, rand);
  const a = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[i * n + j]! + data[r * n + i]! * data[r * n + j]! / rows;
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 1; i < n; i++) assert.ok(values[i - 1]! >= values[i]!, 'sorted largest first');
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let rebuilt = 0, dot = 0;
      for (let k = 0; k < n; k++) {
        rebuilt += vectors[k * n + i]! * values[k]! * vectors[k * n + j]!;
        dot += vectors[i * n + k]! * vectors[j * n + k]!;
      }
      close(rebuilt, a[i * n + j]!, 1e-12, `A[${i}][${j}]`);
      close(dot, i === j ? 1 : 0, 1e-12, `VVᵀ[${i}][${j}]`);
    }
  }
});

test('symmetricEigen: refuses a non-symmetric matrix and a wrong size, naming them', { timeout: 10_000 }, () => {
  assert.throws(() => symmetricEigen([1, 2, 3, 4], 2), { message: 'symmetricEigen: matrix is not symmetric at (0, 1): 2 vs 3' });
  assert.throws(() => symmetricEigen([1, 2, 3], 2), { message: 'symmetricEigen: expected 2×2 = 4 values, got 3' });
});
