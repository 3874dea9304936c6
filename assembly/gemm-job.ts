// The GEMM job: a GEMM split into chunks over the threads, on the SGEMM kernel of sgemm.ts. Batched products of many small matrices run one product per chunk. Otherwise each product is
// processed in phases: A packed once into a shared buffer (when it fits), then per column block a packing phase
// (all threads pack the block's B panels into one shared buffer) and a compute phase over C tiles. No packing
// work is duplicated.
import { argb, argi, argp, chunkDone, claim, chunkStart, imax, imin, scratchPtr, sharedPtr, waitDone } from './common';
import { gemmRegion, KC, macroKernel, MC, MR, NC, NR, packA, packB, setAMatrix, setBMatrix } from './sgemm';

/** Pre-packed A limit, in floats; larger A is packed per tile. */
const A_PACK_FLOATS: i32 = 1 << 22;

/** Packed-B buffer limit per column block, in floats. */
const B_BLOCK_FLOATS: i32 = 1 << 21;

let transA = false, transB = false, M = 0, N = 0, K = 0, lda = 0, ldb = 0, ldc = 0, acc = false, batch = 0;
let A: usize = 0, B: usize = 0, Cp: usize = 0, SA: usize = 0, SB: usize = 0, SC: usize = 0;
// Tiled plan.
let ncb = 0, nblocks = 0, kBlocks = 0, pgroups = 0, mt = 0, nt = 0, unitChunks = 0, packChunks = 0;
let prepackA = false, aChunks = 0, mpad = 0, itemChunks = 0, TM = 0;

function readGemm(): void {
  transA = argb(0); transB = argb(1);
  M = argi(2); N = argi(3); K = argi(4);
  A = argp(5); lda = argi(6); B = argp(7); ldb = argi(8); Cp = argp(9); ldc = argi(10);
  acc = argb(11);
  batch = argi(12);
  SA = <usize>argi(13) << 2; SB = <usize>argi(14) << 2; SC = <usize>argi(15) << 2;
}

/** Whole products per chunk: independent outputs and enough of them, one thread, or nothing to multiply. */
function batchMode(nth: i32): bool {
  if (K <= 0 || nth <= 1) return true;
  if (batch <= 1) return false;
  return SC != 0 && (batch % nth == 0 || batch >= 4 * nth);
}

function plan(nth: i32): void {
  ncb = N;
  if (<i64>K * N > <i64>B_BLOCK_FLOATS) {
    ncb = imin(N, (B_BLOCK_FLOATS / imin(K, B_BLOCK_FLOATS / NR)) / NR * NR);
    if (ncb < NR) ncb = NR;
  }
  nblocks = (N + ncb - 1) / ncb;
  kBlocks = (K + KC - 1) / KC;
  const panels = (ncb + NR - 1) / NR;
  pgroups = nth <= 1 ? 1 : imin(panels, 2 * nth);
  // Row tiles: MC rows, or fewer so that there are at least 4 tiles per thread (the last tiles balance the
  // threads; taller tiles reuse each B micro-panel more often).
  TM = MC;
  if (nth > 1) {
    const want = (M + 4 * nth - 1) / (4 * nth);
    TM = imin(MC, imax(4 * MR, (want + MR - 1) / MR * MR));
  }
  mt = (M + TM - 1) / TM;
  nt = 1;
  if (nth > 1 && mt < 3 * nth) nt = imin(panels, (3 * nth + mt - 1) / mt);
  packChunks = kBlocks * pgroups;
  unitChunks = packChunks + mt * nt;
  mpad = (M + MR - 1) / MR * MR;
  prepackA = <i64>mpad * K <= <i64>A_PACK_FLOATS;
  aChunks = prepackA ? kBlocks * ((M + MC - 1) / MC) : 0;
  itemChunks = aChunks + nblocks * unitChunks;
}

@inline function bBytes(): i64 { return <i64>K * ((ncb + NR - 1) / NR * NR) << 2; }

