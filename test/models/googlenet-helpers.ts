/**
 * GoogLeNet's parity weights, computed rather than stored: the same formula as scripts/fixtures/zoo_googlenet.py
 * (unit_hash and formula_state), over the state dict in torch's order.
 */
import type { Module } from '../../src/nn/index.js';

/** A value in [−1, 1] (a multiple of 1/1000) from a 32-bit hash of (tensor index, element index). */
export function formulaValue(tensorIndex: number, element: number): number {
  let x = (Math.imul(element, 0x9e3779b1) + Math.imul(tensorIndex, 0x85ebca77) + 1) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x2c1b3c6d) >>> 0;
  x = (x ^ (x >>> 12)) >>> 0;
  return ((x % 2001) - 1000) / 1000;
}

/** The fixture's weights for `model`: He-scaled conv/linear weights, batch norm with non-trivial running statistics. */
export function formulaStateDict(model: Module): Map<string, Float32Array | Int32Array> {
  const out = new Map<string, Float32Array | Int32Array>();
  [...model.namedState()].forEach(([name, t], index) => {
    if (t.dtype === 'int32') {
      out.set(name, Int32Array.of(index + 1)); // num_batches_tracked
      return;
    }
    const values = new Float32Array(t.size);
    const fanIn = t.size / (t.shape[0] ?? 1);
    for (let i = 0; i < t.size; i++) {
      const h = formulaValue(index, i);
      if (name.endsWith('running_var')) values[i] = 1 + 0.5 * h;
      else if (name.endsWith('running_mean')) values[i] = 0.2 * h;
      else if (name.endsWith('bias')) values[i] = 0.1 * h;
      else if (t.rank >= 2) values[i] = h * Math.sqrt(6 / fanIn);
      else values[i] = 1 + 0.2 * h;
    }
    out.set(name, values);
  });
  return out;
}
