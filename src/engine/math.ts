/** Scalar special functions shared by the reference kernels and the initialisers. */

/**
 * The error function to double precision: a Maclaurin series near zero, and a continued fraction for erfc in
 * the tails, where the series would lose digits to cancellation.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated from the tail.
  let frac = ax;
  for (let k = 60; k >= 1; k--) frac = ax + k / 2 / frac;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / frac;
  return Math.sign(x) * (1 - erfc);
}
