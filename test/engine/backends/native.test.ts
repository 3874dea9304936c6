/**
 * The native backend (native/, a Node-API addon): every kernel set this CPU runs, forced in turn, against the
 * reference backend; one thread against two; the heap rebinding after growth; refusals with one clear line.
 * Skips, saying why, when the addon was not built. The full kernel tables of wasm.test.ts run on the native backend
 * in a child process per kernel set (CONVLAB_TEST_BACKEND=native), so every Backend method is covered, native or
 * delegated.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { GemmParams } from '../../../src/engine/backend.js';
import { Heap } from '../../../src/engine/heap.js';
import { ReferenceBackend } from '../../../src/engine/backends/reference.js';
import { NativeBackend } from '../../../src/engine/backends/native.js';
import { chooseIsa, loadNativeAddon, NATIVE_ISAS, type NativeAddon, type NativeIsa } from '../../../src/engine/backends/native-addon.js';
import { repoRoot } from '../../fixtures.js';
import { KERNEL_NAMES, runStress } from '../stress.js';

const load = await loadNativeAddon();
const skip = load.addon ? false : `native addon not built (${load.reason}); run npm install with a C++ compiler`;
const runnable: NativeIsa[] = load.addon ? load.addon.isaInfo().filter((i) => i.supported).map((i) => i.name) : [];

let seed = 99;
function rnd(): number {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296 * 2 - 1;
}

function randomTensor(heap: Heap, n: number): number {
  const p = heap.alloc(Math.max(1, n) * 4) / 4;
  const f = heap.f;
  for (let i = 0; i < n; i++) f[p + i] = rnd();
  return p;
}

function maxError(heap: Heap, x: number, y: number, n: number): number {
  const f = heap.f;
  let e = 0;
  for (let i = 0; i < n; i++) e = Math.max(e, Math.abs(f[x + i]! - f[y + i]!));
  return e;
}

describe('native backend', { skip }, () => {
  let heap: Heap;
  let ref: ReferenceBackend;
  before(() => {
    heap = new Heap();
    ref = new ReferenceBackend(heap);
  });

  it('names itself and its kernel set, and refuses a float64 heap', async () => {
    const be = await NativeBackend.create(heap, { threads: 2 });
    try {
      assert.equal(be.name, 'native');
      assert.equal(be.isa, runnable[0]);
      assert.equal(be.threads, 2);
    } finally {
      be.dispose();
    }
    await assert.rejects(NativeBackend.create(new Heap({ floatBytes: 8, shared: false })), /native backend: needs a float32 heap/);
  });

  // A product larger than every kernel set's cache blocks (KC ≤ 256, MC ≤ 336, NC ≤ 3072) in each dimension, with
  // edge tiles in both, transposed operands and padded leading dimensions.
  it('computes a large GEMM across all cache blocks on every kernel set, the same on one and two threads', async () => {
    const m = 341, n = 3090, k = 263;
    const p: GemmParams = {
      transA: true, transB: false, m, n, k, a: randomTensor(heap, k * (m + 3)), lda: m + 3, b: randomTensor(heap, k * (n + 1)), ldb: n + 1,
      c: 0, ldc: n + 2, accumulate: true, batch: 1, strideA: 0, strideB: 0, strideC: 0,
    };
    const size = m * (n + 2), c0 = randomTensor(heap, size), want = randomTensor(heap, size), got = randomTensor(heap, size), got2 = randomTensor(heap, size);
    heap.f.copyWithin(want, c0, c0 + size);
    ref.gemm({ ...p, c: want });
    for (const isa of runnable) {
      const one = await NativeBackend.create(heap, { isa, threads: 1 });
      const two = await NativeBackend.create(heap, { isa, threads: 2, parallelFlops: 1 });
      try {
        heap.f.copyWithin(got, c0, c0 + size);
        heap.f.copyWithin(got2, c0, c0 + size);
        one.gemm({ ...p, c: got });
        two.gemm({ ...p, c: got2 });
        const err = maxError(heap, got, want, size);
        assert.ok(err < 2e-4, `${isa}: max error ${err} against the reference`);
        assert.equal(maxError(heap, got, got2, size), 0, `${isa}: one and two threads differ`);
      } finally {
        one.dispose();
        two.dispose();
      }
    }
  });

  it('rebinds the heap after the memory grows, shared or not', async () => {
    for (const shared of [true, false]) {
      const h = new Heap({ shared, initialBytes: 2 << 20 });
      const be = await NativeBackend.create(h, { threads: 2, parallelFlops: 1 });
      const r = new ReferenceBackend(h);
      try {
        const before = h.memory.buffer.byteLength;
        const big = randomTensor(h, 8 << 20); // 32 MiB: forces growth (a non-shared buffer is detached and may move)
        assert.ok(h.memory.buffer.byteLength > before, 'the heap grew');
        const m = 33, n = 47, k = 29;
        const c1 = randomTensor(h, m * n), c2 = randomTensor(h, m * n);
        const p: GemmParams = { transA: false, transB: true, m, n, k, a: big, lda: k, b: big + 5000, ldb: k, c: c1, ldc: n, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
        be.gemm(p);
        r.gemm({ ...p, c: c2 });
        assert.ok(maxError(h, c1, c2, m * n) < 1e-5, `shared ${shared}`);
      } finally {
        be.dispose();
      }
    }
  });

  it('keeps two backends on two heaps apart when their calls alternate', async () => {
    const heaps = [new Heap(), new Heap()];
    const backends = await Promise.all(heaps.map((h) => NativeBackend.create(h, { threads: 1 })));
    try {
      // The same element addresses on both heaps, different contents: each fill must land in its own heap.
      const at = heaps.map((h) => h.alloc(64 * 4) / 4);
      assert.equal(at[0], at[1]);
      for (let round = 0; round < 3; round++) {
        backends[0]!.fill(at[0]!, 64, round);
        backends[1]!.fill(at[1]!, 64, 10 + round);
        assert.equal(heaps[0]!.f[at[0]! + 63], round, `heap 0, round ${round}`);
        assert.equal(heaps[1]!.f[at[1]! + 63], 10 + round, `heap 1, round ${round}`);
      }
    } finally {
      for (const b of backends) b.dispose();
    }
  });

  it('throws one line for an address outside the heap instead of touching it', async () => {
    const be = await NativeBackend.create(heap, { threads: 1 });
    try {
      const floats = heap.memory.buffer.byteLength / 4;
      const p: GemmParams = { transA: false, transB: false, m: 4, n: 4, k: 4, a: 0, lda: 4, b: 0, ldb: 4, c: floats - 8, ldc: 4, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
      assert.throws(() => be.gemm(p), { message: `native backend: gemm C [${floats - 8}, +16) is outside the heap of ${floats} floats` });
      assert.throws(() => be.gemm({ ...p, c: 0, batch: 2, strideA: -4 }), { message: 'native backend: gemm batch strides must be >= 0' });
    } finally {
      be.dispose();
    }
    assert.throws(() => be.gemm({ transA: false, transB: false, m: 1, n: 1, k: 1, a: 0, lda: 1, b: 0, ldb: 1, c: 0, ldc: 1, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 }), /used after dispose/);
    // The addon itself: an unknown kernel, and an argument block outside the heap.
    const addon = load.addon!;
    addon.setHeap(new Float32Array(heap.memory.buffer));
    assert.throws(() => addon.run(999, 0, 0, 1), { message: 'native backend: unknown kernel id 999' });
    assert.throws(() => addon.run(1, heap.memory.buffer.byteLength, 0, 1), { message: 'native backend: argument block outside the heap' });
  });

});

describe('native backend under stress', { skip }, () => {
  it('3000 kernel calls of every kind on two threads match the reference, across heap growth', { timeout: 180_000 }, async () => {
    const r = await runStress({ calls: 3000, seed: 11, backend: 'native' });
    assert.equal(r.calls, 3000);
    assert.deepEqual([...r.kernels.keys()].sort(), [...KERNEL_NAMES].sort(), 'every kernel was called');
  });
});

describe('choosing the kernel set', () => {
  /** An addon whose CPU runs only AVX2 and the generic set. */
  const avx2Only: NativeAddon = {
    setHeap() {}, run() {},
    isaInfo: () => NATIVE_ISAS.map((name) => ({ name, supported: name !== 'avx512' })),
  };

  it('takes the best kernel set the CPU runs unless one is forced', () => {
    assert.deepEqual(chooseIsa(avx2Only, undefined, 'CONVLAB_NATIVE_ISA'), { index: 1, name: 'avx2' });
    assert.deepEqual(chooseIsa(avx2Only, 'generic', 'CONVLAB_NATIVE_ISA'), { index: 2, name: 'generic' });
  });

  it('refuses, in one line, a kernel set the CPU lacks or does not exist', () => {
    assert.throws(() => chooseIsa(avx2Only, 'avx512', 'CONVLAB_NATIVE_ISA'),
      { message: "CONVLAB_NATIVE_ISA 'avx512' is not supported by this CPU (it runs: avx2, generic)" });
    assert.throws(() => chooseIsa(avx2Only, 'sse9', 'CONVLAB_NATIVE_ISA'),
      { message: "CONVLAB_NATIVE_ISA 'sse9' is invalid: expected one of avx512, avx2, generic" });
  });
});

