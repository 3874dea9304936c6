// Shared helpers: argument slots, work splitting and the cross-thread barrier.
import { ARGS, BAR_COUNT, BAR_GEN, SCRATCH_TABLE, SHARED_TABLE } from '../src/engine/backends/wasm-abi';

/** Byte address of the calling backend's control block (set by run() on every thread). */
export let ctrlBase: usize = 0;
export function setCtrlBase(base: usize): void { ctrlBase = base; }

/** Argument slot i as a float64. */
@inline export function argf(i: i32): f64 {
  return load<f64>(ctrlBase + <usize>ARGS + (<usize>i << 3));
}
/** Argument slot i as an int32. */
@inline export function argi(i: i32): i32 {
  return <i32>load<f64>(ctrlBase + <usize>ARGS + (<usize>i << 3));
}
/** Argument slot i, an element index into the float heap, as a byte pointer. */
@inline export function argp(i: i32): usize {
  return <usize>(<i64>load<f64>(ctrlBase + <usize>ARGS + (<usize>i << 3)) << 2);
}
/** Argument slot i as a bool. */
@inline export function argb(i: i32): bool {
  return load<f64>(ctrlBase + <usize>ARGS + (<usize>i << 3)) != 0;
}

/** This thread's scratch area (byte pointer). */
@inline export function scratchPtr(tid: i32): usize {
  return load<u32>(ctrlBase + <usize>SCRATCH_TABLE + (<usize>tid << 3));
}
@inline export function scratchBytes(tid: i32): usize {
  return load<u32>(ctrlBase + <usize>SCRATCH_TABLE + (<usize>tid << 3) + 4);
}
/** A buffer shared by all threads for the current call (byte pointer), set up by TypeScript. */
@inline export function sharedPtr(i: i32): usize {
  return load<u32>(ctrlBase + <usize>SHARED_TABLE + (<usize>i << 2));
}

/** Start of thread tid's share of [0, total) split into nth parts, rounded to multiples of `align`. */
@inline export function splitAt(total: i32, tid: i32, nth: i32, align: i32): i32 {
  if (tid >= nth) return total;
  const units = (total + align - 1) / align;
  const at = <i32>((<i64>units * tid) / nth) * align;
  return at < total ? at : total;
}

/** Spins before sleeping in the barrier. */
const SPIN: i32 = 20000;

/** All `nth` threads of the current job meet here. A no-op on one thread and in the single-threaded build. */
export function barrier(nth: i32): void {
  if (nth <= 1) return;
  if (ASC_FEATURE_THREADS) {
    const gen = atomic.load<i32>(ctrlBase + <usize>BAR_GEN);
    if (atomic.add<i32>(ctrlBase + <usize>BAR_COUNT, 1) == nth - 1) {
      atomic.store<i32>(ctrlBase + <usize>BAR_COUNT, 0);
      atomic.add<i32>(ctrlBase + <usize>BAR_GEN, 1);
      atomic.notify(ctrlBase + <usize>BAR_GEN);
    } else {
      let spins = 0;
      while (atomic.load<i32>(ctrlBase + <usize>BAR_GEN) == gen) {
        if (++spins > SPIN) memory.atomic.wait32(ctrlBase + <usize>BAR_GEN, gen, -1);
      }
    }
  }
}

@inline export function imin(a: i32, b: i32): i32 { return a < b ? a : b; }
@inline export function imax(a: i32, b: i32): i32 { return a > b ? a : b; }
