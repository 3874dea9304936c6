// BLIS-style SGEMM: for each NC-column block of B and KC-deep slice, pack B into NR-column panels; for each
// MC-row block of A pack A into MR-row panels; then run the micro-kernel over every MR×NR tile, with the B panel
// (KC×NR) kept in L1 while the A panels stream from L2. Edge tiles go through a small buffer. Threads split the
// batch, or else the larger of m and n, each thread packing its own panels (no synchronisation inside a GEMM).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <vector>

#include "common.h"
#include "shuffle4.h"
#include "threadpool.h"
#include "vec.h"

namespace convlab {

namespace {

struct ScratchSlots {
  float* ptr[4] = {nullptr, nullptr, nullptr, nullptr};
  size_t cap[4] = {0, 0, 0, 0};
  ~ScratchSlots() {
    for (float* p : ptr) std::free(p);
  }
};
thread_local ScratchSlots slots;

typedef float v4 __attribute__((vector_size(16)));
inline v4 load4(const float* p) { v4 v; std::memcpy(&v, p, sizeof v); return v; }
inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }

// dst[p·ds + i] = src[i·ls + p] for i < rows, p < k: packing rows into k-major panels, by 4×4 blocks transposed in
// registers (portable vector extensions: SSE on x86-64, NEON on arm64) instead of one scalar at a time.
void transpose_into(const float* src, long ls, int rows, long k, float* dst, long ds) {
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float *s0 = src + i * ls, *s1 = s0 + ls, *s2 = s1 + ls, *s3 = s2 + ls;
    long p = 0;
    for (; p + 4 <= k; p += 4) {
      v4 a = load4(s0 + p), b = load4(s1 + p), c = load4(s2 + p), d = load4(s3 + p);
      v4 ab_lo = CONVLAB_SHUFFLE(a, b, 0, 4, 1, 5), ab_hi = CONVLAB_SHUFFLE(a, b, 2, 6, 3, 7);
      v4 cd_lo = CONVLAB_SHUFFLE(c, d, 0, 4, 1, 5), cd_hi = CONVLAB_SHUFFLE(c, d, 2, 6, 3, 7);
      float* o = dst + p * ds + i;
      store4(o, CONVLAB_SHUFFLE(ab_lo, cd_lo, 0, 1, 4, 5));
      store4(o + ds, CONVLAB_SHUFFLE(ab_lo, cd_lo, 2, 3, 6, 7));
      store4(o + 2 * ds, CONVLAB_SHUFFLE(ab_hi, cd_hi, 0, 1, 4, 5));
      store4(o + 3 * ds, CONVLAB_SHUFFLE(ab_hi, cd_hi, 2, 3, 6, 7));
    }
    for (; p < k; p++) {
      float* o = dst + p * ds + i;
      o[0] = s0[p]; o[1] = s1[p]; o[2] = s2[p]; o[3] = s3[p];
    }
  }
  for (; i < rows; i++) {
    const float* s = src + i * ls;
    for (long p = 0; p < k; p++) dst[p * ds + i] = s[p];
  }
}

void pack_a(bool trans_a, const float* a, long lda, long i0, long mc, long p0, long kc, int MR, float* dst) {
  for (long ir = 0; ir < mc; ir += MR) {
    int mr = static_cast<int>(std::min<long>(MR, mc - ir));
    float* d = dst + ir * kc;
    if (!trans_a) {
      transpose_into(a + (i0 + ir) * lda + p0, lda, mr, kc, d, MR);
    } else {
      for (long p = 0; p < kc; p++) {
        const float* src = a + (p0 + p) * lda + i0 + ir;
        for (int i = 0; i < mr; i++) d[p * MR + i] = src[i];
      }
    }
    if (mr < MR) {
      for (long p = 0; p < kc; p++) for (int i = mr; i < MR; i++) d[p * MR + i] = 0.f;
    }
  }
}

