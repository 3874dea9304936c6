/** The bundled MNIST sample, fetched by the page's worker: four gzipped IDX files, decompressed with DecompressionStream. */
import {
  IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, idxDataset, idxImages, parseIdx, type ImageDataset,
} from '../data/portable.js';

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status} ${response.statusText}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // A server may already have undone the gzip (Content-Encoding); only gunzip what still is gzip.
  if (!(bytes[0] === 0x1f && bytes[1] === 0x8b)) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function split(base: URL, prefix: string, name: string): Promise<ImageDataset> {
  const imagesName = `${prefix}-images-idx3-ubyte.gz`, labelsName = `${prefix}-labels-idx1-ubyte.gz`;
  const [images, labels] = await Promise.all([fetchBytes(new URL(imagesName, base)), fetchBytes(new URL(labelsName, base))]);
  return idxDataset(
    idxImages(parseIdx(images, imagesName, IDX_IMAGES_MAGIC)), parseIdx(labels, labelsName, IDX_LABELS_MAGIC).data,
    { images: imagesName, labels: labelsName }, { name },
  );
}

export async function loadMnistSample(base: URL): Promise<{ train: ImageDataset; test: ImageDataset }> {
  const [train, test] = await Promise.all([split(base, 'train', 'mnist-sample/train'), split(base, 't10k', 'mnist-sample/test')]);
  return { train, test };
}
