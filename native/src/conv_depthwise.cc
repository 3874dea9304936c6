// Direct loops for convolutions with one input channel per group (depthwise, any channel multiplier): im2col
// would turn each into a 1-row GEMM. The per-plane loops are the kernel set's vector kernels (vec_kernels.inc):
// stride-1 layers go through a zero-padded copy of each plane, others run each tap along a whole output row, over
// the columns whose input lies inside the image. Threads split the
// (image, output channel) planes; the weight gradient splits output channels instead, so that no two threads
// add into the same weights.
#include <cstring>

#include "common.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

bool conv_depthwise(const ConvArgs& p) { return p.groups == p.c && p.groups > 1; }

namespace {

bool stride1(const ConvArgs& p) { return p.sh == 1 && p.sw == 1; }
bool stride1_input_grad(const ConvArgs& p) {
  return stride1(p) && p.ph <= (p.kh - 1) * p.dh && p.pw <= (p.kw - 1) * p.dw && p.kh * p.kw <= 64;
}

}  // namespace

void depthwise_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  const VecKernels& v = *ks.vec;
  parallel_run(nth, [&](int tid, int nt) {
    float* pad = stride1(p) ? scratch(2, v.padded_floats(p)) : nullptr;
    long q0, q1;
    split_range(p.n * p.oc, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) {
      long ni = q / p.oc, o = q % p.oc;
      const float* xp = x + (ni * p.c + o / mult) * in_plane;
      if (pad) v.depthwise_s1_forward_plane(p, xp, w + o * taps, b ? b[o] : 0.f, y + q * plane, pad);
      else v.depthwise_forward_plane(p, xp, w + o * taps, b ? b[o] : 0.f, y + q * plane);
    }
  });
}

void depthwise_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  const VecKernels& v = *ks.vec;
  // By input plane: its `mult` output channels all land in it.
  parallel_run(nth, [&](int tid, int nt) {
    float* pad = stride1_input_grad(p) ? scratch(2, v.padded_floats(p)) : nullptr;
    long q0, q1;
    split_range(p.n * p.c, 1, tid, nt, &q0, &q1);
    for (long q = q0; q < q1; q++) {
      long ni = q / p.c, ci = q % p.c;
      float* dxp = dx + q * in_plane;
      std::memset(dxp, 0, in_plane * sizeof(float));
      for (long m = 0; m < mult; m++) {
        long o = ci * mult + m;
        const float* dyp = dy + (ni * p.oc + o) * plane;
        if (pad) v.depthwise_s1_backward_input_plane(p, dyp, w + o * taps, dxp, pad);
        else v.depthwise_backward_input_plane(p, dyp, w + o * taps, dxp);
      }
    }
  });
}

void depthwise_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth) {
  const long mult = p.oc / p.c, plane = p.oh * p.ow, in_plane = p.h * p.w, taps = p.kh * p.kw;
  const VecKernels& v = *ks.vec;
  parallel_run(nth, [&](int tid, int nt) {
    float* pad = stride1(p) ? scratch(2, v.padded_floats(p)) : nullptr;
    long o0, o1;
    split_range(p.oc, 1, tid, nt, &o0, &o1);
    for (long o = o0; o < o1; o++) {
      float* wp = dw + o * taps;
      std::memset(wp, 0, taps * sizeof(float));
      double bias = 0;
      for (long ni = 0; ni < p.n; ni++) {
        const float* dyp = dy + (ni * p.oc + o) * plane;
        const float* xp = x + (ni * p.c + o / mult) * in_plane;
        if (pad) v.depthwise_s1_backward_weight_plane(p, xp, dyp, wp, pad);
        else v.depthwise_backward_weight_plane(p, xp, dyp, wp);
        if (db) bias += v.sum(dyp, plane);
      }
      if (db) db[o] = static_cast<float>(bias);
    }
  });
}

}  // namespace convlab
