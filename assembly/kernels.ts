// Entry point of the kernel module. Every thread (the main thread and each worker) instantiates this module over
// the same memory and calls `run` for the job described in the control block at `base`: the thread claims chunks
// of the job until none is left, and run returns the job's chunk count (the main thread waits for that many to
// be done).
import * as K from '../src/engine/backends/wasm-abi';
import { gemmJob, gemmWorkspace as gemmWs } from './gemm-job';
import { chunkDone, claim, jobIsCurrent, setJob } from './common';
import { convBackwardInputJob, convBackwardWeightJob, convForwardJob, convWorkspace as convWs } from './conv';
import * as E from './elementwise';
import * as N from './norm';
import * as O from './optim';
import * as R from './reduce';
import { GEMM_SCRATCH_BYTES } from './sgemm';
import * as P from './pool';

/** Bytes of shared workspace a convolution needs (arguments already in the control block at `base`). */
export function convWorkspace(base: usize, kind: i32, slot: i32, nth: i32): i32 {
  setJob(base, 0, 0);
  return convWs(kind, slot, nth);
}

/** Bytes of shared packed-B workspace a GEMM needs (arguments already in the control block at `base`). */
export function gemmWorkspace(base: usize, nth: i32): i32 {
  setJob(base, 0, 0);
  return gemmWs(nth);
}

/** Test hook (WasmPool.setTestHooks): may hold a worker here, after it has read the kernel id. */
@external("env", "testPause")
declare function testPause(): void;

/** Runs this thread's chunks of job `seq` in the control block at `base`; returns the job's chunk count. */
export function run(base: usize, tid: i32, seq: i32): i32 {
  setJob(base, seq, tid);
  if (!jobIsCurrent()) return 0;
  const kernel = load<i32>(base + <usize>K.CTRL_KERNEL);
  const nth = load<i32>(base + <usize>K.CTRL_NTH);
  if (load<i32>(base + <usize>K.CTRL_TEST_STALL) != 0) testPause();
  switch (kernel) {
    case K.K_GEMM: return gemmJob(tid, nth);
    case K.K_CONV_FWD: return convForwardJob(tid, nth);
    case K.K_CONV_BWD_INPUT: return convBackwardInputJob(tid, nth);
    case K.K_CONV_BWD_WEIGHT: return convBackwardWeightJob(tid, nth);
    default: return simpleJob(kernel, nth);
  }
}

/**
 * Kernels whose work splits into independent ranges: 4 chunks per thread; each job function receives
 * (chunk, chunk count) and processes its share of the range.
 */
function simpleJob(kernel: i32, nth: i32): i32 {
  const total = nth <= 1 ? 1 : 4 * nth;
  for (let c = claim(total); c >= 0; c = claim(total)) {
    switch (kernel) {
      case K.K_MAXPOOL: P.maxPoolJob(c, total); break;
      case K.K_MAXPOOL_BWD: P.maxPoolBackwardJob(c, total); break;
      case K.K_AVGPOOL: P.avgPoolJob(c, total); break;
      case K.K_AVGPOOL_BWD: P.avgPoolBackwardJob(c, total); break;
      case K.K_ADAPTIVE_AVGPOOL: P.adaptiveAvgPoolJob(c, total); break;
      case K.K_ADAPTIVE_AVGPOOL_BWD: P.adaptiveAvgPoolBackwardJob(c, total); break;
      case K.K_UNARY: E.unaryJob(c, total); break;
      case K.K_UNARY_BWD: E.unaryBackwardJob(c, total); break;
      case K.K_BINARY: E.binaryJob(c, total); break;
      case K.K_REDUCE_SUM: R.reduceSumJob(c, total); break;
      case K.K_SOFTMAX: R.softmaxJob(c, total); break;
      case K.K_SOFTMAX_BWD: R.softmaxBackwardJob(c, total); break;
      case K.K_BN_STATS: N.bnStatsJob(c, total); break;
      case K.K_BN_APPLY: N.bnApplyJob(c, total); break;
      case K.K_BN_BWD: N.bnBackwardJob(c, total); break;
      case K.K_LN: N.layerNormJob(c, total); break;
      case K.K_LN_BWD: N.layerNormBackwardJob(c, total); break;
      case K.K_COPY: E.copyJob(c, total); break;
      case K.K_FILL: E.fillJob(c, total); break;
      case K.K_AXPY: O.axpyJob(c, total); break;
      case K.K_SGD: O.sgdJob(c, total); break;
      case K.K_ADAM: O.adamJob(c, total); break;
      default: unreachable();
    }
    chunkDone();
  }
  return total;
}

/** End of the module's static data: the heap's allocations must start above it. */
export function staticEnd(): usize {
  return __heap_base;
}

/** Bytes of scratch each thread needs (allocated by TypeScript from the heap). */
export function scratchBytesPerThread(): i32 {
  return <i32>GEMM_SCRATCH_BYTES;
}
