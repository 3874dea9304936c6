// The GEMM job. Batched products of many small matrices run one product per chunk. Otherwise each product is
// processed in phases: A packed once into a shared buffer (when it fits), then per column block a packing phase
// (all threads pack the block's B panels into one shared buffer) and a compute phase over C tiles. No packing
// work is duplicated.
import { argb, argi, argp, chunkDone, claim, chunkStart, imax, imin, scratchPtr, sharedPtr, waitDone } from './common';
import { gemmRegion, KC, macroKernel, MC, MR, NC, NR, packA, packB, setAMatrix, setBMatrix } from './gemm';

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
  // Row tiles: MC rows, or fewer so that there are about 8 tiles per thread (the last tiles balance the threads).
  TM = MC;
  if (nth > 1) {
    const want = (M + 8 * nth - 1) / (8 * nth);
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
  if (batchMode(nth)) return 0;
  plan(nth);
  return <i32>(bBytes() + (prepackA ? <i64>mpad * K << 2 : 0));
}

/** Args: transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, batch, strideA, strideB, strideC. */
export function gemmJob(tid: i32, nth: i32): i32 {
  readGemm();
  const scratch = scratchPtr(tid);
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
      // The previous unit's tiles read the buffer this unit overwrites.
      waitDone(unitStart);
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

export { MR };
