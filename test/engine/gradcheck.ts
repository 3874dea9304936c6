/**
 * Float64 central-difference gradient checking. The op under test runs on a float64 reference heap; the
 * scalar probed is Σ op(inputs) ⊙ R for a fixed random R, so every output element's gradient is exercised.
 */
import { Heap, ReferenceBackend, Rng, Tensor, backward, noGrad, tidy, withBackend, tensor, mul, sum } from '../../src/engine/index.js';

export const float64 = new ReferenceBackend(new Heap({ floatBytes: 8, shared: false }));

export interface GradCase {
  name: string;
  /** Shapes of the float inputs, all of which get gradients unless listed in `constant`. */
  shapes: number[][];
  fn: (...xs: Tensor[]) => Tensor;
  /** Inputs that get no gradient (e.g. running statistics). */
  constant?: number[];
  /** Custom input values, e.g. positive numbers for log and sqrt. */
  sample?: (rng: Rng, index: number) => number;
}

export interface GradResult { maxError: number; worst: string }

export function gradcheck(c: GradCase, seed = 1, h = 1e-6): GradResult {
  return withBackend(float64, () => tidy(() => {
    const rng = new Rng(seed);
    const inputs = c.shapes.map((shape, k) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: n }, () => (c.sample ? c.sample(rng, k) : rng.normal()));
      return tensor(data, shape, { requiresGrad: !(c.constant ?? []).includes(k) });
    });
    const probe = c.fn(...inputs);
    const r = tensor(Array.from({ length: probe.size }, () => rng.normal()), probe.shape);
    const objective = (): Tensor => sum(mul(c.fn(...inputs), r));
    backward(sum(mul(probe, r)));
    const f = float64.heap.f;
    let maxError = 0, worst = '';
    inputs.forEach((x, k) => {
      if (!x.requiresGrad) return;
      const analytic = x.grad!.toArray();
      for (let i = 0; i < x.size; i++) {
        const saved = f[x.at + i]!;
        f[x.at + i] = saved + h;
        const plus = noGrad(() => tidy(() => objective().item()));
        f[x.at + i] = saved - h;
        const minus = noGrad(() => tidy(() => objective().item()));
        f[x.at + i] = saved;
        const numeric = (plus - minus) / (2 * h);
        const err = Math.abs(numeric - analytic[i]!) / Math.max(1, Math.abs(numeric));
        if (err > maxError) { maxError = err; worst = `input ${k} element ${i}: analytic ${analytic[i]} numeric ${numeric}`; }
      }
    });
    for (const x of inputs) x.grad?.dispose();
    return { maxError, worst };
  }));
}
