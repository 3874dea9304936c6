// Direct stride-1 convolutions where im2col would make a GEMM that the packed kernels run far below their speed:
// - forward and weight gradient of layers with few input taps (c·kh·kw ≤ 32: LeNet's C1, 3-channel stems, airbench's
//   whitening layer), whose GEMMs have k ≤ 32 and as few rows as output channels;
// - the input gradient of layers with few input channels (c ≤ 8: LeNet's C3), whose GEMM has k = oc and is followed by
//   col2im. It is the forward correlation of dy, padded by (k − 1 − p), with the flipped, transposed weights;
// - forward and weight gradient of rows too narrow for those tiles (under 12 outputs) with up to 32 output channels,
//   16 channels per vector (LeNet's C3).
// The first two need rows of at least 12 outputs. Each image is copied once into a zero-padded buffer whose rows hold whole 16-column
// tiles; the vector kernels (vec_direct_conv.inc) run over it. Forward passes split images across threads; the weight
// gradient splits (output-channel block, ci, ki) rows of taps, each summed over every image in the same order on any
// thread count. The bias gradient is conv.cc's, shared with the im2col path.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

constexpr long kForwardBlock = 8;  // output channels per forward kernel call (one accumulator each)
constexpr long kBlock = 4;         // per weight-gradient call (kw accumulators each)

long round16(long v) { return (v + 15) / 16 * 16; }
long pad_width(const ConvArgs& p) { return round16(p.ow) + p.kw - 1; }
long pad_rows(const ConvArgs& p) { return p.oh + p.kh - 1; }

// pad[ci][ph + iy][pw + ix] = x[ci][iy][ix], zero elsewhere.
void pad_image(const ConvArgs& p, const float* x, float* pad) {
  const long width = pad_width(p), rows = pad_rows(p);
  std::memset(pad, 0, p.c * rows * width * sizeof(float));
  for (long ci = 0; ci < p.c; ci++) {
    for (long iy = 0; iy < p.h; iy++) {
      std::memcpy(pad + (ci * rows + p.ph + iy) * width + p.pw, x + (ci * p.h + iy) * p.w, p.w * sizeof(float));
    }
  }
}

// dypad[o][oy][0, ow) = dy[o0 + o][oy][·] for one image, zero up to the tile boundary.
void pad_grad(const ConvArgs& p, const float* dy, long o0, long nb, float* dypad) {
  const long ow16 = round16(p.ow);
  for (long o = 0; o < nb; o++) {
    for (long oy = 0; oy < p.oh; oy++) {
      float* row = dypad + (o * p.oh + oy) * ow16;
      std::memcpy(row, dy + ((o0 + o) * p.oh + oy) * p.ow, p.ow * sizeof(float));
      std::memset(row + p.ow, 0, (ow16 - p.ow) * sizeof(float));
    }
  }
}

}  // namespace

// Stride 1, no dilation or groups, kw ∈ {2, 3, 5}, output sizes exactly those of stride 1, padding within the kernel's
// reach (so that the padded transpose below is one too).
bool direct_shape(const ConvArgs& p) {
  const bool unit = p.sh == 1 && p.sw == 1 && p.dh == 1 && p.dw == 1 && p.groups == 1 && p.n > 0;
  const bool exact = p.oh == p.h + 2 * p.ph - p.kh + 1 && p.ow == p.w + 2 * p.pw - p.kw + 1 && p.ph < p.kh && p.pw < p.kw;
  return unit && exact && (p.kw == 2 || p.kw == 3 || p.kw == 5);
}

bool conv_direct(const ConvArgs& p) { return direct_shape(p) && p.c * p.kh * p.kw <= 32 && p.ow >= 12; }

bool conv_direct_input_grad(const ConvArgs& p) { return direct_shape(p) && p.c <= 8 && p.w >= 12; }

// Channel-vectorised: rows too narrow for column tiles, square kernels, up to 32 output channels (2 vectors).
bool conv_direct_channels(const ConvArgs& p) { return direct_shape(p) && p.kh == p.kw && p.ow < 12 && p.oc <= 32; }

