/** The safetensors reader/writer: round trips, alignment, clear errors on damaged files, atomic writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type NamedArray } from '../../src/train/safetensors.js';
import { writeFileAtomic } from '../../src/util/atomic-file.js';
import { tempDir } from './helpers.js';

const sample = (): Map<string, NamedArray> => new Map<string, NamedArray>([
  ['model.c1.weight', { shape: [2, 1, 2, 2], data: new Float32Array([1.5, -2, 3.25, 0, Number.MAX_VALUE, -0, 1e-40, 7, 8, 9, 10, 11].slice(0, 8)) }],
  ['model.c1.bias', { shape: [2], data: new Float32Array([0.1, -0.2]) }],
  ['labels', { shape: [3], data: new Int32Array([-1, 0, 2147483647]) }],
  ['scalar', { shape: [], data: new Float32Array([42]) }],
  ['empty', { shape: [0, 4], data: new Float32Array(0) }],
]);

const headerLength = (buf: Uint8Array): number => Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));

test('encode → decode round trip keeps names, order, shapes, dtypes, values and metadata', () => {
  const tensors = sample();
  const metadata = { convlab: JSON.stringify({ classes: ['tl', 'tr'] }), format: 'pt' };
  const { tensors: back, metadata: meta } = decodeSafetensors(encodeSafetensors(tensors, metadata), 'mem');
  assert.deepEqual(meta, metadata);
  assert.deepEqual([...back.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const b = back.get(name)!;
    assert.deepEqual(b.shape, t.shape, name);
    assert.equal(b.data.constructor, t.data.constructor, name);
    assert.deepEqual(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
  }
  assert.ok(Object.is(back.get('model.c1.weight')!.data[5], -0), 'negative zero survives');
});

test('int64 tensors (torch integer buffers) round-trip as I64, read back as int32; values beyond 32 bits are refused', () => {
  const tensors = new Map<string, NamedArray>([['bn.num_batches_tracked', { shape: [], data: Int32Array.of(123456), int64: true }]]);
  const bytes = encodeSafetensors(tensors);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; data_offsets: number[] }>;
  assert.equal(header['bn.num_batches_tracked']!.dtype, 'I64');
  assert.deepEqual(header['bn.num_batches_tracked']!.data_offsets, [0, 8]);
  const back = decodeSafetensors(bytes, 'n.safetensors').tensors.get('bn.num_batches_tracked')!;
  assert.deepEqual([...back.data], [123456]);
  assert.equal(back.int64, true);
  new DataView(bytes.buffer).setBigInt64(8 + headerLength, 2n ** 40n, true);
  assert.throws(() => decodeSafetensors(bytes, 'n.safetensors'), { message: 'n.safetensors: tensor bn.num_batches_tracked: int64 value 1099511627776 at index 0 does not fit in 32 bits' });
});

test('the layout follows the spec: u64 LE header length, JSON header with dtype/shape/data_offsets, data 8-byte aligned', () => {
  const buf = encodeSafetensors(sample(), { note: 'x' });
  const n = headerLength(buf);
  assert.equal(n % 8, 0, 'header length is a multiple of 8');
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  assert.deepEqual(header.__metadata__, { note: 'x' });
  assert.deepEqual(header['model.c1.bias'], { dtype: 'F32', shape: [2], data_offsets: [32, 40] });
  assert.deepEqual(header.labels, { dtype: 'I32', shape: [3], data_offsets: [40, 52] });
  assert.equal(buf.length, 8 + n + 8 * 4 + 2 * 4 + 3 * 4 + 4);
  assert.equal(new DataView(buf.buffer, buf.byteOffset).getFloat32(8 + n + 32, true), new Float32Array([0.1])[0], 'little-endian data at its offset');
  // Padding is measured in UTF-8 bytes: non-ASCII metadata (class names, β) must not break the alignment.
  for (let extra = 0; extra < 8; extra++) {
    const b = encodeSafetensors(sample(), { classes: 'é×β'.repeat(extra) + 'x'.repeat(extra) });
    assert.equal(headerLength(b) % 8, 0, `non-ASCII metadata, ${extra}`);
    assert.equal(decodeSafetensors(b, 'mem').metadata.classes, 'é×β'.repeat(extra) + 'x'.repeat(extra));
  }
});

test('write → read through a file, and the temp file of the atomic write is gone', () => {
  const dir = tempDir();
  const path = join(dir, 'w.safetensors');
  writeSafetensors(path, sample(), { a: 'b' });
  writeSafetensors(path, sample(), { a: 'c' }); // overwrite in place
  assert.deepEqual(readdirSync(dir), ['w.safetensors']);
  const { tensors, metadata } = readSafetensors(path);
  assert.equal(metadata.a, 'c');
  assert.deepEqual([...tensors.get('labels')!.data], [-1, 0, 2147483647]);
});

test('a failed atomic write leaves neither a temp file nor a changed target', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'taken.safetensors', 'inner'), { recursive: true }); // a non-empty folder where the file should go
  assert.throws(() => writeSafetensors(join(dir, 'taken.safetensors'), sample()));
  assert.deepEqual(readdirSync(dir), ['taken.safetensors']);
  writeFileAtomic(join(dir, 'ok.txt'), 'hello');
  assert.deepEqual(readdirSync(dir).sort(), ['ok.txt', 'taken.safetensors']);
  assert.equal(readFileSync(join(dir, 'ok.txt'), 'utf8'), 'hello');
});

test('a truncated file is an error naming the file and the sizes', () => {
  const dir = tempDir();
  const full = encodeSafetensors(sample());
  const path = join(dir, 'cut.safetensors');
  writeFileSync(path, full.subarray(0, full.length - 10));
  assert.throws(() => readSafetensors(path), (err: Error) => {
    assert.match(err.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated: tensor \\w+ needs bytes up to ${full.length - 4}, file has ${full.length - 10}$`));
    return true;
  });
  // Cut inside the header: the header length and what is there are named.
  const n = headerLength(full);
  writeFileSync(path, full.subarray(0, 20));
  assert.throws(() => readSafetensors(path), { message: `${path}: truncated safetensors header (needs ${n} bytes, file has 12)` });
  writeFileSync(path, full.subarray(0, 5));
  assert.throws(() => readSafetensors(path), { message: `${path}: not a safetensors file (5 bytes)` });
  assert.throws(() => readSafetensors(join(dir, 'missing.safetensors')), { message: `${join(dir, 'missing.safetensors')}: checkpoint not found` });
});

function withHeader(json: string, dataBytes = 16): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

test('a corrupt header is a clear error, never a TypeError from deep inside', () => {
  const cases: [string, RegExp][] = [
    ['{"a": {"dtype": "F32", "shape": [2], "data_offs', /^f\.safetensors: corrupt safetensors header$/],
    ['not json at all', /^f\.safetensors: corrupt safetensors header$/],
    ['null', /^f\.safetensors: corrupt safetensors header/],
    ['[1, 2]', /^f\.safetensors: corrupt safetensors header/],
    ['{"a": 5}', /^f\.safetensors: corrupt safetensors header: bad entry for tensor a$/],
    ['{"a": {"dtype": "F32", "shape": [2]}}', /bad entry for tensor a$/],
    ['{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}', /bad entry for tensor a$/],
    ['{"a": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}}', /bad entry for tensor a$/],
    ['{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 6]}}', /tensor a of shape \[3\] needs 12 bytes, its data_offsets span 6$/],
    ['{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', /tensor a of shape \[3\] needs 12 bytes, its data_offsets span 8$/],
    ['{"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 4]}}', /^f\.safetensors: tensor a has unsupported dtype U8 \(expected F32, F64, F16, BF16, I32, I64\)$/],
    ['{"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}}', /tensor a of shape \[3\] needs 6 bytes, its data_offsets span 4$/],
  ];
  for (const [json, re] of cases) {
    assert.throws(() => decodeSafetensors(withHeader(json), 'f.safetensors'), (err: Error) => {
      assert.ok(!(err instanceof TypeError), `${json}: ${err.stack}`);
      assert.match(err.message, re, json);
      return true;
    }, json);
  }
  // A header length far beyond the file (garbage in the first 8 bytes).
  const garbage = new Uint8Array(64).fill(0x41);
  assert.throws(() => decodeSafetensors(garbage, 'g.bin'), /^Error: g\.bin: truncated safetensors header \(needs \d+ bytes, file has 56\)$/);
});

/** One tensor `a` of `dtype` whose raw little-endian data are `bytes` (written the way PyTorch's writer does). */
function rawFile(dtype: string, shape: number[], bytes: Uint8Array): Uint8Array {
  const json = JSON.stringify({ a: { dtype, shape, data_offsets: [0, bytes.length] } });
  const out = withHeader(json.padEnd(json.length + ((8 - (json.length % 8)) % 8)), 0);
  const file = new Uint8Array(out.length + bytes.length);
  file.set(out);
  file.set(bytes, out.length);
  return file;
}

