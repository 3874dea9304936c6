// VecKernels (vec.h) for the baseline ISA (SSE2 on x86-64, NEON on arm64): vec_kernels.inc compiled under this file's target.
#include "vec.h"

namespace convlab {
namespace vec_generic {
#include "vec_kernels.inc"
}  // namespace vec_generic
extern const VecKernels kGenericVec = vec_generic::kernels;
}  // namespace convlab
