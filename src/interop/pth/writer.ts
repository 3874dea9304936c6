/**
 * Writes a state dict as torch.save does (zip format, pickle protocol 2): `archive/data.pkl` holds an
 * OrderedDict of `_rebuild_tensor_v2` calls whose persistent ids name one storage record per tensor
 * (`archive/data/N`), then `archive/version`. `torch.load(f)` reads it and torchvision's `load_state_dict` takes it.
 */
import type { Module } from '../../nn/index.js';
import type { NamedArray } from '../../train/safetensors-format.js';
import { createAtomicWriter } from '../../util/atomic-file.js';
import { ZipWriter } from './zip-writer.js';

const ARCHIVE = 'archive';

/** Pickle protocol 2 bytes, built opcode by opcode. */
class PickleBuilder {
  private readonly parts: Uint8Array[] = [];
  op(...bytes: number[]): this { this.parts.push(Uint8Array.from(bytes)); return this; }
  global(module: string, name: string): this { return this.op(0x63).raw(`${module}\n${name}\n`); }
  str(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    const head = new Uint8Array(5);
    head[0] = 0x58; // BINUNICODE
    new DataView(head.buffer).setUint32(1, utf8.length, true);
    this.parts.push(head, utf8);
    return this;
  }
  int(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new Error(`pickle writer: integer ${n} out of range`);
    if (n < 0x100) return this.op(0x4b, n); // BININT1
    if (n < 0x10000) return this.op(0x4d, n & 0xff, n >> 8); // BININT2
    const b = new Uint8Array(5);
    b[0] = 0x4a; // BININT
    new DataView(b.buffer).setInt32(1, n, true);
    this.parts.push(b);
    return this;
  }
  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29); // EMPTY_TUPLE
    this.op(0x28);
    for (const v of items) this.int(v);
    return this.op(0x74);
  }
  private raw(s: string): this { this.parts.push(new TextEncoder().encode(s)); return this; }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

const MARK = 0x28, TUPLE = 0x74, REDUCE = 0x52, BINPERSID = 0x51, NEWFALSE = 0x89, SETITEMS = 0x75, STOP = 0x2e, EMPTY_TUPLE = 0x29;

/** The pickle of an OrderedDict mapping each name to a tensor on storage record `i` (its position). */
export function statePickle(tensors: Map<string, NamedArray>): Uint8Array {
  const p = new PickleBuilder().op(0x80, 2).global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, MARK);
  [...tensors].forEach(([name, t], i) => {
    const numel = t.data.length;
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(MARK);
    p.op(MARK).str('storage').global('torch', t.data instanceof Float32Array ? 'FloatStorage' : t.int64 ? 'LongStorage' : 'IntStorage')
      .str(String(i)).str('cpu').int(numel).op(TUPLE, BINPERSID);
    p.int(0).tuple(t.shape).tuple(strides).op(NEWFALSE).global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, TUPLE, REDUCE);
  });
  return p.op(SETITEMS, STOP).bytes();
}

function storageBytes(t: NamedArray): Uint8Array {
  if (t.data instanceof Int32Array && t.int64) return new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer);
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Writes the state dict as a .pth file, atomically. */
export function writePth(file: string, tensors: Map<string, NamedArray>): void {
  const out = createAtomicWriter(file);
  try {
    const zip = new ZipWriter((chunk) => out.write(chunk));
    zip.add(`${ARCHIVE}/data.pkl`, statePickle(tensors));
    [...tensors.values()].forEach((t, i) => zip.add(`${ARCHIVE}/data/${i}`, storageBytes(t)));
    zip.add(`${ARCHIVE}/version`, new TextEncoder().encode('3\n'));
    zip.finish();
    out.commit();
  } catch (err) {
    out.abort();
    throw err;
  }
}

/** `model`'s state dict with torchvision's key names (integer buffers as int64), as `torch.save(model.state_dict(), f)` writes it. */
export function savePth(model: Module, file: string): void {
  const tensors = new Map<string, NamedArray>();
  for (const [name, t] of model.namedState()) {
    tensors.set(name, t.dtype === 'int32' ? { shape: [...t.shape], data: Int32Array.from(t.toArray()), int64: true } : { shape: [...t.shape], data: t.toFloat32() });
  }
  writePth(file, tensors);
}
