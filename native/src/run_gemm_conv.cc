// Argument unpacking for GEMM and convolution (layouts as in the WASM backend's wasm.ts).
#include "call.h"

namespace convlab {

namespace {

// Elements spanned by `rows` rows of `cols` with row stride ld (0 when empty).
long span(long rows, long cols, long ld) { return rows <= 0 || cols <= 0 ? 0 : (rows - 1) * ld + cols; }

void run_gemm(Call& call) {
  GemmArgs g;
  g.trans_a = call.flag(0); g.trans_b = call.flag(1);
  g.m = call.num(2); g.n = call.num(3); g.k = call.num(4);
  g.lda = call.num(6); g.ldb = call.num(8); g.ldc = call.num(10);
  g.accumulate = call.flag(11);
  g.batch = call.num(12); g.stride_a = call.num(13); g.stride_b = call.num(14); g.stride_c = call.num(15);
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  if (g.stride_a < 0 || g.stride_b < 0 || g.stride_c < 0) { call.error = "native backend: gemm batch strides must be >= 0"; return; }
  long last = g.batch - 1;
  g.a = call.tensor(5, last * g.stride_a + (g.trans_a ? span(g.k, g.m, g.lda) : span(g.m, g.k, g.lda)), "gemm A");
  g.b = call.tensor(7, last * g.stride_b + (g.trans_b ? span(g.n, g.k, g.ldb) : span(g.k, g.n, g.ldb)), "gemm B");
  g.c = call.tensor(9, last * g.stride_c + span(g.m, g.n, g.ldc), "gemm C");
  if (call.error.empty()) gemm(*call.ks, g, call.nth);
}

void run_conv(int id, Call& call) {
  ConvArgs p;
  long* fields[] = {&p.n, &p.c, &p.h, &p.w, &p.oc, &p.kh, &p.kw, &p.sh, &p.sw, &p.ph, &p.pw, &p.dh, &p.dw, &p.groups, &p.oh, &p.ow};
  for (int i = 0; i < 16; i++) *fields[i] = call.num(i);
  if (p.n <= 0 || p.oc <= 0 || p.c <= 0) return;
  if (p.groups <= 0 || p.c % p.groups != 0 || p.oc % p.groups != 0 || p.oh < 0 || p.ow < 0) {
    call.error = "native backend: inconsistent conv2d geometry";
    return;
  }
  long xs = p.n * p.c * p.h * p.w, ws = p.oc * (p.c / p.groups) * p.kh * p.kw, ys = p.n * p.oc * p.oh * p.ow;
  if (id == K_CONV_FWD) {
    const float* x = call.tensor(16, xs, "conv2d x");
    const float* w = call.tensor(17, ws, "conv2d weight");
    const float* b = call.optional(18, p.oc, "conv2d bias");
    float* y = call.tensor(19, ys, "conv2d y");
    if (call.error.empty()) conv2d_forward(*call.ks, p, x, w, b, y, call.nth);
  } else if (id == K_CONV_BWD_INPUT) {
    const float* dy = call.tensor(16, ys, "conv2d dy");
    const float* w = call.tensor(17, ws, "conv2d weight");
    float* dx = call.tensor(18, xs, "conv2d dx");
    if (call.error.empty()) conv2d_backward_input(*call.ks, p, dy, w, dx, call.nth);
  } else {
    const float* x = call.tensor(16, xs, "conv2d x");
    const float* dy = call.tensor(17, ys, "conv2d dy");
    float* dw = call.tensor(18, ws, "conv2d dw");
    float* db = call.optional(19, p.oc, "conv2d db");
    if (call.error.empty()) conv2d_backward_weight(*call.ks, p, x, dy, dw, db, call.nth);
  }
}

}  // namespace

bool run_conv_gemm(int id, Call& call) {
  if (id == K_GEMM) { run_gemm(call); return true; }
  if (id == K_CONV_FWD || id == K_CONV_BWD_INPUT || id == K_CONV_BWD_WEIGHT) { run_conv(id, call); return true; }
  return false;
}

}  // namespace convlab
