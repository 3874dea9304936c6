/**
 * The deterministic weights of scripts/fixtures/zoo_mobilenet.py, bit for bit: every value is a float32 computed
 * from (tensor index in state-dict order, element index) by an integer hash, so the parity fixture needs only
 * the logits. Keep the two in step.
 */
import * as E from '../../src/engine/index.js';
import type { Module } from '../../src/nn/index.js';

/** The Python fixture script's `unit`: 24 hashed bits as a float in [0, 1). */
export function unit(t: number, i: number): number {
  let h = (Math.imul(t + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  h = Math.imul(h, 0x297a2d39) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return (h >>> 8) / 16777216;
}

/** The Python `formula_value`, in float64 like Python, rounded to float32 when stored. */
function formulaValue(key: string, shape: readonly number[], t: number, i: number): number {
  const u = unit(t, i);
  if (key === 'input') return 2 * u - 1;
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  if (leaf === 'weight' && shape.length >= 2) return (2 * u - 1) * Math.sqrt(6 / shape.slice(1).reduce((a, b) => a * b, 1));
  if (leaf === 'weight' || leaf === 'running_var') return 0.5 + u;
  return (2 * u - 1) * 0.1;
}

const INPUT_TENSOR_INDEX = 100_000;

function formulaArray(key: string, shape: readonly number[], t: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => formulaValue(key, shape, t, i));
}

/** Loads the fixture script's weights into a model whose state dict matches the Python model's key for key. */
export function loadFormulaWeights(model: Module): void {
  const values = new Map<string, ArrayLike<number>>();
  [...model.namedState()].forEach(([key, tensor], t) => {
    values.set(key, key.endsWith('num_batches_tracked') ? [7] : formulaArray(key, tensor.shape, t));
  });
  model.loadStateDict(values);
}

export function formulaInput(shape: number[]): E.Tensor {
  return E.tensor(formulaArray('input', shape, INPUT_TENSOR_INDEX), shape);
}
