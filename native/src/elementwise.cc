// Unary ops and their gradients, broadcasting binary ops, strided copy, fill and axpy. Formulas follow the
// reference backend (reference-ops.ts): transcendental ones are evaluated in double and rounded once.
#include <cmath>
#include <cstring>

#include "call.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

// Math.min/Math.max: NaN in, NaN out (std::fmin/fmax would drop it).
inline double js_clamp06(double v) { return v != v ? v : v < 0 ? 0 : v > 6 ? 6 : v; }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
constexpr double kInvSqrt2Pi = 0.3989422804014327;
constexpr double kSqrt1_2 = 0.7071067811865476;

template <int OP>
inline float unary_value(float xf, double a) {
  double x = xf;
  switch (OP) {
    case U_RELU: return xf > 0 ? xf : (xf == xf ? 0.f : xf);
    case U_LEAKY_RELU: return xf > 0 ? xf : static_cast<float>(a * x);
    case U_TANH: return static_cast<float>(std::tanh(x));
    case U_SIGMOID: return static_cast<float>(sigmoid(x));
    case U_GELU: return static_cast<float>(0.5 * x * (1 + std::erf(x * kSqrt1_2)));
    case U_SILU: return static_cast<float>(x * sigmoid(x));
    case U_HARDSWISH: return static_cast<float>(x * js_clamp06(x + 3) / 6);
    case U_HARDSIGMOID: return static_cast<float>(js_clamp06(x + 3) / 6);
    case U_EXP: return static_cast<float>(std::exp(x));
    case U_LOG: return static_cast<float>(std::log(x));
    case U_NEG: return -xf;
    case U_SQRT: return static_cast<float>(std::sqrt(x));
    case U_SQUARE: return static_cast<float>(x * x);
    case U_ABS: return std::fabs(xf);
    case U_POW: return static_cast<float>(std::pow(x, a));
    case U_ADD_SCALAR: return static_cast<float>(x + a);
    case U_RELU6: return xf > 6 ? 6.f : xf > 0 ? xf : (xf == xf ? 0.f : xf);  // hardtanh(0, 6); NaN passes
    default: return static_cast<float>(x * a);  // U_MUL_SCALAR
  }
}

