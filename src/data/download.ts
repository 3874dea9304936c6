/**
 * The downloader: fetches a dataset's files from its mirrors into the cache, verifying each against its
 * published md5 before use (a file with the wrong checksum is deleted and never used). Bytes go to a temporary
 * name and are renamed into place, so the cache never holds partial files; a failed download that created the
 * cache folder removes it again, so no empty folder is left behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import cliProgress from 'cli-progress';
import { CIFAR_ARCHIVE, extractCifarArchive, findCifarSource } from './cifar.js';
import { datasetCacheDir, getDatasetSpec, type LoadDatasetOptions } from './catalogue.js';
import { createAtomicWriter, type AtomicWriter } from '../util/atomic-file.js';

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

/**
 * Download the named dataset's files into its cache folder (files already there are kept).
 * CIFAR-10's archive is extracted into the cache folder and then removed.
 */
export async function downloadDataset(name: string, opts: LoadDatasetOptions = {}): Promise<string> {
  const spec = getDatasetSpec(name);
  if (spec.resources.length === 0) throw new Error(`${name} cannot be downloaded`);
  const dir = datasetCacheDir(name, opts);
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  try {
    return await fetchInto(dir, name, opts);
  } catch (err) {
    if (created && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function fetchInto(dir: string, name: string, opts: LoadDatasetOptions): Promise<string> {
  const spec = getDatasetSpec(name);
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
    let out: AtomicWriter | undefined;
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
      const writer = createAtomicWriter(dest);
      out = writer;
      let received = 0;
      const onChunk = (chunk: Uint8Array): void => {
        writer.write(chunk);
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
      const got = hash.digest('hex');
      if (got !== md5) {
        problems.push(`${url}: checksum mismatch: expected md5 ${md5}, got ${got} (${received} bytes, file discarded)`);
        continue;
      }
      writer.commit();
      out = undefined;
      return;
    } catch (err) {
      problems.push(`${url}: ${errorText(err)}`);
    } finally {
      out?.abort(); // a failed or mismatched download leaves no partial file
      bar?.stop();
    }
  }
  if (urls.length === 0) problems.push('no mirrors');
  throw new Error(`could not download ${file}: ${problems.join('; ')}`);
}

