/**
 * Helpers for the .pth tests: the fixtures of scripts/fixtures/pth_fixtures.py, hand-built pickles (opcode by
 * opcode, for the bad-input cases) and zips made with the writer's ZipWriter.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZipWriter } from '../../../src/interop/pth/zip-writer.js';
import { repoRoot } from '../../fixtures.js';

export const pthFixture = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'pth', name);

export interface Recorded { dtype: string; shape: number[]; data: number[] }
export const recorded = (name: string): Record<string, Recorded> => JSON.parse(readFileSync(pthFixture(name), 'utf8')) as Record<string, Recorded>;

/** Pickle bytes from opcodes written as latin-1 text (e.g. 'cos\nsystem\n'), BINUNICODE strings via `str`. */
export const op = (s: string): Buffer => Buffer.from(s, 'latin1');
export function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(5);
  head[0] = 0x58;
  head.writeUInt32LE(b.length, 1);
  return Buffer.concat([head, b]);
}
const int = (n: number): Buffer => op(`K${String.fromCharCode(n)}`);
const tuple = (xs: number[]): Buffer => (xs.length ? Buffer.concat([op('('), ...xs.map(int), op('t')]) : op(')'));

export interface TensorSpec { name: string; storageClass?: string; key?: string; numel: number; offset?: number; shape: number[]; stride?: number[] }

/** A state dict pickle as torch.save writes it: an OrderedDict of _rebuild_tensor_v2 calls on persistent-id storages. */
export function statePickle(tensors: TensorSpec[], opts: { wrapKey?: string } = {}): Buffer {
  const parts: Buffer[] = [op('\x80\x02')];
  if (opts.wrapKey) parts.push(op('}'), str(opts.wrapKey));
  parts.push(op('ccollections\nOrderedDict\n)R('));
  for (const t of tensors) {
    const stride = t.stride ?? t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    parts.push(str(t.name), op('ctorch._utils\n_rebuild_tensor_v2\n(('), str('storage'), op(`ctorch\n${t.storageClass ?? 'FloatStorage'}\n`),
      str(t.key ?? '0'), str('cpu'), int(t.numel), op('tQ'), int(t.offset ?? 0), tuple(t.shape), tuple(stride),
      op('\x89ccollections\nOrderedDict\n)Rt'), op('R'));
  }
  parts.push(op('u'));
  if (opts.wrapKey) parts.push(op('s'));
  parts.push(op('.'));
  return Buffer.concat(parts);
}

/** Writes a zip of `entries` (name → bytes) to `file`. */
export function writeZip(file: string, entries: [string, Uint8Array][]): void {
  const chunks: Uint8Array[] = [];
  const zip = new ZipWriter((c) => chunks.push(c.slice()));
  for (const [name, data] of entries) zip.add(name, data);
  zip.finish();
  writeFileSync(file, Buffer.concat(chunks));
}

export const floats = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);
