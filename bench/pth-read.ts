/**
 * Reading a large .pth: seconds and extra memory, against the targets (100 MB in < 2 s and < 2× its size
 * in extra memory). Writes a ~100 MB state dict with convlab's writer (or reads FILE), then reads it in a fresh
 * process so that the writer's memory does not count, and prints one JSON object.
 *
 *   node dist/bench/pth-read.js [--mb 100] [FILE]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPth, writePth } from '../src/interop/pth/index.js';
import type { NamedArray } from '../src/train/safetensors-format.js';

const args = process.argv.slice(2);

/** The child: read the file once, report wall time and the resident set before and at its peak. */
function readOnce(file: string): void {
  const rssBefore = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  const r = readPth(file);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  let elements = 0;
  for (const e of r.entries.values()) elements += e.data.length;
  process.stdout.write(JSON.stringify({ seconds, rssBefore, peakRss, tensors: r.entries.size, elements }) + '\n');
}

/** ~`mb` MB of float32 tensors shaped like a large conv net's (4 MB conv weights, a few small vectors). */
function makeFile(file: string, mb: number): void {
  const tensors = new Map<string, NamedArray>();
  const perTensor = 1 << 20; // floats: 4 MiB each
  for (let i = 0; i < Math.max(1, Math.round((mb * 1e6) / (perTensor * 4))); i++) {
    const data = new Float32Array(perTensor);
    for (let j = 0; j < data.length; j += 97) data[j] = Math.sin(i + j);
    tensors.set(`features.${i}.weight`, { shape: [256, 256, 4, 4], data });
    tensors.set(`features.${i}.bias`, { shape: [256], data: new Float32Array(256).fill(i) });
  }
  writePth(file, tensors);
}

if (args[0] === '--read-child') {
  readOnce(args[1]!);
} else {
  const mbAt = args.indexOf('--mb');
  const mb = mbAt >= 0 ? Number(args[mbAt + 1]) : 100;
  const given = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--mb');
  const dir = given ? undefined : mkdtempSync(join(tmpdir(), 'convlab-pth-bench-'));
  const file = given ?? join(dir!, 'big.pth');
  try {
    if (!given) makeFile(file, mb);
    const size = statSync(file).size;
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--read-child', file], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`pth-read: the reading process failed: ${child.stderr.trim().split('\n')[0]}`);
    const r = JSON.parse(child.stdout) as { seconds: number; rssBefore: number; peakRss: number; tensors: number; elements: number };
    const extra = r.peakRss - r.rssBefore;
    process.stdout.write(JSON.stringify({
      file, bytes: size, tensors: r.tensors, seconds: +r.seconds.toFixed(3), extraRssBytes: extra, extraRssRatio: +(extra / size).toFixed(3),
      targets: { seconds: 2, extraRssRatio: 2 }, meets: r.seconds < 2 && extra < 2 * size,
    }, null, 2) + '\n');
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
