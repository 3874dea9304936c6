/**
 * Checkpoints: one safetensors file holding the model's state ("model.*"), the optimiser's state ("optim.*")
 * and, in its metadata, the run configuration and the trainer's position. One file, written atomically, so a
 * kill at any moment leaves either the previous checkpoint or the new one, never a mix.
 */
import { DataFormatError } from '../data/index.js';
import type { Module } from '../nn/index.js';
import type { Optimizer, OptimizerState } from './optim.js';
import { readSafetensors, writeSafetensors, type NamedArray } from './safetensors.js';

export interface CheckpointMeta {
  /** Everything needed to rebuild the model and its input pipeline. */
  model: { name: string; numClasses: number; inChannels: number; imageSize: number; extra?: Record<string, unknown> };
  classes: string[];
  mean: number[];
  std: number[];
  /** Trainer position and history (absent in a weights-only "best" checkpoint). */
  trainer?: unknown;
}

/** A checkpoint that would hold NaN or infinite numbers; nothing is written, the previous file stays. */
export class NonFiniteCheckpointError extends Error {
  override name = 'NonFiniteCheckpointError';
  constructor(readonly path: string, readonly tensor: string) {
    super(`${path} not written: ${tensor} holds NaN or infinite values`);
  }
}

/** Index of the first NaN or ±Infinity in `data`, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** Writes the checkpoint atomically; refuses (NonFiniteCheckpointError) when any weight or optimiser slot is not finite. */
export function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta, optimizer?: Optimizer): void {
  const tensors = new Map<string, NamedArray>();
  for (const [name, t] of model.namedState()) {
    const data = t.dtype === 'int32' ? Int32Array.from(t.toArray()) : t.toFloat32();
    tensors.set(`model.${name}`, { shape: [...t.shape], data, int64: t.dtype === 'int32' });
  }
  let optimMeta: Omit<OptimizerState, 'slots'> | undefined;
  if (optimizer) {
    const state = optimizer.stateDict();
    for (const [key, data] of Object.entries(state.slots)) tensors.set(`optim.${key}`, { shape: [data.length], data });
    optimMeta = { kind: state.kind, step: state.step };
  }
  for (const [name, t] of tensors) {
    if (t.data instanceof Float32Array && firstNonFinite(t.data) >= 0) throw new NonFiniteCheckpointError(path, name);
  }
  writeSafetensors(path, tensors, { convlab: JSON.stringify({ ...meta, optimizer: optimMeta }) });
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta & { optimizer?: Omit<OptimizerState, 'slots'> };
  /** Float32Array for weights and float buffers; Int32Array for integer buffers (num_batches_tracked). */
  model: Map<string, Float32Array | Int32Array>;
  shapes: Map<string, number[]>;
  optimizer?: OptimizerState;
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  return checkpointFromSafetensors(path, readSafetensors(path));
}

/** A decoded safetensors file as a checkpoint (loadWeights decodes a file once, then decides what it holds). */
export function checkpointFromSafetensors(path: string, { tensors, metadata }: { tensors: Map<string, NamedArray>; metadata: Record<string, string> }): LoadedCheckpoint {
  if (!metadata.convlab) throw new DataFormatError(path, `${path}: not a convlab checkpoint (no "convlab" metadata)`);
  let meta: LoadedCheckpoint['meta'];
  try {
    meta = JSON.parse(metadata.convlab) as LoadedCheckpoint['meta'];
  } catch {
    throw new DataFormatError(path, `${path}: corrupt checkpoint: its "convlab" metadata is not valid JSON`);
  }
  const model = new Map<string, Float32Array | Int32Array>(), shapes = new Map<string, number[]>();
  const slots: Record<string, Float32Array> = {};
  for (const [name, t] of tensors) {
    if (name.startsWith('model.')) {
      model.set(name.slice(6), t.data);
      shapes.set(name.slice(6), t.shape);
    } else if (name.startsWith('optim.')) slots[name.slice(6)] = t.data as Float32Array;
  }
  const optimizer = meta.optimizer ? { ...meta.optimizer, slots } : undefined;
  return { meta, model, shapes, optimizer };
}
