/**
 * Shared helpers for the model-zoo tests: the PyTorch parity fixtures in test/fixtures/zoo/ (written by
 * scripts/fixtures/zoo_*.py), loading a fixture's state dict into a model, and a few SGD steps on one batch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Shape, Tensor } from '../../src/engine/index.js';
import type { Module } from '../../src/nn/index.js';
import { decodeSafetensors, type NamedArray } from '../../src/train/safetensors.js';
import { SGD } from '../../src/train/optim.js';
import { repoRoot } from '../fixtures.js';

export const zooFixturePath = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'zoo', name);

/** A fixture's tensors: the model's state (names without "__"), and the extras ("__input__", "__logits__", …). */
export function loadZooSafetensors(name: string): { state: Map<string, NamedArray>; extras: Map<string, NamedArray> } {
  const path = zooFixturePath(name);
  const { tensors } = decodeSafetensors(readFileSync(path), path);
  const state = new Map<string, NamedArray>(), extras = new Map<string, NamedArray>();
  for (const [k, v] of tensors) (k.startsWith('__') ? extras : state).set(k, v);
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

/** Eval-mode logits vs the fixture's, within tol × max(1, max|logit|); returns the worst difference. */
export function assertLogitsClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): number {
  assert.equal(actual.length, expected.length, 'logit count');
  let worst = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  assert.ok(worst <= tol * scale, `logits differ by ${worst} (allowed ${tol * scale})`);
  return worst;
}

/** `steps` SGD steps on one fixed random batch; returns the losses (train mode). */
export function trainSteps(model: Module, input: Shape, numClasses: number, opts: { steps?: number; lr?: number; seed?: number } = {}): number[] {
  const g = new E.Rng(opts.seed ?? 3);
  const x = E.randNormal(input, 0, 1, { rng: g }).keep();
  const labels = Array.from({ length: input[0]! }, (_, i) => i % numClasses);
  const y = E.intTensor(labels).keep();
  const sgd = new SGD(model.parameters(), { lr: opts.lr ?? 0.05 });
  model.train();
  const losses: number[] = [];
  try {
    for (let s = 0; s < (opts.steps ?? 3); s++) {
      E.tidy(() => {
        sgd.zeroGrad();
        const loss: Tensor = E.crossEntropy(model.forward(x), y);
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
