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
function int(n: number): Buffer {
  if (n < 0x100) return op(`K${String.fromCharCode(n)}`); // BININT1
  const b = Buffer.alloc(n < 0x10000 ? 3 : 5);
  b[0] = n < 0x10000 ? 0x4d : 0x4a; // BININT2, BININT
  if (n < 0x10000) b.writeUInt16LE(n, 1); else b.writeInt32LE(n, 1);
  return b;
}
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

/**
 * A zip whose central directory keeps every size and offset in zip64 extras and ends with zip64 records (what
 * writers emit for files over 4 GiB), over the local headers and data ZipWriter writes.
 */
export function zip64Of(entries: [string, Uint8Array][]): Buffer {
  const chunks: Uint8Array[] = [];
  const zip = new ZipWriter((c) => chunks.push(c.slice()));
  for (const [name, data] of entries) zip.add(name, data);
  const body = Buffer.concat(chunks);
  const central: Buffer[] = [];
  for (let p = 0; p < body.length;) {
    const size = body.readUInt32LE(p + 18), n = body.readUInt16LE(p + 26), e = body.readUInt16LE(p + 28);
    const c = Buffer.alloc(46 + n + 28);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(45, 4); c.writeUInt16LE(45, 6);
    c.writeUInt32LE(body.readUInt32LE(p + 14), 16); // CRC
    c.writeUInt32LE(0xffffffff, 20); c.writeUInt32LE(0xffffffff, 24); c.writeUInt16LE(n, 28); c.writeUInt16LE(28, 30);
    c.writeUInt32LE(0xffffffff, 42);
    body.copy(c, 46, p + 30, p + 30 + n);
    c.writeUInt16LE(1, 46 + n); c.writeUInt16LE(24, 48 + n);
    c.writeBigUInt64LE(BigInt(size), 50 + n); c.writeBigUInt64LE(BigInt(size), 58 + n); c.writeBigUInt64LE(BigInt(p), 66 + n);
    central.push(c);
    p += 30 + n + e + size;
  }
  const cd = Buffer.concat(central);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0); record.writeBigUInt64LE(44n, 4); record.writeUInt16LE(45, 12); record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(central.length), 24); record.writeBigUInt64LE(BigInt(central.length), 32);
  record.writeBigUInt64LE(BigInt(cd.length), 40); record.writeBigUInt64LE(BigInt(body.length), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0); locator.writeBigUInt64LE(BigInt(body.length + cd.length), 8); locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(0xffff, 8); end.writeUInt16LE(0xffff, 10); end.writeUInt32LE(0xffffffff, 12); end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([body, cd, record, locator, end]);
}
