// Convolution as GEMM per group. Forward: Y = W_g·col(x), one implicit product over every image's output columns:
// the column matrix is read from the images while the GEMM packs its panels, and the product writes each output
// plane in place (gemm_implicit), so nothing of im2col's size is written and read back. Backward, over chunks of
// images: input [col_1 … col_nb] = W_gᵀ·[dY_1 … dY_nb] then col2im; weight dW_g += [dY_1 … dY_nb]·[col_1 … col_nb]ᵀ.
// Chunks hold enough images (nb) that the GEMM has ≥ 256 columns, so the weights are packed once per chunk
// rather than once per image when output planes are small; a chunk of one image with a 1×1, stride-1,
// unpadded kernel uses x itself as the column matrix. Depthwise convolutions take direct loops
// (conv_depthwise.cc), LeNet-sized ones conv_direct.cc's. The forward pass splits output columns across threads;
// the input gradient splits the batch (single-threaded GEMMs) when it splits evenly enough, else runs chunk by
// chunk with a threaded GEMM; the weight gradient splits dW's columns.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "threadpool.h"

namespace convlab {

namespace {

struct Geometry {
  long cg, ocg, ckk, plane, in_plane, nb;
  bool pointwise;  // 1×1, stride 1, no padding: the column matrix is the input itself
};

Geometry geometry(const ConvArgs& p) {
  Geometry g;
  g.cg = p.c / p.groups;
  g.ocg = p.oc / p.groups;
  g.ckk = g.cg * p.kh * p.kw;
  g.plane = p.oh * p.ow;
  g.in_plane = p.h * p.w;
  g.nb = g.plane >= 256 ? 1 : std::min<long>(p.n, (256 + g.plane - 1) / std::max<long>(g.plane, 1));
  g.pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 && p.oh == p.h && p.ow == p.w;
  return g;
}

// The outputs ox in [*ox0, *ox1) whose tap at input column ox·sw + ix0 lies inside [0, w).
void inside_columns(const ConvArgs& p, long ix0, long* ox0, long* ox1) {
  long lo = ix0 >= 0 ? 0 : (-ix0 + p.sw - 1) / p.sw;
  long hi = p.w - ix0 <= 0 ? 0 : (p.w - ix0 - 1) / p.sw + 1;
  *ox0 = std::min(lo, p.ow);
  *ox1 = std::max(*ox0, std::min(hi, p.ow));
}

// col[r − r0][oy·ow + ox] (row stride ld) = x[ci][oy·sh − ph + ki·dh][ox·sw − pw + kj·dw] for the rows
// r = (ci·kh + ki)·kw + kj in [r0, r1), zero outside the image.
void im2col_rows(const ConvArgs& p, const Geometry& g, const float* x, float* col, long r0, long r1, long ld) {
  for (long r = r0; r < r1; r++) {
    long ci = r / (p.kh * p.kw), ki = r / p.kw % p.kh, kj = r % p.kw;
    const float* xc = x + ci * g.in_plane;
    float* row = col + (r - r0) * ld;
    long ix0 = kj * p.dw - p.pw, ox0, ox1;
    inside_columns(p, ix0, &ox0, &ox1);
    for (long oy = 0; oy < p.oh; oy++) {
      long iy = oy * p.sh - p.ph + ki * p.dh;
      float* out = row + oy * p.ow;
      if (iy < 0 || iy >= p.h) { std::memset(out, 0, p.ow * sizeof(float)); continue; }
      const float* xr = xc + iy * p.w + ix0;
      // Zeros left and right of the columns [ox0, ox1) that read inside the image.
      for (long ox = 0; ox < ox0; ox++) out[ox] = 0.f;
      if (p.sw == 1) std::memcpy(out + ox0, xr + ox0, (ox1 - ox0) * sizeof(float));
      else for (long ox = ox0; ox < ox1; ox++) out[ox] = xr[ox * p.sw];
      for (long ox = ox1; ox < p.ow; ox++) out[ox] = 0.f;
    }
  }
}

// The adjoint of im2col: dx[ci][iy][ix] += col[...] for every tap that read it. dx must be zeroed first.
void col2im(const ConvArgs& p, const Geometry& g, const float* col, long ld, float* dx) {
  for (long r = 0; r < g.ckk; r++) {
    long ci = r / (p.kh * p.kw), ki = r / p.kw % p.kh, kj = r % p.kw;
    float* xc = dx + ci * g.in_plane;
    const float* row = col + r * ld;
    long ix0 = kj * p.dw - p.pw, ox0, ox1;
    inside_columns(p, ix0, &ox0, &ox1);
    for (long oy = 0; oy < p.oh; oy++) {
      long iy = oy * p.sh - p.ph + ki * p.dh;
      if (iy < 0 || iy >= p.h) continue;
      float* __restrict xr = xc + iy * p.w + ix0;
      const float* __restrict in = row + oy * p.ow;
      if (p.sw == 1) for (long ox = ox0; ox < ox1; ox++) xr[ox] += in[ox];
      else for (long ox = ox0; ox < ox1; ox++) xr[ox * p.sw] += in[ox];
    }
  }
}

GemmArgs make_gemm(bool ta, bool tb, long m, long n, long k, const float* a, long lda, const float* b, long ldb,
                   float* c, long ldc, bool accumulate) {
  return GemmArgs{ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, 1, 0, 0, 0};
}

// Runs chunk(i0, i1, gemm_threads) over chunks of at most nb images: by image ranges across threads when the
// batch splits evenly enough (3 images on 2 threads would leave one thread idle a third of the time), else one
// chunk after another with threaded GEMMs.
template <typename F>
void for_each_chunk(long n, long nb, int nth, F chunk) {
  auto run = [&](long i0, long i1, int gemm_threads) {
    for (long c0 = i0; c0 < i1; c0 += nb) chunk(c0, std::min(i1, c0 + nb), gemm_threads);
  };
  if (nth > 1 && (n % nth == 0 || n >= 4 * nth)) {
    parallel_run(nth, [&](int tid, int nt) {
      long i0, i1;
      split_range(n, 1, tid, nt, &i0, &i1);
      run(i0, i1, 1);
    });
  } else {
    run(0, n, nth);
  }
}

// out[r][(i − i0)·plane + q] = t[i][first + r][q] for images [i0, i1): channels `first`.. of each image side by side.
void gather_rows(const float* t, long channels, long first, long rows, long plane, long i0, long i1, float* out) {
  long cols = (i1 - i0) * plane;
  for (long i = i0; i < i1; i++) {
    for (long r = 0; r < rows; r++) {
      std::memcpy(out + r * cols + (i - i0) * plane, t + (i * channels + first + r) * plane, plane * sizeof(float));
    }
  }
}

// B of the forward product for images [0, n): B[r][j] = x[j / plane][ci][iy][ix] for the tap r = (ci, ki, kj) and the
// output q = j % plane, zero outside the image: im2col read in place while packing, so no column matrix is
// written and read back. A 1×1, stride-1, unpadded kernel reads each plane as one row of plane outputs.
struct ImageColumns {
  ConvArgs p;          // the geometry (for a pointwise kernel: h = oh = 1, w = ow = plane)
  const float* x;      // the group's first input channel of image 0
  long image_stride;   // floats from one image to the next
};

void pack_image_columns(const void* ctx, long p0, long kc, long j0, long nc, int NR, float* dst) {
  const ImageColumns& s = *static_cast<const ImageColumns*>(ctx);
  const ConvArgs& p = s.p;
  const long plane = p.oh * p.ow;
  // Each row's tap, decomposed once per call rather than once per panel (divisions cost more than the copies).
  struct Tap { long offset, dy, dx; };  // offset = ci·in_plane + dy·w + dx
  thread_local std::vector<Tap> taps;
  taps.resize(kc);
  for (long r = 0, ci = p0 / (p.kh * p.kw), ki = p0 / p.kw % p.kh, kj = p0 % p.kw; r < kc; r++) {
    taps[r] = {ci * p.h * p.w + ki * p.dh * p.w + kj * p.dw, ki * p.dh, kj * p.dw};
    if (++kj == p.kw) { kj = 0; if (++ki == p.kh) { ki = 0; ci++; } }
  }
  // A panel's columns as runs along one output row of one image: where tap (0, 0) reads, and the run's length.
  struct Run { const float* origin; long iy0, ix0, len, col; };
  Run runs[64];  // NR ≤ 64 columns, so at most NR runs
  for (long jr = 0; jr < nc; jr += NR) {
    const long nr = std::min<long>(NR, nc - jr);
    int count = 0;
    for (long j = j0 + jr, col = 0; col < nr;) {
      long q = j % plane, oy = q / p.ow, ox = q % p.ow, len = std::min(p.ow - ox, nr - col);
      long iy0 = oy * p.sh - p.ph, ix0 = ox * p.sw - p.pw;
      runs[count++] = {s.x + (j / plane) * s.image_stride + iy0 * p.w + ix0, iy0, ix0, len, col};
      j += len;
      col += len;
    }
    float* panel = dst + jr * kc;
    for (long r = 0; r < kc; r++) {
      const Tap tap = taps[r];
      float* row = panel + r * NR;
      for (int t = 0; t < count; t++) {
        const Run& run = runs[t];
        float* __restrict out = row + run.col;
        const long iy = run.iy0 + tap.dy, ix0 = run.ix0 + tap.dx;
        const float* __restrict src = run.origin + tap.offset;
        if (iy < 0 || iy >= p.h) { for (long u = 0; u < run.len; u++) out[u] = 0.f; continue; }
        if (p.sw == 1) {
          // Outputs [lo, hi) read inside the row; zeros either side.
          const long lo = std::min(run.len, std::max(0L, -ix0)), hi = std::max(lo, std::min(run.len, p.w - ix0));
          for (long u = 0; u < lo; u++) out[u] = 0.f;
          for (long u = lo; u < hi; u++) out[u] = src[u];
          for (long u = hi; u < run.len; u++) out[u] = 0.f;
        } else {
          for (long u = 0; u < run.len; u++) {
            const long ix = ix0 + u * p.sw;
            out[u] = ix >= 0 && ix < p.w ? src[u * p.sw] : 0.f;
          }
        }
      }
      for (long u = nr; u < NR; u++) row[u] = 0.f;
    }
  }
}

// The forward pass as one implicit product per group over all n·plane output columns, split across threads by
// columns: each thread packs its own panels straight from the images and writes the output planes in place.
void implicit_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const Geometry g = geometry(p);
  const long cols = p.n * g.plane;
  ImageColumns view{p, x, p.c * g.in_plane};
  if (g.pointwise) { view.p.h = view.p.oh = 1; view.p.w = view.p.ow = g.plane; }
  parallel_run(nth, [&](int tid, int nt) {
    long j0, j1;
    split_range(cols, ks.nr, tid, nt, &j0, &j1);
    if (j0 >= j1) return;
    for (long gi = 0; gi < p.groups; gi++) {
      ImageColumns src = view;
      src.x = x + gi * g.cg * g.in_plane;
      float* yg = y + gi * g.ocg * g.plane;
      if (b) {
        // The bias is C's starting value: fill this thread's columns of every output plane, image by image.
        for (long j = j0; j < j1;) {
          long q = j % g.plane, len = std::min(g.plane - q, j1 - j);
          float* yi = yg + (j / g.plane) * p.oc * g.plane + q;
          for (long o = 0; o < g.ocg; o++) std::fill(yi + o * g.plane, yi + o * g.plane + len, b[gi * g.ocg + o]);
          j += len;
        }
      }
      ImplicitGemm product{g.ocg, cols, g.ckk, w + gi * g.ocg * g.ckk, g.ckk, PanelSource{pack_image_columns, &src},
                           yg, g.plane, g.plane, p.oc * g.plane, b != nullptr};
      gemm_implicit(ks, product, j0, j1);
    }
  });
}

}  // namespace

