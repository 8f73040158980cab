// Cache-blocked GEMM tiles (see host_kernels.h). Compiled with -O3 -ffp-contract=fast even in
// Debug builds (agent/device/CMakeLists.txt) so sanitized tests stay fast.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "agent/device/host_kernels.h"
#include "agent/device/numerics.h"

namespace hac::device {
namespace {

constexpr int kMr = 6;
constexpr int64_t kMcPad = ((kGemmTileMTall + kMr - 1) / kMr) * kMr;

typedef float v8sf __attribute__((vector_size(32)));
typedef float v16sf __attribute__((vector_size(64)));

// Per-thread packing buffers, 64-byte aligned.
struct Scratch {
  float* a;
  float* b;
  float* tile;
  Scratch() {
    a = static_cast<float*>(::operator new(sizeof(float) * kMcPad * kGemmTileK,
                                           std::align_val_t(64)));
    b = static_cast<float*>(::operator new(sizeof(float) * kGemmTileK * kGemmTileN,
                                           std::align_val_t(64)));
    tile = static_cast<float*>(::operator new(sizeof(float) * kGemmTileMTall * kGemmTileN,
                                              std::align_val_t(64)));
  }
  ~Scratch() {
    ::operator delete(a, std::align_val_t(64));
    ::operator delete(b, std::align_val_t(64));
    ::operator delete(tile, std::align_val_t(64));
  }
};
Scratch& ThreadScratch() {
  thread_local Scratch s;
  return s;
}

template <typename T>
inline float Load(const T* p, int64_t i);
template <>
inline float Load<float>(const float* p, int64_t i) { return p[i]; }
template <>
inline float Load<uint16_t>(const uint16_t* p, int64_t i) { return Bf16ToFloat(p[i]); }
template <>
inline float Load<int8_t>(const int8_t* p, int64_t i) { return static_cast<float>(p[i]); }

// A(i, p) for i in [i0, i0+mc), p in [p0, p0+kc) into micro-panels of kMr rows: panel r holds
// kc columns of kMr values each; rows past mc are zero.
template <typename T>
void PackA(const Kernel& k, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  const T* a = static_cast<const T*>(k.a);
  for (int64_t ir = 0; ir < mc; ir += kMr) {
    float* panel = out + ir * kc;
    int64_t rows = std::min<int64_t>(kMr, mc - ir);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < kMr; ++r) {
        float v = 0.0f;
        if (r < rows) {
          int64_t i = i0 + ir + r, q = p0 + p;
          v = k.trans_a ? Load(a, q * k.m + i) : Load(a, i * k.k + q);
        }
        panel[p * kMr + r] = v;
      }
    }
  }
}

// B(p, j) into micro-panels of nr columns; columns past nc are zero. The loop walks B row by
// row (contiguous reads the prefetcher follows) and scatters into the panels: walking panel by
// panel instead would read 64 bytes per 4 KB-strided row, which is latency-bound for large N.
template <typename T>
void PackB(const Kernel& k, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t nr,
           float* out) {
  const T* b = static_cast<const T*>(k.b);
  if (!k.trans_b) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = b + (p0 + p) * k.n + j0;
      for (int64_t jr = 0; jr < nc; jr += nr) {
        float* dst = out + jr * kc + p * nr;
        int64_t cols = std::min<int64_t>(nr, nc - jr);
        for (int64_t c = 0; c < cols; ++c) dst[c] = Load(src + jr, c);
        for (int64_t c = cols; c < nr; ++c) dst[c] = 0.0f;
      }
    }
    return;
  }
  // Transposed: B is stored [n, k], so column j of op(B) is contiguous along p.
  for (int64_t jr = 0; jr < nc; jr += nr) {
    float* panel = out + jr * kc;
    int64_t cols = std::min<int64_t>(nr, nc - jr);
    for (int64_t c = 0; c < nr; ++c) {
      if (c >= cols) {
        for (int64_t p = 0; p < kc; ++p) panel[p * nr + c] = 0.0f;
        continue;
      }
      const T* src = b + (j0 + jr + c) * k.k + p0;
      for (int64_t p = 0; p < kc; ++p) panel[p * nr + c] = Load(src, p);
    }
  }
}

