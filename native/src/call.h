// One kernel call from JavaScript: its float64 argument slots (written by native.ts into the heap) and the heap
// itself. Tensor arguments are element addresses; tensor() checks each against the heap before a kernel runs, so
// a bad address raises a JavaScript error instead of corrupting the process.
#pragma once
#include <cstdio>
#include <string>

#include "common.h"

namespace convlab {

struct Call {
  const double* arg;
  float* heap;
  long heap_floats;
  int nth;
  const KernelSet* ks;
  std::string error;

  long num(int slot) const { return static_cast<long>(arg[slot]); }
  float real(int slot) const { return static_cast<float>(arg[slot]); }
  bool flag(int slot) const { return arg[slot] != 0; }

  // The tensor at argument `slot`, `count` elements long (count 0 accepts any in-bounds address).
  float* tensor(int slot, long count, const char* what) {
    double at = arg[slot];
    if (!(at >= 0 && count >= 0 && at + static_cast<double>(count) <= static_cast<double>(heap_floats))) {
      if (error.empty()) {
        char line[160];
        std::snprintf(line, sizeof line, "native backend: %s [%.0f, +%ld) is outside the heap of %ld floats", what, at, count, heap_floats);
        error = line;
      }
      return heap;
    }
    return heap + static_cast<long>(at);
  }
  // Like tensor(), but a negative address means "absent" and gives nullptr.
  float* optional(int slot, long count, const char* what) { return arg[slot] < 0 ? nullptr : tensor(slot, count, what); }
  int* ints(int slot, long count, const char* what) { return reinterpret_cast<int*>(tensor(slot, count, what)); }
};

// Kernel ids; native.ts holds the same numbers (NATIVE_KERNEL). Argument layouts match the WASM backend's.
enum KernelId {
  K_GEMM = 1, K_CONV_FWD, K_CONV_BWD_INPUT, K_CONV_BWD_WEIGHT,
  K_MAXPOOL, K_MAXPOOL_BWD, K_AVGPOOL, K_AVGPOOL_BWD,
  K_UNARY, K_UNARY_BWD, K_BINARY, K_REDUCE_SUM, K_SOFTMAX, K_SOFTMAX_BWD,
  K_BN_STATS, K_BN_APPLY, K_BN_BWD, K_FILL, K_AXPY, K_SGD, K_ADAM, K_COPY,
  K_LN, K_LN_BWD, K_ADAPTIVE_AVGPOOL, K_ADAPTIVE_AVGPOOL_BWD,
};

// Unary op ids (native-kernels.ts UNARY_ID).
enum UnaryId {
  U_RELU, U_LEAKY_RELU, U_TANH, U_SIGMOID, U_GELU, U_SILU, U_HARDSWISH, U_HARDSIGMOID, U_EXP, U_LOG, U_NEG, U_SQRT,
  U_SQUARE, U_ABS, U_POW, U_ADD_SCALAR, U_MUL_SCALAR, U_RELU6, U_COUNT,
};
enum BinaryId { B_ADD, B_SUB, B_MUL, B_DIV };

// Most axes a strided kernel (binary, copy) takes; callers collapse axes first.
constexpr int kMaxRank = 8;

// Each returns false when it does not know the id.
bool run_conv_gemm(int id, Call& call);
bool run_pool(int id, Call& call);
bool run_elementwise(int id, Call& call);
bool run_norm(int id, Call& call);
bool run_optim(int id, Call& call);

// The threads a call may use: native.ts already chose 1 for small calls; never more than one per 16 elements.
inline int threads_for(const Call& call, long elements) {
  long most = elements / 16;
  return most < 1 ? 1 : (most < call.nth ? static_cast<int>(most) : call.nth);
}

}  // namespace convlab
