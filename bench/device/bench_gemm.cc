// hac-bench-gemm: emu-gpu fp32 GEMM throughput on 1 and 2 SMs next to OpenBLAS sgemm on 1 and 2
// threads (same machine, same run, same sizes), then the sim-npu pacing error of busy time against
// its timing model on the shipped default model. Prints a table and one JSON line.
//
//   hac-bench-gemm [--sizes=256,1024,2048] [--min_seconds=0.5] [--isa=generic|avx2|avx512]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "agent/device/device.h"
#include "agent/device/host_kernels.h"
#include "agent/device/registry.h"
#include "agent/device/sim_npu_backend.h"

#ifdef HAC_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace hac::device {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<Device> Open(const std::string& spec) {
  auto config = NodeDeviceConfig::ParseShort(spec);
  std::mt19937_64 gen(1);
  auto registry = DeviceRegistry::CreateDefault();
  auto plan = registry->Plan(*config, gen);
  if (!plan.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(plan.status().message()).c_str());
    std::exit(1);
  }
  auto seg = DeviceStateSegment::CreateAnonymous(plan->front());
  auto dev = registry->Open(*std::move(seg));
  if (!dev.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(dev.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(dev);
}

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    std::exit(1);
  }
}

// Runs `fn` at least twice and for at least min_seconds; returns the best GFLOP/s of any run.
template <typename Fn>
double Measure(int64_t n, double min_seconds, Fn fn) {
  double flop = 2.0 * n * n * n, best = 0, total = 0;
  fn();  // warm-up
  for (int runs = 0; runs < 2 || total < min_seconds; ++runs) {
    auto t0 = Clock::now();
    fn();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    total += s;
    best = std::max(best, flop / s / 1e9);
  }
  return best;
}

double EmuGpu(int64_t n, int sms, const std::vector<float>& a, const std::vector<float>& b,
              double min_seconds) {
  auto dev = Open("emu-gpu/memory=1GiB/sms=" + std::to_string(sms));
  size_t bytes = n * n * sizeof(float);
  void* da = *dev->Allocate(bytes);
  void* db = *dev->Allocate(bytes);
  void* dc = *dev->Allocate(bytes);
  Check(dev->Copy(da, a.data(), bytes, CopyKind::kHostToDevice));
  Check(dev->Copy(db, b.data(), bytes, CopyKind::kHostToDevice));
  return Measure(n, min_seconds, [&] {
    Check(dev->Launch(kDefaultStream,
                      Kernel::Gemm(DType::kF32, false, false, n, n, n, 1, da, db, 0, dc)));
    Check(dev->Synchronize());
  });
}

#ifdef HAC_HAVE_OPENBLAS
double OpenBlas(int64_t n, int threads, const std::vector<float>& a, const std::vector<float>& b,
                double min_seconds) {
  openblas_set_num_threads(threads);
  std::vector<float> c(n * n);
  int ni = static_cast<int>(n);
  return Measure(n, min_seconds, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data(), ni,
                b.data(), ni, 0.0f, c.data(), ni);
  });
}
#endif

std::string Fmt(double v) {
  char buf[32];
  if (v < 0) return "n/a";
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

struct PacingResult {
  int kernels = 0;
  double model_ms = 0, busy_ms = 0, total_error_pct = 0, median_abs_error_pct = 0,
         max_abs_error_pct = 0;
};

// A mixed inference-like sequence on the default sim-npu model: per-kernel and total error of
// the busy time measured in the segment against the model. Per-kernel errors include the
// repayment of earlier overshoot (see HostDevice), so the total is the figure metering sees.
PacingResult NpuPacing() {
  auto dev = Open("sim-npu");
  SimNpuTimingModel model(dev->properties().sim_npu);
  size_t bytes = 512 * 512 * 4;
  std::vector<float> init(512 * 512, 0.5f);
  void* x = *dev->Allocate(bytes);
  void* y = *dev->Allocate(bytes);
  void* o = *dev->Allocate(bytes);
  for (void* p : {x, y, o}) Check(dev->Copy(p, init.data(), bytes, CopyKind::kHostToDevice));
  float* fx = static_cast<float*>(x);
  float* fo = static_cast<float*>(o);
  std::vector<Kernel> seq = {
      Kernel::Gemm(DType::kI8, false, false, 256, 256, 256, 1, x, y, 0, o),
      Kernel::Gemm(DType::kI8, false, true, 32, 512, 512, 1, x, y, 0, o),
      Kernel::Gemm(DType::kBF16, false, false, 128, 256, 128, 1, x, y, 0, o),
      Kernel::Gemm(DType::kBF16, true, false, 64, 64, 64, 1, x, y, 0, o),
      Kernel::BiasAdd(fx, fx, fo, 256, 256),
      Kernel::Gelu(fx, fo, 65536),
      Kernel::Softmax(fx, fo, 256, 256),
      Kernel::Add(fx, fx, fo, 100000),
      Kernel::Cast(DType::kF32, DType::kBF16, x, o, 100000),
      Kernel::Quantize(fx, static_cast<int8_t*>(o), 0.01f, 100000),
  };
  Check(dev->Launch(kDefaultStream, seq[0]));  // warm-up (scratch buffers)
  Check(dev->Synchronize());
  PacingResult r;
  double total_model = 0, total_busy = 0;
  std::vector<double> abs_errors;
  for (int rep = 0; rep < 3; ++rep) {
    for (const Kernel& k : seq) {
      absl::Duration b0 = dev->Telemetry().busy;
      Check(dev->Launch(kDefaultStream, k));
      Check(dev->Synchronize());
      double busy = absl::ToDoubleMilliseconds(dev->Telemetry().busy - b0);
      double m = absl::ToDoubleMilliseconds(model.KernelTime(k));
      double err = 100.0 * (busy - m) / m;
      abs_errors.push_back(std::fabs(err));
      r.max_abs_error_pct = std::max(r.max_abs_error_pct, std::fabs(err));
      total_model += m;
      total_busy += busy;
      ++r.kernels;
    }
  }
  r.model_ms = total_model;
  r.busy_ms = total_busy;
  r.total_error_pct = 100.0 * (total_busy - total_model) / total_model;
  std::sort(abs_errors.begin(), abs_errors.end());
  r.median_abs_error_pct = abs_errors[abs_errors.size() / 2];
  return r;
}

int Main(int argc, char** argv) {
  std::vector<int64_t> sizes = {256, 1024, 2048};
  double min_seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--sizes=", 0) == 0) {
      sizes.clear();
      for (char* p = a.data() + 8; *p != '\0';) {
        char* end;
        sizes.push_back(std::strtoll(p, &end, 10));
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p != '\0') break;
      }
    } else if (a.rfind("--isa=", 0) == 0) {
      std::string isa = a.substr(6);
      GemmIsa want = isa == "avx512" ? GemmIsa::kAvx512 : isa == "avx2" ? GemmIsa::kAvx2 : GemmIsa::kGeneric;
      if (!SetGemmIsa(want)) {
        std::fprintf(stderr, "error: this CPU cannot run --isa=%s\n", isa.c_str());
        return 2;
      }
    } else if (a.rfind("--min_seconds=", 0) == 0) {
      min_seconds = std::atof(a.c_str() + 14);
    } else {
      std::fprintf(stderr, "usage: hac-bench-gemm [--sizes=256,1024,2048] [--min_seconds=0.5] [--isa=generic|avx2|avx512]\n");
      return 2;
    }
  }
