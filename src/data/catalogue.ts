/**
 * The dataset catalogue: which named datasets exist, their files and published checksums, and where each is
 * found locally. Names: `mnist`, `fashion-mnist`, `cifar10`, `mnist-sample` (and `folder:<path>`, see registry.ts).
 *
 * Lookup order for a named dataset (first hit wins):
 *  1. the `dataDir` option (or $CONVLAB_DATA_DIR): the files directly in it, or in `<dataDir>/<name>` (CIFAR-10
 *     also in `<dataDir>/cifar-10-batches-bin`). A data dir is an explicit choice: when the dataset is not
 *     complete there, loading fails naming the missing files; nothing else is tried;
 *  2. the cache `<cacheRoot>/<name>`, where cacheRoot is the `cacheRoot` option, else $CONVLAB_HOME, else
 *     ~/.cache/convlab;
 *  3. system copies: /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist) for fashion-mnist;
 *     the bundled assets/mnist-sample for mnist-sample;
 *  4. download (download.ts) into the cache, unless offline.
 * Files found locally are not checksummed: the Debian package, for instance, recompresses them.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CIFAR10_CLASSES, CIFAR_ARCHIVE, CIFAR_ARCHIVE_DIR, CIFAR_META_FILE, CIFAR_TEST_BATCHES, CIFAR_TRAIN_BATCHES, findCifarSource } from './cifar.js';
import { findFile, findPackageRoot, isDirectory, isFile } from './files.js';
import type { FolderOptions } from './folder.js';
import type { FetchLike } from './download.js';

export type Split = 'train' | 'test';

export interface LoadDatasetOptions {
  /** Default 'train'. */
  split?: Split;
  /** A folder holding the dataset's files (or a `<name>` sub-folder of them). Default $CONVLAB_DATA_DIR. */
  dataDir?: string;
  /** Never download. Default: true when CONVLAB_OFFLINE is 1/true/yes. */
  offline?: boolean;
  /** Show a download progress bar on stderr (only when stderr is a TTY). Default true. */
  progress?: boolean;
  /** Cache root; default $CONVLAB_HOME, else ~/.cache/convlab. Datasets go in <cacheRoot>/<name>. */
  cacheRoot?: string;
  /** Replaces global fetch for downloads (tests use a local fake). */
  fetch?: FetchLike;
  /** Override mirrors (base URLs ending in '/'), e.g. a local test server. */
  mirrors?: string[];
  /** Override the system folders searched in step 3 (tests). */
  systemDirs?: Partial<Record<string, string>>;
  /** Options for `folder:<path>` datasets (size, channels). */
  folder?: FolderOptions;
  /** Where to print "Downloading ..." lines; default stderr. */
  log?: (line: string) => void;
}

export interface Resource {
  /** File name in the cache and on the mirrors. */
  file: string;
  /** Published md5 of the file as served. */
  md5: string;
}

export interface DatasetSpec {
  name: string;
  description: string;
  classes: string[];
  channels: number;
  height: number;
  width: number;
  sizes: Record<Split, number>;
  format: 'idx' | 'cifar';
  /** Download mirrors, tried in order; empty when the dataset cannot be downloaded. */
  mirrors: string[];
  resources: Resource[];
  /** Human-readable list of the files a user must provide. */
  filesHint: string;
}

const IDX_FILES: Record<Split, [string, string]> = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
};
const IDX_ALL = [...IDX_FILES.train, ...IDX_FILES.test];

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** The four IDX files of an MNIST-style dataset with their published md5 sums (in IDX_ALL order). */
function idxResources(md5s: [string, string, string, string]): Resource[] {
  return IDX_ALL.map((file, i) => ({ file, md5: md5s[i]! }));
}

