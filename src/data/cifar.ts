/**
 * Reader for the CIFAR-10 "binary version": batches of records, each 1 label byte
 * followed by 3072 pixel bytes (1024 R, 1024 G, 1024 B; each plane 32×32 row-major).
 *
 * Accepted layouts (see `findCifarSource`):
 *  - a folder holding data_batch_1..5.bin, test_batch.bin (each optionally .gz) and batches.meta.txt;
 *  - a folder holding a cifar-10-batches-bin/ folder of those;
 *  - the official cifar-10-binary.tar.gz (or .tar), read with a tiny built-in tar reader.
 */
import { DataFormatError, emptyFileError } from './errors.js';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { joinImages, validateDataset, type ImageDataset } from './dataset.js';
import { findFile, isDirectory, isFile, maybeGunzip, readBytes, readMaybeGzip } from './files.js';
import { readTar } from './tar.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;
export const CIFAR_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES;
export const CIFAR_RECORDS_PER_BATCH = 10000;
export const CIFAR_TRAIN_BATCHES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_BATCHES = ['test_batch.bin'];
export const CIFAR_META_FILE = 'batches.meta.txt';
export const CIFAR_ARCHIVE = 'cifar-10-binary.tar.gz';
export const CIFAR_ARCHIVE_DIR = 'cifar-10-batches-bin';

export interface CifarBatch {
  count: number;
  /** count × 3072 bytes, planar RGB. */
  images: Uint8Array;
  labels: Int32Array;
}

export interface ParseCifarOptions {
  /** Number of classes (labels must be below it); default 10. */
  numClasses?: number;
  /** When set, the batch must hold exactly this many records. */
  expectedRecords?: number;
}

/** Parse one (decompressed) CIFAR-10 batch. `fileName` is used in error messages. */
export function parseCifarBatch(buf: Uint8Array, fileName: string, opts: ParseCifarOptions = {}): CifarBatch {
  const R = CIFAR_RECORD_BYTES;
  const full = CIFAR_RECORDS_PER_BATCH * R;
  if (buf.length === 0) throw emptyFileError(fileName, `a CIFAR-10 batch of ${R}-byte records`);
  if (buf.length % R !== 0) {
    throw new DataFormatError(fileName,
      `${fileName}: truncated CIFAR-10 batch: file has ${buf.length} bytes, not a whole number of ${R}-byte records ` +
        `(1 label + 3072 pixels; a full batch is ${CIFAR_RECORDS_PER_BATCH} records = ${full} bytes)`,
    );
  }
  const count = buf.length / R;
  if (opts.expectedRecords !== undefined && count !== opts.expectedRecords) {
    throw new DataFormatError(fileName,
      `${fileName}: wrong CIFAR-10 batch size: expected ${opts.expectedRecords} records = ${opts.expectedRecords * R} bytes, ` +
        `file has ${count} records = ${buf.length} bytes`,
    );
  }
  const numClasses = opts.numClasses ?? 10;
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const off = i * R;
    const label = buf[off]!;
    if (label >= numClasses) {
      throw new DataFormatError(fileName, `${fileName}: record ${i} has label ${label}, expected 0..${numClasses - 1}`);
    }
    labels[i] = label;
    images.set(buf.subarray(off + 1, off + R), i * CIFAR_IMAGE_BYTES);
  }
  return { count, images, labels };
}

/** Read a .bin or .bin.gz batch file. */
export function readCifarBatchFile(path: string, opts: ParseCifarOptions = {}): CifarBatch {
  return parseCifarBatch(readMaybeGzip(path), path, opts);
}

