// The non-GEMM kernels that gain from wide vectors, compiled once per kernel set from vec_kernels.inc (each
// vec_<isa>.cc includes it under its own target pragma and namespace), reached through KernelSet::vec.
#pragma once
#include <cmath>

#include "common.h"

namespace convlab {

struct VecKernels {
  // y = relu(x) clipped at hi (INFINITY for ReLU, 6 for ReLU6); NaN passes. dx = dy where 0 < x < hi, else dy·0.
  void (*relu_forward)(const float* x, float* y, long n, float hi);
  void (*relu_backward)(const float* x, const float* dy, float* dx, long n, float hi);
  // One plane of 2×2, stride-2, unpadded max pooling whose windows all lie inside the image.
  void (*maxpool2x2_plane)(const float* x, long w, long oh, long ow, float* y, int* idx);
  // One plane of a depthwise convolution: y = bias + w ⋆ x; dx += wᵀ ⋆ dy; dw += dy ⋆ x.
  void (*depthwise_forward_plane)(const ConvArgs& p, const float* x, const float* w, float bias, float* y);
  void (*depthwise_backward_input_plane)(const ConvArgs& p, const float* dy, const float* w, float* dx);
  void (*depthwise_backward_weight_plane)(const ConvArgs& p, const float* x, const float* dy, float* dw);
  // Stride-1 planes through a zero-padded copy in `pad` (padded_floats(p) floats); the input gradient needs
  // (k − 1)·d ≥ p on both axes and kh·kw ≤ 64.
  long (*padded_floats)(const ConvArgs& p);
  void (*depthwise_s1_forward_plane)(const ConvArgs& p, const float* x, const float* w, float bias, float* y, float* pad);
  void (*depthwise_s1_backward_input_plane)(const ConvArgs& p, const float* dy, const float* w, float* dx, float* pad);
  void (*depthwise_s1_backward_weight_plane)(const ConvArgs& p, const float* x, const float* dy, float* dw, float* pad);
  // One row of softmax (log: log-softmax) and its gradient given y; exponentials in float (about 2 ulp), sums in double.
  void (*softmax_row)(const float* x, float* y, long n, bool log);
  void (*softmax_backward_row)(const float* y, const float* dy, float* dx, long n, bool log);
  // Sums in double over n floats: Σx, and Σ(x − mu)².
  double (*sum)(const float* x, long n);
  double (*sum_sq_dev)(const float* x, long n, double mu);
  // Σdy and Σdy·(x − mu) over n floats.
  void (*sum_dy_dyx)(const float* x, const float* dy, long n, double mu, double* sum_dy, double* sum_dyx);
  // y = x·scale + shift (in double, rounded once).
  void (*scale_shift)(const float* x, float* y, long n, double scale, double shift);
  // dx = a·dy + b·x + c (in double, rounded once): batch norm's input gradient.
  void (*affine2)(const float* x, const float* dy, float* dx, long n, double a, double b, double c);
  // Direct stride-1 convolution over a zero-padded image (conv_direct.cc lays it out): output channels
  // [o0, o0 + nb) of one image, nb ≤ 8, kw ∈ {2, 3, 5}; and the weight gradient's partial sums for one (ci, ki) row
  // of taps, 16 lanes per (output channel, kj), nb ≤ 4, added into acc.
  void (*direct_forward)(const ConvArgs& p, const float* pad, const float* w, const float* b, long o0, long nb, float* y);
  void (*direct_weight_grad)(const ConvArgs& p, const float* pad, const float* dypad, long nb, long ci, long ki, float* acc);
  // The same with 16 output channels per vector, for rows under 12 outputs: r ≤ 11 outputs of row oy from column ox0
  // into tile[r][16]; and one input channel's weight-gradient lanes over one image (square kernels of 2, 3 or 5).
  void (*cv_forward)(const ConvArgs& p, const float* pad, const float* wp, const float* bias16, long oy, long ox0, long r, float* tile);
  void (*cv_weight_grad)(const ConvArgs& p, const float* pad, const float* dyt, long ci, float* acc);
  // Columns [n0, n1) of C = (accumulate ? C : 0) + A·Bᵀ with A m × k and B n × k, both k-contiguous, unpacked
  // (vec_gemm_nt.inc): a Linear layer's forward pass at small batch.
  void (*gemm_nt)(long m, long n0, long n1, long k, const float* a, long lda, const float* b, long ldb, float* c, long ldc,
                  bool accumulate);
  // Direct convolution over a channels-last input (vec_conv_cl.inc, conv_cl.cc): out[p][o] for `positions` ≤
  // cl_positions output positions and cl_block output channels, from the positions' first taps xs[p], the taps'
  // offsets from there, and weights packed wp[(tap·c + ci)·cl_block + o].
  long cl_block;
  int cl_positions;
  void (*cl_conv_tile)(long c, long taps, const long* offsets, const float* const* xs, long positions, const float* wp,
                       const float* bias, float* out);
};

// One set per ISA (vec_<isa>.cc); all-null on a CPU family that lacks the ISA.
extern const VecKernels kAvx512Vec, kAvx2Vec, kGenericVec;

}  // namespace convlab
