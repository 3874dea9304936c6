// Shared declarations of the native kernels. Tensors live in the JavaScript heap (a WebAssembly.Memory); every
// kernel takes float pointers already resolved from the heap's element addresses by binding.cc.
#pragma once
#include <cstddef>
#include <cstdint>

namespace convlab {

// One register-blocked micro-kernel: C[MR×NR] (row stride ldc) = (load_c ? C : 0) + Ap·Bp, where Ap is an
// MR-row panel packed k-major (MR floats per k) and Bp an NR-column panel packed k-major (NR floats per k).
using MicroKernel = void (*)(long k, const float* ap, const float* bp, float* c, long ldc, int load_c);

struct VecKernels;

// A kernel set: the micro-kernel and the cache blocking chosen for it.
struct KernelSet {
  const char* name;
  int mr, nr;
  int kc, mc, nc;
  MicroKernel ukernel;
  // A set with fewer rows per tile for products with few rows, or nullptr.
  const KernelSet* narrow;
  // The non-GEMM kernels compiled for the same instruction set (vec.h).
  const VecKernels* vec;
};

// Kernel sets in preference order; ISA_COUNT entries. isa.cc says which ones this CPU runs.
enum Isa { ISA_AVX512 = 0, ISA_AVX2 = 1, ISA_GENERIC = 2, ISA_COUNT = 3 };
const KernelSet* kernel_set(int isa);  // nullptr when not compiled in (e.g. AVX sets on arm64)
bool isa_supported(int isa);
int best_isa();

struct GemmArgs {
  bool trans_a, trans_b;
  long m, n, k;
  const float* a; long lda;
  const float* b; long ldb;
  float* c; long ldc;
  bool accumulate;
  long batch, stride_a, stride_b, stride_c;
};

// C = op(A)·op(B) (+ C). Runs on up to nth threads of the pool (1 when called from inside a pool job).
void gemm(const KernelSet& ks, const GemmArgs& g, int nth);

// A product whose B the caller writes panel by panel (a convolution's column matrix, read from the image in place:
// implicit im2col) and whose C columns come in runs: C[i][j] = c[i·ldc + (j / run)·run_stride + j % run], so a
// convolution writes each image's output planes directly (run = plane, run_stride = oc·plane). A is m × k, row-major.
struct PanelSource {
  // Rows [p0, p0 + kc) and columns [j0, j0 + nc) of B as nr-column panels, k-major, zero past column nc.
  void (*pack)(const void* ctx, long p0, long kc, long j0, long nc, int nr, float* dst);
  const void* ctx;
};
struct ImplicitGemm {
  long m, n, k;
  const float* a; long lda;
  PanelSource b;
  float* c; long ldc, run, run_stride;
  bool accumulate;
};
// Columns [n0, n1) of an implicit product, on the calling thread.
void gemm_implicit(const KernelSet& ks, const ImplicitGemm& g, long n0, long n1);

// False when the environment variable `name` starts with 0: a kernel path switched off for A/B timing in one
// build (CONVLAB_CONV_CL, CONVLAB_NT_BROADCAST). Read once by each caller, into a static.
bool switched_on(const char* name);

// Per-thread scratch that survives across calls: slot 0 and 1 for GEMM packing, 2 and 3 for conv/im2col.
float* scratch(int slot, size_t floats);

struct ConvArgs {
  long n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
};
void conv2d_forward(const KernelSet& ks, const ConvArgs& p, const float* x, const float* w, const float* b, float* y, int nth);
void conv2d_backward_input(const KernelSet& ks, const ConvArgs& p, const float* dy, const float* w, float* dx, int nth);
void conv2d_backward_weight(const KernelSet& ks, const ConvArgs& p, const float* x, const float* dy, float* dw, float* db, int nth);

}  // namespace convlab
