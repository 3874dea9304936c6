/**
 * Shared helpers for the model-zoo tests: the PyTorch parity fixtures in test/fixtures/zoo/ (written by
 * scripts/fixtures/zoo_*.py), loading a fixture's state dict into a model, the parity tolerance, a model that is
 * disposed after use, and a few SGD steps on one batch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Shape, Tensor } from '../../src/engine/index.js';
import type { Module } from '../../src/nn/index.js';
import { decodeSafetensors, type NamedArray } from '../../src/train/safetensors.js';
import { SGD } from '../../src/train/optim.js';
import { forwardLoss } from '../../src/train/trainer.js';
import { repoRoot } from '../fixtures.js';

export const zooFixturePath = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'zoo', name);

/** Every tensor of a safetensors fixture, by name. */
export function readZooTensors(name: string): Map<string, NamedArray> {
  const path = zooFixturePath(name);
  return decodeSafetensors(readFileSync(path), path).tensors;
}

/** A fixture's tensors: the model's state (names without "__"), and the extras ("__input__", "__logits__", …). */
export function loadZooSafetensors(name: string): { state: Map<string, NamedArray>; extras: Map<string, NamedArray> } {
  const state = new Map<string, NamedArray>(), extras = new Map<string, NamedArray>();
  for (const [k, v] of readZooTensors(name)) (k.startsWith('__') ? extras : state).set(k, v);
  return { state, extras };
}

export function loadZooJson<T>(name: string): T {
  return JSON.parse(readFileSync(zooFixturePath(name), 'utf8')) as T;
}

/** Loads a fixture state into the model through loadStateDict (names and shapes checked). */
export function loadState(model: Module, state: Map<string, NamedArray>): void {
  const values = new Map<string, ArrayLike<number>>(), shapes = new Map<string, Shape>();
  for (const [k, v] of state) { values.set(k, v.data); shapes.set(k, v.shape); }
  model.loadStateDict(values, shapes);
}

export const stateShapes = (m: Module): [string, number[]][] => [...m.namedState()].map(([k, t]) => [k, [...t.shape]]);

export const tensorOf = (a: NamedArray): Tensor => E.tensor(a.data, a.shape);

/** Runs fn inside one tidy scope on a model that is disposed afterwards. */
export function withModel(make: () => Module, fn: (m: Module) => void): void {
  const m = make();
  try {
    E.tidy(() => { fn(m); });
  } finally {
    m.dispose();
  }
}

/**
 * The parity target: |convlab − torch| ≤ tol × max(1, max |torch logit|) everywhere; returns the worst
 * difference.
 */
export function assertLogitsClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4, label = 'logits'): number {
  assert.equal(actual.length, expected.length, `${label}: logit count`);
  let worst = 0, at = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  assert.ok(worst <= tol * scale,
    `${label}: logit ${at} differs by ${worst.toExponential(3)} (convlab ${actual[at]}, torch ${expected[at]}; tolerance ${(tol * scale).toExponential(2)})`);
  return worst;
}

/** assertLogitsClose for a logits tensor against a fixture tensor, shapes included. */
export function assertLogitsMatch(actual: Tensor, expected: NamedArray, label: string, tol = 1e-4): void {
  assert.deepEqual([...actual.shape], expected.shape, `${label}: shape`);
  assertLogitsClose(actual.toArray(), expected.data, tol, label);
}

export interface TrainStepsOptions { steps?: number; lr?: number; momentum?: number; seed?: number }

/**
 * `steps` SGD steps on one fixed random batch, auxiliary losses included as the trainer adds them; returns each
 * step's loss, read before its update (train mode).
 */
export function trainSteps(model: Module, input: Shape, numClasses: number, opts: TrainStepsOptions = {}): number[] {
  const g = new E.Rng(opts.seed ?? 3);
  const x = E.randNormal(input, 0, 1, { rng: g }).keep();
  const y = E.intTensor(Array.from({ length: input[0]! }, (_, i) => i % numClasses)).keep();
  const sgd = new SGD(model.parameters(), { lr: opts.lr ?? 0.05, momentum: opts.momentum ?? 0 });
  model.train();
  const losses: number[] = [];
  try {
    for (let s = 0; s < (opts.steps ?? 3); s++) {
      E.tidy(() => {
        sgd.zeroGrad();
        const { loss } = forwardLoss(model, x, y, (logits, target) => E.crossEntropy(logits, target));
        E.backward(loss);
        losses.push(loss.item());
        sgd.step();
      });
    }
  } finally {
    x.dispose(); y.dispose(); sgd.dispose();
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