void direct_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const VecKernels& v = *ks.vec;
  parallel_run(nth, [&](int tid, int nt) {
    float* pad = scratch(2, p.c * pad_rows(p) * pad_width(p));
    long i0, i1;
    split_range(p.n, 1, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) {
      pad_image(p, x + i * p.c * p.h * p.w, pad);
      float* yi = y + i * p.oc * p.oh * p.ow;
      for (long o0 = 0; o0 < p.oc; o0 += kForwardBlock) v.direct_forward(p, pad, w, b, o0, std::min(kForwardBlock, p.oc - o0), yi);
    }
  });
}

void direct_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth) {
  // dx = dy (padded by k − 1 − p) ⋆ w', with w'[ci][o][ki][kj] = w[o][ci][kh − 1 − ki][kw − 1 − kj].
  const ConvArgs t{p.n, p.oc, p.oh, p.ow, p.c, p.kh, p.kw, 1, 1, p.kh - 1 - p.ph, p.kw - 1 - p.pw, 1, 1, 1, p.h, p.w};
  std::vector<float> flipped(p.c * p.oc * p.kh * p.kw);
  for (long o = 0; o < p.oc; o++)
    for (long ci = 0; ci < p.c; ci++)
      for (long ki = 0; ki < p.kh; ki++)
        for (long kj = 0; kj < p.kw; kj++)
          flipped[((ci * p.oc + o) * p.kh + ki) * p.kw + kj] = w[((o * p.c + ci) * p.kh + (p.kh - 1 - ki)) * p.kw + (p.kw - 1 - kj)];
  direct_forward(ks, t, dy, flipped.data(), nullptr, dx, nth);
}

void direct_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, int nth) {
  const VecKernels& v = *ks.vec;
  const long blocks = (p.oc + kBlock - 1) / kBlock, rows_of_taps = blocks * p.c * p.kh, plane = p.oh * p.ow;
  const long acc_floats = kBlock * p.kw * 16;
  parallel_run(nth, [&](int tid, int nt) {
    long r0, r1;
    split_range(rows_of_taps, 1, tid, nt, &r0, &r1);
    if (r0 >= r1) return;
    float* pad = scratch(2, p.c * pad_rows(p) * pad_width(p));
    float* dypad = scratch(3, kBlock * p.oh * round16(p.ow));
    std::vector<float> acc((r1 - r0) * acc_floats, 0.f);
    for (long i = 0; i < p.n; i++) {
      pad_image(p, x + i * p.c * p.h * p.w, pad);
      long padded_block = -1;
      for (long r = r0; r < r1; r++) {
        // r = (block · c + ci) · kh + ki: one row of taps of one block of output channels.
        const long block = r / (p.c * p.kh), ci = r / p.kh % p.c, ki = r % p.kh;
        const long o0 = block * kBlock, nb = std::min(kBlock, p.oc - o0);
        if (block != padded_block) {
          pad_grad(p, dy + i * p.oc * plane, o0, nb, dypad);
          padded_block = block;
        }
        v.direct_weight_grad(p, pad, dypad, nb, ci, ki, acc.data() + (r - r0) * acc_floats);
      }
    }
    for (long r = r0; r < r1; r++) {
      const long block = r / (p.c * p.kh), ci = r / p.kh % p.c, ki = r % p.kh;
      const long o0 = block * kBlock, nb = std::min(kBlock, p.oc - o0);
      for (long o = 0; o < nb; o++) {
        for (long kj = 0; kj < p.kw; kj++) {
          const float* lanes = acc.data() + (r - r0) * acc_floats + (o * p.kw + kj) * 16;
          float s = 0.f;
          for (int l = 0; l < 16; l++) s += lanes[l];
          dw[(((o0 + o) * p.c + ci) * p.kh + ki) * p.kw + kj] = s;
        }
      }
    }
  });
}

