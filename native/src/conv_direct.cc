// Direct stride-1 convolutions for layers with few input taps (c·kh·kw ≤ 32) and rows of at least 12 outputs:
// LeNet's C1, 3-channel stems, airbench's whitening layer. im2col would turn each into a GEMM with k ≤ 32 and as few
// rows as output channels, which the packed GEMM runs far below its speed. Each image is copied once into a
// zero-padded buffer whose rows hold whole 16-column tiles; the vector kernels (vec_direct_conv.inc) run over it.
// The forward pass splits images across threads; the weight gradient splits (output-channel block, ci, ki) rows of
// taps, each summed over every image in the same order on any thread count. The input gradient stays on im2col.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

constexpr long kBlock = 4;  // output channels per kernel call

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

bool conv_direct(const ConvArgs& p) {
  const bool unit = p.sh == 1 && p.sw == 1 && p.dh == 1 && p.dw == 1 && p.groups == 1;
  // The padded copy must hold every tap: stride-1 output sizes exactly, padding within the kernel's reach.
  const bool exact = p.oh == p.h + 2 * p.ph - p.kh + 1 && p.ow == p.w + 2 * p.pw - p.kw + 1 && p.ph < p.kh && p.pw < p.kw;
  const bool width_ok = p.kw == 2 || p.kw == 3 || p.kw == 5;
  return unit && exact && width_ok && p.c * p.kh * p.kw <= 32 && p.ow >= 12 && p.n > 0;
}

void direct_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const VecKernels& v = *ks.vec;
  parallel_run(nth, [&](int tid, int nt) {
    float* pad = scratch(2, p.c * pad_rows(p) * pad_width(p));
    long i0, i1;
    split_range(p.n, 1, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) {
      pad_image(p, x + i * p.c * p.h * p.w, pad);
      float* yi = y + i * p.oc * p.oh * p.ow;
      for (long o0 = 0; o0 < p.oc; o0 += kBlock) v.direct_forward(p, pad, w, b, o0, std::min(kBlock, p.oc - o0), yi);
    }
  });
}

void direct_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth) {
  const VecKernels& v = *ks.vec;
  const long blocks = (p.oc + kBlock - 1) / kBlock, rows_of_taps = blocks * p.c * p.kh, plane = p.oh * p.ow;
  const long acc_floats = kBlock * p.kw * 16;
  if (db) {
    for (long o = 0; o < p.oc; o++) {
      double s = 0;
      for (long i = 0; i < p.n; i++) {
        const float* d = dy + (i * p.oc + o) * plane;
        float part = 0.f;
        for (long q = 0; q < plane; q++) part += d[q];
        s += part;
      }
      db[o] = static_cast<float>(s);
    }
  }
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

}  // namespace convlab
