/**
 * WasmBackend against ReferenceBackend, kernel by kernel, on the same heap: table-driven shapes with odd and edge
 * sizes, one thread against two, and the single-threaded build on a non-shared heap.
 *
 * CONVLAB_TEST_BACKEND=native runs the same kernel tables on the NativeBackend instead (with the kernel set of
 * CONVLAB_NATIVE_ISA, else the best one): native.test.ts does so for every kernel set this CPU runs. The
 * WASM-only parts (construction, the pool's chunk counters, the single-threaded build) are then skipped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, Conv2dParams, Pool2dParams, UnaryOp } from '../../../src/engine/backend.js';
import { Heap } from '../../../src/engine/heap.js';
import { ReferenceBackend } from '../../../src/engine/backends/reference.js';
import { WasmBackend } from '../../../src/engine/backends/wasm.js';
import { NativeBackend } from '../../../src/engine/backends/native.js';

const NATIVE = process.env.CONVLAB_TEST_BACKEND === 'native';
const wasmOnly = { skip: NATIVE ? 'WASM-specific (CONVLAB_TEST_BACKEND=native)' : false };

// ---------------------------------------------------------------------------------------------------------------
// Helpers.

let seed = 12345;
function rnd(): number {
  // xorshift32, deterministic across runs.
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}

class Arena {
  private readonly ptrs: number[] = [];
  constructor(readonly heap: Heap) {}
  /** A float tensor of n elements (element index), filled with uniform values in [lo, hi). */
  rand(n: number, lo = -1, hi = 1): number {
    const p = this.zeros(n);
    const f = this.heap.f;
    for (let i = 0; i < n; i++) f[p + i] = lo + (hi - lo) * rnd();
    return p;
  }
  zeros(n: number): number {
    const byte = this.heap.alloc(Math.max(1, n) * 4);
    this.ptrs.push(byte);
    const p = byte / 4;
    this.heap.f.fill(0, p, p + n);
    return p;
  }
  from(values: number[]): number {
    const p = this.zeros(values.length);
    this.heap.f.set(values, p);
    return p;
  }
  copyOf(src: number, n: number): number {
    const p = this.zeros(n);
    this.heap.f.copyWithin(p, src, src + n);
    return p;
  }
  read(p: number, n: number): Float32Array {
    return (this.heap.f as Float32Array).slice(p, p + n);
  }
  freeAll(): void {
    for (const p of this.ptrs.splice(0)) this.heap.free(p);
  }
}