// C[mc x nc] (row stride ldc) = (first ? beta * C : C) + alpha * Ap * Bp over kc, with a
// kMr x 2L register block of L-lane vectors V (the B panels are 2L wide).
template <typename V, int L>
__attribute__((always_inline)) inline void MacroKernelBody(int64_t mc, int64_t nc, int64_t kc,
                                                           const float* ap, const float* bp,
                                                           float* c, int64_t ldc, float alpha,
                                                           float beta, bool first) {
  constexpr int kNr = 2 * L;
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const float* bpanel = bp + jr * kc;
    for (int64_t ir = 0; ir < mc; ir += kMr) {
      const float* apanel = ap + ir * kc;
      V c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {};
      V c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
      for (int64_t p = 0; p < kc; ++p) {
        const V b0 = *reinterpret_cast<const V*>(bpanel + p * kNr);
        const V b1 = *reinterpret_cast<const V*>(bpanel + p * kNr + L);
        const float* a = apanel + p * kMr;
        c00 += a[0] * b0;
        c01 += a[0] * b1;
        c10 += a[1] * b0;
        c11 += a[1] * b1;
        c20 += a[2] * b0;
        c21 += a[2] * b1;
        c30 += a[3] * b0;
        c31 += a[3] * b1;
        c40 += a[4] * b0;
        c41 += a[4] * b1;
        c50 += a[5] * b0;
        c51 += a[5] * b1;
      }
      alignas(64) float acc[kMr][kNr];
      const V* rows[kMr][2] = {{&c00, &c01}, {&c10, &c11}, {&c20, &c21},
                               {&c30, &c31}, {&c40, &c41}, {&c50, &c51}};
      for (int r = 0; r < kMr; ++r) {
        memcpy(&acc[r][0], rows[r][0], sizeof(V));
        memcpy(&acc[r][L], rows[r][1], sizeof(V));
      }
      int64_t nrows = std::min<int64_t>(kMr, mc - ir);
      int64_t cols = std::min<int64_t>(kNr, nc - jr);
      for (int64_t r = 0; r < nrows; ++r) {
        float* crow = c + (ir + r) * ldc + jr;
        if (first && beta == 0.0f) {
          for (int64_t j = 0; j < cols; ++j) crow[j] = alpha * acc[r][j];
        } else if (first) {
          for (int64_t j = 0; j < cols; ++j) crow[j] = beta * crow[j] + alpha * acc[r][j];
        } else {
          for (int64_t j = 0; j < cols; ++j) crow[j] += alpha * acc[r][j];
        }
      }
    }
  }
}

void MacroKernelGeneric(int64_t mc, int64_t nc, int64_t kc, const float* ap, const float* bp,
                        float* c, int64_t ldc, float alpha, float beta, bool first) {
  MacroKernelBody<v8sf, 8>(mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

__attribute__((target("avx2,fma"))) void MacroKernelAvx2(int64_t mc, int64_t nc, int64_t kc,
                                                          const float* ap, const float* bp,
                                                          float* c, int64_t ldc, float alpha,
                                                          float beta, bool first) {
  MacroKernelBody<v8sf, 8>(mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

__attribute__((target("avx512f"))) void MacroKernelAvx512(int64_t mc, int64_t nc, int64_t kc,
                                                           const float* ap, const float* bp,
                                                           float* c, int64_t ldc, float alpha,
                                                           float beta, bool first) {
  MacroKernelBody<v16sf, 16>(mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

using MacroKernelFn = void (*)(int64_t, int64_t, int64_t, const float*, const float*, float*,
                               int64_t, float, float, bool);

struct MicroKernel {
  MacroKernelFn fn;
  int64_t nr;  // B panel width
};

MicroKernel KernelFor(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kAvx512: return {MacroKernelAvx512, 32};
    case GemmIsa::kAvx2: return {MacroKernelAvx2, 16};
    case GemmIsa::kGeneric: break;
  }
  return {MacroKernelGeneric, 16};
}

// The ISA in use; -1 until first use (then the best the CPU supports).
std::atomic<int> g_isa{-1};

MicroKernel CurrentKernel() {
  int isa = g_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = static_cast<int>(BestGemmIsa());
    g_isa.store(isa, std::memory_order_relaxed);
  }
  return KernelFor(static_cast<GemmIsa>(isa));
}

template <typename T>
void GemmTile(const Kernel& k, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const MicroKernel mk = CurrentKernel();
  Scratch& s = ThreadScratch();
  float* c = static_cast<float*>(k.c);
  int64_t mc = i1 - i0, nc = j1 - j0;
  if (k.k == 0) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j = j0; j < j1; ++j) {
        c[i * k.n + j] = k.beta == 0.0f ? 0.0f : k.beta * c[i * k.n + j];
      }
    }
    return;
  }
  for (int64_t p0 = 0; p0 < k.k; p0 += kGemmTileK) {
    int64_t kc = std::min(kGemmTileK, k.k - p0);
    PackB<T>(k, p0, kc, j0, nc, mk.nr, s.b);
    PackA<T>(k, i0, mc, p0, kc, s.a);
    mk.fn(mc, nc, kc, s.a, s.b, c + i0 * k.n + j0, k.n, k.alpha, k.beta, p0 == 0);
  }
}

}  // namespace

