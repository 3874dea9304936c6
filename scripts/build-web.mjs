// Bundles the browser pages (playground, dashboard) and their workers with esbuild into dist/web/, beside copies
// of the kernels, the MNIST sample and the bundled checkpoint: a static site, also served by `convlab ui`.
// Fails when a bundle would load a Node built-in other than through the platform layer's guarded dynamic imports.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const out = 'dist/web';
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'mnist-sample'), { recursive: true });

const result = await build({
  entryPoints: {
    playground: 'src/web/playground.ts',
    dashboard: 'src/web/dashboard.ts',
    'engine-worker': 'src/web/engine-worker.ts',
    'wasm-worker': 'src/engine/backends/wasm-worker.ts',
  },
  outdir: out,
  bundle: true,
  format: 'esm',
  // Shared code and lazily imported modules (Vega, in the playground) go to chunk files beside the entries (in the
  // same folder, so that `new URL('./wasm-worker.js', import.meta.url)` resolves alike in any of them).
  splitting: true,
  chunkNames: '[name]-[hash]',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // The platform layer imports node:* lazily, only when it runs under Node; a browser never evaluates those imports.
  external: ['node:*'],
  metafile: true,
  logLevel: 'warning',
});

const staticImports = [];
for (const [file, input] of Object.entries(result.metafile.inputs)) {
  for (const imp of input.imports) {
    if (imp.path.startsWith('node:') && imp.kind !== 'dynamic-import') staticImports.push(`${file} imports ${imp.path}`);
  }
}
if (staticImports.length) {
  console.error(`build-web: browser code must not import Node built-ins:\n  ${staticImports.join('\n  ')}`);
  process.exit(1);
}

for (const name of readdirSync('src/web/static')) copyFileSync(join('src/web/static', name), join(out, name));
for (const name of ['kernels.wasm', 'kernels-single.wasm']) copyFileSync(join('build', name), join(out, name));
for (const name of readdirSync('assets/mnist-sample').filter((n) => n.endsWith('.gz'))) {
  copyFileSync(join('assets/mnist-sample', name), join(out, 'mnist-sample', name));
}
copyFileSync('assets/checkpoints/lenet5-mnist-sample.safetensors', join(out, 'lenet5-mnist-sample.safetensors'));

// The size budget: what the playground loads, gzipped, without the dataset and the checkpoint.
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const gzipped = (names) => names.reduce((sum, n) => sum + gzipSync(readFileSync(join(out, n))).length, 0);
const chunksOf = (entry, staticOnly = false) => {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of result.metafile.outputs[file]?.imports ?? []) {
      if (!imp.external && !(staticOnly && imp.kind === 'dynamic-import')) visit(imp.path);
    }
  };
  visit(`${out}/${entry}`);
  return [...seen].map((f) => f.slice(out.length + 1));
};
const playground = gzipped(['index.html', 'style.css', 'kernels.wasm', ...chunksOf('playground.js'), ...chunksOf('engine-worker.js'), ...chunksOf('wasm-worker.js')]);
const firstPaint = gzipped(['index.html', 'style.css', ...chunksOf('playground.js', true)]);
const dashboard = gzipped(['dashboard.html', 'style.css', ...chunksOf('dashboard.js')]);
console.log(`build-web: ${out}/ — playground ${kib(playground)} gzipped without the dataset (${kib(firstPaint)} before first paint), dashboard ${kib(dashboard)}`);