interface Tol { atol: number; rtol: number }

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${label}[${i}]: got ${g}, want NaN`);
      continue;
    }
    if (!Number.isFinite(w)) {
      assert.equal(g, w, `${label}[${i}]`);
      continue;
    }
    const err = Math.abs(g - w);
    if (!(err <= tol.atol + tol.rtol * Math.abs(w))) {
      assert.fail(`${label}[${i}]: got ${g}, want ${w} (|err| ${err.toExponential(2)})`);
    }
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Tolerance for sums of k products of O(1) values. */
function sumTol(k: number, scale: number): Tol {
  return { atol: 1e-5 * Math.sqrt(Math.max(k, 1)) * Math.max(1, scale), rtol: 1e-5 };
}

/**
 * Runs `run` on each backend over identical copies of the outputs (initialised from `init`) and returns them. On
 * the two-thread backend it also checks that both threads ran chunks of the call (its test hook hands chunk 0 to
 * the calling thread and chunk 1 to the worker), unless `oneChunk` says the call is too small to split.
 */
function runAll(
  arena: Arena, backends: Backend[], outs: { init: number; n: number }[], run: (b: Backend, o: number[]) => void,
  oneChunk = false,
): Float32Array[][] {
  return backends.map((b) => {
    const o = outs.map((x) => arena.copyOf(x.init, x.n));
    const pool = b === w2 && w2 instanceof WasmBackend ? w2.testing : null;
    pool?.resetChunkCounts();
    run(b, o);
    if (pool && !oneChunk) {
      const counts = pool.chunkCounts();
      assert.ok(counts[0]! > 0 && counts[1]! > 0, `both threads must run chunks, got ${counts.join(' and ')}`);
    }
    return o.map((p, i) => arena.read(p, outs[i]!.n));
  });
}

// ---------------------------------------------------------------------------------------------------------------

let heap: Heap;
let ref: ReferenceBackend;
let w1: WasmBackend | NativeBackend;
let w2: WasmBackend | NativeBackend;
let arena: Arena;

before(async () => {
  heap = new Heap();
  ref = new ReferenceBackend(heap);
  const backend = NATIVE ? NativeBackend : WasmBackend;
  w1 = await backend.create(heap, { threads: 1 });
  // Every kernel on two threads, however small the call, and provably so (see runAll).
  w2 = await backend.create(heap, { threads: 2, parallelFlops: 1, parallelElements: 1 });
  if (w2 instanceof WasmBackend) w2.testing.setTestHooks({ everyThread: true });
  arena = new Arena(heap);
});

after(() => {
  arena.freeAll();
  w1.dispose();
  w2.dispose();
});

describe('WasmBackend construction', wasmOnly, () => {
  it('reports its name and thread counts', () => {
    assert.equal(w1.name, 'wasm');
    assert.equal(w1.threads, 1);
    // The two-thread tests mean nothing on one thread: the shared-memory build must come up with its worker.
    assert.equal(heap.shared, true, 'the test heap must be shared');
    assert.equal(w2.threads, 2);
  });

  it('rejects a float64 heap', async () => {
    await assert.rejects(WasmBackend.create(new Heap({ floatBytes: 8, shared: false }), { threads: 1 }));
  });

  it('rejects a heap without the reserved first MiB, and grows a tiny heap to the module minimum', async () => {
    await assert.rejects(WasmBackend.create(new Heap({ reservedBytes: 4096 }), { threads: 1 }), /reserve/);
    const tiny = new Heap({ initialBytes: 0 });
    const be = await WasmBackend.create(tiny, { threads: 2 });
    const x = tiny.alloc(64 * 4) / 4;
    be.fill(x, 64, 3);
    assert.equal(tiny.f[x + 63], 3);
    be.dispose();
  });

  it('returns its control block and scratch to the heap on dispose', async () => {
    const h = new Heap();
    const before = h.liveBuffers;
    const be = await WasmBackend.create(h, { threads: 2 });
    assert.ok(h.liveBuffers > before);
    be.dispose();
    assert.equal(h.liveBuffers, before);
    assert.throws(() => be.fill(0, 1, 0), /dispose/);
  });
});

describe('gemm', () => {
  const sizes = [1, 3, 17, 64, 129];
  it('matches the reference for m, n, k in {1, 3, 17, 64, 129}, all transposes, accumulate', () => {
    for (const m of sizes) for (const n of sizes) for (const k of sizes) {
      const a = arena.rand(m * k), b = arena.rand(k * n), c0 = arena.rand(m * n);
      for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) {
        const p = {
          transA, transB, m, n, k, a, lda: transA ? m : k, b, ldb: transB ? k : n, c: 0, ldc: n, accumulate,
          batch: 1, strideA: 0, strideB: 0, strideC: 0,
        };
        const [r, x1, x2] = runAll(arena, [ref, w1, w2], [{ init: c0, n: m * n }], (be, [c]) => be.gemm({ ...p, c: c! }));
        const tol = sumTol(k, 1);
        const label = `gemm m${m} n${n} k${k} tA${+transA} tB${+transB} acc${+accumulate}`;
        assertClose(x1![0]!, r![0]!, tol, label + ' 1T');
        assertClose(x2![0]!, r![0]!, tol, label + ' 2T');
      }
    }
  });

  // Few rows against a transposed B of ≥ 2^20 floats: the native backend's unpacked paths (gemm.cc), with k
  // past its 1024-deep passes and not a multiple of any vector width, edge rows and columns, and padded rows.
  const unpackedCases = [
    { m: 64, n: 1030, k: 1037, pad: 0, accumulate: false },
    { m: 95, n: 4099, k: 257, pad: 3, accumulate: true },
    { m: 1, n: 1024, k: 2053, pad: 0, accumulate: false },
    { m: 7, n: 1027, k: 1024, pad: 5, accumulate: true },
    // Rows in whole blocks of the broadcast kernel (64 with AVX-512, 32 with AVX2, 16 portable): k past its
    // 2048-deep slices, so the second slice adds to the first, and columns that leave a partial tile.
    { m: 64, n: 1031, k: 2100, pad: 2, accumulate: false },
    { m: 64, n: 1025, k: 1100, pad: 0, accumulate: true },
    { m: 32, n: 1025, k: 2050, pad: 1, accumulate: true },
  ];
  for (const { m, n, k, pad, accumulate } of unpackedCases) {
    it(`matches the reference for x·Wᵀ at m ${m}, n ${n}, k ${k}, padded rows ${pad}, accumulate ${accumulate}`, { timeout: 60_000 }, () => {
      const lda = k + pad, ldb = k + pad, ldc = n + pad;
      const a = arena.rand(m * lda), b = arena.rand(n * ldb), c0 = arena.rand(m * ldc);
      const p = { transA: false, transB: true, m, n, k, a, lda, b, ldb, c: 0, ldc, accumulate, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
      const [r, x1, x2] = runAll(arena, [ref, w1, w2], [{ init: c0, n: m * ldc }], (be, [c]) => be.gemm({ ...p, c: c! }));
      assertClose(x1![0]!, r![0]!, sumTol(k, 1), 'x·Wᵀ 1T');
      assertClose(x2![0]!, r![0]!, sumTol(k, 1), 'x·Wᵀ 2T');
      // The native path splits C's columns across threads, so its sums do not depend on the thread count.
      if (NATIVE) assert.deepEqual(x1![0]!, x2![0]!, '1 and 2 threads give the same bits');
    });
  }

  it('handles leading dimensions larger than the matrix', () => {
    const m = 37, n = 29, k = 41, lda = 50, ldb = 33, ldc = 31;
    const a = arena.rand(m * lda), b = arena.rand(k * ldb), c0 = arena.rand(m * ldc);
    const p = { transA: false, transB: false, m, n, k, a, lda, b, ldb, c: 0, ldc, accumulate: true, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
    const [r, x1, x2] = runAll(arena, [ref, w1, w2], [{ init: c0, n: m * ldc }], (be, [c]) => be.gemm({ ...p, c: c! }));
    assertClose(x1![0]!, r![0]!, sumTol(k, 1), 'ld 1T');
    assertClose(x2![0]!, r![0]!, sumTol(k, 1), 'ld 2T');
  });

  it('runs batches with strides, including broadcast operands (stride 0)', () => {
    const cases = [
      { batch: 3, m: 17, n: 33, k: 20, sA: 1, sB: 1 },
      { batch: 4, m: 64, n: 40, k: 72, sA: 1, sB: 0 },
      { batch: 5, m: 9, n: 70, k: 31, sA: 0, sB: 1 },
      { batch: 2, m: 130, n: 129, k: 140, sA: 1, sB: 1 },
    ];
    for (const cs of cases) for (const transA of [false, true]) for (const transB of [false, true]) {
      const { batch, m, n, k } = cs;
      const strideA = cs.sA * m * k, strideB = cs.sB * k * n, strideC = m * n;
      const a = arena.rand(Math.max(1, strideA * batch) + m * k), b = arena.rand(Math.max(1, strideB * batch) + k * n);
      const c0 = arena.rand(strideC * batch);
      const p = {
        transA, transB, m, n, k, a, lda: transA ? m : k, b, ldb: transB ? k : n, c: 0, ldc: n, accumulate: false,
        batch, strideA, strideB, strideC,
      };
      const [r, x1, x2] = runAll(arena, [ref, w1, w2], [{ init: c0, n: strideC * batch }], (be, [c]) => be.gemm({ ...p, c: c! }));
      const label = `batched ${JSON.stringify(cs)} tA${+transA} tB${+transB}`;
      assertClose(x1![0]!, r![0]!, sumTol(k, 1), label + ' 1T');
      assertClose(x2![0]!, r![0]!, sumTol(k, 1), label + ' 2T');
    }
  });

  it('gives the same result on one and two threads for a large product', () => {
    const m = 300, n = 260, k = 270;
    const a = arena.rand(m * k), b = arena.rand(k * n), c0 = arena.zeros(m * n);
    const p = { transA: false, transB: true, m, n, k, a, lda: k, b, ldb: k, c: 0, ldc: n, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
    const [x1, x2] = runAll(arena, [w1, w2], [{ init: c0, n: m * n }], (be, [c]) => be.gemm({ ...p, c: c! }));
    // Each C element is reduced in the same order whichever thread computes it.
    assertClose(x2![0]!, x1![0]!, { atol: 0, rtol: 0 }, '1T vs 2T');
  });

  it('computes few-row products with a transposed B (fully connected forward) in place', () => {
    for (const [m, n, k] of [[64, 300, 200], [20, 97, 130], [128, 40, 33], [5, 1030, 17]]) {
      const a = arena.rand(m! * k!), b = arena.rand(n! * k!), c0 = arena.rand(m! * n!);
      for (const transA of [false, true]) for (const accumulate of [false, true]) {
        const p = { transA, transB: true, m: m!, n: n!, k: k!, a, lda: transA ? m! : k!, b, ldb: k!, c: 0, ldc: n!, accumulate, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
        const [r, x1, x2] = runAll(arena, [ref, w1, w2], [{ init: c0, n: m! * n! }], (be, [c]) => be.gemm({ ...p, c: c! }));
        assertClose(x1![0]!, r![0]!, sumTol(k!, 1), `fc m${m} n${n} k${k} tA${+transA} acc${+accumulate} 1T`);
        assertClose(x2![0]!, r![0]!, sumTol(k!, 1), `fc m${m} n${n} k${k} tA${+transA} acc${+accumulate} 2T`);
      }
    }
  });

  it('treats k = 0 as a zero product', () => {
    const c0 = arena.rand(12);
    const p = { transA: false, transB: false, m: 3, n: 4, k: 0, a: c0, lda: 1, b: c0, ldb: 4, c: 0, ldc: 4, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
    for (const accumulate of [false, true]) {
      const [r, x] = runAll(arena, [ref, w2], [{ init: c0, n: 12 }], (be, [c]) => be.gemm({ ...p, c: c!, accumulate }), true);
      assertClose(x![0]!, r![0]!, { atol: 0, rtol: 0 }, `k0 acc${+accumulate}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

