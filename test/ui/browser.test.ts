/**
 * The playground and the dashboard in Debian's Chromium: cross-origin isolation and threads, the same arithmetic as
 * Node bit for bit, training in the page, drawing a digit, checkpoints in and out, bad files, the static site
 * without isolation, and the dashboard following a real training epoch by epoch.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import * as E from '../../src/engine/index.js';
import { loadIdxDataset } from '../../src/data/index.js';
import { TrainingSession } from '../../src/train/session.js';
import { encodeSafetensors } from '../../src/train/safetensors.js';
import { startUiServer, type UiServer } from '../../src/ui/server.js';
import { convlab } from '../cli/helpers.js';
import { tempDir } from '../train/helpers.js';
import { launchChromium, openPage, plainStaticServer, ROOT, screenshot, skipBrowser } from './browser.js';

const skip = skipBrowser;
let browser: Browser, server: UiServer, runsDir: string;
/** The playground on 2 threads, shared by the tests that follow one another on it. */
let playground: { page: Page; errors: string[] };

before(async () => {
  if (skip) return;
  runsDir = tempDir('convlab-ui-runs-');
  [browser, server] = await Promise.all([launchChromium(), startUiServer({ runsDir, port: 0, pollMs: 100 })]);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

type Ready = { threads: number; shared: boolean; crossOriginIsolated: boolean; backend: string };
const ready = async (page: Page): Promise<Ready> => {
  await page.waitForFunction(() => {
    const c = (globalThis as { convlab?: { ready: unknown; errors: string[] } }).convlab;
    return c && (c.ready || c.errors.length);
  }, null, { timeout: 20_000 });
  return page.evaluate(() => {
    const c = (globalThis as unknown as { convlab: { ready: Ready | null; errors: string[] } }).convlab;
    if (!c.ready) throw new Error(c.errors.join('; '));
    return c.ready;
  });
};
const progressCount = (page: Page): Promise<number> => page.evaluate(() => (globalThis as unknown as { convlab: { progress: unknown[] } }).convlab.progress.length);
const message = (page: Page): Promise<string> => page.locator('#message').innerText();

test('the playground is cross-origin isolated and the engine runs on 2 threads there', { skip, timeout: 30_000 }, async () => {
  playground = await openPage(browser, `${server.url}?threads=2&memory=64`);
  const r = await ready(playground.page);
  assert.deepEqual([r.backend, r.threads, r.shared, r.crossOriginIsolated], ['wasm', 2, true, true]);
  assert.equal(await playground.page.evaluate(() => crossOriginIsolated), true);
  assert.match(await playground.page.locator('#engine').innerText(), /^WebAssembly SIMD on 2 threads sharing one memory \(max 64 MiB\)$/);
});

test('in-browser training: the loss falls, lr and batch size change while it runs, pause stops it, no console error', { skip, timeout: 40_000 }, async () => {
  const { page, errors } = playground;
  await page.click('#run');
  await page.waitForFunction(() => ((globalThis as unknown as { convlab: { progress: { step: number }[] } }).convlab.progress.at(-1)?.step ?? 0) >= 60, null, { timeout: 30_000 });
  await page.fill('#lr', '0.01');
  await page.fill('#batch', '32');
  await page.locator('#batch').dispatchEvent('change');
  await page.locator('#lr').dispatchEvent('change');
  await page.waitForFunction(() => {
    const last = (globalThis as unknown as { convlab: { progress: { lr: number; batchSize: number }[] } }).convlab.progress.at(-1)!;
    return last.lr === 0.01 && last.batchSize === 32;
  }, null, { timeout: 10_000 });
  await page.click('#run');
  await page.waitForSelector('body[data-running="false"]');
  const progress = await page.evaluate(() => (globalThis as unknown as { convlab: { progress: { loss: number; step: number; imagesPerSecond: number }[] } }).convlab.progress);
  // Reports come by time, not by step, so the last few may reach back to the start of a short run: judge the
  // reports from step 60 on, which the run is known to have passed.
  const first = progress[0]!.loss, trained = progress.filter((p) => p.step >= 60).map((p) => p.loss);
  assert.ok(first > 1.5, `the first loss ${first} is an untrained model's`);
  assert.ok(trained.length > 0 && Math.max(...trained) < 0.6 * first, `loss ${first} → ${trained.join(', ')}`);
  assert.ok(progress.every((p) => p.imagesPerSecond > 0), 'every progress report carries images/s');
  const paused = await progressCount(page);
  await page.waitForTimeout(500);
  assert.equal(await progressCount(page), paused, 'no step after pause');
  assert.deepEqual(errors, []);
});

test('drawing a "1" with the bundled checkpoint gives class 1; the downloaded checkpoint is read by the CLI', { skip, timeout: 40_000 }, async () => {
  const { page, errors } = playground;
  await page.click('#load-bundled');
  await page.waitForFunction(() => document.getElementById('message')!.textContent === 'loaded lenet5-mnist-sample.safetensors');
  const box = (await page.locator('#pad').boundingBox())!;
  const x = box.x + box.width / 2;
  await page.mouse.move(x, box.y + box.height * 0.15);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(x + i * 0.5, box.y + box.height * (0.15 + (0.7 * i) / 12));
  await page.mouse.up();
  await page.waitForSelector('#predictions li.top');
  const top = await page.locator('#predictions li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.label));
  assert.equal(top.length, 5);
  assert.equal(top[0], '1', `top-5: ${top.join(', ')}`);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = join(tempDir('convlab-ui-dl-'), download.suggestedFilename());
  await download.saveAs(file);
  const r = await convlab(['eval', file, '--dataset', 'mnist-sample', '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  // The bundled checkpoint's own test accuracy (assets/checkpoints/README.md): the weights went through unchanged.
  assert.equal((JSON.parse(r.stdout) as { accuracy: number }).accuracy, 0.956);
  assert.deepEqual(errors, []);
});

test('a checkpoint of another model or a file that is no image: a message, and the page keeps working', { skip, timeout: 20_000 }, async () => {
  const { page } = playground;
  const meta = { model: { name: 'alexnet-cifar', numClasses: 10, inChannels: 3, imageSize: 32 }, classes: [], mean: [0.5], std: [0.25] };
  const other = encodeSafetensors(new Map([['model.features.0.weight', { shape: [2], data: new Float32Array(2) }]]), { convlab: JSON.stringify(meta) });
  await page.setInputFiles('#load-file', { name: 'alexnet.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(other) });
  await page.waitForSelector('#message.error');
  assert.equal(await message(page), "the checkpoint is for model 'alexnet-cifar' (3×32×32, 10 classes), not 'lenet5' (1×28×28, 10 classes)");
  await page.setInputFiles('#load-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.waitForFunction(() => document.getElementById('message')!.textContent!.startsWith('notes.txt'));
  assert.equal(await message(page), 'notes.txt: neither an image nor a .safetensors checkpoint; drop a digit image or a LeNet-5 checkpoint');
  await page.setInputFiles('#load-file', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a png') });
  await page.waitForFunction(() => document.getElementById('message')!.textContent!.startsWith('broken.png'));
  assert.equal(await message(page), 'broken.png: not a readable image');
  // Still working: the weights are the bundled ones (the failed loads changed nothing), so the "1" still reads 1.
  const before = await page.evaluate(() => (globalThis as unknown as { convlab: { predictions: unknown[] } }).convlab.predictions.length);
  await page.click('#clear');
  const box = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.8, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction((n) => (globalThis as unknown as { convlab: { predictions: unknown[] } }).convlab.predictions.length > n, before);
  assert.equal(await page.locator('#predictions li.top').getAttribute('data-label'), '1');
  await screenshot(page, 'playground');
});

test('one LeNet-5 SGD step: the same loss and gradients in the browser as in Node, bit for bit, on 1 thread', { skip, timeout: 40_000 }, async () => {
  // The page trains on 2 threads; the probe runs the same kernels on a backend of its own with 1 thread.
  const { page, errors } = playground;
  const seed = 7, batchSize = 16;
  const inBrowser = await page.evaluate(async ([s, b]) => {
    const r = await (globalThis as unknown as { convlab: { probe(s: number, b: number): Promise<{ loss: number; threads: number; grads: Record<string, Float32Array> }> } }).convlab.probe(s!, b!);
    return { loss: r.loss, threads: r.threads, grads: Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, Array.from(v)])) };
  }, [seed, batchSize]);
  assert.equal(inBrowser.threads, 1);

  const backend = await E.WasmBackend.create(new E.Heap(), { threads: 1 });
  const previous = E.getBackend();
  E.setBackend(backend);
  try {
    const dir = join(ROOT, 'assets', 'mnist-sample');
    const train = loadIdxDataset(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte.gz'));
    const testSet = loadIdxDataset(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'));
    const session = new TrainingSession({ model: 'lenet5', train, test: testSet, lr: 0.01, batchSize, seed });
    const inNode = session.gradients(Int32Array.from({ length: batchSize }, (_, i) => i));
    assert.ok(inNode.loss > 2, `an untrained model's loss, got ${inNode.loss}`);
    assert.equal(inBrowser.loss, inNode.loss, 'loss');
    assert.deepEqual(Object.keys(inBrowser.grads), [...inNode.grads.keys()]);
    for (const [name, grad] of inNode.grads) {
      const browserBits = new Uint32Array(Float32Array.from(inBrowser.grads[name]!).buffer);
      const nodeBits = new Uint32Array(grad.buffer, grad.byteOffset, grad.length);
      const firstDiff = nodeBits.findIndex((bits, i) => bits !== browserBits[i]);
      assert.equal(firstDiff, -1, `${name}: first differing element ${firstDiff}`);
      assert.ok(grad.some((v) => v !== 0), `${name} has a gradient`);
    }
  } finally {
    E.setBackend(previous);
    backend.dispose();
  }
  assert.deepEqual(errors, []);
});

test('as a static site without cross-origin isolation: one thread, the single-memory build, said on the page', { skip, timeout: 30_000 }, async () => {
  const { url, server: plain } = await plainStaticServer();
  try {
    const { page, errors } = await openPage(browser, url);
    const r = await ready(page);
    assert.deepEqual([r.threads, r.shared, r.crossOriginIsolated], [1, false, false]);
    assert.match(await page.locator('#engine').innerText(), /single-memory build.*not cross-origin isolated/);
    await page.click('#run');
    await page.waitForFunction(() => (globalThis as unknown as { convlab: { progress: unknown[] } }).convlab.progress.length >= 2, null, { timeout: 20_000 });
    await page.click('#run');
    await page.close();
    assert.deepEqual(errors, []);
  } finally {
    plain.close();
  }
});

test('the dashboard shows a new point after each epoch of a tiny run, then the run as finished', { skip, timeout: 60_000 }, async () => {
  // The page follows the run from before it starts, so that it sees every epoch.
  const { page, errors } = await openPage(browser, `${server.url}dashboard.html#tiny`);
  await page.waitForFunction(() => document.getElementById('live-facts')!.textContent === 'waiting for the run to start…');
  const training = convlab(['train', 'lenet5', '--dataset', 'mnist-sample', '--limit', '2000', '--epochs', '3', '--batch-size', '32', '--threads', '1', '--no-report', '--out', join(runsDir, 'tiny')]);
  await page.waitForSelector('#live[data-rendered]', { timeout: 30_000 });
  const result = await training;
  assert.equal(result.code, 0, result.stderr);
  await page.waitForFunction(() => {
    const s = (globalThis as unknown as { convlabDashboard: { live: { live: boolean; metrics: unknown[] } | null } }).convlabDashboard;
    return s.live && !s.live.live && s.live.metrics.length === 3;
  }, null, { timeout: 10_000 });
  const seen = await page.evaluate(() => (globalThis as unknown as { convlabDashboard: { pointsSeen: number[] } }).convlabDashboard.pointsSeen);
  const distinct = seen.filter((n, i) => i === 0 || n !== seen[i - 1]);
  assert.deepEqual(distinct.filter((n) => n > 0), [1, 2, 3], `epoch counts as pushed: ${seen.join(', ')}`);
  assert.equal(await page.locator('[data-fact="status"] span:last-child').innerText(), 'finished');
  await page.waitForSelector('#live-confusion svg');
  await page.check('tr[data-run="tiny"] input');
  await page.waitForSelector('#compare-curves svg');
  await screenshot(page, 'dashboard');
  assert.deepEqual(errors, []);
});
