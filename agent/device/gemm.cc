// Cache-blocked GEMM tiles (see host_kernels.h). Compiled with -O3 -ffp-contract=fast even in
// Debug builds (agent/device/CMakeLists.txt) so sanitized tests stay fast.
#include <algorithm>
#include <cstring>
#include <memory>

#include "agent/device/host_kernels.h"
#include "agent/device/numerics.h"

namespace hac::device {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;
constexpr int64_t kMcPad = ((kGemmTileM + kMr - 1) / kMr) * kMr;

typedef float v8sf __attribute__((vector_size(32)));

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
    tile = static_cast<float*>(::operator new(sizeof(float) * kGemmTileM * kGemmTileN,
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

// B(p, j) into micro-panels of kNr columns; columns past nc are zero. The loop walks B row by
// row (contiguous reads the prefetcher follows) and scatters into the panels: walking panel by
// panel instead would read 64 bytes per 4 KB-strided row, which is latency-bound for large N.
template <typename T>
void PackB(const Kernel& k, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  const T* b = static_cast<const T*>(k.b);
  if (!k.trans_b) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = b + (p0 + p) * k.n + j0;
      for (int64_t jr = 0; jr < nc; jr += kNr) {
        float* dst = out + jr * kc + p * kNr;
        int64_t cols = std::min<int64_t>(kNr, nc - jr);
        if (cols == kNr) {
          for (int c = 0; c < kNr; ++c) dst[c] = Load(src + jr, c);
        } else {
          for (int64_t c = 0; c < kNr; ++c) dst[c] = c < cols ? Load(src + jr, c) : 0.0f;
        }
      }
    }
    return;
  }
  // Transposed: B is stored [n, k], so column j of op(B) is contiguous along p.
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    float* panel = out + jr * kc;
    int64_t cols = std::min<int64_t>(kNr, nc - jr);
    for (int64_t c = 0; c < kNr; ++c) {
      if (c >= cols) {
        for (int64_t p = 0; p < kc; ++p) panel[p * kNr + c] = 0.0f;
        continue;
      }
      const T* src = b + (j0 + jr + c) * k.k + p0;
      for (int64_t p = 0; p < kc; ++p) panel[p * kNr + c] = Load(src, p);
    }
  }
}

// C[mc x nc] (row stride ldc) = (first ? beta * C : C) + alpha * Ap * Bp over kc.
__attribute__((always_inline)) inline void MacroKernelBody(int64_t mc, int64_t nc, int64_t kc,
                                                           const float* ap, const float* bp,
                                                           float* c, int64_t ldc, float alpha,
                                                           float beta, bool first) {
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const float* bpanel = bp + jr * kc;
    for (int64_t ir = 0; ir < mc; ir += kMr) {
      const float* apanel = ap + ir * kc;
      v8sf c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {};
      v8sf c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
      for (int64_t p = 0; p < kc; ++p) {
        const v8sf b0 = *reinterpret_cast<const v8sf*>(bpanel + p * kNr);
        const v8sf b1 = *reinterpret_cast<const v8sf*>(bpanel + p * kNr + 8);
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
      alignas(32) float acc[kMr][kNr];
      memcpy(&acc[0][0], &c00, 32);
      memcpy(&acc[0][8], &c01, 32);
      memcpy(&acc[1][0], &c10, 32);
      memcpy(&acc[1][8], &c11, 32);
      memcpy(&acc[2][0], &c20, 32);
      memcpy(&acc[2][8], &c21, 32);
      memcpy(&acc[3][0], &c30, 32);
      memcpy(&acc[3][8], &c31, 32);
      memcpy(&acc[4][0], &c40, 32);
      memcpy(&acc[4][8], &c41, 32);
      memcpy(&acc[5][0], &c50, 32);
      memcpy(&acc[5][8], &c51, 32);
      int64_t rows = std::min<int64_t>(kMr, mc - ir);
      int64_t cols = std::min<int64_t>(kNr, nc - jr);
      for (int64_t r = 0; r < rows; ++r) {
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
  MacroKernelBody(mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

__attribute__((target("avx2,fma"))) void MacroKernelAvx2(int64_t mc, int64_t nc, int64_t kc,
                                                          const float* ap, const float* bp,
                                                          float* c, int64_t ldc, float alpha,
                                                          float beta, bool first) {
  MacroKernelBody(mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

using MacroKernelFn = void (*)(int64_t, int64_t, int64_t, const float*, const float*, float*,
                               int64_t, float, float, bool);

MacroKernelFn PickMacroKernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return MacroKernelAvx2;
  return MacroKernelGeneric;
}

template <typename T>
void GemmTile(const Kernel& k, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  static const MacroKernelFn macro = PickMacroKernel();
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
    PackB<T>(k, p0, kc, j0, nc, s.b);
    PackA<T>(k, i0, mc, p0, kc, s.a);
    macro(mc, nc, kc, s.a, s.b, c + i0 * k.n + j0, k.n, k.alpha, k.beta, p0 == 0);
  }
}

}  // namespace

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
  static const MacroKernelFn macro = PickMacroKernel();
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
    PackB<int8_t>(k, p0, kc, j0, nc, s.b);
    PackA<int8_t>(k, i0, mc, p0, kc, s.a);
    macro(mc, nc, kc, s.a, s.b, s.tile, nc, 1.0f, 0.0f, true);
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