__attribute__((optimize("no-tree-loop-distribute-patterns"))) void pack_b(const GemmArgs& g, const float* b, long p0, long kc, long j0, long nc, int NR, float* dst) {
  for (long jr = 0; jr < nc; jr += NR) {
    int nr = static_cast<int>(std::min<long>(NR, nc - jr));
    float* d = dst + jr * kc;
    if (!g.trans_b) {
      for (long p = 0; p < kc; p++) {
        const float* src = b + (p0 + p) * g.ldb + j0 + jr;
        float* row = d + p * NR;
        for (int j = 0; j < nr; j++) row[j] = src[j];  // a loop, not memcpy: rows of 8–32 floats
        for (int j = nr; j < NR; j++) row[j] = 0.f;
      }
    } else {
      transpose_into(b + (j0 + jr) * g.ldb + p0, g.ldb, nr, kc, d, NR);
      if (nr < NR) {
        for (long p = 0; p < kc; p++) for (int j = nr; j < NR; j++) d[p * NR + j] = 0.f;
      }
    }
  }
}

struct Blocking { long kc, mc, nc; };

// The kernel set's cache blocking, or CONVLAB_GEMM_BLOCKS="kc,mc,nc" when set (read once): blocking sizes are
// tuned by timing (bench/gemm-blocks.ts sweeps them), and a rebuild per candidate would take minutes each.
Blocking blocking_of(const KernelSet& ks) {
  static const Blocking over = [] {
    Blocking b{0, 0, 0};
    const char* s = std::getenv("CONVLAB_GEMM_BLOCKS");
    if (s && std::sscanf(s, "%ld,%ld,%ld", &b.kc, &b.mc, &b.nc) != 3) b = {0, 0, 0};
    return b;
  }();
  return {over.kc > 0 ? over.kc : ks.kc, over.mc > 0 ? over.mc : ks.mc, over.nc > 0 ? over.nc : ks.nc};
}

// Where C's columns live: C[i][j] = c[i·ldc + (j / run)·run_stride + j % run]. A plain row-major C is one run;
// a convolution's output is one run per image plane.
struct CLayout {
  float* c;
  long ldc, run, run_stride;
  float* at(long i, long j) const { return c + i * ldc + (j / run) * run_stride + j % run; }
};

// Copies columns [j, j + nr) of C's row i into a tile row (or back), one run at a time.
void tile_row(const CLayout& cl, long i, long j, long nr, float* t, bool into_tile) {
  for (long done = 0; done < nr;) {
    long len = std::min(nr - done, cl.run - (j + done) % cl.run);
    float* cp = cl.at(i, j + done);
    if (into_tile) std::memcpy(t + done, cp, len * sizeof(float));
    else std::memcpy(cp, t + done, len * sizeof(float));
    done += len;
  }
}

// Rows [m0, m1) and columns [n0, n1) of one product, on the calling thread. A is m × k (or k × m when trans_a);
// pack_panels(p0, kc, j0, nc, NR, dst) writes B's rows [p0, p0 + kc) × columns [j0, j0 + nc) as NR-column panels.
template <typename PackPanels>
void gemm_block(const KernelSet& ks, bool trans_a, const float* a, long lda, long k, bool accumulate,
                const PackPanels& pack_panels, const CLayout& cl, long m0, long m1, long n0, long n1) {
  if (m0 >= m1 || n0 >= n1) return;
  if (k == 0) {
    if (!accumulate) for (long i = m0; i < m1; i++) for (long j = n0; j < n1; j++) *cl.at(i, j) = 0.f;
    return;
  }
  const int MR = ks.mr, NR = ks.nr;
  const Blocking blocks = blocking_of(ks);
  const long KC = blocks.kc, MC = blocks.mc, NC = blocks.nc;
  float* bp = scratch(1, KC * ((NC + NR - 1) / NR * NR));
  float* ap = scratch(0, KC * ((MC + MR - 1) / MR * MR));
  alignas(64) float tile[16 * 64];  // the largest MR×NR of any kernel set, for edge tiles
  for (long jc = n0; jc < n1; jc += NC) {
    long nc = std::min(NC, n1 - jc);
    for (long pc = 0; pc < k; pc += KC) {
      long kc = std::min(KC, k - pc);
      pack_panels(pc, kc, jc, nc, NR, bp);
      int load_c = (pc > 0 || accumulate) ? 1 : 0;
      for (long ic = m0; ic < m1; ic += MC) {
        long mc = std::min(MC, m1 - ic);
        pack_a(trans_a, a, lda, ic, mc, pc, kc, MR, ap);
        for (long jr = 0; jr < nc; jr += NR) {
          long nr = std::min<long>(NR, nc - jr), j = jc + jr;
          bool one_run = j % cl.run + nr <= cl.run;
          for (long ir = 0; ir < mc; ir += MR) {
            long mr = std::min<long>(MR, mc - ir), i = ic + ir;
            if (mr == MR && nr == NR && one_run) {
              ks.ukernel(kc, ap + ir * kc, bp + jr * kc, cl.at(i, j), cl.ldc, load_c);
              continue;
            }
            if (load_c) for (long r = 0; r < mr; r++) tile_row(cl, i + r, j, nr, tile + r * NR, true);
            ks.ukernel(kc, ap + ir * kc, bp + jr * kc, tile, NR, load_c);
            for (long r = 0; r < mr; r++) tile_row(cl, i + r, j, nr, tile + r * NR, false);
          }
        }
      }
    }
  }
}

