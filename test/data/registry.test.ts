import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { classCounts } from '../../src/data/dataset.js';
import { encodeIdx } from '../../src/data/idx.js';
import {
  DATASETS,
  DEBIAN_FASHION_MNIST_DIR,
  downloadFile,
  listDatasets,
  loadDataset,
  type FetchLike,
  type FetchResponseLike,
} from '../../src/data/registry.js';
import { CIFAR_RECORD_BYTES } from '../../src/data/cifar.js';
import { escapeRe, re, SHARED_DATA, SHARED_MNIST, tempDir } from './helpers.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const quiet = { log: () => {}, progress: false };
const MNIST_FILES = 'train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz';

/** A fetch that serves `routes` (bytes, or an HTTP status) and records the URLs asked for. */
function fakeFetch(routes: Record<string, Uint8Array | number | Error>): FetchLike & { calls: string[] } {
  const calls: string[] = [];
  const f = async (url: string): Promise<FetchResponseLike> => {
    calls.push(url);
    const r = routes[url];
    if (r instanceof Error) throw r;
    if (r === undefined) return new Response('not found', { status: 404, statusText: 'Not Found' });
    if (typeof r === 'number') return new Response('', { status: r, statusText: 'Oops' });
    return new Response(new Uint8Array(r), { status: 200, headers: { 'content-length': String(r.length) } });
  };
  return Object.assign(f, { calls });
}

/** Tiny MNIST-like IDX files for a split: n images of 2×2, labels i % 10. */
function writeTinyIdx(dir: string, prefix: 'train' | 't10k', n: number): void {
  mkdirSync(dir, { recursive: true });
  const img = Uint8Array.from({ length: n * 4 }, (_, i) => i & 255);
  const lab = Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(encodeIdx([n, 2, 2], img)));
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx([n], lab)));
}

