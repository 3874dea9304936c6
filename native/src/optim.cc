// PyTorch's SGD and Adam/AdamW updates, in place, element by element (so any split across threads gives the same
// result). Arithmetic in double, as in the reference backend.
#include <cmath>

#include "call.h"
#include "threadpool.h"

namespace convlab {

namespace {

// [p, g, momentumBuf, len, lr, momentum, dampening, weightDecay, nesterov, firstStep]
void run_sgd(Call& call) {
  long len = call.num(3);
  if (len <= 0) return;
  float* p = call.tensor(0, len, "sgd param");
  const float* g = call.tensor(1, len, "sgd grad");
  double lr = call.arg[4], momentum = call.arg[5], dampening = call.arg[6], wd = call.arg[7];
  bool nesterov = call.flag(8), first = call.flag(9);
  float* buf = momentum != 0 ? call.tensor(2, len, "sgd momentum buffer") : nullptr;
  if (!call.error.empty()) return;
  parallel_run(threads_for(call, len), [&](int tid, int nt) {
    long i0, i1;
    split_range(len, 16, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) {
      double d = g[i] + wd * p[i];
      if (buf) {
        double m = first ? d : momentum * buf[i] + (1 - dampening) * d;
        buf[i] = static_cast<float>(m);
        d = nesterov ? d + momentum * m : m;
      }
      p[i] = static_cast<float>(p[i] - lr * d);
    }
  });
}

// [p, g, m, v, len, lr, beta1, beta2, eps, weightDecay, decoupled, lr / (1 − beta1^t), sqrt(1 − beta2^t)]
void run_adam(Call& call) {
  long len = call.num(4);
  if (len <= 0) return;
  float* p = call.tensor(0, len, "adam param");
  const float* g = call.tensor(1, len, "adam grad");
  float* m = call.tensor(2, len, "adam m");
  float* v = call.tensor(3, len, "adam v");
  double lr = call.arg[5], b1 = call.arg[6], b2 = call.arg[7], eps = call.arg[8], wd = call.arg[9];
  bool decoupled = call.flag(10);
  double step_size = call.arg[11], sqrt_bc2 = call.arg[12];
  if (!call.error.empty()) return;
  parallel_run(threads_for(call, len), [&](int tid, int nt) {
    long i0, i1;
    split_range(len, 16, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) {
      double grad = g[i], w = p[i];
      if (decoupled) w *= 1 - lr * wd;
      else grad += wd * w;
      double mi = b1 * m[i] + (1 - b1) * grad;
      double vi = b2 * v[i] + (1 - b2) * grad * grad;
      m[i] = static_cast<float>(mi);
      v[i] = static_cast<float>(vi);
      p[i] = static_cast<float>(w - step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps));
    }
  });
}

}  // namespace

bool run_optim(int id, Call& call) {
  if (id == K_SGD) { run_sgd(call); return true; }
  if (id == K_ADAM) { run_adam(call); return true; }
  return false;
}

}  // namespace convlab
