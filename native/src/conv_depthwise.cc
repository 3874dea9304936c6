// Direct loops for convolutions with one input channel per group (depthwise, any channel multiplier): im2col
// would turn each into a 1-row GEMM. Threads split the (image, output channel) planes; the weight gradient
// splits output channels instead, so that no two threads add into the same weights.
#include <cstring>

#include "common.h"
#include "threadpool.h"

namespace convlab {

bool conv_depthwise(const ConvArgs& p) { return p.groups == p.c && p.groups > 1; }

namespace {

// Calls tap(oy, ox, iy, ix, ki, kj) for every in-bounds tap of one plane.
template <typename F>
inline void for_each_tap(const ConvArgs& p, F tap) {
  for (long oy = 0; oy < p.oh; oy++) {
    for (long ki = 0; ki < p.kh; ki++) {
      long iy = oy * p.sh - p.ph + ki * p.dh;
      if (iy < 0 || iy >= p.h) continue;
      for (long kj = 0; kj < p.kw; kj++) {
        long ix0 = kj * p.dw - p.pw;
        for (long ox = 0; ox < p.ow; ox++) {
          long ix = ox * p.sw + ix0;
          if (ix >= 0 && ix < p.w) tap(oy, ox, iy, ix, ki, kj);
        }
      }
    }
  }
}

}  // namespace

void depthwise_forward(const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  parallel_run(nth, [&](int tid, int nt) {
    long q0, q1;
    split_range(p.n * p.oc, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) {
      long ni = q / p.oc, o = q % p.oc;
      const float* xp = x + (ni * p.c + o / mult) * in_plane;
      const float* wp = w + o * taps;
      float* yp = y + q * plane;
      float bias = b ? b[o] : 0.f;
      for (long i = 0; i < plane; i++) yp[i] = bias;
      for_each_tap(p, [&](long oy, long ox, long iy, long ix, long ki, long kj) {
        yp[oy * p.ow + ox] += wp[ki * p.kw + kj] * xp[iy * p.w + ix];
      });
    }
  });
}

void depthwise_backward_input(const ConvArgs& p, const float* dy, const float* w, float* dx, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  // By input plane: its `mult` output channels all land in it.
  parallel_run(nth, [&](int tid, int nt) {
    long q0, q1;
    split_range(p.n * p.c, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) {
      long ni = q / p.c, ci = q % p.c;
      float* dxp = dx + q * in_plane;
      std::memset(dxp, 0, in_plane * sizeof(float));
      for (long m = 0; m < mult; m++) {
        long o = ci * mult + m;
        const float* dyp = dy + (ni * p.oc + o) * plane;
        const float* wp = w + o * taps;
        for_each_tap(p, [&](long oy, long ox, long iy, long ix, long ki, long kj) {
          dxp[iy * p.w + ix] += wp[ki * p.kw + kj] * dyp[oy * p.ow + ox];
        });
      }
    }
  });
}

void depthwise_backward_weight(const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  parallel_run(nth, [&](int tid, int nt) {
    long o0, o1;
    split_range(p.oc, 1, tid, nt, &o0, &o1);
    for (long o = o0; o < o1; o++) {
      float* wp = dw + o * taps;
      std::memset(wp, 0, taps * sizeof(float));
      float bias = 0.f;
      for (long ni = 0; ni < p.n; ni++) {
        const float* xp = x + (ni * p.c + o / mult) * in_plane;
        const float* dyp = dy + (ni * p.oc + o) * plane;
        for_each_tap(p, [&](long oy, long ox, long iy, long ix, long ki, long kj) {
          wp[ki * p.kw + kj] += dyp[oy * p.ow + ox] * xp[iy * p.w + ix];
        });
        if (db) for (long i = 0; i < plane; i++) bias += dyp[i];
      }
      if (db) db[o] = bias;
    }
  });
}

}  // namespace convlab
