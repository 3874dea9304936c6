/**
 * Shared by the GoogLeNet and DenseNet tests: zoo fixtures (test/fixtures/zoo, written by scripts/fixtures/*.py),
 * state-dict (key, shape) lists, the parity tolerance, and the smoke test's few SGD steps.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import type { Tensor } from '../../src/engine/index.js';
import type { Module } from '../../src/nn/index.js';
import { readSafetensors, type NamedArray } from '../../src/train/safetensors.js';
import { SGD } from '../../src/train/optim.js';
import { forwardLoss } from '../../src/train/trainer.js';
import { repoRoot } from '../fixtures.js';

export const zooFixture = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'zoo', name);

export function readZooTensors(name: string): Map<string, NamedArray> {
  return readSafetensors(zooFixture(name)).tensors;
}

export function readZooJson<T>(name: string): T {
  return JSON.parse(readFileSync(zooFixture(name), 'utf8')) as T;
}

export const stateShapes = (m: Module): [string, number[]][] => [...m.namedState()].map(([name, t]) => [name, [...t.shape]]);

export const tensorOf = (a: NamedArray): Tensor => E.tensor(a.data, a.shape);

/** The issue's parity target: |convlab − torch| ≤ 1e-4 × max(1, max |torch logit|), everywhere (`relative` sets the 1e-4). */
export function assertLogitsMatch(actual: Tensor, expected: NamedArray, label: string, relative = 1e-4): void {
  assert.deepEqual([...actual.shape], expected.shape, `${label}: shape`);
  const a = actual.toArray(), e = expected.data;
  const scale = Math.max(1, ...Array.from(e, Math.abs));
  let worst = 0, at = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= relative * scale, `${label}: logit ${at} differs by ${worst.toExponential(3)} (convlab ${a[at]}, torch ${e[at]}; tolerance ${(relative * scale).toExponential(2)})`);
}

/**
 * Runs `steps` SGD steps on one fixed random batch (auxiliary losses included, as the trainer adds them) and
 * returns the losses; each step's loss is read before its update.
 */
export function sgdLosses(model: Module, input: number[], numClasses: number, steps = 3, lr = 0.05): number[] {
  const optimizer = new SGD(model.parameters(), { lr, momentum: 0.9 });
  const rng = new E.Rng(11);
  const x = E.randNormal(input, 0, 1, { rng }).keep();
  const y = E.intTensor(Array.from({ length: input[0]! }, (_, i) => i % numClasses)).keep();
  model.train();
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      losses.push(E.tidy(() => {
        const { loss } = forwardLoss(model, x, y, (logits, target) => E.crossEntropy(logits, target));
        E.backward(loss);
        return loss.item();
      }));
      optimizer.step();
      optimizer.zeroGrad();
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  return losses;
}

/** The population standard deviation of a named tensor's values (about zero mean). */
export function stdOf(m: Module, name: string): number {
  const t = m.stateDict().get(name);
  if (!t) throw new Error(`no tensor '${name}'`);
  const v = t.toArray();
  let sum = 0, sq = 0;
  for (let i = 0; i < v.length; i++) { sum += v[i]!; sq += v[i]! * v[i]!; }
  return Math.sqrt(sq / v.length - (sum / v.length) ** 2);
}