const savedEnv: Record<string, string | undefined> = {};
before(() => {
  for (const k of ['CONVLAB_HOME', 'CONVLAB_DATA_DIR', 'CONVLAB_OFFLINE']) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
});
after(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('dataset registry: names and lookup', () => {
  test('unknown dataset name lists the valid names', async () => {
    await assert.rejects(
      loadDataset('imagenet'),
      re('unknown dataset "imagenet". Valid names: mnist, fashion-mnist, cifar10, mnist-sample, folder:<path>'),
    );
  });

  const offlineCases: { name: string; msg: (cache: string) => string }[] = [
    { name: 'mnist', msg: (c) => `mnist not found. Put ${MNIST_FILES} in --data-dir or in ${c}/mnist` },
    {
      name: 'fashion-mnist',
      msg: (c) =>
        `fashion-mnist not found. Put ${MNIST_FILES} in --data-dir or in ${c}/fashion-mnist ` +
        `(or install the Debian package dataset-fashion-mnist, which puts them in ${DEBIAN_FASHION_MNIST_DIR})`,
    },
    {
      name: 'cifar10',
      msg: (c) =>
        'cifar10 not found. Put cifar-10-binary.tar.gz (or data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, ' +
        `data_batch_4.bin, data_batch_5.bin, test_batch.bin, batches.meta.txt) in --data-dir or in ${c}/cifar10`,
    },
  ];
  for (const c of offlineCases) {
    test(`offline and missing: ${c.name} says where to put which files`, async () => {
      const cache = tempDir();
      const fetch = fakeFetch({});
      await assert.rejects(
        loadDataset(c.name, { offline: true, cacheRoot: cache, systemDirs: { 'fashion-mnist': '' }, fetch, ...quiet }),
        re(c.msg(cache)),
      );
      assert.equal(fetch.calls.length, 0);
    });
  }

  test('CONVLAB_OFFLINE=1 means offline; the cache defaults to $CONVLAB_HOME, else ~/.cache/convlab', async () => {
    const home = tempDir();
    const fetch = fakeFetch({});
    process.env['CONVLAB_OFFLINE'] = '1';
    try {
      await assert.rejects(loadDataset('mnist', { fetch, ...quiet }), re(`mnist not found. Put ${MNIST_FILES} in --data-dir or in ${join(homedir(), '.cache', 'convlab', 'mnist')}`));
      process.env['CONVLAB_HOME'] = home;
      await assert.rejects(loadDataset('mnist', { fetch, ...quiet }), re(`mnist not found. Put ${MNIST_FILES} in --data-dir or in ${home}/mnist`));
    } finally {
      delete process.env['CONVLAB_OFFLINE'];
      delete process.env['CONVLAB_HOME'];
    }
    assert.equal(fetch.calls.length, 0);
  });

  test('dataDir (files directly in it, or in <dataDir>/<name>) comes before the cache', async () => {
    const cache = tempDir();
    writeTinyIdx(join(cache, 'mnist'), 't10k', 3);
    const direct = tempDir();
    writeTinyIdx(direct, 't10k', 7);
    const nested = tempDir();
    writeTinyIdx(join(nested, 'mnist'), 't10k', 5);
    const opts = { split: 'test' as const, cacheRoot: cache, offline: true };
    assert.equal((await loadDataset('mnist', opts)).length, 3);
    assert.equal((await loadDataset('mnist', { ...opts, dataDir: direct })).length, 7);
    assert.equal((await loadDataset('mnist', { ...opts, dataDir: nested })).length, 5);
    process.env['CONVLAB_DATA_DIR'] = direct;
    try {
      assert.equal((await loadDataset('mnist', opts)).length, 7);
    } finally {
      delete process.env['CONVLAB_DATA_DIR'];
    }
    // An uncompressed copy is found too.
    const rawDir = tempDir();
    writeFileSync(join(rawDir, 't10k-images-idx3-ubyte'), encodeIdx([1, 2, 2], new Uint8Array(4)));
    writeFileSync(join(rawDir, 't10k-labels-idx1-ubyte'), encodeIdx([1], Uint8Array.from([4])));
    const raw = await loadDataset('mnist', { ...opts, dataDir: rawDir });
    assert.deepEqual([raw.length, raw.labels[0], raw.name], [1, 4, 'mnist/test']);
  });

  test('mnist-sample is bundled: 8,000 train (800 per class) and 2,000 test (200 per class)', async () => {
    const cache = tempDir();
    const train = await loadDataset('mnist-sample', { cacheRoot: cache, offline: true });
    const test_ = await loadDataset('mnist-sample', { split: 'test', cacheRoot: cache, offline: true });
    assert.equal(train.length, 8000);
    assert.deepEqual(classCounts(train), new Array(10).fill(800));
    assert.equal(test_.length, 2000);
    assert.deepEqual(classCounts(test_), new Array(10).fill(200));
    assert.deepEqual([train.channels, train.height, train.width], [1, 28, 28]);
    // A real subset: not all-black, 0..255 range.
    let max = 0;
    for (const v of train.images.subarray(0, 784 * 10)) max = Math.max(max, v);
    assert.equal(max, 255);
  });

  test('fashion-mnist from the Debian package folder', async (t) => {
    if (!existsSync(join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))) {
      t.skip(`${DEBIAN_FASHION_MNIST_DIR} not found (apt-get install dataset-fashion-mnist)`);
      return;
    }
    const ds = await loadDataset('fashion-mnist', { split: 'test', cacheRoot: tempDir(), offline: true });
    assert.equal(ds.length, 10000);
    assert.deepEqual(classCounts(ds), new Array(10).fill(1000));
    assert.equal(ds.classes[0], 'T-shirt/top');
    assert.equal(ds.classes[9], 'Ankle boot');
  });

  test('listDatasets reports what is available locally', (t) => {
    const cache = tempDir();
    const none = listDatasets({ cacheRoot: cache, systemDirs: { 'fashion-mnist': '' } });
    assert.deepEqual(none.map((d) => d.name), ['mnist', 'fashion-mnist', 'cifar10', 'mnist-sample']);
    const byName = Object.fromEntries(none.map((d) => [d.name, d]));
    assert.deepEqual(byName['mnist']!.available, { train: false, test: false });
    assert.equal(byName['mnist']!.downloadable, true);
    assert.deepEqual(byName['mnist-sample']!.available, { train: true, test: true });
    assert.equal(byName['mnist-sample']!.source, 'bundled');
    assert.equal(byName['mnist-sample']!.downloadable, false);
    assert.deepEqual(byName['cifar10']!.shape, [3, 32, 32]);
    writeTinyIdx(join(cache, 'mnist'), 'train', 2);
    const some = Object.fromEntries(listDatasets({ cacheRoot: cache }).map((d) => [d.name, d]));
    assert.deepEqual(some['mnist']!.available, { train: true, test: false });
    assert.equal(some['mnist']!.source, 'cache');
    assert.equal(some['mnist']!.location, join(cache, 'mnist'));
    if (!existsSync(SHARED_MNIST)) {
      t.skip('../shared/data/mnist not found');
      return;
    }
    const shared = Object.fromEntries(listDatasets({ cacheRoot: cache, dataDir: SHARED_DATA }).map((d) => [d.name, d]));
    assert.equal(shared['mnist']!.source, 'data-dir');
    assert.equal(shared['mnist']!.location, SHARED_MNIST);
    assert.deepEqual(shared['cifar10']!.available, { train: true, test: true });
  });
});

