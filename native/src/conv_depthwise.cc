// Direct loops for convolutions with one input channel per group (depthwise, any channel multiplier): im2col
// would turn each into a 1-row GEMM. The per-plane loops are the kernel set's vector kernels (vec_kernels.inc):
// each tap runs along a whole output row, over the columns whose input lies inside the image. Threads split the
// (image, output channel) planes; the weight gradient splits output channels instead, so that no two threads
// add into the same weights.
#include <cstring>

#include "common.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

bool conv_depthwise(const ConvArgs& p) { return p.groups == p.c && p.groups > 1; }

void depthwise_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  const VecKernels& v = *ks.vec;
  parallel_run(nth, [&](int tid, int nt) {
    long q0, q1;
    split_range(p.n * p.oc, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) {
      long ni = q / p.oc, o = q % p.oc;
      v.depthwise_forward_plane(p, x + (ni * p.c + o / mult) * in_plane, w + o * taps, b ? b[o] : 0.f, y + q * plane);
    }
  });
}

void depthwise_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  const VecKernels& v = *ks.vec;
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
        v.depthwise_backward_input_plane(p, dy + (ni * p.oc + o) * plane, w + o * taps, dxp);
      }
    }
  });
}

void depthwise_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  const VecKernels& v = *ks.vec;
  parallel_run(nth, [&](int tid, int nt) {
    long o0, o1;
    split_range(p.oc, 1, tid, nt, &o0, &o1);
    for (long o = o0; o < o1; o++) {
      float* wp = dw + o * taps;
      std::memset(wp, 0, taps * sizeof(float));
      double bias = 0;
      for (long ni = 0; ni < p.n; ni++) {
        const float* dyp = dy + (ni * p.oc + o) * plane;
        v.depthwise_backward_weight_plane(p, x + (ni * p.c + o / mult) * in_plane, dyp, wp);
        if (db) bias += v.sum(dyp, plane);
      }
      if (db) db[o] = static_cast<float>(bias);
    }
  });
}

}  // namespace convlab