test('F64, F16 and BF16 tensors (torchvision and other checkpoints) are read as float32', () => {
  // Bit patterns with known values: normal numbers, a subnormal, ±0, ±Infinity and NaN.
  const f16: [number, number][] = [[0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504], [0x0001, 2 ** -24], [0x8000, -0], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN]];
  const bf16: [number, number][] = [[0x3f80, 1], [0xc040, -3], [0x3eab, 0.333984375], [0x7f7f, 3.3895313892515355e38], [0x0001, 9.183549615799121e-41], [0x7f80, Infinity], [0x7fc0, NaN]];
  for (const [dtype, table] of [['F16', f16], ['BF16', bf16]] as const) {
    const bits = Uint16Array.from(table, ([b]) => b);
    const back = decodeSafetensors(rawFile(dtype, [table.length], new Uint8Array(bits.buffer)), 'h.safetensors').tensors.get('a')!;
    assert.ok(back.data instanceof Float32Array, dtype);
    table.forEach(([b, value], i) => assert.ok(Object.is(back.data[i], Math.fround(value)), `${dtype} 0x${b.toString(16)}: got ${back.data[i]}, expected ${value}`));
  }
  const doubles = Float64Array.of(0.1, -1e300, 5e-324, 123.456);
  const back = decodeSafetensors(rawFile('F64', [2, 2], new Uint8Array(doubles.buffer)), 'd.safetensors').tensors.get('a')!;
  assert.deepEqual(back.shape, [2, 2]);
  assert.deepEqual([...back.data], [Math.fround(0.1), -Infinity, 0, Math.fround(123.456)]);
});
