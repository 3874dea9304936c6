// The GEMM job: splits batched C across threads and runs the blocked driver.
import { argb, argi, argp, imin, scratchPtr, splitAt } from './common';
import { gemmRegion, MR, NR, setAMatrix, setBMatrix } from './gemm';

/** Args: transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, batch, strideA, strideB, strideC. */
export function gemmJob(tid: i32, nth: i32): void {
  const transA = argb(0), transB = argb(1);
  const m = argi(2), n = argi(3), k = argi(4);
  const a = argp(5), lda = argi(6), b = argp(7), ldb = argi(8), c = argp(9), ldc = argi(10);
  const acc = argb(11);
  const batch = argi(12);
  const sa = <usize>argi(13) << 2, sb = <usize>argi(14) << 2, sc = <usize>argi(15) << 2;
  const scratch = scratchPtr(tid);
  if (nth > 1 && batch >= nth && sc != 0 && (batch % nth == 0 || batch >= 4 * nth)) {
    // Whole products per thread.
    const b0 = splitAt(batch, tid, nth, 1), b1 = splitAt(batch, tid + 1, nth, 1);
    for (let bi = b0; bi < b1; bi++) {
      setAMatrix(a + <usize>bi * sa, lda, transA);
      setBMatrix(b + <usize>bi * sb, ldb, transB);
      gemmRegion(0, m, 0, n, k, c + <usize>bi * sc, ldc, acc, scratch);
    }
    return;
  }
  // Split each product's C: along M (each thread packs its own rows of A) or along N.
  let m0 = 0, m1 = m, n0 = 0, n1 = n;
  if (m >= n) { m0 = splitAt(m, tid, nth, MR); m1 = splitAt(m, tid + 1, nth, MR); }
  else { n0 = splitAt(n, tid, nth, NR); n1 = splitAt(n, tid + 1, nth, NR); }
  if (m0 >= m1 || n0 >= n1) return;
  for (let bi = 0; bi < batch; bi++) {
    setAMatrix(a + <usize>bi * sa, lda, transA);
    setBMatrix(b + <usize>bi * sb, ldb, transB);
    gemmRegion(m0, m1, n0, n1, k, c + <usize>bi * sc, ldc, acc, scratch);
  }
}

export { imin };
