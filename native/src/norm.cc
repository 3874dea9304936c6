// Row softmax (and log-softmax) with its gradient, sums over an axis, batch norm and layer norm. Sums are accumulated in
// double, as in the reference backend. Rows, output columns or channels split across threads, so every sum is
// taken in the same order whatever the thread count.
#include <cmath>

#include "call.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

template <typename F>
void split(Call& call, long items, long work, F body) {
  parallel_run(threads_for(call, work), [&](int tid, int nt) {
    long i0, i1;
    split_range(items, 1, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) body(i);
  });
}

// [x, y, rows, cols, log]
void run_softmax(Call& call) {
  long rows = call.num(2), cols = call.num(3);
  if (rows <= 0 || cols <= 0) return;
  const float* x = call.tensor(0, rows * cols, "softmax x");
  float* y = call.tensor(1, rows * cols, "softmax y");
  bool log = call.flag(4);
  if (!call.error.empty()) return;
  const VecKernels& v = *call.ks->vec;
  split(call, rows, rows * cols, [&](long r) { v.softmax_row(x + r * cols, y + r * cols, cols, log); });
}

// [y, dy, dx, rows, cols, log]
void run_softmax_backward(Call& call) {
  long rows = call.num(3), cols = call.num(4);
  if (rows <= 0 || cols <= 0) return;
  const float* y = call.tensor(0, rows * cols, "softmax y");
  const float* dy = call.tensor(1, rows * cols, "softmax dy");
  float* dx = call.tensor(2, rows * cols, "softmax dx");
  bool log = call.flag(5);
  if (!call.error.empty()) return;
  const VecKernels& v = *call.ks->vec;
  split(call, rows, rows * cols, [&](long r) { v.softmax_backward_row(y + r * cols, dy + r * cols, dx + r * cols, cols, log); });
}

// [x, y, outer, reduce, inner]: y[o, i] = Σ_r x[o, r, i]
void run_reduce_sum(Call& call) {
  long outer = call.num(2), reduce = call.num(3), inner = call.num(4);
  if (outer <= 0 || inner <= 0) return;
  const float* x = call.tensor(0, outer * (reduce > 0 ? reduce : 0) * inner, "reduceSum x");
  float* y = call.tensor(1, outer * inner, "reduceSum y");
  if (!call.error.empty()) return;
  // Blocks of 64 output columns: each thread sums whole blocks, reading rows of x contiguously.
  long blocks = (inner + 63) / 64;
  split(call, outer * blocks, outer * (reduce > 0 ? reduce : 1) * inner, [&](long q) {
    long o = q / blocks, i0 = q % blocks * 64, i1 = i0 + 64 < inner ? i0 + 64 : inner;
    double acc[64] = {0};
    for (long r = 0; r < reduce; r++) {
      const float* row = x + (o * reduce + r) * inner;
      for (long i = i0; i < i1; i++) acc[i - i0] += row[i];
    }
    for (long i = i0; i < i1; i++) y[o * inner + i] = static_cast<float>(acc[i - i0]);
  });
}

// [x, n, c, hw, eps, mean, invstd]
void run_bn_stats(Call& call) {
  long n = call.num(1), c = call.num(2), hw = call.num(3);
  if (c <= 0) return;
  const float* x = call.tensor(0, n * c * hw, "batchNorm x");
  float* mean = call.tensor(5, c, "batchNorm mean");
  float* invstd = call.tensor(6, c, "batchNorm invstd");
  double eps = call.arg[4], count = static_cast<double>(n * hw);
  if (!call.error.empty()) return;
  const VecKernels& v = *call.ks->vec;
  split(call, c, n * c * hw, [&](long ch) {
    double sum = 0;
    for (long b = 0; b < n; b++) sum += v.sum(x + (b * c + ch) * hw, hw);
    double mu = sum / count, sq = 0;
    for (long b = 0; b < n; b++) sq += v.sum_sq_dev(x + (b * c + ch) * hw, hw, mu);
    mean[ch] = static_cast<float>(mu);
    invstd[ch] = static_cast<float>(1 / std::sqrt(sq / count + eps));
  });
}

