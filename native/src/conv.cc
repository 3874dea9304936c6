// Convolution as GEMM per image and group: forward Y_g = W_g·col(x), backward input col = W_gᵀ·dY_g then col2im,
// backward weight dW_g += dY_g·colᵀ. A 1×1, stride-1, unpadded convolution uses x itself as the column matrix.
// Depthwise convolutions (one input channel per group) take direct loops instead (conv_depthwise.cc).
// Batches of at least `nth` images split across threads by image (single-threaded GEMMs, per-thread buffers);
// smaller ones run image by image with a threaded GEMM.
#include <algorithm>
#include <cstring>

#include "common.h"
#include "threadpool.h"

namespace convlab {

namespace {

struct Geometry {
  long cg, ocg, ckk, plane, in_plane;
  bool pointwise;  // 1×1, stride 1, no padding: the column matrix is the input itself
};

Geometry geometry(const ConvArgs& p) {
  Geometry g;
  g.cg = p.c / p.groups;
  g.ocg = p.oc / p.groups;
  g.ckk = g.cg * p.kh * p.kw;
  g.plane = p.oh * p.ow;
  g.in_plane = p.h * p.w;
  g.pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 && p.oh == p.h && p.ow == p.w;
  return g;
}

// col[(ci·kh + ki)·kw + kj][oy·ow + ox] = x[ci][oy·sh − ph + ki·dh][ox·sw − pw + kj·dw], zero outside the image.
// Only rows [r0, r1) are written, to col[0 .. (r1 − r0)·plane).
void im2col_rows(const ConvArgs& p, const Geometry& g, const float* x, float* col, long r0, long r1) {
  for (long r = r0; r < r1; r++) {
    long ci = r / (p.kh * p.kw), ki = r / p.kw % p.kh, kj = r % p.kw;
    const float* xc = x + ci * g.in_plane;
    float* row = col + (r - r0) * g.plane;
    long ix0 = kj * p.dw - p.pw;
    for (long oy = 0; oy < p.oh; oy++) {
      long iy = oy * p.sh - p.ph + ki * p.dh;
      float* out = row + oy * p.ow;
      if (iy < 0 || iy >= p.h) { std::memset(out, 0, p.ow * sizeof(float)); continue; }
      const float* xr = xc + iy * p.w;
      if (p.sw == 1 && ix0 >= 0 && ix0 + p.ow <= p.w) { std::memcpy(out, xr + ix0, p.ow * sizeof(float)); continue; }
      for (long ox = 0; ox < p.ow; ox++) {
        long ix = ox * p.sw + ix0;
        out[ox] = (ix >= 0 && ix < p.w) ? xr[ix] : 0.f;
      }
    }
  }
}

void im2col(const ConvArgs& p, const Geometry& g, const float* x, float* col) { im2col_rows(p, g, x, col, 0, g.ckk); }

// The adjoint of im2col: dx[ci][iy][ix] += col[...] for every tap that read it. dx must be zeroed first.
void col2im(const ConvArgs& p, const Geometry& g, const float* col, float* dx) {
  for (long ci = 0; ci < g.cg; ci++) {
    float* xc = dx + ci * g.in_plane;
    for (long ki = 0; ki < p.kh; ki++) {
      for (long kj = 0; kj < p.kw; kj++) {
        const float* row = col + ((ci * p.kh + ki) * p.kw + kj) * g.plane;
        for (long oy = 0; oy < p.oh; oy++) {
          long iy = oy * p.sh - p.ph + ki * p.dh;
          if (iy < 0 || iy >= p.h) continue;
          float* xr = xc + iy * p.w;
          const float* in = row + oy * p.ow;
          long ix0 = kj * p.dw - p.pw;
          for (long ox = 0; ox < p.ow; ox++) {
            long ix = ox * p.sw + ix0;
            if (ix >= 0 && ix < p.w) xr[ix] += in[ox];
          }
        }
      }
    }
  }
}

GemmArgs make_gemm(bool ta, bool tb, long m, long n, long k, const float* a, long lda, const float* b, long ldb,
                   float* c, long ldc, bool accumulate) {
  return GemmArgs{ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, 1, 0, 0, 0};
}

// Runs image(ni, gemm_threads) for every image: by image across threads when the batch is big enough.
template <typename F>
void for_each_image(long n, int nth, F image) {
  if (nth > 1 && n >= nth) {
    parallel_run(nth, [&](int tid, int nt) {
      long i0, i1;
      split_range(n, 1, tid, nt, &i0, &i1);
      for (long ni = i0; ni < i1; ni++) image(ni, 1);
    });
  } else {
    for (long ni = 0; ni < n; ni++) image(ni, nth);
  }
}

}  // namespace

bool conv_depthwise(const ConvArgs& p);
void depthwise_forward(const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth);
void depthwise_backward_input(const ConvArgs& p, const float* dy, const float* w, float* dx, int nth);
void depthwise_backward_weight(const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth);

void conv2d_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  if (conv_depthwise(p)) { depthwise_forward(p, x, w, b, y, nth); return; }
  Geometry g = geometry(p);
  for_each_image(p.n, nth, [&](long ni, int gemm_threads) {
    float* yn = y + ni * p.oc * g.plane;
    if (b) for (long o = 0; o < p.oc; o++) std::fill(yn + o * g.plane, yn + (o + 1) * g.plane, b[o]);
    for (long gi = 0; gi < p.groups; gi++) {
      const float* xg = x + (ni * p.c + gi * g.cg) * g.in_plane;
      const float* col = xg;
      if (!g.pointwise) {
        float* buf = scratch(2, g.ckk * g.plane);
        im2col(p, g, xg, buf);
        col = buf;
      }
      gemm(ks, make_gemm(false, false, g.ocg, g.plane, g.ckk, w + gi * g.ocg * g.ckk, g.ckk, col, g.plane,
                         yn + gi * g.ocg * g.plane, g.plane, b != nullptr), gemm_threads);
    }
  });
}

