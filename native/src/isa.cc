// Which kernel sets this CPU can run. __builtin_cpu_supports also checks that the OS saves the wide registers.
#include "common.h"

namespace convlab {

extern const KernelSet kAvx512Set, kAvx2Set, kGenericSet;

const KernelSet* kernel_set(int isa) {
  switch (isa) {
    case ISA_AVX512: return kAvx512Set.ukernel ? &kAvx512Set : nullptr;
    case ISA_AVX2: return kAvx2Set.ukernel ? &kAvx2Set : nullptr;
    case ISA_GENERIC: return &kGenericSet;
    default: return nullptr;
  }
}

namespace {

bool detect(int isa) {
  if (!kernel_set(isa)) return false;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == ISA_AVX512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == ISA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == ISA_GENERIC;
}

}  // namespace

bool isa_supported(int isa) {
  static const bool supported[ISA_COUNT] = {detect(ISA_AVX512), detect(ISA_AVX2), detect(ISA_GENERIC)};
  return isa >= 0 && isa < ISA_COUNT && supported[isa];
}

int best_isa() {
  for (int isa = 0; isa < ISA_COUNT; isa++) if (isa_supported(isa)) return isa;
  return ISA_GENERIC;
}

}  // namespace convlab