/** Bytes of shared workspace (packed B block, then packed A) the current GEMM needs on nth threads. */
export function gemmWorkspace(nth: i32): i32 {
  readGemm();
  if (smallM(nth)) return <i32>(<i64>((M + NR - 1) / NR * NR) * K << 2);
  if (batchMode(nth)) return 0;
  plan(nth);
  return <i32>(bBytes() + (prepackA ? <i64>mpad * K << 2 : 0));
}

/** Args: transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, batch, strideA, strideB, strideC. */
export function gemmJob(tid: i32, nth: i32): i32 {
  readGemm();
  const scratch = scratchPtr(tid);
  if (smallM(nth)) return smallMJob(nth, scratch);
  if (batchMode(nth)) {
    const total = batch;
    for (let bi = claim(total); bi >= 0; bi = claim(total)) {
      setAMatrix(A + <usize>bi * SA, lda, transA);
      setBMatrix(B + <usize>bi * SB, ldb, transB);
      gemmRegion(0, M, 0, N, K, Cp + <usize>bi * SC, ldc, acc, scratch);
      chunkDone();
    }
    return total;
  }
  plan(nth);
  const bp = sharedPtr(0), apShared = bp + <usize>bBytes();
  const ncbPad = (ncb + NR - 1) / NR * NR;
  const ap = scratch, tile = scratch + (<usize>(MC * KC + KC * NC) << 2), tmp = tile + 128;
  const total = batch * itemChunks;
  for (let c = claim(total); c >= 0; c = claim(total)) {
    const bi = c / itemChunks, ci = c - bi * itemChunks;
    const itemStart = bi * itemChunks;
    setAMatrix(A + <usize>bi * SA, lda, transA);
    setBMatrix(B + <usize>bi * SB, ldb, transB);
    if (ci < aChunks) {
      // Pack one (k-block, MC rows) piece of A; the previous item's tiles read the buffer.
      waitDone(itemStart);
      const mb = (M + MC - 1) / MC;
      const kb = ci / mb, rt = ci - kb * mb;
      const pc = kb * KC, kc = imin(KC, K - pc), m0 = rt * MC;
      packA(m0, imin(MC, M - m0), pc, kc, apShared + ((<usize>pc * mpad + <usize>m0 * kc) << 2));
      chunkDone();
      continue;
    }
    const u = (ci - aChunks) / unitChunks, r = ci - aChunks - u * unitChunks;
    const unitStart = itemStart + aChunks + u * unitChunks;
    const j0 = u * ncb, ncols = imin(ncb, N - j0);
    const panels = (ncols + NR - 1) / NR;
    if (r < packChunks) {
      // The previous unit's tiles read the buffer this unit overwrites; the first unit's B packing overlaps the
      // packing of A (every later chunk waits at least as long, so counting done chunks stays exact).
      waitDone(u == 0 ? itemStart : unitStart);
      const kb = r / pgroups, grp = r - kb * pgroups;
      const pc = kb * KC, kc = imin(KC, K - pc);
      const q0 = chunkStart(panels, grp, pgroups, 1), q1 = chunkStart(panels, grp + 1, pgroups, 1);
      if (q1 > q0) {
        const cols = imin(q1 * NR, ncols) - q0 * NR;
        packB(pc, kc, j0 + q0 * NR, cols, bp + ((<usize>pc * ncbPad + <usize>q0 * NR * kc) << 2), tmp);
      }
    } else {
      waitDone(unitStart + packChunks);
      const t = r - packChunks;
      const rt = t / nt, ct = t - rt * nt;
      const m0 = rt * TM, m1 = imin(M, m0 + TM);
      const q0 = chunkStart(panels, ct, nt, 1), q1 = chunkStart(panels, ct + 1, nt, 1);
      if (q1 > q0) {
        const n0 = q0 * NR, cols = imin(q1 * NR, ncols) - n0;
        const c0 = Cp + <usize>bi * SC + ((<usize>m0 * ldc + j0 + n0) << 2);
        for (let pc = 0; pc < K; pc += KC) {
          const kc = imin(KC, K - pc);
          let apk = ap;
          if (prepackA) apk = apShared + ((<usize>pc * mpad + <usize>m0 * kc) << 2);
          else packA(m0, m1 - m0, pc, kc, ap);
          macroKernel(apk, bp + ((<usize>pc * ncbPad + <usize>n0 * kc) << 2), m1 - m0, cols, kc, c0, ldc, acc || pc > 0, tile);
        }
      }
    }
    chunkDone();
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// Few rows times a large transposed B (a fully connected layer's forward pass: M = batch, B = weights stored
// N×K). Packing B would cost about as much as multiplying with it, so the product is computed as
// Cᵀ = B·Aᵀ with B's rows read straight from memory (four rows at a time, broadcast per element) and Aᵀ packed
// once into NR-wide panels of the whole depth K.

/**
 * Transposed B with few rows in A, K deep enough to amortise a call: the direct path. On one thread, packing B
 * measured faster from about 64 rows; on several threads the direct path also saves the packing phases.
 */
function smallM(nth: i32): bool {
  return transB && M <= (nth > 1 ? 128 : 32) && N >= 32 && K >= 16;
}

/** Chunks: per product, one per Aᵀ panel (packing), then bands of B rows. */
function smallMJob(nth: i32, scratch: usize): i32 {
  const panels = (M + NR - 1) / NR;
  const quads = (N + 3) / 4;
  const bands = nth <= 1 ? 1 : imin(quads, 8 * nth);
  const per = panels + bands;
  const total = batch * per;
  const ws = sharedPtr(0);
  const tile = scratch + (<usize>(MC * KC + KC * NC) << 2);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    const bi = c / per, r = c - bi * per;
    if (r < panels) {
      // Aᵀ panel r over the whole depth: element (p, j) = A(j, p). The previous product's bands read the buffer.
      waitDone(bi * per);
      setBMatrix(A + <usize>bi * SA, lda, !transA);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = imin(KC, K - pc);
        packB(pc, kc, r * NR, imin(NR, M - r * NR), ws + ((<usize>r * K + pc) * NR << 2), tile + 128);
      }
    } else {
      waitDone(bi * per + panels);
      const band = r - panels;
      const q0 = chunkStart(quads, band, bands, 1), q1 = chunkStart(quads, band + 1, bands, 1);
      const bb = B + <usize>bi * SB, cc = Cp + <usize>bi * SC;
      for (let q = q0; q < q1; q++) {
        const i0 = q * 4, rows = imin(4, N - i0);
        const ldbb = <usize>ldb << 2;
        const r0 = bb + <usize>i0 * ldbb;
        // Rows past N repeat the last row (their results are not stored).
        const r1 = rows > 1 ? r0 + ldbb : r0, r2 = rows > 2 ? r0 + 2 * ldbb : r1, r3 = rows > 3 ? r0 + 3 * ldbb : r2;
        for (let jp = 0; jp < panels; jp++) {
          const cols = imin(NR, M - jp * NR);
          kernelRowsT(K, r0, r1, r2, r3, ws + (<usize>jp * K * NR << 2), cc + ((<usize>jp * NR * ldc + i0) << 2), ldc, acc, rows, cols, tile);
        }
      }
    }
    chunkDone();
  }
  return total;
}

