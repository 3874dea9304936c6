// The portable micro-kernel: 6×8 with GCC/Clang vector extensions, which compile to SSE2 on x86-64 and NEON on
// arm64 without any target-specific flag.
#include <cstring>

#include "common.h"
#include "vec.h"
#include "ukernel_macros.h"

namespace convlab {
namespace {

typedef float v4 __attribute__((vector_size(16)));
constexpr int MR = 6, NR = 8;

inline v4 load4(const float* p) { v4 v; std::memcpy(&v, p, sizeof v); return v; }
inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }

#define DECL(i) v4 acc##i##_0 = {0, 0, 0, 0}, acc##i##_1 = {0, 0, 0, 0};
#define STEP(i) { v4 a = {ap[i], ap[i], ap[i], ap[i]}; acc##i##_0 += a * b0; acc##i##_1 += a * b1; }
#define STORE(i)                                                              \
  {                                                                           \
    float* row = c + (i) * ldc;                                               \
    if (load_c) { acc##i##_0 += load4(row); acc##i##_1 += load4(row + 4); }   \
    store4(row, acc##i##_0);                                                  \
    store4(row + 4, acc##i##_1);                                              \
  }

void ukernel(long k, const float* ap, const float* bp, float* c, long ldc, int load_c) {
  CONVLAB_REP6(DECL)
  for (long p = 0; p < k; p++) {
    v4 b0 = load4(bp), b1 = load4(bp + 4);
    CONVLAB_REP6(STEP)
    ap += MR;
    bp += NR;
  }
  CONVLAB_REP6(STORE)
}

}  // namespace

extern const KernelSet kGenericSet = {"generic", MR, NR, 256, 120, 2048, ukernel, nullptr, &kGenericVec};

}  // namespace convlab