function convParams(
  n: number, c: number, h: number, w: number, oc: number, kh: number, kw: number,
  sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1,
): Conv2dParams {
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return { n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow };
}

describe('conv2d', () => {
  const cases: [string, Conv2dParams][] = [
    ['3x3 pad1', convParams(2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1)],
    ['stride2 pad0 odd', convParams(2, 3, 7, 9, 4, 3, 3, 2, 2)],
    ['5x5 pad2', convParams(2, 1, 8, 8, 6, 5, 5, 1, 1, 2, 2)],
    ['one input channel, LeNet conv1 (28x28 5x5 pad2)', convParams(2, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2)],
    ['one input channel, stride 2, odd sizes', convParams(3, 1, 13, 11, 5, 3, 3, 2, 2, 1, 1)],
    ['depthwise 3x3 s2 p1 wide, multiplier 2', convParams(2, 4, 9, 35, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4)],
    ['dilation2', convParams(2, 3, 9, 8, 4, 3, 3, 1, 1, 1, 1, 2, 2)],
    ['groups2', convParams(2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2)],
    ['depthwise s2 p1', convParams(2, 4, 7, 7, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4)],
    ['depthwise s1 p1 wide', convParams(3, 8, 9, 21, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8)],
    ['depthwise dilated', convParams(2, 5, 11, 10, 5, 3, 3, 1, 1, 2, 2, 2, 2, 5)],
    ['depthwise 3x3 s1 p1, rows of whole vectors', convParams(2, 6, 16, 16, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6)],
    ['depthwise 5x5 s1 p2 (EfficientNet)', convParams(2, 4, 9, 12, 4, 5, 5, 1, 1, 2, 2, 1, 1, 4)],
    ['depthwise 3x3 p0', convParams(2, 3, 7, 8, 3, 3, 3, 1, 1, 0, 0, 1, 1, 3)],
    ['depthwise 2x3 asymmetric pad', convParams(2, 3, 6, 5, 3, 2, 3, 1, 1, 1, 0, 1, 1, 3)],
    ['depthwise pad beyond the kernel reach', convParams(2, 3, 5, 6, 3, 3, 3, 1, 1, 3, 3, 1, 1, 3)],
    ['depthwise 3x3 on 1x1 planes', convParams(4, 8, 1, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8)],
    ['channel multiplier', convParams(2, 3, 6, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3)],
    ['pointwise', convParams(2, 5, 4, 5, 3, 1, 1)],
    ['pointwise stride2', convParams(2, 12, 5, 5, 12, 1, 1, 2, 2)],
    ['3x1 kernel', convParams(2, 3, 6, 5, 4, 3, 1, 1, 1, 1, 0)],
    ['asymmetric stride/pad/dilation', convParams(5, 16, 12, 12, 20, 3, 3, 2, 1, 2, 0, 1, 2, 2)],
    ['large pad', convParams(2, 3, 5, 5, 4, 3, 3, 1, 1, 3, 2)],
    ['batch 1 (row split)', convParams(1, 16, 12, 12, 20, 3, 3, 1, 1, 1, 1)],
    ['batch 1 strided', convParams(1, 16, 12, 12, 20, 3, 3, 2, 2, 1, 1)],
    ['wider', convParams(4, 32, 8, 8, 64, 3, 3, 1, 1, 1, 1)],
    ['odd 5x3 groups3', convParams(2, 6, 10, 10, 6, 5, 3, 2, 1, 3, 0, 1, 1, 3)],
    ['13x11 output rows straddle panels', convParams(3, 16, 13, 11, 24, 3, 3, 1, 1, 1, 1)],
    ['16 channels, pad larger than the kernel reach', convParams(2, 16, 6, 7, 8, 3, 3, 1, 1, 3, 2)],
    ['16 channels, dilated', convParams(2, 16, 9, 8, 8, 3, 3, 1, 1, 2, 2, 2, 2)],
    ['16 channels, 2x2 kernel, narrow', convParams(2, 16, 5, 3, 8, 2, 2, 1, 1, 0, 1)],
    ['LeNet conv1 (batch 3)', convParams(3, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2)],
    ['LeNet conv2 (batch 3)', convParams(3, 6, 14, 14, 16, 5, 5)],
    ['LeNet-like conv1, odd sizes', convParams(3, 1, 9, 15, 6, 5, 5, 1, 1, 2, 2)],
    ['LeNet-like conv2, odd sizes', convParams(3, 6, 13, 11, 16, 5, 5)],
    ['few channels, 5 outputs, asymmetric pad', convParams(3, 2, 7, 9, 5, 3, 3, 1, 1, 1, 0)],
    // Native's direct path (c·kh·kw ≤ 32, rows of ≥ 12 outputs, kw 2, 3 or 5): full and partial 16-column tiles,
    // and output channels that leave a block of 1 to 3.
    ['3-channel stem 3x3 pad1, 7 outputs, 19-wide rows', convParams(2, 3, 9, 19, 7, 3, 3, 1, 1, 1, 1)],
    ['whitening-like 2x2 pad0, 32-wide rows', convParams(2, 3, 5, 33, 6, 2, 2)],
    ['one channel 5x5 pad2, 13 outputs, 37-wide rows', convParams(3, 1, 6, 37, 13, 5, 5, 1, 1, 2, 2)],
    ['one channel 5x5, pad 1 down and 0 across', convParams(2, 1, 7, 17, 6, 5, 5, 1, 1, 1, 0)],
    // Its input gradient for few input channels (c ≤ 8, input rows of ≥ 12): 7 and 8 output channels per block.
    ['8 input channels 3x3 pad1, 13-wide input', convParams(2, 8, 6, 13, 9, 3, 3, 1, 1, 1, 1)],
    ['7 input channels 5x5, LeNet C3-like on 17-wide input', convParams(2, 7, 12, 17, 16, 5, 5)],
    // 16 output channels per vector for rows under 12 outputs (LeNet C3; the cases above with small planes too).
    ['20 outputs in two channel vectors, 3x3 pad1, 9-wide rows', convParams(2, 4, 9, 9, 20, 3, 3, 1, 1, 1, 1)],
    ['32 outputs, 2x2, 11-wide rows', convParams(3, 3, 6, 12, 32, 2, 2)],
    // Native's channels-last path (c ≥ 16, whole blocks of 4 vectors of output channels: 64 with AVX-512, 32 with
    // AVX2, 16 portable): planes that leave partial tiles of positions, strides, dilation, padding past the reach.
    ['channels-last 3x3 pad1, 7x5 plane, 128 outputs', convParams(3, 24, 7, 5, 128, 3, 3, 1, 1, 1, 1)],
    ['channels-last 5x5 pad2 (AlexNet conv2-like), batch 1', convParams(1, 64, 6, 6, 64, 5, 5, 1, 1, 2, 2)],
    ['channels-last stride 2, asymmetric pad and dilation', convParams(2, 16, 11, 9, 64, 3, 3, 2, 1, 2, 0, 1, 2)],
    ['channels-last pad past the reach, 2x3 kernel', convParams(2, 20, 4, 5, 64, 2, 3, 1, 1, 3, 2)],
    ['channels-last 1x1 stride 2', convParams(2, 32, 7, 7, 64, 1, 1, 2, 2)],
  ];

  for (const [name, p] of cases) {
    it(`${name}: forward, input grad, weight grad`, () => {
      const cg = p.c / p.groups, wn = p.oc * cg * p.kh * p.kw;
      const xn = p.n * p.c * p.h * p.w, yn = p.n * p.oc * p.oh * p.ow;
      const x = arena.rand(xn), wt = arena.rand(wn), bias = arena.rand(p.oc), dy = arena.rand(yn);
      const junkY = arena.rand(yn), junkX = arena.rand(xn), junkW = arena.rand(wn), junkB = arena.rand(p.oc);
      const kTol = sumTol(cg * p.kh * p.kw * 4, 1);
      for (const withBias of [true, false]) {
        // The direct kernel for few channels splits the batch: one image is one chunk.
        const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junkY, n: yn }], (be, [y]) => be.conv2d(p, x, wt, withBias ? bias : -1, y!), p.n === 1);
        assertClose(a1![0]!, r![0]!, kTol, `${name} fwd bias${+withBias} 1T`);
        assertClose(a2![0]!, r![0]!, kTol, `${name} fwd bias${+withBias} 2T`);
      }
      {
        const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junkX, n: xn }], (be, [dx]) => be.conv2dBackwardInput(p, dy, wt, dx!));
        const tol = sumTol((p.oc / p.groups) * p.kh * p.kw * 4, 1);
        assertClose(a1![0]!, r![0]!, tol, `${name} dx 1T`);
        assertClose(a2![0]!, r![0]!, tol, `${name} dx 2T`);
      }
      for (const withDb of [true, false]) {
        const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junkW, n: wn }, { init: junkB, n: p.oc }],
          (be, [dw, db]) => be.conv2dBackwardWeight(p, x, dy, dw!, withDb ? db! : -1));
        const tol = sumTol(p.n * p.oh * p.ow * 4, 1);
        assertClose(a1![0]!, r![0]!, tol, `${name} dw 1T`);
        assertClose(a2![0]!, r![0]!, tol, `${name} dw 2T`);
        if (withDb) {
          assertClose(a1![1]!, r![1]!, tol, `${name} db 1T`);
          assertClose(a2![1]!, r![1]!, tol, `${name} db 2T`);
        }
      }
    });
  }

  it('AlexNet-CIFAR conv4 shape (batch 8) on two threads matches one thread', () => {
    const p = convParams(8, 384, 8, 8, 256, 3, 3, 1, 1, 1, 1);
    const x = arena.rand(8 * 384 * 64), wt = arena.rand(256 * 384 * 9, -0.05, 0.05), dy = arena.rand(8 * 256 * 64);
    const y0 = arena.zeros(8 * 256 * 64), dw0 = arena.zeros(256 * 384 * 9);
    const [f1, f2] = runAll(arena, [w1, w2], [{ init: y0, n: 8 * 256 * 64 }], (be, [y]) => be.conv2d(p, x, wt, -1, y!));
    assertClose(f2![0]!, f1![0]!, { atol: 0, rtol: 0 }, 'conv4 fwd 1T vs 2T');
    const [g1, g2] = runAll(arena, [w1, w2], [{ init: dw0, n: 256 * 384 * 9 }], (be, [dw]) => be.conv2dBackwardWeight(p, x, dy, dw!, -1));
    // Two threads sum two halves of the batch separately, then add: close, not bitwise.
    assertClose(g2![0]!, g1![0]!, sumTol(8 * 64, maxAbs(g1![0]!) / 8), 'conv4 dw 1T vs 2T');
  });

  it('LeNet conv shapes (direct kernels, batch 9) on two threads match one thread exactly', () => {
    for (const p of [convParams(9, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2), convParams(9, 6, 14, 14, 16, 5, 5)]) {
      const xn = p.n * p.c * p.h * p.w, yn = p.n * p.oc * p.oh * p.ow, wn = p.oc * p.c * p.kh * p.kw;
      const x = arena.rand(xn), wt = arena.rand(wn), b = arena.rand(p.oc), dy = arena.rand(yn);
      const [f1, f2] = runAll(arena, [w1, w2], [{ init: arena.zeros(yn), n: yn }], (be, [y]) => be.conv2d(p, x, wt, b, y!));
      assertClose(f2![0]!, f1![0]!, { atol: 0, rtol: 0 }, `c${p.c} fwd 1T vs 2T`);
      const [g1, g2] = runAll(arena, [w1, w2], [{ init: arena.zeros(wn), n: wn }, { init: arena.zeros(p.oc), n: p.oc }],
        (be, [dw, db]) => be.conv2dBackwardWeight(p, x, dy, dw!, db!));
      assertClose(g2![0]!, g1![0]!, { atol: 0, rtol: 0 }, `c${p.c} dw 1T vs 2T`);
      assertClose(g2![1]!, g1![1]!, { atol: 0, rtol: 0 }, `c${p.c} db 1T vs 2T`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

function poolParams(
  n: number, c: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
  ceil = false, countIncludePad = true,
): Pool2dParams {
  const out = (i: number, k: number, s: number, p: number): number => {
    let o = (ceil ? Math.ceil : Math.floor)((i + 2 * p - k) / s) + 1;
    if (ceil && (o - 1) * s >= i + p) o--;
    return o;
  };
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh: out(h, kh, sh, ph), ow: out(w, kw, sw, pw), countIncludePad };
}

describe('pooling', () => {
  const cases: [string, Pool2dParams][] = [
    ['2x2 s2', poolParams(2, 3, 6, 8, 2, 2, 2, 2, 0, 0)],
    ['3x3 s2 pad1 odd', poolParams(2, 3, 7, 9, 3, 3, 2, 2, 1, 1)],
    ['3x3 s2 ceil', poolParams(2, 2, 8, 8, 3, 3, 2, 2, 0, 0, true)],
    ['3x3 s1 pad1 include', poolParams(2, 3, 5, 6, 3, 3, 1, 1, 1, 1, false, true)],
    ['3x3 s1 pad1 exclude', poolParams(2, 3, 5, 6, 3, 3, 1, 1, 1, 1, false, false)],
    ['2x3 s(1,2) pad(1,1) ceil exclude', poolParams(3, 2, 7, 10, 2, 3, 1, 2, 1, 1, true, false)],
    ['large (threads)', poolParams(16, 32, 32, 32, 2, 2, 2, 2, 0, 0)],
    ['3x3 s1 pad1 wide', poolParams(2, 3, 20, 21, 3, 3, 1, 1, 1, 1)],
    ['3x3 s2 pad1 wide', poolParams(2, 3, 33, 32, 3, 3, 2, 2, 1, 1)],
    ['3x3 s3', poolParams(2, 2, 30, 31, 3, 3, 3, 3, 0, 0)],
    ['2x2 s2 small planes', poolParams(8, 4, 8, 8, 2, 2, 2, 2, 0, 0)],
    // Rows of 4 outputs, native's shuffled path; an odd width leaves a column outside every window.
    ['2x2 s2 rows of 4 outputs, 9 wide', poolParams(4, 3, 10, 9, 2, 2, 2, 2, 0, 0)],
    ['2x2 s2 LeNet pool1 (batch 3)', poolParams(3, 6, 28, 28, 2, 2, 2, 2, 0, 0)],
    ['2x2 s2 odd sizes', poolParams(3, 5, 13, 19, 2, 2, 2, 2, 0, 0)],
    ['2x2 s2 odd sizes ceil', poolParams(3, 5, 13, 19, 2, 2, 2, 2, 0, 0, true)],
  ];
  for (const [name, p] of cases) {
    it(`${name}: max and avg, forward and backward`, () => {
      const xn = p.n * p.c * p.h * p.w, yn = p.n * p.c * p.oh * p.ow;
      const x = arena.rand(xn), dy = arena.rand(yn), jy = arena.rand(yn), jx = arena.rand(xn);
      // Ties and NaNs (adjacent in a row, and in the next row): the reference's choice of index must be
      // reproduced exactly.
      heap.f[x + 1] = heap.f[x]!;
      heap.f[x + p.w + 2] = heap.f[x + 2]!;
      // 4·w + 1: a NaN second in its 2×2 window's first row, with none below it, which must win the window.
      const nans = xn > 4 * p.w + 40 ? [37, 38, 37 + p.w, 2 * p.w + 6, 2 * p.w + 8, 4 * p.w + 1] : xn > 3 * p.w + 40 ? [37, 38, 37 + p.w, 2 * p.w + 6, 2 * p.w + 8] : [];
      for (const k of nans) heap.f[x + k] = NaN;
      const idxRef = arena.zeros(yn), idxW = arena.zeros(yn);
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: jy, n: yn }], (be, [y]) => be.maxPool2d(p, x, y!, be === ref ? idxRef : idxW));
      assertClose(a1![0]!, r![0]!, { atol: 0, rtol: 0 }, `${name} max 1T`);
      assertClose(a2![0]!, r![0]!, { atol: 0, rtol: 0 }, `${name} max 2T`);
      assert.deepEqual(Array.from(heap.i.slice(idxW, idxW + yn)), Array.from(heap.i.slice(idxRef, idxRef + yn)), `${name} argmax`);
      const [rb, b1, b2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: xn }], (be, [dx]) => be.maxPool2dBackward(p, dy, idxRef, dx!));
      assertClose(b1![0]!, rb![0]!, { atol: 1e-6, rtol: 1e-6 }, `${name} max bwd 1T`);
      assertClose(b2![0]!, rb![0]!, { atol: 1e-6, rtol: 1e-6 }, `${name} max bwd 2T`);
      for (const k of nans) heap.f[x + k] = 0.5;
      const [ra, c1, c2] = runAll(arena, [ref, w1, w2], [{ init: jy, n: yn }], (be, [y]) => be.avgPool2d(p, x, y!));
      assertClose(c1![0]!, ra![0]!, { atol: 1e-6, rtol: 1e-6 }, `${name} avg 1T`);
      assertClose(c2![0]!, ra![0]!, { atol: 1e-6, rtol: 1e-6 }, `${name} avg 2T`);
      const [rab, d1, d2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: xn }], (be, [dx]) => be.avgPool2dBackward(p, dy, dx!));
      assertClose(d1![0]!, rab![0]!, { atol: 1e-6, rtol: 1e-6 }, `${name} avg bwd 1T`);
      assertClose(d2![0]!, rab![0]!, { atol: 1e-6, rtol: 1e-6 }, `${name} avg bwd 2T`);
    });
  }

  for (const [h, w, oh, ow] of [[5, 5, 1, 1], [13, 13, 6, 6], [7, 5, 3, 3], [4, 4, 8, 8], [32, 32, 4, 4]]) {
    it(`adaptive avg ${h}x${w} -> ${oh}x${ow}`, () => {
      const p = { n: 3, c: 5, h: h!, w: w!, oh: oh!, ow: ow! };
      const xn = 15 * h! * w!, yn = 15 * oh! * ow!;
      const x = arena.rand(xn), dy = arena.rand(yn), jy = arena.rand(yn), jx = arena.rand(xn);
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: jy, n: yn }], (be, [y]) => be.adaptiveAvgPool2d(p, x, y!));
      assertClose(a1![0]!, r![0]!, { atol: 1e-6, rtol: 1e-6 }, 'adaptive 1T');
      assertClose(a2![0]!, r![0]!, { atol: 1e-6, rtol: 1e-6 }, 'adaptive 2T');
      const [rb, b1, b2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: xn }], (be, [dx]) => be.adaptiveAvgPool2dBackward(p, dy, dx!));
      assertClose(b1![0]!, rb![0]!, { atol: 1e-6, rtol: 1e-6 }, 'adaptive bwd 1T');
      assertClose(b2![0]!, rb![0]!, { atol: 1e-6, rtol: 1e-6 }, 'adaptive bwd 2T');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------

