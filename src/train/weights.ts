/**
 * Weights by name, as torchvision names them. `loadWeights` accepts either
 *   - a plain state dict saved as safetensors with torchvision's keys (`features.0.weight`, …), as written by
 *     `safetensors.torch.save_file(model.state_dict(), path)`, or
 *   - a convlab checkpoint (a run's best.safetensors or last.safetensors), whose `model.*` tensors carry the same
 *     keys behind the prefix, or
 *   - a PyTorch .pth/.pt/.bin file (torch.save of a state dict, or of a checkpoint dict holding one), read by
 *     src/interop/pth without Python.
 * Keys pass through the model's `stateDictKeyMap` (older names) and each module's `adaptStateDict` hook (e.g. a
 * ViT position embedding learned at another image size) before they are checked against the model.
 */
import { existsSync, statSync } from 'node:fs';
import { fmtShape } from '../engine/index.js';
import type { Module, StateEntry } from '../nn/index.js';
import { getModelSpec } from '../models/index.js';
import { readPth, sniffWeightsFormat } from '../interop/pth/index.js';
import { checkpointFromSafetensors, type LoadedCheckpoint } from './checkpoint.js';
import { readSafetensors, writeSafetensors, type NamedArray } from './safetensors.js';

/** A weights file that does not fit the model: missing or unexpected keys, or tensors of another shape. */
export class WeightsMismatchError extends Error {
  override name = 'WeightsMismatchError';
  constructor(readonly file: string, message: string, readonly missing: string[], readonly unexpected: string[], readonly shapeMismatches: string[]) {
    super(message);
  }
}

export interface LoadWeightsOptions {
  /** Refuse missing and unexpected keys (default). With false they are listed in `warnings`; shape mismatches stay errors. */
  strict?: boolean;
  /** The registered model name, whose ModelSpec may map older key names (DenseNet's `norm.1` → `norm1`). */
  modelName?: string;
  /** Maps the file's keys to the model's; defaults to the ModelSpec's `stateDictKeyMap` of `modelName`. */
  keyMap?: (key: string) => string;
}

export interface LoadWeightsResult {
  file: string;
  kind: 'state dict' | 'convlab checkpoint';
  /** How many of the model's tensors were set from the file. */
  loaded: number;
  missing: string[];
  unexpected: string[];
  /** One line each for missing and unexpected keys when `strict` is false (empty otherwise). */
  warnings: string[];
  /** The checkpoint's metadata (classes, normalisation, model configuration) when the file is a convlab checkpoint. */
  checkpoint?: LoadedCheckpoint['meta'];
  /** Where in a PyTorch checkpoint dict the state dict was found, e.g. "the state dict under 'model'". */
  source?: string;
}

/** "a, b, c, d, e … and 3 more": the first five names of a list. */
export function listNames(names: readonly string[], first = 5): string {
  return names.length > first ? `${names.slice(0, first).join(', ')} … and ${names.length - first} more` : names.join(', ');
}

/** The tensors of a weights file keyed by the model's state-dict names (checkpoint prefix removed), and the checkpoint's metadata. */
export interface WeightsFile { entries: Map<string, StateEntry>; checkpoint?: LoadedCheckpoint['meta']; source?: string }

export function readWeightsFile(file: string): WeightsFile {
  if (!existsSync(file)) throw new Error(`${file}: weights file not found`);
  if (statSync(file).isDirectory()) throw new Error(`${file}: is a folder, expected a .safetensors weights file`);
  // PyTorch's .pth/.pt/.bin by magic bytes (a zip, or a legacy bare pickle), whatever the extension.
  if (sniffWeightsFormat(file) !== 'other') {
    const pth = readPth(file);
    const where = [pth.checkpointKey !== undefined ? `the state dict under '${pth.checkpointKey}'` : '', pth.strippedModulePrefix ? "keys without their 'module.' prefix" : ''].filter(Boolean).join(', ');
    return { entries: pth.entries, ...(where ? { source: where } : {}) };
  }
  const decoded = readSafetensors(file);
  if (decoded.metadata.convlab === undefined) {
    return { entries: new Map([...decoded.tensors].map(([name, t]) => [name, { data: t.data, shape: t.shape }])) };
  }
  const ckpt = checkpointFromSafetensors(decoded, file);
  const entries = new Map<string, StateEntry>();
  for (const [name, data] of ckpt.model) entries.set(name, { data, shape: ckpt.shapes.get(name)! });
  return { entries, checkpoint: ckpt.meta };
}