#ifdef HAC_HAVE_OPENBLAS
  const bool have_blas = true;
#else
  const bool have_blas = false;
#endif
#ifdef HAC_HAVE_OPENBLAS
  // OpenBLAS picks its kernel at load time; 0.3.21 does not know every new CPU and may fall back
  // to a generic one (set OPENBLAS_CORETYPE, e.g. SkylakeX or Haswell, to force the right one).
  std::string core = openblas_get_corename();
#else
  std::string core = "none";
#endif
  std::printf("fp32 GEMM, GFLOP/s (best run), n x n x n; emu-gpu micro-kernel: %s; OpenBLAS kernel: %s\n",
              GemmIsaName(CurrentGemmIsa()), core.c_str());
  std::printf("%6s %12s %12s %14s %14s %12s\n", "n", "emu-gpu 1SM", "emu-gpu 2SM",
              "OpenBLAS 1thr", "OpenBLAS 2thr", "1SM/1thr");
  std::string json = "{\"benchmark\":\"gemm\",\"openblas\":" + std::string(have_blas ? "true" : "false") +
                     ",\"openblas_core\":\"" + core + "\",\"emu_gpu_isa\":\"" +
                     GemmIsaName(CurrentGemmIsa()) + "\",\"gemm\":[";
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (size_t si = 0; si < sizes.size(); ++si) {
    int64_t n = sizes[si];
    std::vector<float> a(n * n), b(n * n);
    for (float& v : a) v = d(gen);
    for (float& v : b) v = d(gen);
    double e1 = EmuGpu(n, 1, a, b, min_seconds), e2 = EmuGpu(n, 2, a, b, min_seconds);
    double o1 = -1, o2 = -1;
#ifdef HAC_HAVE_OPENBLAS
    o1 = OpenBlas(n, 1, a, b, min_seconds);
    o2 = OpenBlas(n, 2, a, b, min_seconds);
#endif
    double ratio = o1 > 0 ? 100.0 * e1 / o1 : -1;
    std::printf("%6lld %12s %12s %14s %14s %11s%%\n", static_cast<long long>(n), Fmt(e1).c_str(),
                Fmt(e2).c_str(), Fmt(o1).c_str(), Fmt(o2).c_str(), Fmt(ratio).c_str());
    std::fflush(stdout);
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "%s{\"n\":%lld,\"emu_gpu_1sm\":%.2f,\"emu_gpu_2sm\":%.2f,\"openblas_1t\":%.2f,"
                  "\"openblas_2t\":%.2f}",
                  si ? "," : "", static_cast<long long>(n), e1, e2, o1, o2);
    json += buf;
  }
  PacingResult p = NpuPacing();
  std::printf("\nsim-npu pacing (default model atom-sim, %d kernels): model %.2f ms, busy %.2f ms, "
              "total error %+.2f%%, median |error| per kernel %.2f%%, max %.2f%%\n",
              p.kernels, p.model_ms, p.busy_ms, p.total_error_pct, p.median_abs_error_pct,
              p.max_abs_error_pct);
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "],\"npu_pacing\":{\"kernels\":%d,\"model_ms\":%.3f,\"busy_ms\":%.3f,"
                "\"total_error_pct\":%.3f,\"median_abs_error_pct\":%.3f,\"max_abs_error_pct\":%.3f}}",
                p.kernels, p.model_ms, p.busy_ms, p.total_error_pct, p.median_abs_error_pct,
                p.max_abs_error_pct);
  json += buf;
  std::printf("%s\n", json.c_str());
  return 0;
}

}  // namespace
}  // namespace hac::device

int main(int argc, char** argv) { return hac::device::Main(argc, argv); }
