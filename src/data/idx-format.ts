/**
 * The IDX format (MNIST, Fashion-MNIST) on bytes already in memory: parsing, encoding and building a dataset.
 * No file access, so the browser build uses it on fetched files; idx.ts adds the file readers.
 */
import { DataFormatError, emptyFileError } from './errors.js';
import { validateDataset, type ImageDataset } from './dataset.js';

export const IDX_LABELS_MAGIC = 2049;
export const IDX_IMAGES_MAGIC = 2051;

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

export interface IdxArray {
  magic: number;
  dims: number[];
  /** The elements (a view into the decompressed file, no copy). */
  data: Uint8Array;
}

function describeExpected(magic: number): string {
  if (magic === IDX_IMAGES_MAGIC) return `expected ${IDX_IMAGES_MAGIC} (IDX unsigned-byte images)`;
  if (magic === IDX_LABELS_MAGIC) return `expected ${IDX_LABELS_MAGIC} (IDX unsigned-byte labels)`;
  return `expected ${magic}`;
}

/**
 * Parse IDX bytes (already decompressed). `fileName` is used in error messages.
 * When `expectedMagic` is given, any other magic number is an error.
 */
export function parseIdx(buf: Uint8Array, fileName: string, expectedMagic?: number): IdxArray {
  if (buf.length === 0) throw emptyFileError(fileName, 'an IDX file');
  if (buf.length < 4) {
    throw new DataFormatError(fileName, `${fileName}: truncated IDX file: ${buf.length} bytes is too short for the 4-byte magic number`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const type = (magic >>> 8) & 0xff;
  const ndim = magic & 0xff;
  const looksIdx = magic >>> 16 === 0 && type in TYPE_NAMES && ndim > 0;
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    const hex = `0x${magic.toString(16).padStart(8, '0')}`;
    const what = looksIdx ? `IDX ${TYPE_NAMES[type]} data with ${ndim} dimension${ndim === 1 ? '' : 's'}` : 'not IDX';
    throw new DataFormatError(fileName, `${fileName}: bad magic number ${magic} (${hex}, ${what}), ${describeExpected(expectedMagic)}`);
  }
  if (!looksIdx) {
    throw new DataFormatError(fileName, `${fileName}: not an IDX file: bad magic number ${magic} (0x${magic.toString(16).padStart(8, '0')})`);
  }
  if (type !== 0x08) {
    throw new DataFormatError(fileName, `${fileName}: unsupported IDX element type ${TYPE_NAMES[type]} (only unsigned byte is supported)`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) {
    throw new DataFormatError(fileName,
      `${fileName}: truncated IDX file: header needs ${headerBytes} bytes for ${ndim} dimensions, file has ${buf.length} bytes`,
    );
  }
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    count *= n;
  }
  const expected = headerBytes + count;
  if (buf.length !== expected) {
    const kind = buf.length < expected ? 'truncated IDX file' : 'IDX file too long';
    throw new DataFormatError(fileName,
      `${fileName}: ${kind}: header says ${dims.join('×')} = ${expected} bytes, file has ${buf.length} bytes`,
    );
  }
  return { magic, dims, data: buf.subarray(headerBytes) };
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count × rows × cols bytes. */
  data: Uint8Array;
}

/** The images of a parsed IDX image file (magic 2051). */
export function idxImages({ dims, data }: IdxArray): IdxImages {
  return { count: dims[0]!, rows: dims[1]!, cols: dims[2]!, data };
}

export interface IdxDatasetOptions {
  name?: string;
  /** Class names; default "0".."9" or as many as the largest label needs. */
  classes?: string[];
}

/** A 1-channel ImageDataset from parsed IDX images and labels; `names` (file names) are for error messages. */
export function idxDataset(img: IdxImages, lab: Uint8Array, names: { images: string; labels: string }, opts: IdxDatasetOptions = {}): ImageDataset {
  const labelsPath = names.labels;
  if (lab.length !== img.count) {
    throw new DataFormatError(labelsPath, `${labelsPath}: has ${lab.length} labels but ${names.images} has ${img.count} images`);
  }
  let maxLabel = -1;
  for (let i = 0; i < lab.length; i++) if (lab[i]! > maxLabel) maxLabel = lab[i]!;
  const classes = opts.classes ?? Array.from({ length: Math.max(10, maxLabel + 1) }, (_, i) => String(i));
  const bad = lab.findIndex((l) => l >= classes.length);
  if (bad >= 0) {
    throw new DataFormatError(labelsPath, `${labelsPath}: label ${lab[bad]} of image ${bad} is outside 0..${classes.length - 1} (${classes.length} classes)`);
  }
  // Copy out of the decompression buffer so the dataset owns compact arrays.
  const images = new Uint8Array(img.data);
  const labels = Int32Array.from(lab);
  return validateDataset({
    name: opts.name ?? names.images,
    classes,
    channels: 1,
    height: img.rows,
    width: img.cols,
    length: img.count,
    images,
    labels,
  });
}

/** Encode bytes as an IDX unsigned-byte file (not compressed). Used by tests and tools. */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeIdx: dims ${dims.join('×')} = ${count} but data has ${data.length} bytes`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