describe('unary', () => {
  const special = [0, -0, 1e-3, -1e-3, 0.05, -0.05, 0.6, -0.6, 0.7, -0.7, 2.99, -2.99, 3.01, -3.01, 3, -3, 4, -4,
    9, -9, 15, -15, 40, -40, 87, -87, 88.5, -88.5, 100, -100, 1e-30, 1e-40, Infinity, -Infinity, NaN];
  const ops: [UnaryOp, number, number, number][] = [
    // op, alpha, lo, hi
    ['relu', 0, -3, 3], ['leaky_relu', 0.1, -3, 3], ['tanh', 0, -6, 6], ['sigmoid', 0, -12, 12], ['gelu', 0, -6, 6],
    ['silu', 0, -12, 12], ['hardswish', 0, -5, 5], ['hardsigmoid', 0, -5, 5], ['exp', 0, -20, 20],
    ['log', 0, 1e-6, 50], ['neg', 0, -3, 3], ['sqrt', 0, 0, 50], ['square', 0, -9, 9], ['abs', 0, -3, 3],
    ['pow', 3, -3, 3], ['pow', 2, -3, 3], ['pow', 0.5, 0, 9], ['pow', -1.5, 0.1, 9], ['add_scalar', 0.1, -3, 3],
    ['mul_scalar', -2.5, -3, 3], ['relu6', 0, -3, 9],
  ];
  const len = 70_003; // above the parallel threshold, odd tail
  for (const [op, alpha, lo, hi] of ops) {
    it(`${op}(${alpha}) forward and backward`, () => {
      const x = arena.rand(len, lo, hi);
      heap.f.set(special, x);
      const dy = arena.rand(len), junk = arena.rand(len);
      const tol: Tol = { atol: 2e-7, rtol: 4e-6 };
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junk, n: len }], (be, [y]) => be.unary(op, x, y!, len, alpha));
      assertClose(a1![0]!, r![0]!, tol, `${op} fwd 1T`);
      assertClose(a2![0]!, r![0]!, tol, `${op} fwd 2T`);
      // Backward from the reference's y; skip non-finite x where derivative conventions legitimately differ.
      const y = arena.from(Array.from(r![0]!));
      const [rb, b1, b2] = runAll(arena, [ref, w1, w2], [{ init: junk, n: len }], (be, [dx]) => be.unaryBackward(op, x, y, dy, dx!, len, alpha));
      const keep = (arr: Float32Array): Float32Array => arr.slice(special.length);
      const btol: Tol = { atol: 1e-6, rtol: 1e-5 };
      assertClose(keep(b1![0]!), keep(rb![0]!), btol, `${op} bwd 1T`);
      assertClose(keep(b2![0]!), keep(rb![0]!), btol, `${op} bwd 2T`);
    });
  }
});

