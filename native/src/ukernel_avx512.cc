// The AVX-512 micro-kernels: 14×32 (28 zmm accumulators, two B vectors, one broadcast), so each k step issues
// 28 FMAs for 16 loads, and 6×32 for products with few rows. Only these functions are compiled for AVX-512,
// through their target attribute.
#include "common.h"
#include "vec.h"
#include "ukernel_macros.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace convlab {
namespace {

constexpr int NR = 32;

#define DECL(i) __m512 acc##i##_0 = _mm512_setzero_ps(), acc##i##_1 = _mm512_setzero_ps();
#define STEP(i) { __m512 a = _mm512_set1_ps(ap[i]); acc##i##_0 = _mm512_fmadd_ps(a, b0, acc##i##_0); acc##i##_1 = _mm512_fmadd_ps(a, b1, acc##i##_1); }
#define STORE(i)                                                                                   \
  {                                                                                                \
    float* row = c + (i) * ldc;                                                                    \
    if (load_c) { acc##i##_0 = _mm512_add_ps(acc##i##_0, _mm512_loadu_ps(row)); acc##i##_1 = _mm512_add_ps(acc##i##_1, _mm512_loadu_ps(row + 16)); } \
    _mm512_storeu_ps(row, acc##i##_0);                                                                       \
    _mm512_storeu_ps(row + 16, acc##i##_1);                                                              \
  }

// One body for both row counts: REP is CONVLAB_REP14 or CONVLAB_REP6.
#define UKERNEL(NAME, MR, REP)                                                                                       \
  __attribute__((target("avx512f,avx2,fma"))) void NAME(long k, const float* ap, const float* bp, float* c, long ldc, \
                                                      int load_c) {                                                  \
    REP(DECL)                                                                                                        \
    for (long p = 0; p < k; p++) {                                                                                   \
      __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);                                                \
      REP(STEP)                                                                                                      \
      ap += MR;                                                                                                      \
      bp += NR;                                                                                                      \
    }                                                                                                                \
    REP(STORE)                                                                                                       \
  }

UKERNEL(ukernel_14x32, 14, CONVLAB_REP14)
UKERNEL(ukernel_6x32, 6, CONVLAB_REP6)

}  // namespace

// Products with few rows (a LeNet layer's 6 or 16 output channels) waste most of a 14-row tile: they take 6×32.
const KernelSet kAvx512Narrow = {"avx512", 6, NR, 192, 120, 3072, ukernel_6x32, nullptr, &kAvx512Vec};

// KC 384, MC 168 (12 tiles of 14 rows): the best of a KC 192-384 × MC 112-336 sweep on the 2-core AMD EPYC
// (bench/gemm-blocks.ts, 2026-12-02: n = 1024 at 177 GFLOP/s on 1 thread and 343 on 2, against 169 and 311 for
// KC 192, MC 336). A deeper KC halves the passes over C; the smaller A block still fits L2 with room to spare.
extern const KernelSet kAvx512Set = {"avx512", 14, NR, 384, 168, 3072, ukernel_14x32, &kAvx512Narrow, &kAvx512Vec};

}  // namespace convlab
#else
namespace convlab {
extern const KernelSet kAvx512Set = {"avx512", 0, 0, 0, 0, 0, nullptr, nullptr, nullptr};
}
#endif
