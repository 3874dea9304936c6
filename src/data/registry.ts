/**
 * Named datasets and where to find them.
 *
 * Names: `mnist`, `fashion-mnist`, `cifar10`, `mnist-sample`, and `folder:<path>`.
 *
 * Lookup order for a named dataset (first hit wins):
 *  1. the `dataDir` option (or $CONVLAB_DATA_DIR): the files directly in it, or in
 *     `<dataDir>/<name>` (CIFAR-10 also in `<dataDir>/cifar-10-batches-bin`);
 *  2. the cache `<cacheRoot>/<name>`, where cacheRoot is the `cacheRoot` option,
 *     else $CONVLAB_HOME, else ~/.cache/convlab;
 *  3. system copies: /usr/share/datasets/fashion-mnist (Debian package
 *     dataset-fashion-mnist) for fashion-mnist; the bundled assets/mnist-sample for mnist-sample;
 *  4. download from the official mirrors (same URLs and md5 sums as torchvision) into
 *     the cache, unless offline (`offline` option or CONVLAB_OFFLINE=1).
 *
 * Downloads are verified against the published md5 before use; a file with the wrong
 * checksum is deleted and never used. Files are written to a temporary name and
 * renamed into place, so the cache never holds partial files. Files found locally
 * (steps 1–3) are not checksummed: the Debian package, for instance, recompresses them.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import {
  CIFAR10_CLASSES,
  CIFAR_ARCHIVE,
  CIFAR_META_FILE,
  CIFAR_TEST_BATCHES,
  CIFAR_TRAIN_BATCHES,
  extractCifarArchive,
  findCifarSource,
  loadCifarSource,
} from './cifar.js';
import type { ImageDataset } from './dataset.js';
import { findFile, findPackageRoot, isDirectory } from './files.js';
import { loadImageFolder, type FolderOptions } from './folder.js';
import { loadIdxDataset } from './idx.js';

export type Split = 'train' | 'test';

/** The subset of the fetch Response that the downloader uses. */
export interface FetchResponseLike {
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}
export type FetchLike = (url: string) => Promise<FetchResponseLike>;

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
    resources: [
      { file: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
      { file: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432' },
      { file: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3' },
      { file: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c' },
    ],
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
    resources: [
      { file: 'train-images-idx3-ubyte.gz', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d' },
      { file: 'train-labels-idx1-ubyte.gz', md5: '25c81989df183df01b3e8a0aad5dffbe' },
      { file: 't10k-images-idx3-ubyte.gz', md5: 'bef4ecab320f06d8554ea6380940ec79' },
      { file: 't10k-labels-idx1-ubyte.gz', md5: 'bb300cfdad3c16e7a12a480ee83cd310' },
    ],
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

function candidates(spec: DatasetSpec, opts: LoadDatasetOptions): Candidate[] {
  const out: Candidate[] = [];
  const dataDir = opts.dataDir ?? process.env['CONVLAB_DATA_DIR'];
  if (dataDir) {
    const d = resolve(dataDir);
    out.push({ dir: d, source: 'data-dir' }, { dir: join(d, spec.name), source: 'data-dir' });
  }
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
function idxFiles(dir: string, split: Split): [string, string] | undefined {
  const [img, lab] = IDX_FILES[split];
  const strip = (f: string) => f.replace(/\.gz$/, '');
  const i = findFile(dir, [img, strip(img)]);
  const l = findFile(dir, [lab, strip(lab)]);
  return i && l ? [i, l] : undefined;
}

export interface LocatedDataset {
  dir: string;
  source: DatasetSource;
}

/** Where a split of a named dataset is available locally (steps 1–3), or undefined. */
export function locateDataset(name: string, split: Split, opts: LoadDatasetOptions = {}): LocatedDataset | undefined {
  const spec = getDatasetSpec(name);
  for (const c of candidates(spec, opts)) {
    if (!isDirectory(c.dir)) continue;
    const found = spec.format === 'idx' ? !!idxFiles(c.dir, split) : !!findCifarSource(c.dir, split);
    if (found) return c;
  }
  return undefined;
}

function loadFrom(spec: DatasetSpec, loc: LocatedDataset, split: Split): ImageDataset {
  const name = `${spec.name}/${split}`;
  if (spec.format === 'idx') {
    const [img, lab] = idxFiles(loc.dir, split)!;
    return loadIdxDataset(img, lab, { name, classes: spec.classes.slice() });
  }
  return loadCifarSource(findCifarSource(loc.dir, split)!, split, { name });
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

/**
 * Download the named dataset's files into its cache folder (files already there are kept).
 * CIFAR-10's archive is extracted into the cache folder and then removed.
 */
export async function downloadDataset(name: string, opts: LoadDatasetOptions = {}): Promise<string> {
  const spec = getDatasetSpec(name);
  if (spec.resources.length === 0) throw new Error(`${name} cannot be downloaded`);
  const dir = datasetCacheDir(name, opts);
  mkdirSync(dir, { recursive: true });
  const mirrors = opts.mirrors ?? spec.mirrors;
  if (spec.format === 'cifar' && findCifarSource(dir)?.kind === 'dir') return dir;
  for (const r of spec.resources) {
    const dest = join(dir, r.file);
    if (existsSync(dest)) continue;
    try {
      await downloadFile(
        mirrors.map((m) => m + r.file),
        dest,
        r.md5,
        opts,
      );
    } catch (err) {
      throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (spec.format === 'cifar') {
    const archive = join(dir, CIFAR_ARCHIVE);
    extractCifarArchive(archive, dir);
    rmSync(archive, { force: true });
  }
  return dir;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${err.message} (${code ?? cause.message})`;
  }
  return err.message;
}

/** md5 of a byte array, hex. */
export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * Download the first working URL of `urls` to `dest`, verifying its md5.
 * The bytes go to a temporary file next to `dest`, which is renamed into place only
 * when the checksum matches; otherwise it is deleted and the next URL is tried.
 * Throws one line listing what went wrong with each URL.
 */
export async function downloadFile(
  urls: string[],
  dest: string,
  md5: string,
  opts: Pick<LoadDatasetOptions, 'fetch' | 'progress' | 'log'> = {},
): Promise<void> {
  const fetchFn: FetchLike = opts.fetch ?? ((url: string) => globalThis.fetch(url) as Promise<FetchResponseLike>);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = basename(dest);
  const problems: string[] = [];
  for (const url of urls) {
    const tmp = `${dest}.part-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    let fd: number | undefined;
    let bar: cliProgress.SingleBar | undefined;
    try {
      log(`Downloading ${url}`);
      const res = await fetchFn(url);
      if (!res.ok) {
        problems.push(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
        continue;
      }
      const total = Number(res.headers.get('content-length') ?? 0) || 0;
      if ((opts.progress ?? true) && process.stderr.isTTY) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${file} [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta}s`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total || 1, 0);
      }
      const hash = createHash('md5');
      fd = openSync(tmp, 'w');
      let received = 0;
      const onChunk = (chunk: Uint8Array): void => {
        writeSync(fd!, chunk);
        hash.update(chunk);
        received += chunk.length;
        if (bar) {
          if (!total) bar.setTotal(received);
          bar.update(received);
        }
      };
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (value) onChunk(value);
        }
      } else {
        onChunk(new Uint8Array(await res.arrayBuffer()));
      }
      closeSync(fd);
      fd = undefined;
      const got = hash.digest('hex');
      if (got !== md5) {
        unlinkSync(tmp);
        problems.push(`${url}: checksum mismatch: expected md5 ${md5}, got ${got} (${received} bytes, file discarded)`);
        continue;
      }
      renameSync(tmp, dest);
      return;
    } catch (err) {
      problems.push(`${url}: ${errorText(err)}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
      if (existsSync(tmp)) rmSync(tmp, { force: true });
      bar?.stop();
    }
  }
  if (urls.length === 0) problems.push('no mirrors');
  throw new Error(`could not download ${file}: ${problems.join('; ')}`);
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
}

/** The named datasets and whether each is available locally (for `convlab datasets`). */
export function listDatasets(opts: LoadDatasetOptions = {}): DatasetInfo[] {
  return DATASET_NAMES.map((name) => {
    const spec = DATASETS[name]!;
    const train = locateDataset(name, 'train', opts);
    const test = locateDataset(name, 'test', opts);
    const loc = train ?? test;
    return {
      name,
      description: spec.description,
      numClasses: spec.classes.length,
      shape: [spec.channels, spec.height, spec.width],
      sizes: { ...spec.sizes },
      available: { train: !!train, test: !!test },
      location: loc?.dir,
      source: loc?.source,
      downloadable: spec.resources.length > 0,
    };
  });
}
