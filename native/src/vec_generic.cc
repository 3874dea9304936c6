// VecKernels (vec.h) for the baseline ISA (SSE2 on x86-64, NEON on arm64): vec_kernels.inc compiled under this file's target.
#include "vec.h"

namespace convlab {
namespace vec_generic {
constexpr int NT_ROWS = 2, NT_COLS = 4;  // gemm_nt's tile: 8 accumulators of 4 lanes
#define CONVLAB_VEC_FLOATS 4
#include "vec_kernels.inc"
#undef CONVLAB_VEC_FLOATS
}  // namespace vec_generic
extern const VecKernels kGenericVec = vec_generic::kernels;
}  // namespace convlab