export const DATASETS: Record<string, DatasetSpec> = {
  mnist: {
    name: 'mnist',
    description: 'MNIST handwritten digits, 28×28 grey, 10 classes',
    classes: DIGITS,
    channels: 1,
    height: 28,
    width: 28,
    sizes: { train: 60000, test: 10000 },
    format: 'idx',
    mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
    resources: idxResources(['f68b3c2dcbeaaa9fbdd348bbdeb94873', 'd53e105ee54ea40749a09fcbcd1e9432', '9fb629c4189551a2d022fa330f9573f3', 'ec29112dd5afa0611ce80d1b7f02629c']),
    filesHint: IDX_ALL.join(', '),
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST clothing images, 28×28 grey, 10 classes',
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    channels: 1,
    height: 28,
    width: 28,
    sizes: { train: 60000, test: 10000 },
    format: 'idx',
    mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
    resources: idxResources(['8d4fb7e6c68d591d4c3dfef9ec88bf0d', '25c81989df183df01b3e8a0aad5dffbe', 'bef4ecab320f06d8554ea6380940ec79', 'bb300cfdad3c16e7a12a480ee83cd310']),
    filesHint: IDX_ALL.join(', '),
  },
  cifar10: {
    name: 'cifar10',
    description: 'CIFAR-10 natural images, 32×32 RGB, 10 classes',
    classes: CIFAR10_CLASSES,
    channels: 3,
    height: 32,
    width: 32,
    sizes: { train: 50000, test: 10000 },
    format: 'cifar',
    mirrors: ['https://www.cs.toronto.edu/~kriz/'],
    resources: [{ file: CIFAR_ARCHIVE, md5: 'c32a1d4ab5d03f1284b67883e8d87530' }],
    filesHint: `${CIFAR_ARCHIVE} (or ${[...CIFAR_TRAIN_BATCHES, ...CIFAR_TEST_BATCHES, CIFAR_META_FILE].join(', ')})`,
  },
  'mnist-sample': {
    name: 'mnist-sample',
    description: 'Bundled stratified MNIST subset: 8,000 train / 2,000 test, 28×28 grey',
    classes: DIGITS,
    channels: 1,
    height: 28,
    width: 28,
    sizes: { train: 8000, test: 2000 },
    format: 'idx',
    mirrors: [],
    resources: [],
    filesHint: IDX_ALL.join(', '),
  },
};

export const DATASET_NAMES = Object.keys(DATASETS);

