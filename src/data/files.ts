/** Small file helpers shared by the dataset readers. */
import { DataFormatError, emptyFileError } from './errors.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Gunzip `buf` when it is gzip data (detected by its magic bytes, or expected because
 * the file name ends in .gz); otherwise return it unchanged.
 * Errors are one line naming `fileName`.
 */
export function maybeGunzip(buf: Uint8Array, fileName: string): Uint8Array {
  const gz = isGzip(buf);
  if (!gz) {
    if (fileName.endsWith('.gz')) {
      throw new DataFormatError(fileName, `${fileName}: corrupt gzip file: does not start with the gzip magic bytes 1f 8b`);
    }
    return buf;
  }
  try {
    const out = gunzipSync(buf);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new DataFormatError(fileName, `${fileName}: corrupt gzip file: ${msg}`);
  }
}

const READ_PROBLEMS: Record<string, string> = {
  ENOENT: 'file not found', EISDIR: 'is a directory, expected a file', EACCES: 'permission denied',
};

/** Read a whole file; failures are a DataFormatError naming the file and the problem in words. */
export function readBytes(path: string): Uint8Array {
  try {
    const raw = readFileSync(path);
    return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new DataFormatError(path, `${path}: ${READ_PROBLEMS[code] ?? `cannot read file${code ? ` (${code})` : ''}`}`, { cause: err });
  }
}

/** Read a whole file, gunzipping it when it is gzip data. Errors name the file. */
export function readMaybeGzip(path: string): Uint8Array {
  const raw = readBytes(path);
  if (raw.length === 0) throw emptyFileError(path, path.endsWith('.gz') ? 'gzip data' : 'data');
  return maybeGunzip(raw, path);
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The first of `dir/name` for each name that is an existing file, or undefined. */
export function findFile(dir: string, names: string[]): string | undefined {
  for (const n of names) {
    const p = join(dir, n);
    if (isFile(p)) return p;
  }
  return undefined;
}

/**
 * The package root: the nearest directory at or above `from` (default: this module's
 * directory, which is dist/src/data at run time) that contains package.json.
 */
export function findPackageRoot(from?: string): string {
  let dir = from ?? dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find package.json above ${from ?? fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
