// A fixed set of worker threads that run one job at a time alongside the calling thread. Workers spin briefly
// on the job word, then sleep on a condition variable, so back-to-back small calls are cheap and an idle pool
// costs nothing. A call made from inside a job, or while another JS thread holds the pool, runs inline.
#pragma once
#include <functional>

namespace convlab {

// Runs fn(tid, nth) for tid in [0, nth) — tid 0 on the calling thread — and returns when all are done.
// nth may come out lower than asked (see above); fn must partition its work by the nth it is given.
void parallel_run(int nth, const std::function<void(int tid, int nth)>& fn);

// Splits [0, total) into nth near-equal parts aligned to `grain`; returns part tid as [begin, end).
inline void split_range(long total, long grain, int tid, int nth, long* begin, long* end) {
  long units = (total + grain - 1) / grain;
  long lo = units * tid / nth, hi = units * (tid + 1) / nth;
  *begin = lo * grain < total ? lo * grain : total;
  *end = hi * grain < total ? hi * grain : total;
}

}  // namespace convlab