GemmIsa BestGemmIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return GemmIsa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return GemmIsa::kAvx2;
  return GemmIsa::kGeneric;
}

bool SetGemmIsa(GemmIsa isa) {
  __builtin_cpu_init();
  bool ok = isa == GemmIsa::kGeneric ||
            (isa == GemmIsa::kAvx2 && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma")) ||
            (isa == GemmIsa::kAvx512 && __builtin_cpu_supports("avx512f"));
  if (ok) g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
  return ok;
}

GemmIsa CurrentGemmIsa() {
  int isa = g_isa.load(std::memory_order_relaxed);
  return isa < 0 ? BestGemmIsa() : static_cast<GemmIsa>(isa);
}

const char* GemmIsaName(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kAvx512: return "avx512";
    case GemmIsa::kAvx2: return "avx2+fma";
    case GemmIsa::kGeneric: return "x86-64";
  }
  return "?";
}

void GemmTileF32(const Kernel& k, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  if (k.dtype == DType::kBF16) {
    GemmTile<uint16_t>(k, i0, i1, j0, j1);
  } else {
    GemmTile<float>(k, i0, i1, j0, j1);
  }
}

void GemmTileI8(const Kernel& k, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  // Each 256-deep slice runs on the f32 micro-kernel: products of int8 values are at most 2^14
  // and a slice sums at most 2^8 of them, so every partial sum is an integer below 2^24 and f32
  // represents it exactly. Slices are then added into C in int32 with wrap-around (unsigned
  // arithmetic: identical results modulo 2^32, no overflow UB).
  const MicroKernel mk = CurrentKernel();
  Scratch& s = ThreadScratch();
  int32_t* c = static_cast<int32_t*>(k.c);
  const int64_t mc = i1 - i0, nc = j1 - j0;
  if (k.beta == 0.0f) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j = j0; j < j1; ++j) c[i * k.n + j] = 0;
    }
  }
  for (int64_t p0 = 0; p0 < k.k; p0 += kGemmTileK) {
    int64_t kc = std::min(kGemmTileK, k.k - p0);
    PackB<int8_t>(k, p0, kc, j0, nc, mk.nr, s.b);
    PackA<int8_t>(k, i0, mc, p0, kc, s.a);
    mk.fn(mc, nc, kc, s.a, s.b, s.tile, nc, 1.0f, 0.0f, true);
    for (int64_t i = 0; i < mc; ++i) {
      int32_t* crow = c + (i0 + i) * k.n + j0;
      const float* trow = s.tile + i * nc;
      for (int64_t j = 0; j < nc; ++j) {
        crow[j] = static_cast<int32_t>(static_cast<uint32_t>(crow[j]) +
                                       static_cast<uint32_t>(static_cast<int32_t>(trow[j])));
      }
    }
  }
}

}  // namespace hac::device
