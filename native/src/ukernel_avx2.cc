// The AVX2+FMA micro-kernel: 6×16 (12 ymm accumulators, two B vectors, one broadcast). Only this function is
// compiled for AVX2, through its target attribute; isa.cc calls it only on CPUs that report AVX2 and FMA.
#include "common.h"
#include "vec.h"
#include "ukernel_macros.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace convlab {
namespace {

constexpr int MR = 6, NR = 16;

#define DECL(i) __m256 acc##i##_0 = _mm256_setzero_ps(), acc##i##_1 = _mm256_setzero_ps();
#define STEP(i) { __m256 a = _mm256_broadcast_ss(ap + (i)); acc##i##_0 = _mm256_fmadd_ps(a, b0, acc##i##_0); acc##i##_1 = _mm256_fmadd_ps(a, b1, acc##i##_1); }
#define STORE(i)                                                                                   \
  {                                                                                                \
    float* row = c + (i) * ldc;                                                                    \
    if (load_c) { acc##i##_0 = _mm256_add_ps(acc##i##_0, _mm256_loadu_ps(row)); acc##i##_1 = _mm256_add_ps(acc##i##_1, _mm256_loadu_ps(row + 8)); } \
    _mm256_storeu_ps(row, acc##i##_0);                                                                       \
    _mm256_storeu_ps(row + 8, acc##i##_1);                                                              \
  }

__attribute__((target("avx2,fma"))) void ukernel(long k, const float* ap, const float* bp, float* c, long ldc, int load_c) {
  CONVLAB_REP6(DECL)
  for (long p = 0; p < k; p++) {
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
    CONVLAB_REP6(STEP)
    ap += MR;
    bp += NR;
  }
  CONVLAB_REP6(STORE)
}

}  // namespace

extern const KernelSet kAvx2Set = {"avx2", MR, NR, 256, 144, 3072, ukernel, nullptr, &kAvx2Vec};

}  // namespace convlab
#else
namespace convlab {
extern const KernelSet kAvx2Set = {"avx2", 0, 0, 0, 0, 0, nullptr, nullptr, nullptr};
}
#endif
