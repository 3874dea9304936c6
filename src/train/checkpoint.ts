/**
 * Checkpoint files: the format (checkpoint-format.ts) written atomically, so a kill at any moment leaves either the
 * previous checkpoint or the new one, never a mix.
 */
import type { Module } from '../nn/index.js';
import type { Optimizer } from './optim.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readSafetensors } from './safetensors.js';
import { checkpointFromSafetensors, encodeCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint-format.js';

export * from './checkpoint-format.js';

/** Writes the checkpoint atomically; refuses (NonFiniteCheckpointError) when any weight or optimiser slot is not finite. */
export function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta, optimizer?: Optimizer): void {
  writeFileAtomic(path, encodeCheckpoint(path, model, meta, optimizer));
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  return checkpointFromSafetensors(readSafetensors(path), path);
}
