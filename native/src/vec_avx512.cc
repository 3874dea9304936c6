// VecKernels (vec.h) for AVX-512 (512-bit vectors preferred): vec_kernels.inc compiled under this file's target.
#include "vec.h"

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512")
namespace convlab {
namespace vec_avx512 {
constexpr int NT_ROWS = 4, NT_COLS = 6;  // gemm_nt's tile: 24 accumulators of 16 lanes
#define CONVLAB_VEC_FLOATS 16
#include "vec_kernels.inc"
#undef CONVLAB_VEC_FLOATS
}  // namespace vec_avx512
extern const VecKernels kAvx512Vec = vec_avx512::kernels;
}  // namespace convlab
#pragma GCC pop_options
#else
namespace convlab { extern const VecKernels kAvx512Vec = {}; }
#endif