/**
 * Cᵀ[4 × 8] = rows r0..r3 of B (k floats each) · panel (k × 8), stored transposed into C (8 rows × 4 columns,
 * ldc floats apart), added to C when acc. Partial tiles (rows < 4 or cols < 8) go through `tile`.
 */
@inline function kernelRowsT(
  k: i32, r0: usize, r1: usize, r2: usize, r3: usize, b: usize, c: usize, ldc: i32, acc: bool, rows: i32, cols: i32, tile: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const end = <usize>k << 2;
  for (let o: usize = 0; o < end; o += 4) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let av = v128.load32_splat(r0 + o);
    c00 = f32x4.add(c00, f32x4.mul(av, b0)); c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(r1 + o);
    c10 = f32x4.add(c10, f32x4.mul(av, b0)); c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(r2 + o);
    c20 = f32x4.add(c20, f32x4.mul(av, b0)); c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(r3 + o);
    c30 = f32x4.add(c30, f32x4.mul(av, b0)); c31 = f32x4.add(c31, f32x4.mul(av, b1));
    b += 32;
  }
  // Transpose: column j of the 4×8 tile becomes C row j (four consecutive floats).
  let t0 = v128.shuffle<i32>(c00, c10, 0, 4, 1, 5), t1 = v128.shuffle<i32>(c00, c10, 2, 6, 3, 7);
  let t2 = v128.shuffle<i32>(c20, c30, 0, 4, 1, 5), t3 = v128.shuffle<i32>(c20, c30, 2, 6, 3, 7);
  const j0 = v128.shuffle<i32>(t0, t2, 0, 1, 4, 5), j1 = v128.shuffle<i32>(t0, t2, 2, 3, 6, 7);
  const j2 = v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), j3 = v128.shuffle<i32>(t1, t3, 2, 3, 6, 7);
  t0 = v128.shuffle<i32>(c01, c11, 0, 4, 1, 5); t1 = v128.shuffle<i32>(c01, c11, 2, 6, 3, 7);
  t2 = v128.shuffle<i32>(c21, c31, 0, 4, 1, 5); t3 = v128.shuffle<i32>(c21, c31, 2, 6, 3, 7);
  const j4 = v128.shuffle<i32>(t0, t2, 0, 1, 4, 5), j5 = v128.shuffle<i32>(t0, t2, 2, 3, 6, 7);
  const j6 = v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), j7 = v128.shuffle<i32>(t1, t3, 2, 3, 6, 7);
  const ldcb = <usize>ldc << 2;
  if (rows == 4 && cols == NR) {
    if (acc) {
      v128.store(c, f32x4.add(v128.load(c), j0)); v128.store(c + ldcb, f32x4.add(v128.load(c + ldcb), j1));
      v128.store(c + 2 * ldcb, f32x4.add(v128.load(c + 2 * ldcb), j2)); v128.store(c + 3 * ldcb, f32x4.add(v128.load(c + 3 * ldcb), j3));
      const c4 = c + 4 * ldcb;
      v128.store(c4, f32x4.add(v128.load(c4), j4)); v128.store(c4 + ldcb, f32x4.add(v128.load(c4 + ldcb), j5));
      v128.store(c4 + 2 * ldcb, f32x4.add(v128.load(c4 + 2 * ldcb), j6)); v128.store(c4 + 3 * ldcb, f32x4.add(v128.load(c4 + 3 * ldcb), j7));
    } else {
      v128.store(c, j0); v128.store(c + ldcb, j1); v128.store(c + 2 * ldcb, j2); v128.store(c + 3 * ldcb, j3);
      const c4 = c + 4 * ldcb;
      v128.store(c4, j4); v128.store(c4 + ldcb, j5); v128.store(c4 + 2 * ldcb, j6); v128.store(c4 + 3 * ldcb, j7);
    }
    return;
  }
  v128.store(tile, j0); v128.store(tile, j1, 16); v128.store(tile, j2, 32); v128.store(tile, j3, 48);
  v128.store(tile, j4, 64); v128.store(tile, j5, 80); v128.store(tile, j6, 96); v128.store(tile, j7, 112);
  for (let j = 0; j < cols; j++) {
    const crow = c + <usize>j * ldcb, trow = tile + (<usize>j << 4);
    for (let i = 0; i < rows; i++) {
      const v = load<f32>(trow + (<usize>i << 2));
      store<f32>(crow + (<usize>i << 2), acc ? load<f32>(crow + (<usize>i << 2)) + v : v);
    }
  }
}