/** Debian's dataset-fashion-mnist package installs here. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

function validNames(): string {
  return [...DATASET_NAMES, 'folder:<path>'].join(', ');
}

/** The spec of a named dataset; unknown names throw, listing the valid ones. */
export function getDatasetSpec(name: string): DatasetSpec {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown dataset "${name}". Valid names: ${validNames()}`);
  return spec;
}

export function isOffline(opts: { offline?: boolean } = {}): boolean {
  if (opts.offline !== undefined) return opts.offline;
  return /^(1|true|yes)$/i.test(process.env['CONVLAB_OFFLINE'] ?? '');
}

/** <cacheRoot> = option, else $CONVLAB_HOME, else ~/.cache/convlab. */
export function cacheRoot(opts: { cacheRoot?: string } = {}): string {
  return resolve(opts.cacheRoot ?? process.env['CONVLAB_HOME'] ?? join(homedir(), '.cache', 'convlab'));
}

/** The cache folder of a named dataset. */
export function datasetCacheDir(name: string, opts: { cacheRoot?: string } = {}): string {
  return join(cacheRoot(opts), name);
}

/** Folder of the bundled mnist-sample files (package root / assets / mnist-sample). */
export function bundledSampleDir(): string {
  return join(findPackageRoot(), 'assets', 'mnist-sample');
}

export type DatasetSource = 'data-dir' | 'cache' | 'system' | 'bundled';

interface Candidate {
  dir: string;
  source: DatasetSource;
}

/** The folder the user named (--data-dir or $CONVLAB_DATA_DIR), if any. */
export function explicitDataDir(opts: { dataDir?: string }): string | undefined {
  return opts.dataDir ?? (process.env['CONVLAB_DATA_DIR'] || undefined);
}

/** A data-dir's own candidates: the folder itself and its <name> sub-folder. */
function dataDirCandidates(spec: DatasetSpec, dataDir: string): Candidate[] {
  const d = resolve(dataDir);
  return [{ dir: d, source: 'data-dir' }, { dir: join(d, spec.name), source: 'data-dir' }];
}

function candidates(spec: DatasetSpec, opts: LoadDatasetOptions): Candidate[] {
  const out: Candidate[] = [];
  const dataDir = explicitDataDir(opts);
  if (dataDir) out.push(...dataDirCandidates(spec, dataDir));
  out.push({ dir: datasetCacheDir(spec.name, opts), source: 'cache' });
  const sys = opts.systemDirs ?? {};
  if (spec.name === 'fashion-mnist') {
    const d = 'fashion-mnist' in sys ? sys['fashion-mnist'] : DEBIAN_FASHION_MNIST_DIR;
    if (d) out.push({ dir: d, source: 'system' });
  }
  if (spec.name === 'mnist-sample') {
    const d = 'mnist-sample' in sys ? sys['mnist-sample'] : bundledSampleDir();
    if (d) out.push({ dir: d, source: 'bundled' });
  }
  return out;
}

/** IDX file paths for a split in `dir` (.gz or uncompressed), or undefined when any is missing. */
export function idxFiles(dir: string, split: Split): [string, string] | undefined {
  const [img, lab] = IDX_FILES[split];
  const strip = (f: string) => f.replace(/\.gz$/, '');
  const i = findFile(dir, [img, strip(img)]);
  const l = findFile(dir, [lab, strip(lab)]);
  return i && l ? [i, l] : undefined;
}

/** The files a complete copy of the dataset holds (IDX files may also be uncompressed, CIFAR batches gzipped). */
function requiredFiles(spec: DatasetSpec): string[] {
  return spec.format === 'idx' ? IDX_ALL : [...CIFAR_TRAIN_BATCHES, ...CIFAR_TEST_BATCHES];
}

/** The files `dir` lacks for a split (or both splits), each with its problem: "X is missing" or "X is a directory". */
export function missingFiles(spec: DatasetSpec, dir: string, split?: Split): string[] {
  const splits: Split[] = split ? [split] : ['train', 'test'];
  if (spec.format === 'idx') {
    return splits.flatMap((s) => IDX_FILES[s]).flatMap((file) => {
      const raw = file.replace(/\.gz$/, '');
      if (isFile(join(dir, file)) || isFile(join(dir, raw))) return [];
      const folder = [file, raw].find((n) => isDirectory(join(dir, n)));
      return [folder ? `${join(dir, folder)} is a directory, expected a file` : `${file} is missing`];
    });
  }
  if (findCifarSource(dir, split)) return [];
  const batches = splits.flatMap((s) => (s === 'train' ? CIFAR_TRAIN_BATCHES : CIFAR_TEST_BATCHES));
  const sub = isDirectory(join(dir, CIFAR_ARCHIVE_DIR)) ? join(dir, CIFAR_ARCHIVE_DIR) : dir;
  return batches.flatMap((file) => {
    if (isFile(join(sub, file)) || isFile(join(sub, `${file}.gz`))) return [];
    const folder = [file, `${file}.gz`].find((n) => isDirectory(join(sub, n)));
    return [folder ? `${join(sub, folder)} is a directory, expected a file` : `${file} is missing`];
  });
}

/**
 * A folder the user named explicitly is the only place looked in: when the dataset is not complete there, say
 * what is missing instead of quietly using (or downloading) another copy.
 */
export function locateInDataDir(name: string, split: Split, dataDir: string): LocatedDataset {
  const spec = getDatasetSpec(name);
  if (!isDirectory(dataDir)) throw new Error(`data dir ${dataDir}: ${existsSync(dataDir) ? 'is a file, expected a folder' : 'folder not found'}`);
  const list = dataDirCandidates(spec, dataDir);
  const found = firstComplete(spec, split, list);
  if (found) return found;
  // Report the candidate that holds most of the files (the sub-folder only when it exists).
  const reports = list.filter((c) => isDirectory(c.dir)).map((c) => ({ dir: c.dir, missing: missingFiles(spec, c.dir, split) }));
  const best = reports.sort((a, b) => a.missing.length - b.missing.length)[0]!;
  throw new Error(`data dir ${best.dir}: ${name} ${split} split is incomplete: ${best.missing.join('; ')} (expected ${spec.filesHint})`);
}

export interface LocatedDataset {
  dir: string;
  source: DatasetSource;
}

/** Where a split of a named dataset is available locally (steps 1–3), or undefined. */
export function locateDataset(name: string, split: Split, opts: LoadDatasetOptions = {}): LocatedDataset | undefined {
  const spec = getDatasetSpec(name);
  return firstComplete(spec, split, candidates(spec, opts));
}

function firstComplete(spec: DatasetSpec, split: Split, list: Candidate[]): LocatedDataset | undefined {
  for (const c of list) {
    if (!isDirectory(c.dir)) continue;
    const found = spec.format === 'idx' ? !!idxFiles(c.dir, split) : !!findCifarSource(c.dir, split);
    if (found) return c;
  }
  return undefined;
}

/** The "not found" message, saying exactly which files to put where. */
export function notFoundMessage(name: string, opts: LoadDatasetOptions = {}): string {
  return `${name} not found. ${whereToPut(name, opts)}`;
}

/** "Put <files> in --data-dir or in <cache dir>" (plus dataset-specific hints). */
export function whereToPut(name: string, opts: LoadDatasetOptions = {}): string {
  const spec = getDatasetSpec(name);
  let msg = `Put ${spec.filesHint} in --data-dir or in ${datasetCacheDir(name, opts)}`;
  if (name === 'fashion-mnist') {
    msg += ` (or install the Debian package dataset-fashion-mnist, which puts them in ${DEBIAN_FASHION_MNIST_DIR})`;
  }
  if (name === 'mnist-sample') {
    msg += ` (the bundled copy in ${bundledSampleDir()} is missing: regenerate it with node scripts/make-mnist-sample.mjs)`;
  }
  return msg;
}

export interface DatasetInfo {
  name: string;
  description: string;
  numClasses: number;
  /** [channels, height, width] */
  shape: [number, number, number];
  sizes: Record<Split, number>;
  /** Available locally (without downloading), per split. */
  available: Record<Split, boolean>;
  /** Where the train split (else the test split) was found, when available. */
  location?: string;
  source?: DatasetSource;
  /** Can be downloaded when missing (and not offline). */
  downloadable: boolean;
  /** Files lacking in `location` (or the data dir) for a complete dataset: "X is missing", "X is a directory". */
  missing: string[];
}

/** The named datasets and whether each is available locally (for `convlab datasets`). */
export function listDatasets(opts: LoadDatasetOptions = {}): DatasetInfo[] {
  return DATASET_NAMES.map((name) => {
    const spec = DATASETS[name]!;
    const train = locateDataset(name, 'train', opts);
    const test = locateDataset(name, 'test', opts);
    const loc = train ?? test;
    const dataDir = explicitDataDir(opts);
    const checked = loc?.dir ?? (dataDir ? resolve(dataDir) : undefined);
    const missing = checked && isDirectory(checked) && !(train && test) ? missingFiles(spec, checked) : [];
    // A folder holding none of the dataset's files is simply not where it is; "incomplete" means some are there.
    const incomplete = missing.length > 0 && missing.length < requiredFiles(spec).length;
    return {
      name,
      description: spec.description,
      numClasses: spec.classes.length,
      shape: [spec.channels, spec.height, spec.width],
      sizes: { ...spec.sizes },
      available: { train: !!train, test: !!test },
      location: incomplete || loc ? checked : undefined,
      source: loc?.source,
      downloadable: spec.resources.length > 0,
      missing: incomplete ? missing : [],
    };
  });
}
