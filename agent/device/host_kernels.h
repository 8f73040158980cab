// The host implementations of every kernel, shared by both backends (no backend has its own copy).
//
// A kernel is cut into a grid of independent blocks whose outputs are disjoint. The grid depends
// only on the kernel's shape, never on how many workers run it, so results are bitwise identical
// whatever the SM count (and on sim-npu, which runs the blocks one after another).
// emu-gpu hands blocks to its SM threads; sim-npu runs them in order and paces the total.
//
// GEMM (f32 and bf16) is cache-blocked: a block is a 128 x 256 tile of C (256 x 256 when
// m >= 1024, so each packed B panel serves more rows); for each 256-deep slice
// of K it packs the A and B panels (converting bf16 to f32, applying transposes) and runs a
// 6 x 2L register-blocked micro-kernel written with GCC vector extensions (L-lane vectors). The
// micro-kernel is compiled three times, for baseline x86-64 (6 x 16), AVX2+FMA (6 x 16) and
// AVX-512 (6 x 32), and the best the CPU supports is picked at run time
// (__builtin_cpu_supports), so the default build runs on any x86-64.
// i8 GEMM accumulates exactly in int32.
//
// Thread-safety: RunBlock may run concurrently for different blocks of one kernel; it uses only
// thread-local scratch.
#ifndef HAC_AGENT_DEVICE_HOST_KERNELS_H_
#define HAC_AGENT_DEVICE_HOST_KERNELS_H_

#include <cstdint>

#include "agent/device/kernel.h"

namespace hac::device {

// Number of blocks in the kernel's grid (0 for an empty kernel). `k` must be valid.
int64_t GridBlocks(const Kernel& k);
// Runs block `block` (0 <= block < GridBlocks(k)).
void RunBlock(const Kernel& k, int64_t block);

// GEMM tile geometry (exposed for tests that want shapes straddling tile edges).
inline constexpr int64_t kGemmTileM = 128;
// Large GEMMs (m >= kGemmTallM) use taller tiles so each packed B panel serves more rows. Tiling
// never changes results: every element sums the same K slices in the same order.
inline constexpr int64_t kGemmTileMTall = 256;
inline constexpr int64_t kGemmTallM = 1024;
inline int64_t GemmTileRows(int64_t m) { return m >= kGemmTallM ? kGemmTileMTall : kGemmTileM; }
inline constexpr int64_t kGemmTileN = 256;
inline constexpr int64_t kGemmTileK = 256;

// The GEMM micro-kernel variants. The selection is process-wide; tests and benchmarks may force a
// variant the CPU supports to exercise or compare it.
enum class GemmIsa { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };
GemmIsa BestGemmIsa();
GemmIsa CurrentGemmIsa();
// False (and no change) if the CPU lacks the instructions.
bool SetGemmIsa(GemmIsa isa);
const char* GemmIsaName(GemmIsa isa);

// The f32/bf16 GEMM of one C tile: rows [i0, i1), cols [j0, j1). Defined in gemm.cc.
void GemmTileF32(const Kernel& k, int64_t i0, int64_t i1, int64_t j0, int64_t j1);
void GemmTileI8(const Kernel& k, int64_t i0, int64_t i1, int64_t j0, int64_t j1);

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_HOST_KERNELS_H_