/** Sets `model`'s parameters and buffers from a weights file; throws WeightsMismatchError (one line) when it does not fit. */
export function loadWeights(model: Module, file: string, opts: LoadWeightsOptions = {}): LoadWeightsResult {
  return applyWeights(model, file, readWeightsFile(file), opts);
}

/** loadWeights for a file already read (callers that need the checkpoint's metadata to build the model first). */
export function applyWeights(model: Module, file: string, read: WeightsFile, opts: LoadWeightsOptions = {}): LoadWeightsResult {
  const strict = opts.strict ?? true;
  const checkpointModel = read.checkpoint?.model.name;
  if (opts.modelName !== undefined && checkpointModel !== undefined && checkpointModel !== opts.modelName) {
    throw new WeightsMismatchError(file, `${file}: is a checkpoint of ${checkpointModel}, not ${opts.modelName}`, [], [], []);
  }
  let entries = new Map(read.entries);
  const keyMap = opts.keyMap ?? (opts.modelName !== undefined ? getModelSpec(opts.modelName).stateDictKeyMap : undefined);
  if (keyMap) entries = new Map([...entries].map(([name, entry]) => [keyMap(name), entry]));
  for (const [name, m] of model.namedModules()) m.adaptStateDict?.(entries, name ? `${name}.` : '');

  const own = model.stateDict();
  // Files saved before torch 0.4.1 (DenseNet's published weights among them) have no num_batches_tracked at all;
  // torch loads them with the counts at 0, and so do we.
  const isCount = (name: string): boolean => name.endsWith('num_batches_tracked');
  if (![...entries.keys()].some(isCount)) {
    for (const [name, t] of own) if (isCount(name)) entries.set(name, { data: new Int32Array(1), shape: [...t.shape] });
  }
  const missing = [...own.keys()].filter((k) => !entries.has(k));
  const unexpected = [...entries.keys()].filter((k) => !own.has(k));
  const shapeMismatches = [...own].flatMap(([name, t]) => {
    const entry = entries.get(name);
    return entry && entry.shape.join() !== t.shape.join() ? [`${name} is ${fmtShape(entry.shape)} in the file, ${fmtShape(t.shape)} in the model`] : [];
  });
  const what = opts.modelName ?? model.constructor.name;
  const keyProblems = [
    missing.length ? `missing keys (${missing.length}): ${listNames(missing)}` : '',
    unexpected.length ? `unexpected keys (${unexpected.length}): ${listNames(unexpected)}` : '',
  ].filter(Boolean);
  const problems = [...(strict ? keyProblems : []), shapeMismatches.length ? `shape mismatch (${shapeMismatches.length}): ${listNames(shapeMismatches)}` : ''].filter(Boolean);
  if (problems.length) throw new WeightsMismatchError(file, `${file}: weights do not fit ${what}: ${problems.join('; ')}`, missing, unexpected, shapeMismatches);

  let loaded = 0;
  for (const [name, t] of own) {
    const entry = entries.get(name);
    if (!entry) continue;
    t.copyFrom(entry.data);
    loaded++;
  }
  const warnings = strict ? [] : [
    missing.length ? `${file}: ${missing.length} of ${what}'s tensors not in the file keep their initial values: ${listNames(missing)}` : '',
    unexpected.length ? `${file}: ${unexpected.length} tensors of the file that ${what} does not have were ignored: ${listNames(unexpected)}` : '',
  ].filter(Boolean);
  return {
    file, kind: read.checkpoint ? 'convlab checkpoint' : 'state dict', loaded, missing, unexpected, warnings, checkpoint: read.checkpoint,
    ...(read.source !== undefined ? { source: read.source } : {}),
  };
}

/**
 * Writes `model`'s state dict as plain safetensors with torchvision's keys (integer buffers as int64), which
 * `model.load_state_dict(safetensors.torch.load_file(path))` loads in PyTorch.
 */
export function saveWeights(model: Module, file: string): void {
  const tensors = new Map<string, NamedArray>();
  for (const [name, t] of model.namedState()) {
    tensors.set(name, t.dtype === 'int32' ? { shape: [...t.shape], data: Int32Array.from(t.toArray()), int64: true } : { shape: [...t.shape], data: t.toFloat32() });
  }
  writeSafetensors(file, tensors, { format: 'pt' });
}