// [x, n, c, hw, mean, invstd, gamma, beta, y]
void run_bn_apply(Call& call) {
  long n = call.num(1), c = call.num(2), hw = call.num(3);
  if (n * c * hw <= 0) return;
  const float* x = call.tensor(0, n * c * hw, "batchNorm x");
  const float* mean = call.tensor(4, c, "batchNorm mean");
  const float* invstd = call.tensor(5, c, "batchNorm invstd");
  const float* gamma = call.optional(6, c, "batchNorm gamma");
  const float* beta = call.optional(7, c, "batchNorm beta");
  float* y = call.tensor(8, n * c * hw, "batchNorm y");
  if (!call.error.empty()) return;
  const VecKernels& v = *call.ks->vec;
  split(call, n * c, n * c * hw, [&](long q) {
    long ch = q % c;
    double scale = static_cast<double>(invstd[ch]) * (gamma ? gamma[ch] : 1.0);
    double shift = (beta ? beta[ch] : 0.0) - mean[ch] * scale;
    v.scale_shift(x + q * hw, y + q * hw, hw, scale, shift);
  });
}

// [x, dy, n, c, hw, mean, invstd, gamma, training, dx, dgamma, dbeta]
void run_bn_backward(Call& call) {
  long n = call.num(2), c = call.num(3), hw = call.num(4);
  if (c <= 0) return;
  long size = n * c * hw;
  const float* x = call.tensor(0, size, "batchNorm x");
  const float* dy = call.tensor(1, size, "batchNorm dy");
  const float* mean = call.tensor(5, c, "batchNorm mean");
  const float* invstd = call.tensor(6, c, "batchNorm invstd");
  const float* gamma = call.optional(7, c, "batchNorm gamma");
  bool training = call.flag(8);
  float* dx = call.optional(9, size, "batchNorm dx");
  float* dgamma = call.optional(10, c, "batchNorm dgamma");
  float* dbeta = call.optional(11, c, "batchNorm dbeta");
  if (!call.error.empty()) return;
  double count = static_cast<double>(n * hw);
  const VecKernels& v = *call.ks->vec;
  split(call, c, 3 * size, [&](long ch) {
    double mu = mean[ch], is = invstd[ch], g = gamma ? gamma[ch] : 1.0;
    double sum_dy = 0, sum_dy_xmu = 0;
    for (long b = 0; b < n; b++) v.sum_dy_dyx(x + (b * c + ch) * hw, dy + (b * c + ch) * hw, hw, mu, &sum_dy, &sum_dy_xmu);
    double sum_dy_xhat = sum_dy_xmu * is;
    if (dgamma) dgamma[ch] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[ch] = static_cast<float>(sum_dy);
    if (!dx) return;
    // Training: dx = (g·is/count)·(count·dy − Σdy − (x − mu)·is·Σdy·x̂), expanded to a·dy + b·x + c.
    double k = g * is / count;
    double a = training ? k * count : g * is;
    double bx = training ? -k * is * sum_dy_xhat : 0.0;
    double c0 = training ? k * (mu * is * sum_dy_xhat - sum_dy) : 0.0;
    for (long b = 0; b < n; b++) v.affine2(x + (b * c + ch) * hw, dy + (b * c + ch) * hw, dx + (b * c + ch) * hw, hw, a, bx, c0);
  });
}

