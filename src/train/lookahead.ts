/**
 * airbench94's lookahead (legacy/airbench94.py, LookaheadState): an average of every float state entry (weights
 * and batch-norm running statistics) that the model is reset to each time it is updated:
 * avg ← decay · avg + (1 − decay) · current; current ← avg. The average lives outside the heap, in float32.
 */
import type { Module } from '../nn/index.js';
import type { Tensor } from '../engine/index.js';

export class Lookahead {
  readonly average = new Map<string, Float32Array>();

  constructor(model: Module) {
    for (const [name, t] of floatState(model)) this.average.set(name, t.toFloat32());
  }

  update(model: Module, decay: number): void {
    for (const [name, t] of floatState(model)) {
      const avg = this.average.get(name);
      if (!avg) throw new Error(`lookahead: no average for ${name}`);
      const current = t.toFloat32();
      // torch's lerp_(end, weight) with weight = 1 − decay: avg + weight · (current − avg).
      const weight = Math.fround(1 - decay);
      for (let i = 0; i < avg.length; i++) avg[i] = avg[i]! + weight * (current[i]! - avg[i]!);
      t.copyFrom(avg);
    }
  }

  /** Restores the average from a checkpoint's entries. */
  load(entries: Map<string, Float32Array>): void {
    for (const [name, avg] of this.average) {
      const saved = entries.get(name);
      if (!saved || saved.length !== avg.length) throw new Error(`lookahead: the checkpoint has no average for ${name}`);
      avg.set(saved);
    }
  }
}

function floatState(model: Module): [string, Tensor][] {
  return [...model.namedState()].filter(([, t]) => t.dtype === 'float32');
}
