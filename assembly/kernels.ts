// Entry point of the kernel module. Every thread (the main thread and each worker) instantiates this module over
// the same memory and calls `run(tid, nth)` for the job described in the control block and argument slots.
import * as K from '../src/engine/backends/wasm-abi';
import { gemmJob } from './blas';
import { convBackwardInputJob, convBackwardWeightJob, convForwardJob } from './conv';
import * as E from './elementwise';
import { GEMM_SCRATCH_BYTES } from './gemm';
import * as P from './pool';

import { convWorkspace as convWs } from './conv';
import { setCtrlBase } from './common';

/** Bytes of shared workspace a convolution needs (arguments already in the control block at `base`). */
export function convWorkspace(base: usize, kind: i32, slot: i32, nth: i32): i32 {
  setCtrlBase(base);
  return convWs(kind, slot, nth);
}

/** Runs thread tid's share of the job in the control block at `base`. */
export function run(base: usize, tid: i32, nth: i32): void {
  if (tid >= nth) return;
  setCtrlBase(base);
  const kernel = load<i32>(base + <usize>K.CTRL_KERNEL);
  switch (kernel) {
    case K.K_GEMM: gemmJob(tid, nth); break;
    case K.K_CONV_FWD: convForwardJob(tid, nth); break;
    case K.K_CONV_BWD_INPUT: convBackwardInputJob(tid, nth); break;
    case K.K_CONV_BWD_WEIGHT: convBackwardWeightJob(tid, nth); break;
    case K.K_MAXPOOL: P.maxPoolJob(tid, nth); break;
    case K.K_MAXPOOL_BWD: P.maxPoolBackwardJob(tid, nth); break;
    case K.K_AVGPOOL: P.avgPoolJob(tid, nth); break;
    case K.K_AVGPOOL_BWD: P.avgPoolBackwardJob(tid, nth); break;
    case K.K_ADAPTIVE_AVGPOOL: P.adaptiveAvgPoolJob(tid, nth); break;
    case K.K_ADAPTIVE_AVGPOOL_BWD: P.adaptiveAvgPoolBackwardJob(tid, nth); break;
    case K.K_UNARY: E.unaryJob(tid, nth); break;
    case K.K_UNARY_BWD: E.unaryBackwardJob(tid, nth); break;
    case K.K_BINARY: E.binaryJob(tid, nth); break;
    case K.K_REDUCE_SUM: E.reduceSumJob(tid, nth); break;
    case K.K_SOFTMAX: E.softmaxJob(tid, nth); break;
    case K.K_SOFTMAX_BWD: E.softmaxBackwardJob(tid, nth); break;
    case K.K_BN_STATS: E.bnStatsJob(tid, nth); break;
    case K.K_BN_APPLY: E.bnApplyJob(tid, nth); break;
    case K.K_BN_BWD: E.bnBackwardJob(tid, nth); break;
    case K.K_LN: E.layerNormJob(tid, nth); break;
    case K.K_LN_BWD: E.layerNormBackwardJob(tid, nth); break;
    case K.K_COPY: E.copyJob(tid, nth); break;
    case K.K_FILL: E.fillJob(tid, nth); break;
    case K.K_AXPY: E.axpyJob(tid, nth); break;
    case K.K_SGD: E.sgdJob(tid, nth); break;
    case K.K_ADAM: E.adamJob(tid, nth); break;
    default: unreachable();
  }
}

/** Bytes of scratch each thread needs (allocated by TypeScript from the heap). */
export function scratchBytesPerThread(): i32 {
  return <i32>GEMM_SCRATCH_BYTES;
}
