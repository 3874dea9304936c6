/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Files load in PyTorch with
 * `safetensors.torch.load_file`. Writes are atomic: a temp file in the same folder, then rename.
 */
import { existsSync } from 'node:fs';
import { DataFormatError, readBytes } from '../data/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from './safetensors-format.js';

export * from './safetensors-format.js';

export function writeSafetensors(path: string, tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (!existsSync(path)) throw new DataFormatError(path, `${path}: checkpoint not found`);
  return decodeSafetensors(readBytes(path), path);
}