bool conv_depthwise(const ConvArgs& p);
void depthwise_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth);
void depthwise_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth);
void depthwise_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth);
bool conv_direct(const ConvArgs& p);
bool conv_direct_input_grad(const ConvArgs& p);
bool conv_direct_channels(const ConvArgs& p);
void direct_forward_channels(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth);
void direct_backward_weight_channels(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, int nth);
void direct_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth);
void direct_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth);
void direct_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, int nth);
bool conv_channels_last(const KernelSet& ks, const ConvArgs& p);
void channels_last_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth);

void conv2d_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  if (conv_depthwise(p)) { depthwise_forward(ks, p, x, w, b, y, nth); return; }
  if (conv_direct(p)) { direct_forward(ks, p, x, w, b, y, nth); return; }
  if (conv_direct_channels(p)) { direct_forward_channels(ks, p, x, w, b, y, nth); return; }
  static const bool cl_on = switched_on("CONVLAB_CONV_CL");
  if (cl_on && conv_channels_last(ks, p)) { channels_last_forward(ks, p, x, w, b, y, nth); return; }
  implicit_forward(ks, p, x, w, b, y, nth);
}

void conv2d_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth) {
  if (conv_depthwise(p)) { depthwise_backward_input(ks, p, dy, w, dx, nth); return; }
  if (conv_direct_input_grad(p)) { direct_backward_input(ks, p, dy, w, dx, nth); return; }
  Geometry g = geometry(p);
  for_each_chunk(p.n, g.nb, nth, [&](long i0, long i1, int gemm_threads) {
    const long cols = (i1 - i0) * g.plane;
    for (long gi = 0; gi < p.groups; gi++) {
      const float* wg = w + gi * g.ocg * g.ckk;
      const float* dyc = dy + (i0 * p.oc + gi * g.ocg) * g.plane;
      if (i1 - i0 > 1) {
        float* buf = scratch(3, g.ocg * cols);
        gather_rows(dy, p.oc, gi * g.ocg, g.ocg, g.plane, i0, i1, buf);
        dyc = buf;
      }
      if (g.pointwise && i1 - i0 == 1) {
        float* dxg = dx + (i0 * p.c + gi * g.cg) * g.in_plane;
        gemm(ks, make_gemm(true, false, g.ckk, g.plane, g.ocg, wg, g.ckk, dyc, g.plane, dxg, g.plane, false), gemm_threads);
        continue;
      }
      float* col = scratch(2, g.ckk * cols);
      gemm(ks, make_gemm(true, false, g.ckk, cols, g.ocg, wg, g.ckk, dyc, cols, col, cols, false), gemm_threads);
      for (long i = i0; i < i1; i++) {
        float* dxg = dx + (i * p.c + gi * g.cg) * g.in_plane;
        std::memset(dxg, 0, g.cg * g.in_plane * sizeof(float));
        col2im(p, g, col + (i - i0) * g.plane, cols, dxg);
      }
    }
  });
}

