/**
 * Debian's Chromium driven by playwright-core, for the browser tests (not a test file itself). Never downloads a
 * browser: without /usr/bin/chromium the tests skip, saying why. Screenshots go to the test output folder
 * ($CONVLAB_TEST_OUTPUT, default dist/test-output/ui), which git ignores.
 */
import { existsSync, mkdirSync, createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../train/helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = repoRoot();
export const WEB_ROOT = join(ROOT, 'dist', 'web');
export const OUTPUT = process.env.CONVLAB_TEST_OUTPUT ?? join(ROOT, 'dist', 'test-output', 'ui');

/** `skip` option for the browser tests: a reason when Chromium or the web build is missing, else false. */
export const skipBrowser: string | false = !existsSync(CHROMIUM)
  ? `needs ${CHROMIUM} (apt-get install chromium); playwright-core never downloads a browser`
  : !existsSync(join(WEB_ROOT, 'index.html')) ? 'needs the web build (npm run build:web)' : false;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that records its console errors and uncaught exceptions. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT, { recursive: true });
  const path = join(OUTPUT, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A plain static server of dist/web without isolation headers: the static-site case (one thread, single memory). */
export async function plainStaticServer(): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = resolve(WEB_ROOT, '.' + (path === '/' ? '/index.html' : path));
    if (!file.startsWith(WEB_ROOT) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}