describe('binary', () => {
  const cases: [string, number[], number[], number[], number, number][] = [
    // name, shape, aStrides, bStrides, a size, b size
    ['same shape', [4, 5, 6], [30, 6, 1], [30, 6, 1], 120, 120],
    ['scalar b', [7, 9], [9, 1], [0, 0], 63, 1],
    ['scalar a', [70_001], [0], [1], 1, 70_001],
    ['per channel', [8, 16, 49], [784, 49, 1], [0, 1, 0], 8 * 16 * 49, 16],
    ['row broadcast', [33, 17], [17, 1], [0, 1], 33 * 17, 17],
    ['transposed a', [6, 7], [1, 6], [7, 1], 42, 42],
    ['outer product', [12, 13], [1, 0], [0, 1], 12, 13],
    ['rank 4 mixed', [3, 1, 4, 5], [20, 0, 5, 1], [0, 0, 1, 4], 60, 20],
    ['large per channel (threads)', [32, 64, 64], [4096, 64, 1], [0, 1, 0], 32 * 4096, 64],
  ];
  for (const [name, shape, as, bs, an, bn] of cases) {
    it(name, () => {
      const a = arena.rand(an), b = arena.rand(bn, 0.5, 2);
      const total = shape.reduce((s, d) => s * d, 1);
      const junk = arena.rand(total);
      for (const op of ['add', 'sub', 'mul', 'div'] as const) {
        const [r, x1, x2] = runAll(arena, [ref, w1, w2], [{ init: junk, n: total }], (be, [o]) => be.binary(op, a, as, b, bs, o!, shape));
        assertClose(x1![0]!, r![0]!, { atol: 0, rtol: 0 }, `${name} ${op} 1T`);
        assertClose(x2![0]!, r![0]!, { atol: 0, rtol: 0 }, `${name} ${op} 2T`);
      }
    });
  }
});