// f'(x) given x and y = f(x), as in the reference's UNARY_DERIVATIVE.
template <int OP>
inline double unary_slope(double x, double y, double a) {
  switch (OP) {
    case U_RELU: return x > 0 ? 1 : 0;
    case U_LEAKY_RELU: return x > 0 ? 1 : a;
    case U_TANH: return 1 - y * y;
    case U_SIGMOID: return y * (1 - y);
    case U_GELU: return 0.5 * (1 + std::erf(x * kSqrt1_2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    case U_SILU: { double s = sigmoid(x); return s * (1 + x * (1 - s)); }
    case U_HARDSWISH: return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1;
    case U_HARDSIGMOID: return x > -3 && x < 3 ? 1.0 / 6 : 0;
    case U_EXP: return y;
    case U_LOG: return 1 / x;
    case U_NEG: return -1;
    case U_SQRT: return 0.5 / y;
    case U_SQUARE: return 2 * x;
    case U_ABS: return x > 0 ? 1 : x < 0 ? -1 : x;  // Math.sign: ±0 and NaN map to themselves
    case U_POW: return a * std::pow(x, a - 1);
    case U_ADD_SCALAR: return 1;
    case U_RELU6: return x > 0 && x < 6 ? 1 : 0;  // PyTorch's hardtanh_backward: zero at both kinks
    default: return a;  // U_MUL_SCALAR
  }
}

template <int OP>
void unary_range(const float* x, float* y, long i0, long i1, double a) {
  for (long i = i0; i < i1; i++) y[i] = unary_value<OP>(x[i], a);
}

template <int OP>
void unary_backward_range(const float* x, const float* y, const float* dy, float* dx, long i0, long i1, double a) {
  for (long i = i0; i < i1; i++) dx[i] = static_cast<float>(dy[i] * unary_slope<OP>(x[i], y[i], a));
}

using UnaryFn = void (*)(const float*, float*, long, long, double);
using UnaryBwdFn = void (*)(const float*, const float*, const float*, float*, long, long, double);

template <int... OPS>
struct Tables {
  static constexpr UnaryFn forward[] = {unary_range<OPS>...};
  static constexpr UnaryBwdFn backward[] = {unary_backward_range<OPS>...};
};
using UnaryTables = Tables<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17>;
static_assert(sizeof(UnaryTables::forward) / sizeof(UnaryFn) == U_COUNT, "one entry per unary op");

void run_unary(Call& call, bool backward) {
  int op = static_cast<int>(call.num(0));
  if (op < 0 || op >= U_COUNT) { call.error = "native backend: unknown unary op"; return; }
  long len = call.num(backward ? 5 : 3);
  if (len <= 0) return;
  double a = call.arg[backward ? 6 : 4];
  const float* x = call.tensor(1, len, "unary x");
  if (!backward) {
    float* y = call.tensor(2, len, "unary y");
    if (!call.error.empty()) return;
    const VecKernels& v = *call.ks->vec;
    bool relu = op == U_RELU || op == U_RELU6;
    float hi = op == U_RELU6 ? 6.f : INFINITY;
    parallel_run(threads_for(call, len), [&](int tid, int nt) {
      long i0, i1;
      split_range(len, 16, tid, nt, &i0, &i1);
      if (relu) v.relu_forward(x + i0, y + i0, i1 - i0, hi);
      else UnaryTables::forward[op](x, y, i0, i1, a);
    });
    return;
  }
  const float* y = call.tensor(2, len, "unary y");
  const float* dy = call.tensor(3, len, "unary dy");
  float* dx = call.tensor(4, len, "unary dx");
  if (!call.error.empty()) return;
  const VecKernels& v = *call.ks->vec;
  bool relu = op == U_RELU || op == U_RELU6;
  float hi = op == U_RELU6 ? 6.f : INFINITY;
  parallel_run(threads_for(call, len), [&](int tid, int nt) {
    long i0, i1;
    split_range(len, 16, tid, nt, &i0, &i1);
    if (relu) v.relu_backward(x + i0, dy + i0, dx + i0, i1 - i0, hi);
    else UnaryTables::backward[op](x, y, dy, dx, i0, i1, a);
  });
}

// Reads shape and two stride sets (rank r at slot `at`) and checks both operands' extents against the heap.
struct Strided {
  int rank = 0;
  long shape[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  long total = 1;
};

bool read_strided(Call& call, int rank_slot, int at, Strided* s) {
  s->rank = static_cast<int>(call.num(rank_slot));
  if (s->rank < 0 || s->rank > kMaxRank) { call.error = "native backend: too many axes for a strided kernel"; return false; }
  for (int d = 0; d < s->rank; d++) {
    s->shape[d] = call.num(at + d);
    s->sa[d] = call.num(at + s->rank + d);
    s->sb[d] = call.num(at + 2 * s->rank + d);
    s->total *= s->shape[d];
  }
  return s->total > 0;
}

// The lowest and one-past-highest element offsets a strided operand touches.
void extent(const Strided& s, const long* stride, long* lo, long* hi) {
  *lo = 0; *hi = 1;
  for (int d = 0; d < s.rank; d++) {
    long span = (s.shape[d] - 1) * stride[d];
    if (span < 0) *lo += span; else *hi += span;
  }
}

// Calls row(offset_a, offset_b, first_output_index, count) for each run along the last axis, for outputs [o0, o1).
template <typename F>
void for_each_row(const Strided& s, long o0, long o1, F row) {
  int r = s.rank;
  long inner = r > 0 ? s.shape[r - 1] : 1;
  long idx[kMaxRank] = {0};
  long rem = o0 / inner, a = 0, b = 0;
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = rem % s.shape[d];
    rem /= s.shape[d];
    a += idx[d] * s.sa[d];
    b += idx[d] * s.sb[d];
  }
  long start = o0 % inner, o = o0;
  while (o < o1) {
    long count = inner - start < o1 - o ? inner - start : o1 - o;
    long ia = r > 0 ? start * s.sa[r - 1] : 0, ib = r > 0 ? start * s.sb[r - 1] : 0;
    row(a + ia, b + ib, o, count);
    o += count;
    start = 0;
    for (int d = r - 2; d >= 0; d--) {
      a += s.sa[d]; b += s.sb[d];
      if (++idx[d] < s.shape[d]) break;
      a -= s.shape[d] * s.sa[d]; b -= s.shape[d] * s.sb[d];
      idx[d] = 0;
    }
  }
}

template <int OP>
inline float binary_value(float x, float y) {
  return OP == B_ADD ? x + y : OP == B_SUB ? x - y : OP == B_MUL ? x * y : x / y;
}

template <int OP>
void binary_rows(const Strided& s, const float* a, const float* b, float* out, long o0, long o1) {
  long sa = s.rank > 0 ? s.sa[s.rank - 1] : 0, sb = s.rank > 0 ? s.sb[s.rank - 1] : 0;
  for_each_row(s, o0, o1, [&](long ia, long ib, long o, long count) {
    const float* pa = a + ia; const float* pb = b + ib; float* po = out + o;
    if (sa == 1 && sb == 1) { for (long i = 0; i < count; i++) po[i] = binary_value<OP>(pa[i], pb[i]); }
    else if (sa == 1 && sb == 0) { float v = *pb; for (long i = 0; i < count; i++) po[i] = binary_value<OP>(pa[i], v); }
    else if (sa == 0 && sb == 1) { float v = *pa; for (long i = 0; i < count; i++) po[i] = binary_value<OP>(v, pb[i]); }
    else { for (long i = 0; i < count; i++) po[i] = binary_value<OP>(pa[i * sa], pb[i * sb]); }
  });
}

void run_binary(Call& call) {
  int op = static_cast<int>(call.num(0));
  Strided s;
  if (op < B_ADD || op > B_DIV) { call.error = "native backend: unknown binary op"; return; }
  if (!read_strided(call, 4, 5, &s)) return;
  long alo, ahi, blo, bhi;
  extent(s, s.sa, &alo, &ahi);
  extent(s, s.sb, &blo, &bhi);
  if (call.arg[1] + alo < 0 || call.arg[2] + blo < 0) { call.error = "native backend: binary operand before the heap"; return; }
  const float* a = call.tensor(1, ahi, "binary a");
  const float* b = call.tensor(2, bhi, "binary b");
  float* out = call.tensor(3, s.total, "binary out");
  if (!call.error.empty()) return;
  using Fn = void (*)(const Strided&, const float*, const float*, float*, long, long);
  static constexpr Fn fns[] = {binary_rows<B_ADD>, binary_rows<B_SUB>, binary_rows<B_MUL>, binary_rows<B_DIV>};
  parallel_run(threads_for(call, s.total), [&](int tid, int nt) {
    long o0, o1;
    split_range(s.total, 16, tid, nt, &o0, &o1);
    if (o0 < o1) fns[op](s, a, b, out, o0, o1);
  });
}

// copy: [src, dst, rank, shape…, srcStrides…, dstStrides…]; the destination may be strided too.
void run_copy(Call& call) {
  Strided s;
  if (!read_strided(call, 2, 3, &s)) return;
  long slo, shi, dlo, dhi;
  extent(s, s.sa, &slo, &shi);
  extent(s, s.sb, &dlo, &dhi);
  if (call.arg[0] + slo < 0 || call.arg[1] + dlo < 0) { call.error = "native backend: copy operand before the heap"; return; }
  const float* src = call.tensor(0, shi, "copy src");
  float* dst = call.tensor(1, dhi, "copy dst");
  if (!call.error.empty()) return;
  long ss = s.rank > 0 ? s.sa[s.rank - 1] : 0, ds = s.rank > 0 ? s.sb[s.rank - 1] : 0;
  parallel_run(threads_for(call, s.total), [&](int tid, int nt) {
    long o0, o1;
    split_range(s.total, 16, tid, nt, &o0, &o1);
    if (o0 >= o1) return;
    for_each_row(s, o0, o1, [&](long is, long id, long, long count) {
      if (ss == 1 && ds == 1) std::memmove(dst + id, src + is, count * sizeof(float));
      else for (long i = 0; i < count; i++) dst[id + i * ds] = src[is + i * ss];
    });
  });
}

void run_fill(Call& call) {
  long len = call.num(1);
  if (len <= 0) return;
  float* dst = call.tensor(0, len, "fill dst");
  float value = call.real(2);
  if (!call.error.empty()) return;
  parallel_run(threads_for(call, len), [&](int tid, int nt) {
    long i0, i1;
    split_range(len, 16, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) dst[i] = value;
  });
}

void run_axpy(Call& call) {
  long len = call.num(2);
  if (len <= 0) return;
  const float* x = call.tensor(0, len, "axpy x");
  float* y = call.tensor(1, len, "axpy y");
  double alpha = call.arg[3];
  if (!call.error.empty()) return;
  parallel_run(threads_for(call, len), [&](int tid, int nt) {
    long i0, i1;
    split_range(len, 16, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) y[i] = static_cast<float>(y[i] + alpha * x[i]);
  });
}

}  // namespace

bool run_elementwise(int id, Call& call) {
  switch (id) {
    case K_UNARY: run_unary(call, false); return true;
    case K_UNARY_BWD: run_unary(call, true); return true;
    case K_BINARY: run_binary(call); return true;
    case K_COPY: run_copy(call); return true;
    case K_FILL: run_fill(call); return true;
    case K_AXPY: run_axpy(call); return true;
    default: return false;
  }
}

}  // namespace convlab
