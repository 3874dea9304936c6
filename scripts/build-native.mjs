// npm's `install` script: builds the optional native backend (native/) with the node-gyp that ships with npm.
// It downloads nothing (headers come from --nodedir, the local Node's include directory) and never fails the
// install: without a compiler or headers convlab runs on WASM, and this prints one line saying so.
// CONVLAB_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp, // npm sets this to its bundled copy while running scripts
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** The local Node's headers, so that node-gyp does not try to download them. */
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function main() {
  if (process.env.CONVLAB_SKIP_NATIVE === '1') {
    console.log('convlab: native backend not built (CONVLAB_SKIP_NATIVE=1); convlab will use WASM');
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) return fail('node-gyp not found next to npm');
  const nodedir = findNodeDir();
  if (!nodedir) return fail(`Node headers (include/node/node_api.h) not found under ${resolve(dirname(process.execPath), '..')}`);
  const args = [gyp, 'rebuild', `--nodedir=${nodedir}`, '--release', `--jobs=${process.env.CONVLAB_NATIVE_JOBS ?? '2'}`];
  const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir } });
  if (r.status !== 0) {
    const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').find((l) => /error/i.test(l))?.trim() ?? r.error?.message ?? `exit code ${r.status}`;
    return fail(why);
  }
  console.log('convlab: native backend built (native/build/Release/convlab_native.node)');
}

function fail(why) {
  console.log(`convlab: native backend not built (${why}); convlab will use WASM`);
}

main();
