/**
 * The browser build in dist/web: no Node built-in is imported statically (the platform layer's guarded dynamic
 * imports are the only mention, in the engine's two workers), the pages reference only files that exist, and the
 * playground stays under the 1 MB gzipped budget without the dataset.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../train/helpers.js';

const WEB = join(repoRoot(), 'dist', 'web');
const skip = existsSync(join(WEB, 'index.html')) ? false : 'needs the web build (npm run build:web)';
const scripts = skip ? [] : readdirSync(WEB).filter((n) => n.endsWith('.js'));
const text = (name: string): string => readFileSync(join(WEB, name), 'utf8');

test('no bundle imports a Node built-in statically; only the engine workers mention one, dynamically', { skip, timeout: 10_000 }, () => {
  assert.ok(scripts.includes('playground.js') && scripts.includes('engine-worker.js') && scripts.includes('wasm-worker.js'), scripts.join(', '));
  for (const name of scripts) {
    const js = text(name);
    assert.doesNotMatch(js, /(?:\bfrom\s*|\bimport\s*)["']node:/, `${name} imports a Node built-in statically`);
    const dynamic = js.match(/\bimport\(\s*["']node:[\w/]+["']\s*\)/g) ?? [];
    if (!['engine-worker.js', 'wasm-worker.js'].includes(name)) assert.deepEqual(dynamic, [], name);
  }
  assert.match(text('wasm-worker.js'), /import\(\s*["']node:worker_threads["']\s*\)/, 'the kernel worker finds its Node side lazily');
});

test('the pages and bundles reference files that exist, and the playground is under 1 MB gzipped', { skip, timeout: 10_000 }, () => {
  for (const page of ['index.html', 'dashboard.html']) {
    for (const [, ref] of text(page).matchAll(/(?:src|href)="([\w.-]+\.(?:js|css))"/g)) assert.ok(existsSync(join(WEB, ref!)), `${page} → ${ref}`);
  }
  for (const name of scripts) {
    for (const [, ref] of text(name).matchAll(/from\s*"\.\/([\w.-]+\.js)"|new URL\("\.\/([\w.-]+\.(?:js|wasm))"/g)) {
      if (ref) assert.ok(existsSync(join(WEB, ref)), `${name} → ${ref}`);
    }
  }
  for (const f of ['kernels.wasm', 'kernels-single.wasm', 'lenet5-mnist-sample.safetensors', 'mnist-sample/train-images-idx3-ubyte.gz']) assert.ok(existsSync(join(WEB, f)), f);
  const code = readdirSync(WEB).filter((n) => /\.(js|css|html|wasm)$/.test(n) && n !== 'dashboard.js' && n !== 'dashboard.html' && n !== 'kernels-single.wasm');
  const bytes = code.reduce((sum, n) => sum + gzipSync(readFileSync(join(WEB, n))).length, 0);
  assert.ok(bytes < 1_000_000, `playground ${bytes} bytes gzipped`);
});