describe('reductions and softmax', () => {
  for (const [outer, reduce, inner] of [[1, 1000, 1], [7, 13, 1], [3, 50, 17], [64, 10, 256], [1, 100_000, 1], [5, 3, 1031]]) {
    it(`reduceSum ${outer}x${reduce}x${inner}`, () => {
      const x = arena.rand(outer! * reduce! * inner!), junk = arena.rand(outer! * inner!);
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junk, n: outer! * inner! }], (be, [y]) => be.reduceSum(x, y!, outer!, reduce!, inner!));
      assertClose(a1![0]!, r![0]!, { atol: 1e-6, rtol: 1e-6 }, 'reduceSum 1T');
      assertClose(a2![0]!, r![0]!, { atol: 1e-6, rtol: 1e-6 }, 'reduceSum 2T');
    });
  }
  for (const [rows, cols] of [[1, 1], [3, 7], [64, 10], [5, 1001], [700, 100]]) {
    for (const log of [false, true]) {
      it(`${log ? 'log_' : ''}softmax ${rows}x${cols} forward and backward`, () => {
        const n = rows! * cols!;
        const x = arena.rand(n, -8, 8), dy = arena.rand(n), junk = arena.rand(n);
        const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junk, n }], (be, [y]) => be.softmax(x, y!, rows!, cols!, log));
        const tol: Tol = { atol: 1e-6, rtol: 2e-6 };
        assertClose(a1![0]!, r![0]!, tol, 'softmax 1T');
        assertClose(a2![0]!, r![0]!, tol, 'softmax 2T');
        const y = arena.from(Array.from(r![0]!));
        const [rb, b1, b2] = runAll(arena, [ref, w1, w2], [{ init: junk, n }], (be, [dx]) => be.softmaxBackward(y, dy, dx!, rows!, cols!, log));
        const btol = sumTol(cols!, 1);
        assertClose(b1![0]!, rb![0]!, btol, 'softmax bwd 1T');
        assertClose(b2![0]!, rb![0]!, btol, 'softmax bwd 2T');
      });
    }
  }
});

