/**
 * Reader for the IDX format used by MNIST and Fashion-MNIST.
 *
 * An IDX file is a big-endian header — magic number 0x0000TTDD (TT = element type,
 * DD = number of dimensions), then DD uint32 sizes — followed by the elements.
 * Only unsigned bytes (TT = 0x08) are supported, which gives magic 2049 for label
 * files (1 dimension) and 2051 for image files (3 dimensions).
 * Files may be gzipped (.gz) or raw.
 */
import { basename } from 'node:path';
import type { ImageDataset } from './dataset.js';
import { readMaybeGzip } from './files.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, idxDataset, idxImages, parseIdx, type IdxArray, type IdxDatasetOptions, type IdxImages } from './idx-format.js';

export * from './idx-format.js';

/** Read an IDX file (.gz or raw). */
export function readIdxFile(path: string, expectedMagic?: number): IdxArray {
  return parseIdx(readMaybeGzip(path), path, expectedMagic);
}

/** Read an IDX image file (magic 2051). */
export function readIdxImages(path: string): IdxImages {
  return idxImages(readIdxFile(path, IDX_IMAGES_MAGIC));
}

/** Read an IDX label file (magic 2049). */
export function readIdxLabels(path: string): Uint8Array {
  return readIdxFile(path, IDX_LABELS_MAGIC).data;
}

/** Load an image file and a label file into a 1-channel ImageDataset. */
export function loadIdxDataset(imagesPath: string, labelsPath: string, opts: IdxDatasetOptions = {}): ImageDataset {
  return idxDataset(readIdxImages(imagesPath), readIdxLabels(labelsPath), { images: basename(imagesPath), labels: labelsPath }, opts);
}
