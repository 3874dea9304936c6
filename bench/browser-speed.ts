/**
 * LeNet-5 training speed in Chromium against Node, in one command on one machine (the issue's ≥ 70 % target), and
 * the playground's first paint. Both sides run the same TrainingSession (src/train/session.ts) on the bundled MNIST
 * sample with the same batch size and thread count, and report images/s the same way: images over the seconds
 * spent in steps (batch assembly, forward, backward, update), after a warm-up.
 *
 *   node dist/bench/browser-speed.js [--batch 64] [--threads 2] [--seconds 20] [--warmup 3]
 *
 * Needs /usr/bin/chromium and the web build (npm run build). Run it on a quiet machine: it measures.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import * as E from '../src/engine/index.js';
import { loadIdxDataset } from '../src/data/index.js';
import { TrainingSession } from '../src/train/session.js';
import { startUiServer } from '../src/ui/server.js';
import { repoRoot } from '../test/fixtures.js';

const { values } = parseArgs({ options: {
  batch: { type: 'string', default: '64' }, threads: { type: 'string', default: '2' },
  seconds: { type: 'string', default: '20' }, warmup: { type: 'string', default: '3' },
} });
const batch = Number(values.batch), threads = Number(values.threads), seconds = Number(values.seconds), warmup = Number(values.warmup);

interface Progress { imagesPerSecond: number; step: number }

async function inBrowser(): Promise<{ imagesPerSecond: number; firstPaintMs: number | null; threads: number }> {
  const server = await startUiServer({ runsDir: 'runs', port: 0 });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}?threads=${threads}&batch=${batch}`);
    await page.waitForFunction(() => (globalThis as unknown as { convlab: { ready: unknown } }).convlab.ready, null, { timeout: 60_000 });
    const firstPaintMs = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    const ready = await page.evaluate(() => (globalThis as unknown as { convlab: { ready: { threads: number } } }).convlab.ready);
    await page.click('#run');
    await page.waitForTimeout((warmup + seconds) * 1000);
    await page.click('#run');
    const progress = await page.evaluate(() => (globalThis as unknown as { convlab: { progress: Progress[] } }).convlab.progress);
    // Reports cover equal-ish windows of steps; weight them by the steps they cover.
    const warm = progress.filter((_, i) => i >= Math.floor(progress.length * warmup / (warmup + seconds)));
    const imagesPerSecond = imagesPerSecondOver(warm);
    return { imagesPerSecond, firstPaintMs, threads: ready.threads };
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Images/s over several reports: total images over total seconds, from each report's steps × rate. */
function imagesPerSecondOver(reports: Progress[]): number {
  let images = 0, secs = 0;
  for (let i = 1; i < reports.length; i++) {
    const n = (reports[i]!.step - reports[i - 1]!.step) * batch;
    images += n;
    secs += n / reports[i]!.imagesPerSecond;
  }
  return images / secs;
}

async function inNode(): Promise<number> {
  E.setBackend(await E.WasmBackend.create(new E.Heap(), { threads }));
  const dir = join(repoRoot(), 'assets', 'mnist-sample');
  const train = loadIdxDataset(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte.gz'));
  const test = loadIdxDataset(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'));
  const s = new TrainingSession({ model: 'lenet5', train, test, lr: 0.02, batchSize: batch });
  const until = (limit: number, count: boolean): { images: number; secs: number } => {
    let images = 0, secs = 0;
    const start = performance.now();
    while (performance.now() - start < limit * 1000) {
      const r = s.step();
      if (count) { images += r.size; secs += r.seconds; }
    }
    return { images, secs };
  };
  until(warmup, false);
  const { images, secs } = until(seconds, true);
  return images / secs;
}

const browserResult = await inBrowser();
const node = await inNode();
console.log(`LeNet-5, batch ${batch}, ${threads} threads (browser engine on ${browserResult.threads}):`);
console.log(`  Node      ${node.toFixed(0)} images/s`);
console.log(`  Chromium  ${browserResult.imagesPerSecond.toFixed(0)} images/s  (${(100 * browserResult.imagesPerSecond / node).toFixed(0)} % of Node)`);
console.log(`  playground first contentful paint: ${browserResult.firstPaintMs === null ? 'not reported' : `${browserResult.firstPaintMs.toFixed(0)} ms`}`);
process.exit(0);
