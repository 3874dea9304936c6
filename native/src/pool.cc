// Max, average and adaptive average pooling, forward and backward, by (image, channel) plane across threads. Max pooling keeps the
// reference's choice of index exactly: the first maximum in window order, and a NaN wins (as in PyTorch).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "call.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

struct PoolArgs {
  long n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
  bool count_include_pad;
};

PoolArgs pool_args(const Call& call) {
  PoolArgs p;
  long* f[] = {&p.n, &p.c, &p.h, &p.w, &p.kh, &p.kw, &p.sh, &p.sw, &p.ph, &p.pw, &p.oh, &p.ow};
  for (int i = 0; i < 12; i++) *f[i] = call.num(i);
  p.count_include_pad = call.flag(12);
  return p;
}

template <typename F>
void by_plane(Call& call, const PoolArgs& p, F body) {
  long planes = p.n * p.c;
  parallel_run(threads_for(call, planes * (p.h * p.w + p.oh * p.ow)), [&](int tid, int nt) {
    long q0, q1;
    split_range(planes, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) body(q);
  });
}

// The window of output (oy, ox) clipped to the image, and its divisor for average pooling.
struct Window { long y0, y1, x0, x1, divisor; };

Window avg_window(const PoolArgs& p, long oy, long ox) {
  long y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
  long y1 = std::min(y0 + p.kh, p.h + p.ph), x1 = std::min(x0 + p.kw, p.w + p.pw);
  long padded = (y1 - y0) * (x1 - x0);
  y0 = std::max(y0, 0L); x0 = std::max(x0, 0L); y1 = std::min(y1, p.h); x1 = std::min(x1, p.w);
  return {y0, y1, x0, x1, p.count_include_pad ? padded : (y1 - y0) * (x1 - x0)};
}

void run_max(Call& call) {
  PoolArgs p = pool_args(call);
  long in = p.n * p.c * p.h * p.w, out = p.n * p.c * p.oh * p.ow;
  if (out <= 0) return;
  const float* x = call.tensor(13, in, "maxPool x");
  float* y = call.tensor(14, out, "maxPool y");
  int* idx = call.ints(15, out, "maxPool indices");
  if (!call.error.empty()) return;
  // 2×2, stride 2, unpadded, every window inside the image (LeNet, VGG): the vector kernel.
  if (p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.ph == 0 && p.pw == 0 && 2 * p.oh <= p.h && 2 * p.ow <= p.w) {
    const VecKernels& v = *call.ks->vec;
    by_plane(call, p, [&](long q) { v.maxpool2x2_plane(x + q * p.h * p.w, p.w, p.oh, p.ow, y + q * p.oh * p.ow, idx + q * p.oh * p.ow); });
    return;
  }
  by_plane(call, p, [&](long q) {
    const float* xp = x + q * p.h * p.w;
    for (long oy = 0; oy < p.oh; oy++) {
      // The window's rows and columns inside the image, computed once instead of tested tap by tap.
      long iy0 = oy * p.sh - p.ph, ky0 = std::max(0L, -iy0), ky1 = std::min(p.kh, p.h - iy0);
      for (long ox = 0; ox < p.ow; ox++) {
        long ix0 = ox * p.sw - p.pw, kx0 = std::max(0L, -ix0), kx1 = std::min(p.kw, p.w - ix0);
        float best = -INFINITY;
        long at = -1;
        // As the reference: a NaN ends the scan of its window row only, so a NaN in a later row takes over.
        for (long ky = ky0; ky < ky1; ky++) {
          const float* row = xp + (iy0 + ky) * p.w + ix0;
          for (long kx = kx0; kx < kx1; kx++) {
            float v = row[kx];
            if (v > best || v != v || at < 0) {
              best = v;
              at = (iy0 + ky) * p.w + ix0 + kx;
              if (v != v) break;
            }
          }
        }
        long o = (q * p.oh + oy) * p.ow + ox;
        y[o] = best;
        idx[o] = static_cast<int>(at);
      }
    }
  });
}

void run_max_backward(Call& call) {
  PoolArgs p = pool_args(call);
  long in_plane = p.h * p.w, out_plane = p.oh * p.ow;
  if (p.n * p.c * in_plane <= 0) return;
  const float* dy = call.tensor(13, p.n * p.c * out_plane, "maxPool dy");
  const int* idx = call.ints(14, p.n * p.c * out_plane, "maxPool indices");
  float* dx = call.tensor(15, p.n * p.c * in_plane, "maxPool dx");
  if (!call.error.empty()) return;
  by_plane(call, p, [&](long q) {
    float* dxp = dx + q * in_plane;
    std::memset(dxp, 0, in_plane * sizeof(float));
    for (long o = 0; o < out_plane; o++) {
      int at = idx[q * out_plane + o];
      if (at >= 0 && at < in_plane) dxp[at] += dy[q * out_plane + o];
    }
  });
}

