// The forward pass of ungrouped convolutions with many input channels, directly over a channels-last copy of the
// input (vec_conv_cl.inc has the tile). The implicit GEMM (conv.cc) packs im2col's panels for every slice of k, kh·kw
// copies of the input; here the input is copied once, to x_cl[i][iy][ix][ci] with the padding as zeros, and each
// tile reads its positions' taps from there.
// Weights are packed per block of cl_block output channels as wp[block][tap][ci][o], taps in (ki, kj) order.
// Work items are (block, image) pairs, block-major, split in contiguous ranges across threads, so that a thread
// keeps one block's weights in its cache for many images; every output is computed by one thread in one order,
// the same on any thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

struct Padded { long h, w; };
Padded padded(const ConvArgs& p) { return {p.h + 2 * p.ph, p.w + 2 * p.pw}; }

// x_cl[iy + ph][ix + pw][ci] = x[ci][iy][ix] for one image, zero in the border.
void to_channels_last(const ConvArgs& p, const float* x, float* x_cl) {
  const Padded pd = padded(p);
  std::memset(x_cl, 0, pd.h * pd.w * p.c * sizeof(float));
  for (long iy = 0; iy < p.h; iy++) {
    float* row = x_cl + ((iy + p.ph) * pd.w + p.pw) * p.c;
    for (long ci = 0; ci < p.c; ci++) {
      const float* src = x + (ci * p.h + iy) * p.w;
      for (long ix = 0; ix < p.w; ix++) row[ix * p.c + ci] = src[ix];
    }
  }
}

}  // namespace

// Ungrouped, whole blocks of output channels, on a kernel set that has the tile; and where it measured faster than
// the implicit GEMM (AMD EPYC, AVX-512, 2 threads, batch 64, 2026-12-03, scripts/native-ab.mjs): deep sums
// (c·kh·kw ≥ 1024) on small planes (≤ 256 outputs). AlexNet-CIFAR's conv3–conv5 (8×8) gain 10–18 %, a 5×5 64 → 192
// layer on 16×16 3 %. On 32×32 planes it ran at 0.4–0.6× the GEMM, and 1×1 layers at 0.35–0.75× (not explained;
// the plane-strided output stores and the input copy are the suspects).
bool conv_channels_last(const KernelSet& ks, const ConvArgs& p) {
  const VecKernels* v = ks.vec;
  const long plane = p.oh * p.ow;
  return v && v->cl_conv_tile && p.groups == 1 && p.oc % v->cl_block == 0 && plane > 0 && plane <= 256 && p.kh * p.kw > 1
      && p.c * p.kh * p.kw >= 1024;
}

void channels_last_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth) {
  const VecKernels& v = *ks.vec;
  const long block = v.cl_block, blocks = p.oc / block, taps = p.kh * p.kw, plane = p.oh * p.ow;
  const Padded pd = padded(p);
  const long image_floats = pd.h * pd.w * p.c;
  // Both buffers belong to the calling thread (tid 0), which calls nothing else that uses these slots meanwhile.
  float* x_cl = scratch(3, p.n * image_floats);
  float* wp = scratch(2, p.oc * p.c * taps + p.oc);
  float* bias = wp + p.oc * p.c * taps;
  std::vector<long> offsets(taps);
  for (long ki = 0; ki < p.kh; ki++)
    for (long kj = 0; kj < p.kw; kj++) offsets[ki * p.kw + kj] = (ki * p.dh * pd.w + kj * p.dw) * p.c;
  for (long o = 0; o < p.oc; o++) bias[o] = b ? b[o] : 0.f;
  parallel_run(nth, [&](int tid, int nt) {
    long i0, i1;
    split_range(p.n, 1, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) to_channels_last(p, x + i * p.c * p.h * p.w, x_cl + i * image_floats);
    // wp[(bl·taps + t)·c + ci][o] = w[bl·block + o][ci][t], by output channels split across threads.
    long o0, o1;
    split_range(p.oc, 1, tid, nt, &o0, &o1);
    for (long o = o0; o < o1; o++) {
      float* dst = wp + (o / block) * taps * p.c * block + o % block;
      for (long ci = 0; ci < p.c; ci++)
        for (long t = 0; t < taps; t++) dst[(t * p.c + ci) * block] = w[(o * p.c + ci) * taps + t];
    }
  });
  parallel_run(nth, [&](int tid, int nt) {
    long r0, r1;
    split_range(blocks * p.n, 1, tid, nt, &r0, &r1);
    const int most = v.cl_positions;
    std::vector<float> tile(most * block);
    const float* xs[16];
    for (long r = r0; r < r1; r++) {
      const long bl = r / p.n, i = r % p.n;
      const float* image = x_cl + i * image_floats;
      float* yo = y + (i * p.oc + bl * block) * plane;
      for (long q0 = 0; q0 < plane; q0 += most) {
        const long count = std::min<long>(most, plane - q0);
        for (long k = 0; k < count; k++) {
          const long oy = (q0 + k) / p.ow, ox = (q0 + k) % p.ow;
          xs[k] = image + (oy * p.sh * pd.w + ox * p.sw) * p.c;
        }
        v.cl_conv_tile(p.c, taps, offsets.data(), xs, count, wp + bl * taps * p.c * block, bias + bl * block, tile.data());
        for (long k = 0; k < count; k++)
          for (long o = 0; o < block; o++) yo[o * plane + q0 + k] = tile[k * block + o];
      }
    }
  });
}

}  // namespace convlab
