// Shared helpers: argument slots, scratch tables and the chunk work queue.
//
// Every job is split into chunks that the participating threads claim dynamically, so a job never waits for a
// thread the OS has not scheduled yet: whoever runs takes the next chunk. Kernels with dependent steps order their
// chunks in phases; a thread about to start a chunk of a later phase first waits until every chunk before that
// phase is done (all of them have been claimed already, by threads that are running them).
//
// Late threads. A worker may wake up after the main thread has finished a job alone and begun writing the next
// one: its claims then fail (they are tagged with the job's sequence number), but what it read before its first
// claim may be a mix of two jobs' arguments. So no job function writes memory before it holds a chunk of the
// current job (it may read, and its arithmetic on a half-written job may trap; the worker discards a trap of a
// job that is over, which it cannot have held a chunk of: see wasm-worker.ts).
import {
  ARGS, CTRL_DONE, CTRL_NTH, CTRL_TEST_FLAGS, CTRL_WQ, SCRATCH_TABLE, SHARED_TABLE, TEST_EVERY_THREAD, THREAD_CHUNKS,
} from '../src/engine/backends/wasm-abi';

/** Byte address of the calling backend's control block, the job being run and the calling thread's id. */
export let ctrlBase: usize = 0;
export let jobSeq: i32 = 0;
let jobTid: i32 = 0;

export function setJob(base: usize, seq: i32, tid: i32): void {
  ctrlBase = base; jobSeq = seq; jobTid = tid;
}

/** Whether job jobSeq is still the current one (a thread that finds it over has nothing to do). */
export function jobIsCurrent(): bool {
  const w = ctrlBase + <usize>CTRL_WQ;
  const cur = ASC_FEATURE_THREADS ? atomic.load<i64>(w) : load<i64>(w);
  return <i32>(cur >>> 32) == jobSeq;
}

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
/** A buffer shared by all threads for the current call (byte pointer), set up by TypeScript. */
@inline export function sharedPtr(i: i32): usize {
  return load<u32>(ctrlBase + <usize>SHARED_TABLE + (<usize>i << 2));
}

/** Claims the next chunk of the current job: its index, or −1 when none is left (or the job is over). */
export function claim(total: i32): i32 {
  const w = ctrlBase + <usize>CTRL_WQ;
  if (ASC_FEATURE_THREADS) {
    for (;;) {
      const cur = atomic.load<i64>(w);
      if (<i32>(cur >>> 32) != jobSeq) return -1;
      const idx = <i32>cur;
      if (idx >= total) return -1;
      // Test hook: chunk t < nth goes to thread t (the job cannot end while this thread waits for that).
      if (idx < 64 && idx != jobTid && (atomic.load<i32>(ctrlBase + <usize>CTRL_TEST_FLAGS) & TEST_EVERY_THREAD) != 0
        && idx < atomic.load<i32>(ctrlBase + <usize>CTRL_NTH)) continue;
      if (atomic.cmpxchg<i64>(w, cur, cur + 1) == cur) return idx;
    }
  } else {
    const cur = load<i64>(w);
    const idx = <i32>cur;
    if (<i32>(cur >>> 32) != jobSeq || idx >= total) return -1;
    store<i64>(w, cur + 1);
    return idx;
  }
  return -1;
}

/** Marks one claimed chunk finished (and counts it for the calling thread). */
export function chunkDone(): void {
  const counter = ctrlBase + <usize>THREAD_CHUNKS + (<usize>jobTid << 2);
  store<i32>(counter, load<i32>(counter) + 1);
  const d = ctrlBase + <usize>CTRL_DONE;
  if (ASC_FEATURE_THREADS) {
    atomic.add<i32>(d, 1);
    atomic.notify(d);
  } else {
    store<i32>(d, load<i32>(d) + 1);
  }
}

const SPIN: i32 = 4000;

/** Waits until at least n chunks of the current job are done (the chunks before a phase boundary). */
export function waitDone(n: i32): void {
  if (ASC_FEATURE_THREADS) {
    const d = ctrlBase + <usize>CTRL_DONE;
    let spins = 0;
    for (;;) {
      const cur = atomic.load<i32>(d);
      if (cur >= n) return;
      if (++spins > SPIN) memory.atomic.wait32(d, cur, 1000000); // 1 ms cap: chunkDone notifies anyway
    }
  }
}

/** Chunks of about `target` units for `total` units on nth threads: at least 4 per thread when there is work. */
@inline export function chunkCount(total: i32, nth: i32, minUnits: i32): i32 {
  if (nth <= 1 || total <= minUnits) return total > 0 ? 1 : 0;
  let n = nth * 4;
  const cap = total / minUnits;
  if (n > cap) n = cap;
  return n < 1 ? 1 : n;
}

/** Start of chunk c of `count` chunks over [0, total), rounded down to a multiple of `align`. */
@inline export function chunkStart(total: i32, c: i32, count: i32, align: i32): i32 {
  if (c >= count) return total;
  const units = (total + align - 1) / align;
  const at = <i32>((<i64>units * c) / count) * align;
  return at < total ? at : total;
}

/** Start of part `part` of [0, total) split into `parts` parts, rounded to multiples of `align`. */
@inline export function splitAt(total: i32, part: i32, parts: i32, align: i32): i32 {
  return chunkStart(total, part, parts, align);
}

@inline export function imin(a: i32, b: i32): i32 { return a < b ? a : b; }
@inline export function imax(a: i32, b: i32): i32 { return a > b ? a : b; }

// Float32 loads and stores at element index i of p: one vector of four, or one scalar.
@inline export function ld(p: usize, i: i32): v128 { return v128.load(p + (<usize>i << 2)); }
@inline export function st(p: usize, i: i32, v: v128): void { v128.store(p + (<usize>i << 2), v); }
@inline export function lf(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline export function sf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }

/** Sum of len floats, accumulated in float64 lanes (as the reference's float64 sums). */
export function sumRow(p: usize, len: i32): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3)));
  }
  let s: f64 = 0;
  for (; i < len; i++) s += <f64>load<f32>(p + (<usize>i << 2));
  a0 = f64x2.add(a0, a1);
  return f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + s;
}