void conv2d_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth) {
  if (conv_depthwise(p)) { depthwise_backward_weight(ks, p, x, dy, dw, db, nth); return; }
  // db[o] = Σ dy[·][o], per image in float and across images in double, whichever path computes dW.
  if (db) {
    const long plane = p.oh * p.ow;
    for (long o = 0; o < p.oc; o++) {
      double s = 0;
      for (long ni = 0; ni < p.n; ni++) {
        const float* d = dy + (ni * p.oc + o) * plane;
        float part = 0.f;
        for (long i = 0; i < plane; i++) part += d[i];
        s += part;
      }
      db[o] = static_cast<float>(s);
    }
  }
  if (conv_direct(p)) { direct_backward_weight(ks, p, x, dy, dw, nth); return; }
  if (conv_direct_channels(p)) { direct_backward_weight_channels(ks, p, x, dy, dw, nth); return; }
  Geometry g = geometry(p);
  // Threads split the columns of dW (the rows of the column matrix), so each builds only its part of the column
  // matrix; chunks of images are the same on any thread count, so every dW element is summed in the same order.
  parallel_run(nth, [&](int tid, int nt) {
    for (long gi = 0; gi < p.groups; gi++) {
      long r0, r1;
      split_range(g.ckk, 1, tid, nt, &r0, &r1);
      if (r0 >= r1) continue;
      float* out = dw + gi * g.ocg * g.ckk + r0;
      for (long o = 0; o < g.ocg; o++) std::memset(out + o * g.ckk, 0, (r1 - r0) * sizeof(float));
      for (long i0 = 0; i0 < p.n; i0 += g.nb) {
        long i1 = std::min(p.n, i0 + g.nb), cols = (i1 - i0) * g.plane;
        const float* dyc = dy + (i0 * p.oc + gi * g.ocg) * g.plane;
        const float* col = x + (i0 * p.c + gi * g.cg) * g.in_plane + r0 * g.in_plane;
        if (i1 - i0 > 1) {
          float* buf = scratch(3, g.ocg * cols);
          gather_rows(dy, p.oc, gi * g.ocg, g.ocg, g.plane, i0, i1, buf);
          dyc = buf;
        }
        if (!g.pointwise || i1 - i0 > 1) {
          float* buf = scratch(2, (r1 - r0) * cols);
          for (long i = i0; i < i1; i++) im2col_rows(p, g, x + (i * p.c + gi * g.cg) * g.in_plane, buf + (i - i0) * g.plane, r0, r1, cols);
          col = buf;
        }
        gemm(ks, make_gemm(false, true, g.ocg, r1 - r0, cols, dyc, cols, col, cols, out, g.ckk, true), 1);
      }
    }
  });
}

}  // namespace convlab
