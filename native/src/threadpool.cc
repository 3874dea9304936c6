// The pool behind parallel_run. The job word packs (generation << 8 | nth): a worker reads it once and takes part
// in that generation only if its tid < nth, so a worker that wakes late can never join the wrong job. The caller
// publishes the next generation only after every participant of the current one has finished.
#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() asm volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

namespace convlab {
namespace {

constexpr int kMaxThreads = 64;
// Spin iterations (a pause each, ~30-100 µs in all) before a worker sleeps: long enough to bridge the gaps between
// the kernel calls of one training step, short enough not to burn a core while JavaScript does other work.
constexpr int kWorkerSpin = 1 << 14;

thread_local bool in_job = false;

class Pool {
 public:
  void run(int nth, const std::function<void(int, int)>& fn) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || in_job || nth <= 1) {
      fn(0, 1);
      return;
    }
    if (nth > kMaxThreads) nth = kMaxThreads;
    ensure_workers(nth - 1);
    job_ = &fn;
    pending_.store(nth - 1, std::memory_order_relaxed);
    uint64_t word = ((++generation_) << 8) | static_cast<uint64_t>(nth);
    state_.store(word, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    in_job = true;
    fn(0, nth);
    in_job = false;
    // Spin for the stragglers; yield now and then, in case more threads than cores were asked for and a worker
    // waits for this core.
    for (unsigned spin = 1; pending_.load(std::memory_order_acquire) != 0; spin++) {
      if (spin % 4096 == 0) std::this_thread::yield(); else CPU_RELAX();
    }
  }

 private:
  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      int tid = static_cast<int>(workers_.size()) + 1;
      // The worker starts from the current word, read here: read in the thread, it could already be the job
      // about to be published, which the worker would then take as seen and never run.
      uint64_t start = state_.load(std::memory_order_acquire);
      workers_.emplace_back([this, tid, start] { worker(tid, start); });
      workers_.back().detach();  // never joined: the process may exit with workers asleep
    }
  }

  void worker(int tid, uint64_t seen) {
    for (;;) {
      uint64_t word = state_.load(std::memory_order_acquire);
      for (int spin = 0; word == seen && spin < kWorkerSpin; spin++) {
        CPU_RELAX();
        word = state_.load(std::memory_order_acquire);
      }
      if (word == seen) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while ((word = state_.load(std::memory_order_seq_cst)) == seen) wake_.wait(lock);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      }
      seen = word;
      int nth = static_cast<int>(word & 0xff);
      if (tid >= nth) continue;
      in_job = true;
      (*job_)(tid, nth);
      in_job = false;
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::mutex busy_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> state_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

// Leaked on purpose: destroying it at exit would need to stop workers that may be asleep.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

void parallel_run(int nth, const std::function<void(int, int)>& fn) { pool().run(nth, fn); }

}  // namespace convlab