describe('normalisation', () => {
  for (const [n, c, hw] of [[4, 3, 25], [8, 5, 1], [16, 32, 64], [3, 7, 1001]]) {
    for (const affine of [true, false]) {
      it(`batchNorm n${n} c${c} hw${hw} affine${+affine}`, () => {
        const len = n! * c! * hw!;
        const x = arena.rand(len, -2, 4), dy = arena.rand(len);
        const gamma = affine ? arena.rand(c!, 0.5, 1.5) : -1, beta = affine ? arena.rand(c!) : -1;
        const jc = arena.rand(c!), jx = arena.rand(len);
        const [r, s1, s2] = runAll(arena, [ref, w1, w2], [{ init: jc, n: c! }, { init: jc, n: c! }],
          (be, [mean, invstd]) => be.batchNormStats(x, n!, c!, hw!, 1e-5, mean!, invstd!));
        for (const [s, t] of [[s1, '1T'], [s2, '2T']] as const) {
          assertClose(s![0]!, r![0]!, { atol: 1e-6, rtol: 1e-6 }, `bn mean ${t}`);
          assertClose(s![1]!, r![1]!, { atol: 1e-6, rtol: 1e-5 }, `bn invstd ${t}`);
        }
        const mean = arena.from(Array.from(r![0]!)), invstd = arena.from(Array.from(r![1]!));
        const [ra, p1, p2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: len }],
          (be, [y]) => be.batchNormApply(x, n!, c!, hw!, mean, invstd, gamma, beta, y!));
        assertClose(p1![0]!, ra![0]!, { atol: 2e-6, rtol: 2e-6 }, 'bn apply 1T');
        assertClose(p2![0]!, ra![0]!, { atol: 2e-6, rtol: 2e-6 }, 'bn apply 2T');
        for (const training of [true, false]) {
          const [rb, q1, q2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: len }, { init: jc, n: c! }, { init: jc, n: c! }],
            (be, [dx, dg, db]) => be.batchNormBackward(x, dy, n!, c!, hw!, mean, invstd, gamma, training, dx!, dg!, db!));
          const tol = sumTol(n! * hw!, 1);
          for (const [q, t] of [[q1, '1T'], [q2, '2T']] as const) {
            assertClose(q![0]!, rb![0]!, { atol: 2e-5, rtol: 1e-4 }, `bn dx training${+training} ${t}`);
            assertClose(q![1]!, rb![1]!, tol, `bn dgamma ${t}`);
            assertClose(q![2]!, rb![2]!, tol, `bn dbeta ${t}`);
          }
        }
      });
    }
  }

  for (const [rows, cols] of [[6, 8], [5, 20], [300, 257], [1, 4096]]) {
    for (const affine of [true, false]) {
      it(`layerNorm ${rows}x${cols} affine${+affine}`, () => {
        const len = rows! * cols!;
        const x = arena.rand(len, -2, 3), dy = arena.rand(len);
        const gamma = affine ? arena.rand(cols!, 0.5, 1.5) : -1, beta = affine ? arena.rand(cols!) : -1;
        const jx = arena.rand(len), jr = arena.rand(rows!), jc = arena.rand(cols!);
        const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: len }, { init: jr, n: rows! }, { init: jr, n: rows! }],
          (be, [y, mean, invstd]) => be.layerNorm(x, rows!, cols!, 1e-5, gamma, beta, y!, mean!, invstd!));
        for (const [a, t] of [[a1, '1T'], [a2, '2T']] as const) {
          assertClose(a![0]!, r![0]!, { atol: 2e-6, rtol: 2e-6 }, `ln y ${t}`);
          assertClose(a![1]!, r![1]!, { atol: 1e-6, rtol: 1e-6 }, `ln mean ${t}`);
          assertClose(a![2]!, r![2]!, { atol: 1e-6, rtol: 1e-5 }, `ln invstd ${t}`);
        }
        const mean = arena.from(Array.from(r![1]!)), invstd = arena.from(Array.from(r![2]!));
        const [rb, b1, b2] = runAll(arena, [ref, w1, w2], [{ init: jx, n: len }, { init: jc, n: cols! }, { init: jc, n: cols! }],
          (be, [dx, dg, db]) => be.layerNormBackward(x, dy, rows!, cols!, mean, invstd, gamma, dx!, dg!, db!));
        const tol = sumTol(rows!, 1);
        for (const [b, t] of [[b1, '1T'], [b2, '2T']] as const) {
          assertClose(b![0]!, rb![0]!, { atol: 1e-5, rtol: 1e-4 }, `ln dx ${t}`);
          assertClose(b![1]!, rb![1]!, tol, `ln dgamma ${t}`);
          assertClose(b![2]!, rb![2]!, tol, `ln dbeta ${t}`);
        }
      });
    }
  }
});

