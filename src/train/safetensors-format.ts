/**
 * The safetensors format (Hugging Face) on bytes in memory: an 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, then the raw little-endian data. No file access (the browser
 * build encodes and decodes checkpoints with it); safetensors.ts reads and writes files.
 */
import { DataFormatError, emptyFileError } from '../data/errors.js';

export interface NamedArray {
  shape: number[];
  data: Float32Array | Int32Array;
  /** Integer data stored as I64 (torch's dtype for integer buffers such as num_batches_tracked); read back as int32. */
  int64?: boolean;
}

const dtypeOf = (t: NamedArray): string => (t.data instanceof Float32Array ? 'F32' : t.int64 ? 'I64' : 'I32');
const byteLength = (t: NamedArray): number => t.data.length * (dtypeOf(t) === 'I64' ? 8 : 4);

function bytesOf(t: NamedArray): Uint8Array {
  if (dtypeOf(t) !== 'I64') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer);
}

export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = byteLength(t);
    header[name] = { dtype: dtypeOf(t), shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the UTF-8 bytes (not the UTF-16 string length: metadata may hold non-ASCII class names) with spaces so
  // that the data starts 8-byte aligned, as the reference writer does.
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const bytes = bytesOf(t);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

export function decodeSafetensors(buf: Uint8Array, fileName: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (buf.length === 0) throw emptyFileError(fileName, 'a safetensors file');
  if (buf.length < 8) throw new DataFormatError(fileName, `${fileName}: not a safetensors file (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > buf.length - 8) throw new DataFormatError(fileName, `${fileName}: truncated safetensors header (needs ${headerLength} bytes, file has ${buf.length - 8})`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLength)));
  } catch {
    throw new DataFormatError(fileName, `${fileName}: corrupt safetensors header`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new DataFormatError(fileName, `${fileName}: corrupt safetensors header (not a JSON object)`);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw new DataFormatError(fileName, `${fileName}: corrupt safetensors header: __metadata__ must map names to strings`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
    if (typeof dtype !== 'string' || !Array.isArray(shape) || !shape.every(isCount) || !Array.isArray(offsets)
      || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
      throw new DataFormatError(fileName, `${fileName}: corrupt safetensors header: bad entry for tensor ${name}`);
    }
    const [begin, end] = offsets as [number, number];
    if (dataStart + end > buf.length) {
      throw new DataFormatError(fileName, `${fileName}: truncated: tensor ${name} needs bytes up to ${dataStart + end}, file has ${buf.length}`);
    }
    // A copy: Buffer.slice would be a view into a shared pool, and the typed arrays below need offset 0.
    const bytes = Uint8Array.prototype.slice.call(buf, dataStart + begin, dataStart + end);
    const width = DTYPE_WIDTH[dtype];
    if (width === undefined) throw new DataFormatError(fileName, `${fileName}: tensor ${name} has unsupported dtype ${dtype} (expected ${Object.keys(DTYPE_WIDTH).join(', ')})`);
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (end - begin !== width * count) {
      throw new DataFormatError(fileName, `${fileName}: corrupt safetensors header: tensor ${name} of shape [${shape.join(', ')}] needs ${width * count} bytes, its data_offsets span ${end - begin}`);
    }
    if (dtype === 'I32') tensors.set(name, { shape, data: new Int32Array(bytes.buffer, 0, count) });
    else if (dtype === 'I64') tensors.set(name, { shape, data: narrowInt64(new BigInt64Array(bytes.buffer, 0, count), `${fileName}: tensor ${name}`), int64: true });
    else tensors.set(name, { shape, data: toFloat32(dtype, bytes.buffer, count) });
  }
  return { tensors, metadata };
}

/** Bytes per element of the dtypes read. F64, F16 and BF16 (in torchvision's and others' checkpoints) become float32. */
const DTYPE_WIDTH: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8 };

function toFloat32(dtype: string, buffer: ArrayBuffer, count: number): Float32Array {
  if (dtype === 'F32') return new Float32Array(buffer, 0, count);
  if (dtype === 'F64') return Float32Array.from(new Float64Array(buffer, 0, count));
  const halves = new Uint16Array(buffer, 0, count);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32's bits.
    const bits = new Uint32Array(count);
    for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
    return new Float32Array(bits.buffer);
  }
  return halvesToFloat32(halves);
}

let halfTable: Float32Array | undefined;

/** Every binary16 value as float32, indexed by its bits: converting is then one lookup per element. */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** float16 bits → float32 values, exactly. */
export function halvesToFloat32(halves: Uint16Array, out = new Float32Array(halves.length)): Float32Array {
  const table = halfLookup();
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

/** IEEE 754 binary16 → number: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals, ±Infinity and NaN. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** I64 values as int32, refusing any that do not fit. */
function narrowInt64(values: BigInt64Array, what: string): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 2147483647n || v < -2147483648n) throw new DataFormatError(what, `${what}: int64 value ${v} at index ${i} does not fit in 32 bits`);
    out[i] = Number(v);
  }
  return out;
}

