// hac-gemm: GEMM throughput on one device for given sizes and dtype.
//
// Runs --warmup untimed then --iters timed GEMMs C[m,n] = A[m,k] B[k,n] on random inputs and
// prints a progress line per iteration batch, then one JSON line: wall-clock GFLOP/s (what the
// job saw) and device GFLOP/s (2mnk per busy second, what the meter saw).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/device/numerics.h"
#include "workloads/workload_util.h"

namespace hac::workloads {
namespace {

constexpr char kUsage[] =
    "hac-gemm [--device=0] [--m=512] [--n=512] [--k=512] [--dtype=auto|f32|bf16|i8] "
    "[--iters=10] [--warmup=1] [--seed=1]";

int Main(int argc, char** argv) {
  Flags flags(argc, argv);
  int device = static_cast<int>(flags.Int("device", 0));
  int64_t m = flags.Int("m", 512), n = flags.Int("n", 512), k = flags.Int("k", 512);
  std::string dtype_flag = flags.String("dtype", "auto");
  int64_t iters = flags.Int("iters", 10), warmup = flags.Int("warmup", 1);
  uint64_t seed = static_cast<uint64_t>(flags.Int("seed", 1));
  flags.Check(kUsage);
  if (m < 0 || n < 0 || k < 0 || iters < 1 || warmup < 0) {
    std::fprintf(stderr, "error: sizes must be >= 0 and iters >= 1\n");
    return 2;
  }
  hacrtDeviceProp prop = SelectDevice(device);
  hacrtDataType dtype = PickDtype(prop, dtype_flag, /*allow_i8=*/true);
  std::printf("device %d: %s %s (%s) gemm %lldx%lldx%lld %s\n", device, prop.backend, prop.model,
              prop.uuid, static_cast<long long>(m), static_cast<long long>(n),
              static_cast<long long>(k), DtypeName(dtype));

  Rng rng(seed);
  size_t in_size = dtype == HACRT_F32 ? 4 : dtype == HACRT_BF16 ? 2 : 1;
  std::vector<unsigned char> ah(m * k * in_size), bh(k * n * in_size);
  auto fill = [&](std::vector<unsigned char>& v) {
    for (size_t i = 0; i < v.size() / in_size; ++i) {
      float f = static_cast<float>(rng.Uniform(-1, 1));
      if (dtype == HACRT_F32) {
        std::memcpy(&v[i * 4], &f, 4);
      } else if (dtype == HACRT_BF16) {
        uint16_t h = device::FloatToBf16(f);
        std::memcpy(&v[i * 2], &h, 2);
      } else {
        v[i] = static_cast<unsigned char>(static_cast<int8_t>(rng.Below(255) - 127));
      }
    }
  };
  fill(ah);
  fill(bh);
  hacrt::Buffer<unsigned char> a, b, c;
  CheckOk(hacrt::Buffer<unsigned char>::Allocate(ah.size(), &a), "allocating A");
  CheckOk(hacrt::Buffer<unsigned char>::Allocate(bh.size(), &b), "allocating B");
  CheckOk(hacrt::Buffer<unsigned char>::Allocate(m * n * 4, &c), "allocating C");
  CheckOk(a.CopyFrom(ah.data()), "copying A");
  CheckOk(b.CopyFrom(bh.data()), "copying B");
  auto run = [&] {
    CheckOk(hacrt::Wrap(hacrtGemm(nullptr, dtype, 0, 0, m, n, k, 1.0f, a.get(), b.get(), 0.0f,
                                  c.get())),
            "launching gemm");
  };
  for (int64_t i = 0; i < warmup; ++i) run();
  CheckOk(hacrt::Wrap(hacrtDeviceSynchronize()), "synchronizing");
  uint64_t busy0 = BusyNs();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 1; i <= iters; ++i) {
    run();
    if (i % std::max<int64_t>(1, iters / 5) == 0 || i == iters) {
      CheckOk(hacrt::Wrap(hacrtDeviceSynchronize()), "synchronizing");
      std::printf("iter %lld/%lld\n", static_cast<long long>(i), static_cast<long long>(iters));
      std::fflush(stdout);
    }
  }
  CheckOk(hacrt::Wrap(hacrtDeviceSynchronize()), "synchronizing");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t busy = BusyNs() - busy0;
  double flop = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) *
                static_cast<double>(iters);
  std::vector<float> ch(m * n);
  CheckOk(hacrt::Wrap(hacrtMemcpy(ch.data(), c.get(), m * n * 4, HACRT_MEMCPY_DEVICE_TO_HOST)),
          "reading C");
  double checksum = 0;
  for (size_t i = 0; i < ch.size(); ++i) {
    checksum += dtype == HACRT_I8 ? static_cast<double>(reinterpret_cast<int32_t*>(ch.data())[i])
                                  : static_cast<double>(ch[i]);
  }
  std::printf("%s\n", JsonLine()
                          .Add("workload", "gemm")
                          .Add("backend", prop.backend)
                          .Add("model", prop.model)
                          .Add("dtype", DtypeName(dtype))
                          .Add("m", m)
                          .Add("n", n)
                          .Add("k", k)
                          .Add("iters", iters)
                          .Add("seconds", seconds)
                          .Add("gflops", seconds > 0 ? flop / seconds / 1e9 : 0.0)
                          .Add("busy_ns", static_cast<int64_t>(busy))
                          .Add("device_gflops", busy > 0 ? flop / static_cast<double>(busy) : 0.0)
                          .Add("checksum", checksum)
                          .str()
                          .c_str());
  return 0;
}

}  // namespace
}  // namespace hac::workloads

int main(int argc, char** argv) { return hac::workloads::Main(argc, argv); }