describe('memory and optimisers', () => {
  it('copy: permute, slice, broadcast source, large contiguous', () => {
    const src = arena.rand(2 * 3 * 4 * 5);
    const cases: [number[], number[], number[], number][] = [
      // shape, srcStrides, dstStrides (contiguous dst), src offset
      [[5, 4, 3, 2], [1, 5, 20, 60], [24, 6, 2, 1], 0],
      [[2, 2, 3], [60, 20, 1], [6, 3, 1], 7],
      [[3, 8], [0, 1], [8, 1], 3],
      [[1, 1, 1], [0, 0, 0], [1, 1, 1], 0],
      [[120], [1], [1], 0],
    ];
    for (const [shape, ss, ds, off] of cases) {
      const total = shape.reduce((s, d) => s * d, 1);
      const junk = arena.rand(total);
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: junk, n: total }], (be, [d]) => be.copy(src + off, ss, d!, ds, shape));
      assertClose(a1![0]!, r![0]!, { atol: 0, rtol: 0 }, `copy ${shape} 1T`);
      assertClose(a2![0]!, r![0]!, { atol: 0, rtol: 0 }, `copy ${shape} 2T`);
    }
    const big = 300_007, bsrc = arena.rand(big), junk = arena.rand(big);
    const [r, , a2] = runAll(arena, [ref, w1, w2], [{ init: junk, n: big }], (be, [d]) => be.copy(bsrc, [1], d!, [1], [big]));
    assertClose(a2![0]!, r![0]!, { atol: 0, rtol: 0 }, 'copy big 2T');
    // Strided destination (e.g. writing into a slice of a concat).
    const dst0 = arena.rand(2 * 10);
    const [rs, s1] = runAll(arena, [ref, w2], [{ init: dst0, n: 20 }], (be, [d]) => be.copy(src, [5, 1], d! + 3, [10, 1], [2, 5]));
    assertClose(s1![0]!, rs![0]!, { atol: 0, rtol: 0 }, 'copy into slice');
  });

  it('fill and axpy', () => {
    for (const len of [1, 7, 100_003]) {
      const x = arena.rand(len), y0 = arena.rand(len);
      // fill stays on one thread below 4 × parallelElements elements.
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: y0, n: len }], (be, [y]) => be.fill(y!, len, -1.25), len < 4);
      assertClose(a1![0]!, r![0]!, { atol: 0, rtol: 0 }, 'fill 1T');
      assertClose(a2![0]!, r![0]!, { atol: 0, rtol: 0 }, 'fill 2T');
      const [rx, b1, b2] = runAll(arena, [ref, w1, w2], [{ init: y0, n: len }], (be, [y]) => be.axpy(x, y!, len, 0.3));
      assertClose(b1![0]!, rx![0]!, { atol: 1e-7, rtol: 1e-6 }, 'axpy 1T');
      assertClose(b2![0]!, rx![0]!, { atol: 1e-7, rtol: 1e-6 }, 'axpy 2T');
    }
  });

  it('sgdStep with and without momentum, nesterov, weight decay, first step', () => {
    const len = 70_001;
    const p0 = arena.rand(len), g = arena.rand(len), m0 = arena.rand(len);
    const variants = [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false, firstStep: true },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 5e-4, nesterov: false, firstStep: false },
      { lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 0, nesterov: true, firstStep: false },
    ];
    for (const o of variants) {
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: p0, n: len }, { init: m0, n: len }],
        (be, [p, m]) => be.sgdStep(p!, g, o.momentum === 0 ? -1 : m!, len, o));
      for (const [a, t] of [[a1, '1T'], [a2, '2T']] as const) {
        assertClose(a![0]!, r![0]!, { atol: 1e-7, rtol: 1e-6 }, `sgd p ${JSON.stringify(o)} ${t}`);
        assertClose(a![1]!, r![1]!, { atol: 1e-7, rtol: 1e-6 }, `sgd buf ${t}`);
      }
    }
  });

  it('adamStep, Adam and AdamW', () => {
    const len = 70_001;
    const p0 = arena.rand(len), g = arena.rand(len), m0 = arena.rand(len, -0.1, 0.1), v0 = arena.rand(len, 0, 0.01);
    for (const decoupled of [false, true]) for (const step of [1, 10]) {
      const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled, step };
      const [r, a1, a2] = runAll(arena, [ref, w1, w2], [{ init: p0, n: len }, { init: m0, n: len }, { init: v0, n: len }],
        (be, [p, m, v]) => be.adamStep(p!, g, m!, v!, len, o));
      for (const [a, t] of [[a1, '1T'], [a2, '2T']] as const) {
        assertClose(a![0]!, r![0]!, { atol: 1e-7, rtol: 1e-6 }, `adam p ${JSON.stringify(o)} ${t}`);
        assertClose(a![1]!, r![1]!, { atol: 1e-8, rtol: 1e-6 }, `adam m ${t}`);
        assertClose(a![2]!, r![2]!, { atol: 1e-9, rtol: 1e-6 }, `adam v ${t}`);
      }
    }
  });
});

describe('profiling', () => {
  it('accumulates calls and time per kernel when profile is a Map', () => {
    const x = arena.rand(1000), y = arena.zeros(1000);
    w2.profile = new Map();
    w2.unary('relu', x, y, 1000, 0);
    w2.unary('relu', x, y, 1000, 0);
    w2.fill(y, 1000, 0);
    const e = w2.profile.get('unary');
    assert.equal(e?.calls, 2);
    assert.deepEqual([...w2.profile.keys()].sort(), ['fill', 'unary'], 'one entry per kernel called');
    assert.equal(w2.profile.get('fill')?.calls, 1);
    assert.ok(typeof e?.ms === 'number' && Number.isFinite(e.ms) && e.ms >= 0, `a finite duration, got ${e?.ms}`);
    assert.equal(w2.profile.get('fill')?.calls, 1);
    w2.profile = undefined;
  });
});

describe('single-threaded build on a non-shared heap', wasmOnly, () => {
  it('runs every kind of kernel correctly, across memory growth', async () => {
    const h = new Heap({ shared: false, initialBytes: 2 << 20 });
    assert.equal(h.shared, false);
    const be = await WasmBackend.create(h, { threads: 4 });
    const r = new ReferenceBackend(h);
    const ar = new Arena(h);
    try {
      assert.equal(be.threads, 1);
      const m = 70, n = 90, k = 110;
      const a = ar.rand(m * k), b = ar.rand(k * n), c0 = ar.rand(m * n);
      const p = { transA: true, transB: false, m, n, k, a, lda: m, b, ldb: n, c: 0, ldc: n, accumulate: true, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
      const [g1, g2] = runAll(ar, [r, be], [{ init: c0, n: m * n }], (x, [c]) => x.gemm({ ...p, c: c! }));
      assertClose(g2![0]!, g1![0]!, sumTol(k, 1), 'single gemm');
      // Grow the memory (detaching the old non-shared buffer), then run more kernels.
      const big = ar.rand(3 << 20);
      const cp = convParams(3, 8, 9, 9, 12, 3, 3, 2, 1, 1, 1, 1, 1, 2);
      const x = ar.rand(3 * 8 * 81), wt = ar.rand(12 * 4 * 9), yn = 3 * 12 * cp.oh * cp.ow, junk = ar.rand(yn);
      const [c1, c2] = runAll(ar, [r, be], [{ init: junk, n: yn }], (q, [y]) => q.conv2d(cp, x, wt, -1, y!));
      assertClose(c2![0]!, c1![0]!, sumTol(36, 1), 'single conv');
      const xj = ar.rand(3 * 8 * 81);
      const [d1, d2] = runAll(ar, [r, be], [{ init: xj, n: 3 * 8 * 81 }], (q, [dx]) => q.conv2dBackwardInput(cp, junk, wt, dx!));
      assertClose(d2![0]!, d1![0]!, sumTol(54, 1), 'single conv dx');
      const [u1, u2] = runAll(ar, [r, be], [{ init: big, n: 1000 }], (q, [y]) => q.unary('gelu', big, y!, 1000, 0));
      assertClose(u2![0]!, u1![0]!, { atol: 2e-7, rtol: 4e-6 }, 'single gelu');
    } finally {
      ar.freeAll();
      be.dispose();
    }
  });
});
