/**
 * A zip writer for torch.save's layout: stored (uncompressed) entries whose data start on a 64-byte boundary
 * (padding in an extra field, as PyTorch's own writer does), CRC-32 set, as torch.load checks it. Chunks go to a
 * sink as they are made, so tensor data is written from the arrays themselves, never gathered into one buffer.
 */
import * as zlib from 'node:zlib';

const ALIGN = 64;
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest DOS date: files are reproducible byte for byte

/** CRC-32 (IEEE): node:zlib's when the Node version has it (≥ 20.15), else a table-driven one. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  return native ? native(data) >>> 0 : tableCrc32(data);
}

let table: Uint32Array | undefined;
export function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

interface Written { name: Uint8Array; crc: number; size: number; offset: number }

export class ZipWriter {
  private offset = 0;
  private readonly written: Written[] = [];

  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  private emit(chunk: Uint8Array): void {
    this.sink(chunk);
    this.offset += chunk.length;
  }

  add(name: string, data: Uint8Array): void {
    const nameBytes = new TextEncoder().encode(name);
    if (this.offset + data.length > 0xfffffffe) throw new Error(`${name}: the .pth writer does not write zip64 (files over 4 GiB)`);
    const pad = (ALIGN - ((this.offset + 30 + nameBytes.length + 4) % ALIGN)) % ALIGN;
    const header = new Uint8Array(30 + nameBytes.length + 4 + pad);
    const v = new DataView(header.buffer);
    const crc = crc32(data);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true); // version needed
    v.setUint16(12, DOS_DATE, true);
    v.setUint32(14, crc, true);
    v.setUint32(18, data.length, true);
    v.setUint32(22, data.length, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, 4 + pad, true);
    header.set(nameBytes, 30);
    v.setUint16(30 + nameBytes.length, 0x4246, true); // 'FB': PyTorch's padding extra field
    v.setUint16(32 + nameBytes.length, pad, true);
    this.written.push({ name: nameBytes, crc, size: data.length, offset: this.offset });
    this.emit(header);
    if (data.length) this.emit(data);
  }

  /** Writes the central directory and the end record. */
  finish(): void {
    const start = this.offset;
    for (const w of this.written) {
      const entry = new Uint8Array(46 + w.name.length);
      const v = new DataView(entry.buffer);
      v.setUint32(0, 0x02014b50, true);
      v.setUint16(4, 20, true); // version made by
      v.setUint16(6, 20, true); // version needed
      v.setUint16(14, DOS_DATE, true);
      v.setUint32(16, w.crc, true);
      v.setUint32(20, w.size, true);
      v.setUint32(24, w.size, true);
      v.setUint16(28, w.name.length, true);
      v.setUint32(42, w.offset, true);
      entry.set(w.name, 46);
      this.emit(entry);
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, 0x06054b50, true);
    v.setUint16(8, this.written.length, true);
    v.setUint16(10, this.written.length, true);
    v.setUint32(12, this.offset - start, true);
    v.setUint32(16, start, true);
    this.emit(end);
  }
}