describe('every kernel table of wasm.test.ts on the native backend', { skip }, () => {
  for (const isa of runnable) {
    it(`CONVLAB_NATIVE_ISA=${isa}`, { timeout: 600_000 }, () => {
      const file = join(repoRoot(), 'dist', 'test', 'engine', 'backends', 'wasm.test.js');
      const env: NodeJS.ProcessEnv = { ...process.env, CONVLAB_TEST_BACKEND: 'native', CONVLAB_NATIVE_ISA: isa };
      // Set by the test runner for its own children: a nested `node --test` would report to it and exit 0.
      delete env.NODE_TEST_CONTEXT;
      const r = spawnSync(process.execPath, ['--test', '--test-reporter=dot', file], { encoding: 'utf8', timeout: 600_000, env });
      assert.equal(r.status, 0, `wasm.test.js on native ${isa} failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
    });
  }
});

describe('selecting the backend', () => {
  function engine(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const script = `const { initEngine } = await import(${JSON.stringify(join(repoRoot(), 'dist', 'src', 'engine', 'engine.js'))});
const b = await initEngine({ threads: 1 });
process.stdout.write(b.name + ' ' + b.isa);
b.dispose?.();`;
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === '') delete childEnv[k];
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: childEnv, timeout: 60_000 });
  }

  it('CONVLAB_BACKEND forces native, wasm or reference; unset means native when the addon loads; --version says which', { timeout: 120_000 }, () => {
    const cases: [Record<string, string>, string][] = [
      [{ CONVLAB_BACKEND: 'wasm' }, 'wasm wasm-simd128'],
      [{ CONVLAB_BACKEND: 'reference' }, 'reference typescript'],
      [{ CONVLAB_BACKEND: '' }, load.addon ? `native ${runnable[0]}` : 'wasm wasm-simd128'],
    ];
    if (load.addon) cases.push([{ CONVLAB_BACKEND: 'native', CONVLAB_NATIVE_ISA: 'generic' }, 'native generic']);
    for (const [env, want] of cases) {
      const r = engine({ CONVLAB_NATIVE_ISA: '', ...env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, want, JSON.stringify(env));
    }
    const version = (env: Record<string, string>): string => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
      for (const [k, v] of Object.entries(env)) if (v === '') delete childEnv[k];
      const r = spawnSync(process.execPath, [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), '--version'], { encoding: 'utf8', env: childEnv, timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.match(version({ CONVLAB_BACKEND: '', CONVLAB_NATIVE_ISA: '' }), load.addon ? new RegExp(`^\\d+\\.\\d+\\.\\d+ \\(backend native, isa ${runnable[0]}\\)$`) : /\(backend wasm, isa wasm-simd128\)$/);
    assert.match(version({ CONVLAB_BACKEND: 'reference' }), /\(backend reference, isa typescript\)$/);
    const bad = engine({ CONVLAB_BACKEND: 'gpu' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /CONVLAB_BACKEND 'gpu' is invalid: expected one of native, wasm, reference/);
  });
});
