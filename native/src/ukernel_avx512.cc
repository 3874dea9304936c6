// The AVX-512 micro-kernel: 14×32 (28 zmm accumulators, two B vectors, one broadcast), so each k step issues
// 28 FMAs for 16 loads. Only this function is compiled for AVX-512, through its target attribute.
#include "common.h"
#include "ukernel_macros.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace convlab {
namespace {

constexpr int MR = 14, NR = 32;

#define DECL(i) __m512 acc##i##_0 = _mm512_setzero_ps(), acc##i##_1 = _mm512_setzero_ps();
#define STEP(i) { __m512 a = _mm512_set1_ps(ap[i]); acc##i##_0 = _mm512_fmadd_ps(a, b0, acc##i##_0); acc##i##_1 = _mm512_fmadd_ps(a, b1, acc##i##_1); }
#define STORE(i)                                                                                   \
  {                                                                                                \
    float* row = c + (i) * ldc;                                                                    \
    if (load_c) { acc##i##_0 = _mm512_add_ps(acc##i##_0, _mm512_loadu_ps(row)); acc##i##_1 = _mm512_add_ps(acc##i##_1, _mm512_loadu_ps(row + 16)); } \
    _mm512_storeu_ps(row, acc##i##_0);                                                                       \
    _mm512_storeu_ps(row + 16, acc##i##_1);                                                              \
  }

__attribute__((target("avx512f,avx2,fma"))) void ukernel(long k, const float* ap, const float* bp, float* c, long ldc, int load_c) {
  CONVLAB_REP14(DECL)
  for (long p = 0; p < k; p++) {
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * NR), _MM_HINT_T0);
    CONVLAB_REP14(STEP)
    ap += MR;
    bp += NR;
  }
  CONVLAB_REP14(STORE)
}

}  // namespace

extern const KernelSet kAvx512Set = {"avx512", MR, NR, 256, 336, 3072, ukernel};

}  // namespace convlab
#else
namespace convlab {
extern const KernelSet kAvx512Set = {"avx512", 0, 0, 0, 0, 0, nullptr};
}
#endif
