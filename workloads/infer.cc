// hac-infer: batched inference of a seeded MLP classifier (features -> hidden GELU -> classes,
// softmax) with per-batch latency percentiles.
//
// Each batch is one request: copy the inputs in, run the forward pass, copy the class
// probabilities out; latency is that round trip on the host clock. GEMMs run in f32 where the
// device supports it and in bf16 otherwise (--dtype=auto), as in hac-train-mlp. --dtype=i8 runs
// both GEMMs in int8 with per-tensor symmetric quantization: weights quantized once on the host,
// inputs quantized per batch with their own scale (dynamic), the hidden activations with a static
// scale calibrated on the host from one batch; int32 results are dequantized to f32 for bias, GELU
// and softmax. Every batch is also computed in f32 on the host: `top1_agreement` is the fraction
// of rows whose predicted class matches it. Prints a line per 10% of the batches, then one JSON
// line with p50/p90/p99 latency, throughput, agreement and a checksum of the predictions.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/device/numerics.h"
#include "workloads/workload_util.h"

namespace hac::workloads {
namespace {

constexpr char kUsage[] =
    "hac-infer [--device=0] [--dtype=auto|f32|bf16|i8] [--batches=50] [--batch=32] "
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
  hacrtDataType dtype = PickDtype(prop, dtype_flag, /*allow_i8=*/true);
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
  // The f32 forward pass on the host: returns logits, and the hidden activations in *hid.
  auto host_forward = [&](const std::vector<float>& in, std::vector<float>* hid) {
    hid->assign(batch * hidden, 0.0f);
    std::vector<float> out(batch * classes, 0.0f);
    for (int64_t r = 0; r < batch; ++r) {
      for (int64_t j = 0; j < hidden; ++j) {
        double acc = b1h[j];
        for (int64_t p = 0; p < features; ++p) acc += double{in[r * features + p]} * w1h[p * hidden + j];
        double v = acc;
        (*hid)[r * hidden + j] = static_cast<float>(
            0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
      }
      for (int64_t c = 0; c < classes; ++c) {
        double acc = b2h[c];
        for (int64_t j = 0; j < hidden; ++j) acc += double{(*hid)[r * hidden + j]} * w2h[j * classes + c];
        out[r * classes + c] = static_cast<float>(acc);
      }
    }
    return out;
  };
  const bool int8 = dtype == HACRT_I8;
  Matmul mm(int8 ? HACRT_F32 : dtype,
            static_cast<size_t>(std::max({batch * features, features * hidden, batch * hidden,
                                          hidden * classes})));
  // int8: weights quantized once; the hidden scale calibrated on one host batch.
  float w1_scale = device::QuantizationScale(w1h.data(), static_cast<int64_t>(w1h.size()));
  float w2_scale = device::QuantizationScale(w2h.data(), static_cast<int64_t>(w2h.size()));
  float h_scale = 1.0f;
  hacrt::Buffer<int8_t> w1q, w2q, xq, hq;
  hacrt::Buffer<int32_t> acc32;
  if (int8) {
    std::vector<int8_t> q1(w1h.size()), q2(w2h.size());
    device::QuantizeTensor(w1h.data(), static_cast<int64_t>(w1h.size()), w1_scale, q1.data());
    device::QuantizeTensor(w2h.data(), static_cast<int64_t>(w2h.size()), w2_scale, q2.data());
    CheckOk(hacrt::Buffer<int8_t>::Allocate(q1.size(), &w1q), "allocating");
    CheckOk(hacrt::Buffer<int8_t>::Allocate(q2.size(), &w2q), "allocating");
    CheckOk(hacrt::Buffer<int8_t>::Allocate(batch * features, &xq), "allocating");
    CheckOk(hacrt::Buffer<int8_t>::Allocate(batch * hidden, &hq), "allocating");
    CheckOk(hacrt::Buffer<int32_t>::Allocate(batch * std::max(hidden, classes), &acc32), "allocating");
    CheckOk(w1q.CopyFrom(q1.data()), "copying weights");
    CheckOk(w2q.CopyFrom(q2.data()), "copying weights");
    Rng calib(seed ^ 0x5eed);
    std::vector<float> sample(batch * features), hid;
    for (float& v : sample) v = static_cast<float>(3.0 * calib.Uniform(-1, 1));
    host_forward(sample, &hid);
    h_scale = device::QuantizationScale(hid.data(), static_cast<int64_t>(hid.size()));
  }
  // y[rows, n] = x[rows, k] w[k, n] on the chosen precision.
  auto layer = [&](int64_t rows, int64_t n, int64_t k, float* x_f32, float x_scale,
                   hacrt::Buffer<int8_t>* x8, const float* w_f32, const int8_t* w8, float w_scale,
                   float* y) {
    if (!int8) {
      CheckOk(mm.Run(false, false, rows, n, k, x_f32, w_f32, 0.0f, y), "gemm");
      return;
    }
    CheckOk(hacrt::Wrap(hacrtQuantize(nullptr, x_f32, x8->get(), x_scale, rows * k)), "quantize");
    CheckOk(hacrt::Wrap(hacrtGemm(nullptr, HACRT_I8, 0, 0, rows, n, k, 1.0f, x8->get(), w8, 0.0f,
                                  acc32.get())),
            "gemm");
    CheckOk(hacrt::Wrap(hacrtDequantize(nullptr, acc32.get(), y, x_scale * w_scale, rows * n)),
            "dequantize");
  };
  auto ok = [](hacrtError_t e) { CheckOk(hacrt::Wrap(e), "inference"); };

  std::vector<double> latencies_ms;
  std::vector<float> out(batch * classes);
  double checksum = 0;
  int64_t agree = 0;
  uint64_t busy0 = BusyNs();
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 1; i <= batches; ++i) {
    std::vector<float> input = random(batch * features, 3.0);
    auto t0 = std::chrono::steady_clock::now();
    float x_scale = int8 ? device::QuantizationScale(input.data(), batch * features) : 1.0f;
    CheckOk(x.CopyFrom(input.data()), "copying inputs");
    layer(batch, hidden, features, x.get(), x_scale, &xq, w1.get(), w1q.get(), w1_scale, h.get());
    ok(hacrtBiasAdd(nullptr, h.get(), b1.get(), h.get(), batch, hidden));
    ok(hacrtGelu(nullptr, h.get(), h.get(), batch * hidden));
    layer(batch, classes, hidden, h.get(), h_scale, &hq, w2.get(), w2q.get(), w2_scale, logits.get());
    ok(hacrtBiasAdd(nullptr, logits.get(), b2.get(), logits.get(), batch, classes));
    ok(hacrtSoftmax(nullptr, logits.get(), probs.get(), batch, classes));
    CheckOk(probs.CopyTo(out.data()), "copying predictions");
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::vector<float> hid;
    std::vector<float> want = host_forward(input, &hid);
    for (int64_t r = 0; r < batch; ++r) {
      int64_t got = std::max_element(out.begin() + r * classes, out.begin() + (r + 1) * classes) -
                    (out.begin() + r * classes);
      int64_t ref = std::max_element(want.begin() + r * classes, want.begin() + (r + 1) * classes) -
                    (want.begin() + r * classes);
      checksum += static_cast<double>(got);
      agree += got == ref;
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
                          .Add("top1_agreement",
                               static_cast<double>(agree) / static_cast<double>(batches * batch))
                          .Add("prediction_checksum", checksum)
                          .str()
                          .c_str());
  return 0;
}

}  // namespace
}  // namespace hac::workloads

int main(int argc, char** argv) { return hac::workloads::Main(argc, argv); }