// One product of a batched GEMM, rows [m0, m1) and columns [n0, n1).
void gemm_block(const KernelSet& ks, const GemmArgs& g, const float* a, const float* b, float* c,
                long m0, long m1, long n0, long n1) {
  auto panels = [&](long p0, long kc, long j0, long nc, int nr, float* dst) { pack_b(g, b, p0, kc, j0, nc, nr, dst); };
  gemm_block(ks, g.trans_a, a, g.lda, g.k, g.accumulate, panels, CLayout{c, g.ldc, std::max<long>(g.n, 1), 0}, m0, m1, n0, n1);
}

}  // namespace

float* scratch(int slot, size_t floats) {
  if (slots.cap[slot] < floats) {
    std::free(slots.ptr[slot]);
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    slots.ptr[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
    slots.cap[slot] = slots.ptr[slot] ? floats : 0;
    if (!slots.ptr[slot]) std::abort();  // out of memory: nothing sensible to return to JavaScript
  }
  return slots.ptr[slot];
}

bool switched_on(const char* name) {
  const char* value = std::getenv(name);
  return !(value && value[0] == '0');
}

namespace {

// The fraction of a tile column's rows that m fills with tiles of mr rows.
double row_use(long m, int mr) { return static_cast<double>(m) / (((m + mr - 1) / mr) * mr); }

// The narrow kernel set when the wide one's tiles would leave too many rows empty.
const KernelSet& for_rows(const KernelSet& wide, long m) {
  return wide.narrow && row_use(m, wide.narrow->mr) > row_use(m, wide.mr) + 0.15 ? *wide.narrow : wide;
}

}  // namespace

void gemm_implicit(const KernelSet& wide, const ImplicitGemm& g, long n0, long n1) {
  if (g.m <= 0 || n0 >= n1) return;
  const KernelSet& ks = for_rows(wide, g.m);
  auto panels = [&](long p0, long kc, long j0, long nc, int nr, float* dst) { g.b.pack(g.b.ctx, p0, kc, j0, nc, nr, dst); };
  gemm_block(ks, false, g.a, g.lda, g.k, g.accumulate, panels, CLayout{g.c, g.ldc, g.run, g.run_stride}, 0, g.m, n0, n1);
}

// Few rows against a transposed B too large for the caches (a Linear layer's weight at small batch): packing B
// would read it from memory and transpose it for only m rows of work each, so the unpacked kernel reads it as it lies.
bool unpacked_nt(const GemmArgs& g) {
  return g.batch == 1 && !g.trans_a && g.trans_b && g.m <= 96 && g.k >= 256 && g.n * g.k >= (1L << 20);
}

// The same product when m is whole blocks of the channels-last convolution tile's vectors (a batch of 64 with
// AVX-512): Cᵀ = B·Aᵀ with Aᵀ packed k-major, so each step broadcasts one element of each of P rows of B against
// A's column, and no tile ends in horizontal sums as the dot-product kernel's do. k goes in slices that keep the
// packed Aᵀ in L2 while B streams past it; threads split C's columns (same order of sums on any thread count).
void broadcast_nt(const VecKernels& v, const GemmArgs& g, int nth) {
  constexpr long kSlice = 2048;
  const long block = v.cl_block, blocks = g.m / block, rows = v.cl_positions;
  thread_local std::vector<float> packed;
  packed.resize(g.m * g.k + block);
  float* at = packed.data();
  float* zero = at + g.m * g.k;
  std::fill(zero, zero + block, 0.f);
  parallel_run(nth, [&](int tid, int nt) {
    // at[bl][p][o] = a[bl·block + o][p]: threads split the rows of A.
    long i0, i1;
    split_range(g.m, 1, tid, nt, &i0, &i1);
    for (long i = i0; i < i1; i++) {
      float* dst = at + (i / block) * g.k * block + i % block;
      const float* src = g.a + i * g.lda;
      for (long p = 0; p < g.k; p++) dst[p * block] = src[p];
    }
  });
  parallel_run(nth, [&](int tid, int nt) {
    long j0, j1;
    split_range(g.n, rows, tid, nt, &j0, &j1);
    std::vector<float> tile(rows * block);
    const float* xs[16];
    const long offset0 = 0;
    for (long p0 = 0; p0 < g.k; p0 += kSlice) {
      const long kc = std::min(kSlice, g.k - p0);
      const bool add = g.accumulate || p0 > 0;
      for (long bl = 0; bl < blocks; bl++) {
        for (long j = j0; j < j1; j += rows) {
          const long count = std::min(rows, j1 - j);
          for (long r = 0; r < count; r++) xs[r] = g.b + (j + r) * g.ldb + p0;
          v.cl_conv_tile(kc, 1, &offset0, xs, count, at + (bl * g.k + p0) * block, zero, tile.data());
          for (long o = 0; o < block; o++) {
            float* crow = g.c + (bl * block + o) * g.ldc + j;
            for (long r = 0; r < count; r++) crow[r] = add ? crow[r] + tile[r * block + o] : tile[r * block + o];
          }
        }
      }
    }
  });
}

void gemm(const KernelSet& wide, const GemmArgs& g, int nth) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  static const bool broadcast_on = switched_on("CONVLAB_NT_BROADCAST");
  if (broadcast_on && wide.vec && wide.vec->cl_conv_tile && unpacked_nt(g) && g.m % wide.vec->cl_block == 0) {
    broadcast_nt(*wide.vec, g, nth);
    return;
  }
  if (wide.vec && wide.vec->gemm_nt && unpacked_nt(g)) {
    // Threads split C's columns, so every element is summed in the same order on any thread count.
    parallel_run(nth, [&](int tid, int nt) {
      long j0, j1;
      split_range(g.n, 16, tid, nt, &j0, &j1);
      if (j0 < j1) wide.vec->gemm_nt(g.m, j0, j1, g.k, g.a, g.lda, g.b, g.ldb, g.c, g.ldc, g.accumulate);
    });
    return;
  }
  const KernelSet& ks = for_rows(wide, g.m);
  auto product = [&](long bi) {
    return std::make_tuple(g.a + bi * g.stride_a, g.b + bi * g.stride_b, g.c + bi * g.stride_c);
  };
  // Whole products per thread when the batch splits evenly enough and the outputs are distinct.
  bool by_batch = nth > 1 && g.stride_c != 0 && (g.batch % nth == 0 || g.batch >= 4 * nth);
  if (nth <= 1 || by_batch) {
    parallel_run(by_batch ? nth : 1, [&](int tid, int nt) {
      long b0, b1;
      split_range(g.batch, 1, tid, nt, &b0, &b1);
      for (long bi = b0; bi < b1; bi++) {
        auto [a, b, c] = product(bi);
        gemm_block(ks, g, a, b, c, 0, g.m, 0, g.n);
      }
    });
    return;
  }
  bool split_n = g.n >= g.m;
  for (long bi = 0; bi < g.batch; bi++) {
    auto [a, b, c] = product(bi);
    parallel_run(nth, [&](int tid, int nt) {
      long lo, hi;
      if (split_n) {
        split_range(g.n, ks.nr, tid, nt, &lo, &hi);
        gemm_block(ks, g, a, b, c, 0, g.m, lo, hi);
      } else {
        split_range(g.m, ks.mr, tid, nt, &lo, &hi);
        gemm_block(ks, g, a, b, c, lo, hi, 0, g.n);
      }
    });
  }
}

}  // namespace convlab