void conv2d_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth) {
  if (conv_depthwise(p)) { depthwise_backward_input(p, dy, w, dx, nth); return; }
  Geometry g = geometry(p);
  for_each_image(p.n, nth, [&](long ni, int gemm_threads) {
    for (long gi = 0; gi < p.groups; gi++) {
      float* dxg = dx + (ni * p.c + gi * g.cg) * g.in_plane;
      const float* wg = w + gi * g.ocg * g.ckk;
      const float* dyg = dy + (ni * p.oc + gi * g.ocg) * g.plane;
      if (g.pointwise) {
        gemm(ks, make_gemm(true, false, g.ckk, g.plane, g.ocg, wg, g.ckk, dyg, g.plane, dxg, g.plane, false), gemm_threads);
        continue;
      }
      float* col = scratch(2, g.ckk * g.plane);
      gemm(ks, make_gemm(true, false, g.ckk, g.plane, g.ocg, wg, g.ckk, dyg, g.plane, col, g.plane, false), gemm_threads);
      std::memset(dxg, 0, g.cg * g.in_plane * sizeof(float));
      col2im(p, g, col, dxg);
    }
  });
}

void conv2d_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth) {
  if (conv_depthwise(p)) { depthwise_backward_weight(p, x, dy, dw, db, nth); return; }
  Geometry g = geometry(p);
  if (db) {
    for (long o = 0; o < p.oc; o++) {
      double s = 0;
      for (long ni = 0; ni < p.n; ni++) {
        const float* d = dy + (ni * p.oc + o) * g.plane;
        float part = 0.f;
        for (long i = 0; i < g.plane; i++) part += d[i];
        s += part;
      }
      db[o] = static_cast<float>(s);
    }
  }
  // Threads split the columns of dW (the rows of the column matrix), so each builds only its part of the column
  // matrix and every dW element is summed in the same order whatever the thread count.
  parallel_run(nth, [&](int tid, int nt) {
    for (long gi = 0; gi < p.groups; gi++) {
      long r0, r1;
      split_range(g.ckk, 1, tid, nt, &r0, &r1);
      if (r0 >= r1) continue;
      float* out = dw + gi * g.ocg * g.ckk + r0;
      for (long o = 0; o < g.ocg; o++) std::memset(out + o * g.ckk, 0, (r1 - r0) * sizeof(float));
      for (long ni = 0; ni < p.n; ni++) {
        const float* xg = x + (ni * p.c + gi * g.cg) * g.in_plane;
        const float* dyg = dy + (ni * p.oc + gi * g.ocg) * g.plane;
        const float* col = xg + r0 * g.in_plane;
        if (!g.pointwise) {
          float* buf = scratch(2, (r1 - r0) * g.plane);
          im2col_rows(p, g, xg, buf, r0, r1);
          col = buf;
        }
        gemm(ks, make_gemm(false, true, g.ocg, r1 - r0, g.plane, dyg, g.plane, col, g.plane, out, g.ckk, true), 1);
      }
    }
  });
}

}  // namespace convlab