void run_avg(Call& call) {
  PoolArgs p = pool_args(call);
  long out = p.n * p.c * p.oh * p.ow;
  if (out <= 0) return;
  const float* x = call.tensor(13, p.n * p.c * p.h * p.w, "avgPool x");
  float* y = call.tensor(14, out, "avgPool y");
  if (!call.error.empty()) return;
  by_plane(call, p, [&](long q) {
    const float* xp = x + q * p.h * p.w;
    for (long oy = 0; oy < p.oh; oy++) {
      for (long ox = 0; ox < p.ow; ox++) {
        Window win = avg_window(p, oy, ox);
        double acc = 0;
        for (long iy = win.y0; iy < win.y1; iy++) for (long jx = win.x0; jx < win.x1; jx++) acc += xp[iy * p.w + jx];
        y[(q * p.oh + oy) * p.ow + ox] = static_cast<float>(acc / win.divisor);
      }
    }
  });
}

void run_avg_backward(Call& call) {
  PoolArgs p = pool_args(call);
  long in_plane = p.h * p.w;
  if (p.n * p.c * in_plane <= 0) return;
  const float* dy = call.tensor(13, p.n * p.c * p.oh * p.ow, "avgPool dy");
  float* dx = call.tensor(14, p.n * p.c * in_plane, "avgPool dx");
  if (!call.error.empty()) return;
  by_plane(call, p, [&](long q) {
    float* dxp = dx + q * in_plane;
    std::memset(dxp, 0, in_plane * sizeof(float));
    for (long oy = 0; oy < p.oh; oy++) {
      for (long ox = 0; ox < p.ow; ox++) {
        Window win = avg_window(p, oy, ox);
        float g = static_cast<float>(static_cast<double>(dy[(q * p.oh + oy) * p.ow + ox]) / win.divisor);
        for (long iy = win.y0; iy < win.y1; iy++) for (long jx = win.x0; jx < win.x1; jx++) dxp[iy * p.w + jx] += g;
      }
    }
  });
}

// [n, c, h, w, oh, ow, x, y] (backward: dy, dx): PyTorch's windows [⌊o·in/out⌋, ⌈(o+1)·in/out⌉).
void run_adaptive(Call& call, bool backward) {
  long n = call.num(0), c = call.num(1), h = call.num(2), w = call.num(3), oh = call.num(4), ow = call.num(5);
  long in_plane = h * w, out_plane = oh * ow;
  if (n * c * (backward ? in_plane : out_plane) <= 0) return;
  const float* src = call.tensor(6, n * c * (backward ? out_plane : in_plane), backward ? "adaptiveAvgPool dy" : "adaptiveAvgPool x");
  float* dst = call.tensor(7, n * c * (backward ? in_plane : out_plane), backward ? "adaptiveAvgPool dx" : "adaptiveAvgPool y");
  if (!call.error.empty()) return;
  long planes = n * c;
  parallel_run(threads_for(call, planes * (in_plane + out_plane)), [&](int tid, int nt) {
    long q0, q1;
    split_range(planes, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) {
      if (backward) std::memset(dst + q * in_plane, 0, in_plane * sizeof(float));
      for (long oy = 0; oy < oh; oy++) {
        long y0 = oy * h / oh, y1 = ((oy + 1) * h + oh - 1) / oh;
        for (long ox = 0; ox < ow; ox++) {
          long x0 = ox * w / ow, x1 = ((ox + 1) * w + ow - 1) / ow;
          double count = static_cast<double>((y1 - y0) * (x1 - x0));
          long o = q * out_plane + oy * ow + ox;
          if (!backward) {
            double acc = 0;
            for (long iy = y0; iy < y1; iy++) for (long jx = x0; jx < x1; jx++) acc += src[q * in_plane + iy * w + jx];
            dst[o] = static_cast<float>(acc / count);
          } else {
            float g = static_cast<float>(src[o] / count);
            for (long iy = y0; iy < y1; iy++) for (long jx = x0; jx < x1; jx++) dst[q * in_plane + iy * w + jx] += g;
          }
        }
      }
    }
  });
}

}  // namespace

bool run_pool(int id, Call& call) {
  switch (id) {
    case K_MAXPOOL: run_max(call); return true;
    case K_MAXPOOL_BWD: run_max_backward(call); return true;
    case K_AVGPOOL: run_avg(call); return true;
    case K_AVGPOOL_BWD: run_avg_backward(call); return true;
    case K_ADAPTIVE_AVGPOOL: run_adaptive(call, false); return true;
    case K_ADAPTIVE_AVGPOOL_BWD: run_adaptive(call, true); return true;
    default: return false;
  }
}

}  // namespace convlab