describe('dataset registry: downloads', () => {
  test('checksum mismatch: the file is not kept and the error says why', async () => {
    const cache = tempDir();
    const wrong = new TextEncoder().encode('<html>captive portal</html>');
    const routes: Record<string, Uint8Array> = {};
    for (const m of DATASETS['mnist']!.mirrors) for (const r of DATASETS['mnist']!.resources) routes[m + r.file] = wrong;
    const fetch = fakeFetch(routes);
    const got = md5(wrong);
    const [m1, m2] = DATASETS['mnist']!.mirrors;
    await assert.rejects(
      loadDataset('mnist', { cacheRoot: cache, fetch, ...quiet }),
      re(
        'mnist: could not download train-images-idx3-ubyte.gz: ' +
          `${m1}train-images-idx3-ubyte.gz: checksum mismatch: expected md5 f68b3c2dcbeaaa9fbdd348bbdeb94873, got ${got} (27 bytes, file discarded); ` +
          `${m2}train-images-idx3-ubyte.gz: checksum mismatch: expected md5 f68b3c2dcbeaaa9fbdd348bbdeb94873, got ${got} (27 bytes, file discarded). ` +
          `To work offline: Put ${MNIST_FILES} in --data-dir or in ${cache}/mnist`,
      ),
    );
    assert.deepEqual(fetch.calls, [m1 + 'train-images-idx3-ubyte.gz', m2 + 'train-images-idx3-ubyte.gz']);
    assert.ok(!existsSync(join(cache, 'mnist')), 'the failed download removed the cache folder it created');
  });

  test('downloadFile: tries mirrors in order, verifies md5, writes atomically', async () => {
    const dir = tempDir();
    const good = Uint8Array.from({ length: 100000 }, (_, i) => (i * 31) & 255);
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const fetch = fakeFetch({ 'http://a/f.bin': 503, 'http://b/f.bin': refused, 'http://c/f.bin': good });
    const dest = join(dir, 'f.bin');
    await downloadFile(['http://a/f.bin', 'http://b/f.bin', 'http://c/f.bin'], dest, md5(good), { fetch, ...quiet });
    assert.deepEqual(new Uint8Array(readFileSync(dest)), good);
    assert.deepEqual(readdirSync(dir), ['f.bin']);
    // All failing: one line naming every URL's problem.
    const dest2 = join(dir, 'g.bin');
    await assert.rejects(
      downloadFile(['http://a/f.bin', 'http://b/f.bin', 'http://zzz/f.bin'], dest2, md5(good), { fetch, ...quiet }),
      re('could not download g.bin: http://a/f.bin: HTTP 503 Oops; http://b/f.bin: fetch failed (ECONNREFUSED); http://zzz/f.bin: HTTP 404 Not Found'),
    );
    assert.deepEqual(readdirSync(dir), ['f.bin']);
  });

  test('downloadFile with the real fetch from a local server on 127.0.0.1', async () => {
    const body = Buffer.from(Uint8Array.from({ length: 300000 }, (_, i) => (i * 7) & 255));
    const server = createServer((req, res) => {
      if (req.url === '/data.bin') {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = tempDir();
      const lines: string[] = [];
      await downloadFile([`${base}/missing.bin`, `${base}/data.bin`], join(dir, 'data.bin'), md5(body), { progress: false, log: (l) => lines.push(l) });
      assert.deepEqual(readFileSync(join(dir, 'data.bin')), body);
      assert.deepEqual(lines, [`Downloading ${base}/missing.bin`, `Downloading ${base}/data.bin`]);
      await assert.rejects(
        downloadFile([`${base}/data.bin`], join(dir, 'bad.bin'), '0'.repeat(32), quiet),
        new RegExp(`^Error: could not download bad\\.bin: ${escapeRe(base)}/data\\.bin: checksum mismatch: expected md5 0{32}, got ${md5(body)} \\(300000 bytes, file discarded\\)$`),
      );
      assert.deepEqual(readdirSync(dir), ['data.bin']);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });

  test('mnist end to end: download (fake fetch serving the real files), then cache hit', async (t) => {
    if (!existsSync(SHARED_MNIST)) {
      t.skip('../shared/data/mnist not found');
      return;
    }
    const cache = tempDir();
    const routes: Record<string, Uint8Array> = {};
    const mirror = DATASETS['mnist']!.mirrors[0]!;
    for (const r of DATASETS['mnist']!.resources) routes[mirror + r.file] = new Uint8Array(readFileSync(join(SHARED_MNIST, r.file)));
    const fetch = fakeFetch(routes);
    const ds = await loadDataset('mnist', { split: 'test', cacheRoot: cache, fetch, ...quiet });
    assert.equal(ds.length, 10000);
    assert.equal(fetch.calls.length, 4);
    assert.deepEqual(readdirSync(join(cache, 'mnist')).sort(), DATASETS['mnist']!.resources.map((r) => r.file).sort());
    const again = await loadDataset('mnist', { split: 'test', cacheRoot: cache, fetch: fakeFetch({}), offline: false, ...quiet });
    assert.deepEqual(Array.from(again.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  test('cifar10: the downloaded archive is verified, extracted into the cache, then removed', async (t) => {
    if (spawnSync('tar', ['--version']).status !== 0) {
      t.skip('tar command not found');
      return;
    }
    const root = tempDir();
    const inner = join(root, 'cifar-10-batches-bin');
    mkdirSync(inner);
    const batch = (label: number) => {
      const b = new Uint8Array(2 * CIFAR_RECORD_BYTES);
      b[0] = label;
      b[CIFAR_RECORD_BYTES] = 9 - label;
      return b;
    };
    for (let i = 1; i <= 5; i++) writeFileSync(join(inner, `data_batch_${i}.bin`), batch(i));
    writeFileSync(join(inner, 'test_batch.bin'), batch(0));
    writeFileSync(join(inner, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
    const archive = join(root, 'cifar-10-binary.tar.gz');
    assert.equal(spawnSync('tar', ['-czf', archive, '-C', root, 'cifar-10-batches-bin']).status, 0);
    const bytes = new Uint8Array(readFileSync(archive));
    const spec = DATASETS['cifar10']!;
    const saved = spec.resources;
    spec.resources = [{ file: 'cifar-10-binary.tar.gz', md5: md5(bytes) }]; // the real md5 needs the real archive
    try {
      const cache = tempDir();
      const fetch = fakeFetch({ 'http://mirror.test/cifar-10-binary.tar.gz': bytes });
      const ds = await loadDataset('cifar10', { cacheRoot: cache, fetch, mirrors: ['http://mirror.test/'], ...quiet });
      assert.deepEqual(Array.from(ds.labels), [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
      assert.deepEqual(readdirSync(join(cache, 'cifar10')).sort(), [
        'batches.meta.txt',
        'data_batch_1.bin',
        'data_batch_2.bin',
        'data_batch_3.bin',
        'data_batch_4.bin',
        'data_batch_5.bin',
        'test_batch.bin',
      ]);
      const test_ = await loadDataset('cifar10', { split: 'test', cacheRoot: cache, offline: true });
      assert.deepEqual(Array.from(test_.labels), [0, 9]);
    } finally {
      spec.resources = saved;
    }
    assert.equal(spec.resources[0]!.md5, 'c32a1d4ab5d03f1284b67883e8d87530');
  });
});