/** Class names from batches.meta.txt: one per line, surrounding whitespace and blank lines ignored. */
export function parseCifarMeta(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Where CIFAR-10 files were found. */
export type CifarSource =
  | { kind: 'dir'; dir: string; meta?: string; train: string[]; test: string[] }
  | { kind: 'archive'; path: string };

function batchFiles(dir: string, names: string[]): string[] | undefined {
  const out: string[] = [];
  for (const n of names) {
    const p = findFile(dir, [n, `${n}.gz`]);
    if (!p) return undefined;
    out.push(p);
  }
  return out;
}

/**
 * Find CIFAR-10 in `dir` (see the module comment for accepted layouts), or undefined.
 * With `split`, only that split's batches are required.
 */
export function findCifarSource(dir: string, split?: 'train' | 'test'): CifarSource | undefined {
  for (const d of [dir, join(dir, CIFAR_ARCHIVE_DIR)]) {
    if (!isDirectory(d)) continue;
    const train = batchFiles(d, CIFAR_TRAIN_BATCHES);
    const test = batchFiles(d, CIFAR_TEST_BATCHES);
    const ok = split === 'train' ? !!train : split === 'test' ? !!test : !!train && !!test;
    if (ok) {
      const meta = findFile(d, [CIFAR_META_FILE]);
      return { kind: 'dir', dir: d, meta, train: train ?? [], test: test ?? [] };
    }
  }
  for (const name of [CIFAR_ARCHIVE, 'cifar-10-binary.tar']) {
    const p = join(dir, name);
    if (isFile(p)) return { kind: 'archive', path: p };
  }
  return undefined;
}

function assemble(
  batches: CifarBatch[],
  classes: string[],
  name: string,
): ImageDataset {
  const { images, labels } = joinImages(batches.map((b) => ({ ...b, length: b.count })), CIFAR_IMAGE_BYTES);
  return validateDataset({ name, classes, channels: 3, height: 32, width: 32, length: labels.length, images, labels });
}

export interface LoadCifarOptions {
  name?: string;
  /** Only these 1-based training batches (default all five); ignored for the test split. */
  batches?: number[];
}

/** Load a split from a CifarSource. */
export function loadCifarSource(src: CifarSource, split: 'train' | 'test', opts: LoadCifarOptions = {}): ImageDataset {
  const name = opts.name ?? `cifar10/${split}`;
  const wanted = (files: string[]): string[] =>
    split === 'train' && opts.batches ? opts.batches.map((i) => files[i - 1]!).filter(Boolean) : files;
  if (src.kind === 'dir') {
    const classes = src.meta ? parseCifarMeta(new TextDecoder().decode(readBytes(src.meta))) : CIFAR10_CLASSES.slice();
    const files = wanted(split === 'train' ? src.train : src.test);
    if (files.length === 0) throw new DataFormatError(src.dir, `${src.dir}: no CIFAR-10 ${split} batches found`);
    const batches = files.map((f) => readCifarBatchFile(f, { numClasses: classes.length }));
    return assemble(batches, classes, name);
  }
  const entries = readCifarArchive(src.path);
  const classes = entries.meta ? parseCifarMeta(new TextDecoder().decode(entries.meta)) : CIFAR10_CLASSES.slice();
  const names = wanted(split === 'train' ? CIFAR_TRAIN_BATCHES : CIFAR_TEST_BATCHES);
  const batches = names.map((n) => {
    const data = entries.batches.get(n);
    if (!data) throw new DataFormatError(src.path, `${src.path}: archive has no ${CIFAR_ARCHIVE_DIR}/${n}`);
    return parseCifarBatch(data, `${src.path}:${n}`, { numClasses: classes.length });
  });
  return assemble(batches, classes, name);
}

/** Load CIFAR-10 from a folder or archive path (see module comment). */
export function loadCifar10(path: string, split: 'train' | 'test', opts: LoadCifarOptions = {}): ImageDataset {
  const src = isFile(path) ? ({ kind: 'archive', path } as const) : findCifarSource(path, split);
  if (!src) {
    throw new DataFormatError(path,
      `${path}: no CIFAR-10 ${split} data: expected ${(split === 'train' ? CIFAR_TRAIN_BATCHES : CIFAR_TEST_BATCHES).join(', ')} ` +
        `(optionally .gz) and ${CIFAR_META_FILE}, or ${CIFAR_ARCHIVE}`,
    );
  }
  return loadCifarSource(src, split, opts);
}

/** The batch files and meta file inside a cifar-10-binary.tar(.gz), keyed by base name. */
export function readCifarArchive(path: string): { batches: Map<string, Uint8Array>; meta?: Uint8Array } {
  const tar = maybeGunzip(readBytes(path), path);
  const batches = new Map<string, Uint8Array>();
  let meta: Uint8Array | undefined;
  for (const e of readTar(tar, path)) {
    if (e.type !== '0') continue;
    const base = basename(e.name);
    if (base === CIFAR_META_FILE) meta = e.data;
    else if (CIFAR_TRAIN_BATCHES.includes(base) || CIFAR_TEST_BATCHES.includes(base)) batches.set(base, e.data);
  }
  return { batches, meta };
}

/**
 * Extract the batches and meta file of a cifar-10-binary.tar(.gz) into `destDir`
 * (each written atomically: temp file, fsync, rename). Returns the written paths.
 */
export function extractCifarArchive(path: string, destDir: string): string[] {
  const { batches, meta } = readCifarArchive(path);
  const missing = [...CIFAR_TRAIN_BATCHES, ...CIFAR_TEST_BATCHES].filter((n) => !batches.has(n));
  if (missing.length) throw new DataFormatError(path, `${path}: archive is missing ${missing.join(', ')}`);
  mkdirSync(destDir, { recursive: true });
  const written: string[] = [];
  const files: [string, Uint8Array][] = [...batches.entries()];
  if (meta) files.push([CIFAR_META_FILE, meta]);
  for (const [name, data] of files) {
    parseCifarBatchSizeCheck(name, data, path);
    const dest = join(destDir, name);
    writeFileAtomic(dest, data);
    written.push(dest);
  }
  return written;
}

function parseCifarBatchSizeCheck(name: string, data: Uint8Array, archive: string): void {
  if (name === CIFAR_META_FILE) return;
  if (data.length === 0 || data.length % CIFAR_RECORD_BYTES !== 0) {
    throw new DataFormatError(archive,
      `${archive}:${name}: truncated CIFAR-10 batch: file has ${data.length} bytes, not a whole number of ${CIFAR_RECORD_BYTES}-byte records`,
    );
  }
}
