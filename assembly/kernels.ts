// Entry point of the kernel module. Every thread (the main thread and each worker) instantiates this module over
// the same memory and calls `run(tid, nth)` for the job described in the control block and argument slots.
import { CTRL_KERNEL, K_GEMM } from '../src/engine/backends/wasm-abi';
import { gemmJob } from './blas';
import { GEMM_SCRATCH_BYTES } from './gemm';

export function run(tid: i32, nth: i32): void {
  if (tid >= nth) return;
  const kernel = load<i32>(<usize>CTRL_KERNEL);
  switch (kernel) {
    case K_GEMM: gemmJob(tid, nth); break;
    default: unreachable();
  }
}

/** Bytes of scratch each thread needs (allocated by TypeScript from the heap). */
export function scratchBytesPerThread(): i32 {
  return <i32>GEMM_SCRATCH_BYTES;
}
