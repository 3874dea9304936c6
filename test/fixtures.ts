/**
 * Helpers for the PyTorch golden fixtures in fixtures/*.json (written by scripts/make_fixtures.py): loading,
 * turning {"shape", "data"} records into tensors, and an elementwise closeness check that names the worst index.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../src/engine/index.js';
import type { Backend, Heap, Tensor } from '../src/engine/index.js';

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

let root: string | null = null;

/** The repository root: the nearest directory above this file that holds package.json (works from dist/ too). */
export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`fixtures: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const cache = new Map<string, unknown>();

/** Parses fixtures/<name> (cached). */
export function loadFixture<T = any>(name: string): T {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  if (!cache.has(file)) cache.set(file, JSON.parse(readFileSync(join(repoRoot(), 'fixtures', file), 'utf8')));
  return cache.get(file) as T;
}

export interface FromFixtureOptions {
  requiresGrad?: boolean;
  backend?: Backend;
}

/** A float32 tensor from a fixture record. */
export function fromFixture(t: FixtureTensor, opts: FromFixtureOptions = {}): Tensor {
  return E.tensor(t.data, t.shape, { requiresGrad: opts.requiresGrad ?? false, backend: opts.backend });
}

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

type Expected = FixtureTensor | ArrayLike<number> | number;

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere (shapes must match when both are known).
 * NaN is close only to NaN. The failure message names the worst element by its flat and multi-dimensional index.
 */
export function assertClose(actual: Tensor | ArrayLike<number> | number, expected: Expected, tol: Tolerance = {}, label = 'value'): void {
  const atol = tol.atol ?? 1e-5, rtol = tol.rtol ?? 1e-5;
  let actualShape: readonly number[] | null = null;
  let a: ArrayLike<number>;
  if (typeof actual === 'number') a = [actual];
  else if (isTensor(actual)) { actualShape = actual.shape; a = actual.toArray(); }
  else a = actual;
  let expectedShape: readonly number[] | null = null;
  let e: ArrayLike<number>;
  if (typeof expected === 'number') e = [expected];
  else if (isFixtureTensor(expected)) { expectedShape = expected.shape; e = expected.data; }
  else e = expected;
  if (actualShape && expectedShape && actualShape.join() !== expectedShape.join()) {
    throw new Error(`${label}: shape [${actualShape.join(', ')}] differs from the expected [${expectedShape.join(', ')}]`);
  }
  if (a.length !== e.length) throw new Error(`${label}: ${a.length} values, expected ${e.length}`);
  let worst = -1, worstExcess = 0, failures = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = e[i]!;
    let excess: number;
    if (Number.isNaN(x) || Number.isNaN(y)) excess = Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity;
    else if (!Number.isFinite(x) || !Number.isFinite(y)) excess = x === y ? 0 : Infinity;
    else excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > 0) {
      failures++;
      if (excess > worstExcess || worst < 0) { worst = i; worstExcess = excess; }
    }
  }
  if (failures > 0) {
    const shape = actualShape ?? expectedShape;
    const where = shape && shape.length > 1 ? ` [${unravel(worst, shape).join(', ')}]` : '';
    const x = a[worst]!, y = e[worst]!;
    throw new Error(
      `${label}: ${failures} of ${a.length} elements differ beyond atol=${atol}, rtol=${rtol}; worst at index ${worst}${where}: ` +
      `actual ${x}, expected ${y} (|diff| ${Math.abs(x - y).toExponential(3)})`);
  }
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'storage' in v && 'toArray' in v;
}

function isFixtureTensor(v: unknown): v is FixtureTensor {
  return typeof v === 'object' && v !== null && 'shape' in v && 'data' in v && Array.isArray((v as FixtureTensor).data);
}

interface WasmModule {
  WasmBackend: { create(heap: Heap, opts: { threads: number }): Backend | Promise<Backend> };
}

/**
 * The WASM backend with `threads` threads on a fresh shared heap, or the reason it cannot be had yet (the backend
 * is built separately: dist/src/engine/backends/wasm.js from tsc, build/kernels.wasm from `npm run build:wasm`).
 * Callers skip with the returned string and must call `dispose()` on the backend when done (it owns workers).
 */
export async function loadWasmBackend(threads: number): Promise<Backend | string> {
  const url = new URL('../src/engine/backends/wasm.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return 'wasm backend not built (no dist/src/engine/backends/wasm.js)';
  if (!existsSync(join(repoRoot(), 'build', 'kernels.wasm'))) return 'wasm backend not built (no build/kernels.wasm: run npm run build:wasm)';
  const mod = (await import(url.href)) as Partial<WasmModule>;
  if (typeof mod.WasmBackend?.create !== 'function') return 'wasm backend not built (wasm.js does not export WasmBackend.create)';
  return mod.WasmBackend.create(new E.Heap(), { threads });
}

/** The native backend on a fresh heap, or why it cannot be had (the addon is optional): a reason to skip. */
export async function loadNativeBackend(threads: number): Promise<Backend | string> {
  const { loadNativeAddon } = await import('../src/engine/backends/native-addon.js');
  const load = await loadNativeAddon();
  if (!load.addon) return `native backend not built (${load.reason})`;
  const { NativeBackend } = await import('../src/engine/backends/native.js');
  return NativeBackend.create(new E.Heap(), { threads });
}