// [x, rows, cols, eps, gamma, beta, y, mean, invstd]
void run_layer_norm(Call& call) {
  long rows = call.num(1), cols = call.num(2);
  if (rows <= 0 || cols <= 0) return;
  const float* x = call.tensor(0, rows * cols, "layerNorm x");
  double eps = call.arg[3];
  const float* gamma = call.optional(4, cols, "layerNorm gamma");
  const float* beta = call.optional(5, cols, "layerNorm beta");
  float* y = call.tensor(6, rows * cols, "layerNorm y");
  float* mean = call.tensor(7, rows, "layerNorm mean");
  float* invstd = call.tensor(8, rows, "layerNorm invstd");
  if (!call.error.empty()) return;
  split(call, rows, 3 * rows * cols, [&](long r) {
    const float* xr = x + r * cols;
    double sum = 0;
    for (long j = 0; j < cols; j++) sum += xr[j];
    double mu = sum / cols, sq = 0;
    for (long j = 0; j < cols; j++) { double d = xr[j] - mu; sq += d * d; }
    double is = 1 / std::sqrt(sq / cols + eps);
    mean[r] = static_cast<float>(mu);
    invstd[r] = static_cast<float>(is);
    for (long j = 0; j < cols; j++) {
      double xhat = (xr[j] - mu) * is;
      y[r * cols + j] = static_cast<float>(xhat * (gamma ? gamma[j] : 1.0) + (beta ? beta[j] : 0.0));
    }
  });
}

// [x, dy, rows, cols, mean, invstd, gamma, dx, dgamma, dbeta]: dx by rows, then dgamma/dbeta by columns.
void run_layer_norm_backward(Call& call) {
  long rows = call.num(2), cols = call.num(3);
  if (cols <= 0) return;
  const float* x = call.tensor(0, rows * cols, "layerNorm x");
  const float* dy = call.tensor(1, rows * cols, "layerNorm dy");
  const float* mean = call.tensor(4, rows, "layerNorm mean");
  const float* invstd = call.tensor(5, rows, "layerNorm invstd");
  const float* gamma = call.optional(6, cols, "layerNorm gamma");
  float* dx = call.optional(7, rows * cols, "layerNorm dx");
  float* dgamma = call.optional(8, cols, "layerNorm dgamma");
  float* dbeta = call.optional(9, cols, "layerNorm dbeta");
  if (!call.error.empty()) return;
  if (dx && rows > 0) {
    split(call, rows, 3 * rows * cols, [&](long r) {
      long o = r * cols;
      double mu = mean[r], is = invstd[r], sum_g = 0, sum_g_xhat = 0;
      for (long j = 0; j < cols; j++) {
        double g = dy[o + j] * (gamma ? gamma[j] : 1.0);
        sum_g += g;
        sum_g_xhat += g * (x[o + j] - mu) * is;
      }
      for (long j = 0; j < cols; j++) {
        double xhat = (x[o + j] - mu) * is, g = dy[o + j] * (gamma ? gamma[j] : 1.0);
        dx[o + j] = static_cast<float>((is / cols) * (cols * g - sum_g - xhat * sum_g_xhat));
      }
    });
  }
  if (!dgamma && !dbeta) return;
  split(call, cols, 2 * rows * cols, [&](long j) {
    double sg = 0, sb = 0;
    for (long r = 0; r < rows; r++) {
      double d = dy[r * cols + j];
      sg += d * (x[r * cols + j] - mean[r]) * invstd[r];
      sb += d;
    }
    if (dgamma) dgamma[j] = static_cast<float>(sg);
    if (dbeta) dbeta[j] = static_cast<float>(sb);
  });
}

}  // namespace

bool run_norm(int id, Call& call) {
  switch (id) {
    case K_SOFTMAX: run_softmax(call); return true;
    case K_SOFTMAX_BWD: run_softmax_backward(call); return true;
    case K_REDUCE_SUM: run_reduce_sum(call); return true;
    case K_BN_STATS: run_bn_stats(call); return true;
    case K_BN_APPLY: run_bn_apply(call); return true;
    case K_BN_BWD: run_bn_backward(call); return true;
    case K_LN: run_layer_norm(call); return true;
    case K_LN_BWD: run_layer_norm_backward(call); return true;
    default: return false;
  }
}

}  // namespace convlab
