// VecKernels (vec.h) for AVX2+FMA: vec_kernels.inc compiled under this file's target.
#include "vec.h"

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace convlab {
namespace vec_avx2 {
constexpr int NT_ROWS = 2, NT_COLS = 4;  // gemm_nt's tile: 8 accumulators of 8 lanes
#define CONVLAB_VEC_FLOATS 8
#include "vec_kernels.inc"
#undef CONVLAB_VEC_FLOATS
}  // namespace vec_avx2
extern const VecKernels kAvx2Vec = vec_avx2::kernels;
}  // namespace convlab
#pragma GCC pop_options
#else
namespace convlab { extern const VecKernels kAvx2Vec = {}; }
#endif
