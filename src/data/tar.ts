/**
 * A tiny reader for (uncompressed) tar archives held in memory: ustar, GNU long
 * names ('L') and pax 'path' records. Enough for the official CIFAR-10 archive.
 */
import { DataFormatError } from './errors.js';

export interface TarEntry {
  /** Path inside the archive, e.g. "cifar-10-batches-bin/data_batch_1.bin". */
  name: string;
  /** '0' regular file, '5' directory, ... (NUL is reported as '0'). */
  type: string;
  size: number;
  /** The file's bytes (a view into the archive buffer, no copy). */
  data: Uint8Array;
}

const BLOCK = 512;

function cString(buf: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && buf[end] !== 0) end++;
  return new TextDecoder('utf-8').decode(buf.subarray(start, end));
}

function parseNumber(buf: Uint8Array, start: number, len: number, fileName: string, field: string): number {
  // GNU base-256 encoding for large values: high bit of the first byte set.
  if (buf[start]! & 0x80) {
    let v = buf[start]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i]!;
    return v;
  }
  const s = cString(buf, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new DataFormatError(fileName, `${fileName}: corrupt tar archive: bad ${field} field "${s}"`);
  return parseInt(s, 8);
}

function isZeroBlock(buf: Uint8Array, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Parse a pax extended header body ("<len> key=value\n" records). */
function parsePax(data: Uint8Array): Record<string, string> {
  const text = new TextDecoder('utf-8').decode(data);
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < text.length) {
    const sp = text.indexOf(' ', pos);
    if (sp < 0) break;
    const len = parseInt(text.slice(pos, sp), 10);
    if (!(len > 0)) break;
    const rec = text.slice(sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}

/**
 * List the entries of a tar archive. `fileName` is used in error messages.
 * Header checksums are verified.
 */
export function readTar(buf: Uint8Array, fileName = 'tar archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (off + BLOCK <= buf.length) {
    if (isZeroBlock(buf, off)) break;
    // Checksum: sum of header bytes with the checksum field read as spaces.
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : buf[off + i]!;
    const stored = parseNumber(buf, off + 148, 8, fileName, 'checksum');
    if (stored !== sum) {
      throw new DataFormatError(fileName, `${fileName}: corrupt tar archive: header checksum mismatch at byte ${off}`);
    }
    let name = cString(buf, off, 100);
    const size = parseNumber(buf, off + 124, 12, fileName, 'size');
    const typeByte = buf[off + 156]!;
    const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
    const magic = cString(buf, off + 257, 6);
    if (magic.startsWith('ustar')) {
      const prefix = cString(buf, off + 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const dataStart = off + BLOCK;
    if (dataStart + size > buf.length) {
      throw new DataFormatError(fileName, 
        `${fileName}: truncated tar archive: entry "${name}" needs ${size} bytes, only ${buf.length - dataStart} remain`,
      );
    }
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      paxPath = parsePax(data)['path'];
      continue;
    }
    if (type === 'g') continue;
    entries.push({ name: paxPath ?? longName ?? name, type, size, data });
    longName = undefined;
    paxPath = undefined;
  }
  return entries;
}
