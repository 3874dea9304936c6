/**
 * A zip reader over a file descriptor, for PyTorch's zip checkpoints: the central directory is read once and each
 * entry is read straight from the file into a buffer of its own (never the whole file into memory), so a tensor
 * storage costs one copy. Stored entries (what torch.save writes), deflate via node:zlib, and zip64 for big files.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { DataFormatError } from '../../data/index.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly fd: number;
  readonly size: number;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    try {
      this.size = fstatSync(this.fd).size;
      this.readCentralDirectory();
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  close(): void { closeSync(this.fd); }

  private fail(problem: string): never { throw new DataFormatError(this.file, `${this.file}: ${problem}`); }

  /** `length` bytes at `position` into `into` (a fresh buffer by default); short reads mean a truncated file. */
  readAt(position: number, length: number, into: Uint8Array = new Uint8Array(length)): Uint8Array {
    if (position + length > this.size) this.fail(`truncated zip (needs bytes up to ${position + length}, the file has ${this.size})`);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, into, done, length - done, position + done);
      if (n === 0) this.fail(`truncated zip (read stopped at byte ${position + done})`);
      done += n;
    }
    return into;
  }

  private readCentralDirectory(): void {
    // The end-of-central-directory record sits in the last 22 bytes plus at most a 64 KiB comment.
    const tailLength = Math.min(this.size, 22 + 0xffff);
    const tail = this.readAt(this.size - tailLength, tailLength);
    const view = new DataView(tail.buffer);
    let at = -1;
    for (let i = tailLength - 22; i >= 0; i--) if (view.getUint32(i, true) === EOCD) { at = i; break; }
    if (at < 0) this.fail('truncated zip (no end of central directory record)');
    let count = view.getUint16(at + 10, true);
    let cdSize = view.getUint32(at + 12, true);
    let cdOffset = view.getUint32(at + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locatorAt = at - 20;
      if (locatorAt < 0 || view.getUint32(locatorAt, true) !== ZIP64_LOCATOR) this.fail('truncated zip (zip64 locator missing)');
      const recordOffset = Number(view.getBigUint64(locatorAt + 8, true));
      const record = new DataView(this.readAt(recordOffset, 56).buffer);
      if (record.getUint32(0, true) !== ZIP64_EOCD) this.fail('truncated zip (zip64 end of central directory record missing)');
      count = Number(record.getBigUint64(32, true));
      cdSize = Number(record.getBigUint64(40, true));
      cdOffset = Number(record.getBigUint64(48, true));
    }
    const cd = this.readAt(cdOffset, cdSize);
    const dv = new DataView(cd.buffer);
    const decoder = new TextDecoder();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || dv.getUint32(p, true) !== CENTRAL) this.fail(`truncated zip (central directory entry ${i} of ${count} is damaged)`);
      const nameLength = dv.getUint16(p + 28, true), extraLength = dv.getUint16(p + 30, true), commentLength = dv.getUint16(p + 32, true);
      const entry: ZipEntry = {
        name: decoder.decode(cd.subarray(p + 46, p + 46 + nameLength)),
        method: dv.getUint16(p + 10, true),
        compressedSize: dv.getUint32(p + 20, true),
        size: dv.getUint32(p + 24, true),
        localHeaderOffset: dv.getUint32(p + 42, true),
      };
      readZip64Extra(dv, p + 46 + nameLength, extraLength, entry);
      this.checkEntry(entry);
      this.entries.set(entry.name, entry);
      p += 46 + nameLength + extraLength + commentLength;
    }
  }

  /** Sizes that cannot be right are refused before anything is allocated for them. */
  private checkEntry(e: ZipEntry): void {
    if (e.localHeaderOffset + 30 + e.compressedSize > this.size) {
      this.fail(`truncated zip (entry ${e.name} needs bytes up to ${e.localHeaderOffset + 30 + e.compressedSize}, the file has ${this.size})`);
    }
    if (e.method === 0 && e.size !== e.compressedSize) this.fail(`damaged zip entry ${e.name} (stored, but ${e.compressedSize} bytes hold ${e.size})`);
    // Deflate expands at most 1032:1.
    if (e.method === 8 && e.size > e.compressedSize * 1032 + 1024) this.fail(`damaged zip entry ${e.name} (${e.compressedSize} deflated bytes cannot hold ${e.size})`);
  }

  /** An entry's bytes; `into` (at least `size` bytes) receives stored data without an extra copy. */
  read(entry: ZipEntry, into?: Uint8Array): Uint8Array {
    const header = new DataView(this.readAt(entry.localHeaderOffset, 30).buffer);
    if (header.getUint32(0, true) !== LOCAL) this.fail(`damaged zip entry ${entry.name} (no local header at byte ${entry.localHeaderOffset})`);
    const dataStart = entry.localHeaderOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
    if (entry.method === 0) return this.readAt(dataStart, entry.size, into?.subarray(0, entry.size));
    if (entry.method !== 8) this.fail(`zip entry ${entry.name} uses compression method ${entry.method} (only stored and deflate are read)`);
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(this.readAt(dataStart, entry.compressedSize), { maxOutputLength: Math.max(1, entry.size) });
    } catch {
      this.fail(`zip entry ${entry.name} does not inflate (corrupt deflate data)`);
    }
    if (inflated.length !== entry.size) this.fail(`zip entry ${entry.name} inflates to ${inflated.length} bytes, the directory says ${entry.size}`);
    if (!into) return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.length);
    into.set(inflated);
    return into.subarray(0, entry.size);
  }
}

/** Sizes and offset that did not fit 32 bits are in the zip64 extra field (id 1), in this order, only those that overflowed. */
function readZip64Extra(dv: DataView, start: number, length: number, entry: ZipEntry): void {
  let p = start;
  while (p + 4 <= start + length) {
    const id = dv.getUint16(p, true), size = dv.getUint16(p + 2, true);
    if (id === 1) {
      let q = p + 4;
      const next = (): number => { const v = Number(dv.getBigUint64(q, true)); q += 8; return v; };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    p += 4 + size;
  }
}