namespace {

constexpr long kLanes = 16;

// wp[block][tap][lane] = w[block·16 + lane][tap] (taps = c·kh·kw), zero past oc; the bias the same way.
void pack_channels(const ConvArgs& p, const float* w, const float* b, std::vector<float>& wp, std::vector<float>& bias) {
  const long taps = p.c * p.kh * p.kw, blocks = (p.oc + kLanes - 1) / kLanes;
  wp.assign(blocks * taps * kLanes, 0.f);
  bias.assign(blocks * kLanes, 0.f);
  for (long o = 0; o < p.oc; o++) {
    for (long t = 0; t < taps; t++) wp[((o / kLanes) * taps + t) * kLanes + o % kLanes] = w[o * taps + t];
    if (b) bias[o] = b[o];
  }
}

}  // namespace

void direct_forward_channels(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const VecKernels& v = *ks.vec;
  std::vector<float> wp, bias;
  pack_channels(p, w, b, wp, bias);
  const long taps = p.c * p.kh * p.kw, plane = p.oh * p.ow;
  parallel_run(nth, [&](int tid, int nt) {
    float* pad = scratch(2, p.c * pad_rows(p) * pad_width(p));
    float tile[11 * kLanes];
    long i0, i1;
    split_range(p.n, 1, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) {
      pad_image(p, x + i * p.c * p.h * p.w, pad);
      for (long o0 = 0; o0 < p.oc; o0 += kLanes) {
        const long lanes = std::min(kLanes, p.oc - o0);
        float* yo = y + (i * p.oc + o0) * plane;
        for (long oy = 0; oy < p.oh; oy++) {
          v.cv_forward(p, pad, wp.data() + (o0 / kLanes) * taps * kLanes, bias.data() + o0, oy, 0, p.ow, tile);
          for (long j = 0; j < p.ow; j++)
            for (long o = 0; o < lanes; o++) yo[o * plane + oy * p.ow + j] = tile[j * kLanes + o];
        }
      }
    }
  });
}

void direct_backward_weight_channels(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, int nth) {
  const VecKernels& v = *ks.vec;
  const long blocks = (p.oc + kLanes - 1) / kLanes, items = blocks * p.c, plane = p.oh * p.ow, taps = p.kh * p.kw;
  parallel_run(nth, [&](int tid, int nt) {
    long r0, r1;
    split_range(items, 1, tid, nt, &r0, &r1);
    if (r0 >= r1) return;
    float* pad = scratch(2, p.c * pad_rows(p) * pad_width(p));
    float* dyt = scratch(3, plane * kLanes);
    std::vector<float> acc((r1 - r0) * taps * kLanes, 0.f);
    for (long i = 0; i < p.n; i++) {
      pad_image(p, x + i * p.c * p.h * p.w, pad);
      long transposed_block = -1;
      for (long r = r0; r < r1; r++) {
        // r = block · c + ci: one input channel's taps for one block of 16 output channels.
        const long block = r / p.c, ci = r % p.c, o0 = block * kLanes, lanes = std::min(kLanes, p.oc - o0);
        if (block != transposed_block) {  // dyt[q][lane] = dy[o0 + lane][q], zero past oc
          const float* d = dy + (i * p.oc + o0) * plane;
          for (long q = 0; q < plane; q++)
            for (long o = 0; o < kLanes; o++) dyt[q * kLanes + o] = o < lanes ? d[o * plane + q] : 0.f;
          transposed_block = block;
        }
        v.cv_weight_grad(p, pad, dyt, ci, acc.data() + (r - r0) * taps * kLanes);
      }
    }
    for (long r = r0; r < r1; r++) {
      const long block = r / p.c, ci = r % p.c, o0 = block * kLanes, lanes = std::min(kLanes, p.oc - o0);
      for (long o = 0; o < lanes; o++)
        for (long t = 0; t < taps; t++) dw[((o0 + o) * p.c + ci) * taps + t] = acc[((r - r0) * taps + t) * kLanes + o];
    }
  });
}

}  // namespace convlab
