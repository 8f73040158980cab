// hac-infer: batched inference of a seeded MLP classifier (features -> hidden GELU -> classes,
// softmax) with per-batch latency percentiles.
//
// Each batch is one request: copy the inputs in, run the forward pass, copy the class
// probabilities out; latency is that round trip on the host clock. GEMMs run in f32 where the
// device supports it and in bf16 otherwise (--dtype=auto), as in hac-train-mlp. Prints a line per
// 10% of the batches, then one JSON line with p50/p90/p99 latency, throughput and a checksum of
// the predictions.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "workloads/workload_util.h"

namespace hac::workloads {
namespace {

constexpr char kUsage[] =
    "hac-infer [--device=0] [--dtype=auto|f32|bf16] [--batches=50] [--batch=32] "
    "[--features=64] [--hidden=256] [--classes=10] [--seed=1]";

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv);
  int device = static_cast<int>(flags.Int("device", 0));
  std::string dtype_flag = flags.String("dtype", "auto");
  int64_t batches = flags.Int("batches", 50), batch = flags.Int("batch", 32);
  int64_t features = flags.Int("features", 64), hidden = flags.Int("hidden", 256);
  int64_t classes = flags.Int("classes", 10);
  uint64_t seed = static_cast<uint64_t>(flags.Int("seed", 1));
  flags.Check(kUsage);
  if (batches < 1 || batch < 1 || features < 1 || hidden < 1 || classes < 1) {
    std::fprintf(stderr, "error: all sizes must be positive\n");
    return 2;
  }
  hacrtDeviceProp prop = SelectDevice(device);
  hacrtDataType dtype = PickDtype(prop, dtype_flag, /*allow_i8=*/false);
  std::printf("device %d: %s %s (%s) dtype %s batch %lld\n", device, prop.backend, prop.model,
              prop.uuid, DtypeName(dtype), static_cast<long long>(batch));

  Rng rng(seed);
  auto random = [&](int64_t n, double scale) {
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(scale * rng.Uniform(-1, 1));
    return v;
  };
  std::vector<float> w1h = random(features * hidden, 1 / std::sqrt(double(features)));
  std::vector<float> b1h = random(hidden, 0.1), w2h = random(hidden * classes, 1 / std::sqrt(double(hidden)));
  std::vector<float> b2h = random(classes, 0.1);
  hacrt::Buffer<float> w1, b1, w2, b2, x, h, logits, probs;
  auto alloc = [](size_t n, hacrt::Buffer<float>* buf) { CheckOk(buf->Allocate(n, buf), "allocating"); };
  alloc(w1h.size(), &w1);
  alloc(b1h.size(), &b1);
  alloc(w2h.size(), &w2);
  alloc(b2h.size(), &b2);
  alloc(batch * features, &x);
  alloc(batch * hidden, &h);
  alloc(batch * classes, &logits);
  alloc(batch * classes, &probs);
  CheckOk(w1.CopyFrom(w1h.data()), "copying weights");
  CheckOk(b1.CopyFrom(b1h.data()), "copying weights");
  CheckOk(w2.CopyFrom(w2h.data()), "copying weights");
  CheckOk(b2.CopyFrom(b2h.data()), "copying weights");
  Matmul mm(dtype, static_cast<size_t>(std::max({batch * features, features * hidden,
                                                 batch * hidden, hidden * classes})));
  auto ok = [](hacrtError_t e) { CheckOk(hacrt::Wrap(e), "inference"); };

  std::vector<double> latencies_ms;
  std::vector<float> out(batch * classes);
  double checksum = 0;
  uint64_t busy0 = BusyNs();
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 1; i <= batches; ++i) {
    std::vector<float> input = random(batch * features, 3.0);
    auto t0 = std::chrono::steady_clock::now();
    CheckOk(x.CopyFrom(input.data()), "copying inputs");
    CheckOk(mm.Run(false, false, batch, hidden, features, x.get(), w1.get(), 0.0f, h.get()), "gemm");
    ok(hacrtBiasAdd(nullptr, h.get(), b1.get(), h.get(), batch, hidden));
    ok(hacrtGelu(nullptr, h.get(), h.get(), batch * hidden));
    CheckOk(mm.Run(false, false, batch, classes, hidden, h.get(), w2.get(), 0.0f, logits.get()), "gemm");
    ok(hacrtBiasAdd(nullptr, logits.get(), b2.get(), logits.get(), batch, classes));
    ok(hacrtSoftmax(nullptr, logits.get(), probs.get(), batch, classes));
    CheckOk(probs.CopyTo(out.data()), "copying predictions");
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    for (int64_t r = 0; r < batch; ++r) {
      checksum += static_cast<double>(
          std::max_element(out.begin() + r * classes, out.begin() + (r + 1) * classes) -
          (out.begin() + r * classes));
    }
    if (i % std::max<int64_t>(1, batches / 10) == 0 || i == batches) {
      std::printf("batch %lld/%lld latency %.3f ms\n", static_cast<long long>(i),
                  static_cast<long long>(batches), latencies_ms.back());
      std::fflush(stdout);
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n", JsonLine()
                          .Add("workload", "infer")
                          .Add("backend", prop.backend)
                          .Add("model", prop.model)
                          .Add("dtype", DtypeName(dtype))
                          .Add("batches", batches)
                          .Add("batch", batch)
                          .Add("p50_ms", Percentile(latencies_ms, 50))
                          .Add("p90_ms", Percentile(latencies_ms, 90))
                          .Add("p99_ms", Percentile(latencies_ms, 99))
                          .Add("samples_per_s", static_cast<double>(batches * batch) / seconds)
                          .Add("busy_ns", static_cast<int64_t>(BusyNs() - busy0))
                          .Add("prediction_checksum", checksum)
                          .str()
                          .c_str());
  return 0;
}

}  // namespace
}  // namespace hac::workloads

int main(int argc, char** argv) { return hac::workloads::Main(argc, argv); }
