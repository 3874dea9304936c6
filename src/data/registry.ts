/**
 * Loading a dataset by name: `mnist`, `fashion-mnist`, `cifar10`, `mnist-sample` (see catalogue.ts for where
 * each is looked for, download.ts for fetching a missing one), or `folder:<path>`.
 */
import { join, resolve } from 'node:path';
import { loadCifarSource, findCifarSource } from './cifar.js';
import type { ImageDataset } from './dataset.js';
import { isDirectory } from './files.js';
import { loadImageFolder, type FolderOptions } from './folder.js';
import { loadIdxDataset } from './idx.js';
import {
  datasetCacheDir, explicitDataDir, getDatasetSpec, idxFiles, isOffline, locateDataset, locateInDataDir, notFoundMessage, whereToPut,
  type DatasetSpec, type LoadDatasetOptions, type LocatedDataset, type Split,
} from './catalogue.js';
import { downloadDataset } from './download.js';

export * from './catalogue.js';
export * from './download.js';

function loadFrom(spec: DatasetSpec, loc: LocatedDataset, split: Split): ImageDataset {
  const name = `${spec.name}/${split}`;
  if (spec.format === 'idx') {
    const [img, lab] = idxFiles(loc.dir, split)!;
    return loadIdxDataset(img, lab, { name, classes: spec.classes.slice() });
  }
  return loadCifarSource(findCifarSource(loc.dir, split)!, split, { name });
}

function parseFolderName(name: string): string | undefined {
  return name.startsWith('folder:') ? name.slice('folder:'.length) : undefined;
}

/**
 * Load a split of a dataset by name. See the module comment for the lookup order.
 * `folder:<path>` loads <path>/<split> when <path> has train/ and test/ sub-folders,
 * else <path> itself (for either split).
 */
export async function loadDataset(name: string, opts: LoadDatasetOptions = {}): Promise<ImageDataset> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new Error(`split must be "train" or "test", got "${split}"`);
  const folder = parseFolderName(name);
  if (folder !== undefined) return loadFolderSplit(folder, split, opts.folder);
  const spec = getDatasetSpec(name);
  const dataDir = explicitDataDir(opts);
  if (dataDir) return loadFrom(spec, locateInDataDir(name, split, dataDir), split);
  const loc = locateDataset(name, split, opts);
  if (loc) return loadFrom(spec, loc, split);
  if (isOffline(opts) || spec.resources.length === 0) throw new Error(notFoundMessage(name, opts));
  const dir = datasetCacheDir(name, opts);
  try {
    await downloadDataset(name, opts);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${msg}. To work offline: ${whereToPut(name, opts)}`);
  }
  return loadFrom(spec, { dir, source: 'cache' }, split);
}

/** Load a `folder:<path>` dataset split (synchronous). */
export function loadFolderSplit(root: string, split: Split, opts: FolderOptions = {}): ImageDataset {
  if (!root) throw new Error('folder: dataset needs a path, e.g. folder:./my-images');
  const r = resolve(root);
  const hasSplits = isDirectory(join(r, 'train')) && isDirectory(join(r, 'test'));
  const dir = hasSplits ? join(r, split) : r;
  return loadImageFolder(dir, { name: `folder:${root}${hasSplits ? `/${split}` : ''}`, ...opts });
}

