// hac-train-mlp: trains a two-layer MLP (features -> hidden ReLU -> classes, softmax cross
// entropy, plain SGD) on a generated, seeded classification dataset: `classes` Gaussian blobs in
// `features` dimensions (centres ~ N(0, 1.5^2), unit noise). Mini-batches are taken in a seeded
// shuffled order. Everything random comes from SplitMix64, so a seed fixes the run.
//
// Precision: with --dtype=auto the GEMMs run in f32 where the device supports it (emu-gpu) and in
// bf16 otherwise (sim-npu): activations, weights and gradients are cast to bf16 for each GEMM,
// which accumulates in f32; master weights, biases, the loss and the SGD update stay f32. So the
// same binary trains on both backends and the bf16 loss curve tracks the f32 one closely.
//
// Prints "step N loss L" every --log_every steps, then one JSON line with the loss curve, the
// final loss and accuracy over the whole dataset, and whether they met --loss_threshold and
// --accuracy_threshold (exit status 3 if not).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "workloads/workload_util.h"

namespace hac::workloads {
namespace {

constexpr char kUsage[] =
    "hac-train-mlp [--device=0] [--dtype=auto|f32|bf16] [--seed=1] [--samples=1024] "
    "[--features=16] [--hidden=64] [--classes=4] [--batch=64] [--steps=150] [--lr=0.1] "
    "[--log_every=10] [--loss_threshold=0.1] [--accuracy_threshold=0.95]";

int Main(int argc, char** argv) {
  Flags flags(argc, argv);
  int device = static_cast<int>(flags.Int("device", 0));
  std::string dtype_flag = flags.String("dtype", "auto");
  uint64_t seed = static_cast<uint64_t>(flags.Int("seed", 1));
  int64_t samples = flags.Int("samples", 1024), features = flags.Int("features", 16);
  int64_t hidden = flags.Int("hidden", 64), classes = flags.Int("classes", 4);
  int64_t batch = flags.Int("batch", 64), steps = flags.Int("steps", 150);
  double lr = flags.Double("lr", 0.1);
  int64_t log_every = flags.Int("log_every", 10);
  double loss_threshold = flags.Double("loss_threshold", 0.1);
  double accuracy_threshold = flags.Double("accuracy_threshold", 0.95);
  flags.Check(kUsage);
  if (samples < 1 || features < 1 || hidden < 1 || classes < 2 || batch < 1 || batch > samples ||
      steps < 0 || log_every < 1) {
    std::fprintf(stderr, "error: sizes must be positive, classes >= 2, batch <= samples\n");
    return 2;
  }

  hacrtDeviceProp prop = SelectDevice(device);
  hacrtDataType dtype = PickDtype(prop, dtype_flag, /*allow_i8=*/false);
  std::printf("device %d: %s %s (%s) dtype %s\n", device, prop.backend, prop.model, prop.uuid,
              DtypeName(dtype));

  // Dataset.
  Rng rng(seed);
  std::vector<float> centres(classes * features);
  for (float& c : centres) c = static_cast<float>(1.5 * rng.Normal());
  std::vector<float> x(samples * features);
  std::vector<int32_t> y(samples);
  for (int64_t i = 0; i < samples; ++i) {
    y[i] = static_cast<int32_t>(rng.Below(classes));
    for (int64_t j = 0; j < features; ++j) {
      x[i * features + j] = centres[y[i] * features + j] + static_cast<float>(rng.Normal());
    }
  }
  // Parameters: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), zero biases.
  auto init = [&](int64_t fan_in, int64_t n) {
    std::vector<float> w(n);
    double r = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (float& v : w) v = static_cast<float>(rng.Uniform(-r, r));
    return w;
  };
  std::vector<float> w1h = init(features, features * hidden), w2h = init(hidden, hidden * classes);

  hacrt::Buffer<float> w1, b1, w2, b2, dw1, db1, dw2, db2;
  hacrt::Buffer<float> xb, hpre, h, logits, loss, dlogits, dh, dhpre, allx, allh, alllogits;
  hacrt::Buffer<int32_t> yb, ally;
  auto alloc = [](size_t n, auto* buf) { CheckOk(buf->Allocate(n, buf), "allocating"); };
  alloc(features * hidden, &w1);
  alloc(hidden, &b1);
  alloc(hidden * classes, &w2);
  alloc(classes, &b2);
  alloc(features * hidden, &dw1);
  alloc(hidden, &db1);
  alloc(hidden * classes, &dw2);
  alloc(classes, &db2);
  alloc(batch * features, &xb);
  alloc(batch, &yb);
  alloc(batch * hidden, &hpre);
  alloc(batch * hidden, &h);
  alloc(batch * classes, &logits);
  alloc(samples, &loss);
  alloc(batch * classes, &dlogits);
  alloc(batch * hidden, &dh);
  alloc(batch * hidden, &dhpre);
  alloc(samples * features, &allx);
  alloc(samples, &ally);
  alloc(samples * hidden, &allh);
  alloc(samples * classes, &alllogits);
  CheckOk(w1.CopyFrom(w1h.data()), "copying weights");
  CheckOk(w2.CopyFrom(w2h.data()), "copying weights");
  std::vector<float> zeros(std::max(hidden, classes), 0.0f);
  CheckOk(b1.CopyFrom(zeros.data()), "copying biases");
  CheckOk(b2.CopyFrom(zeros.data()), "copying biases");
  CheckOk(allx.CopyFrom(x.data()), "copying the dataset");
  CheckOk(ally.CopyFrom(y.data()), "copying the dataset");

  size_t max_operand = static_cast<size_t>(
      std::max({samples * features, samples * hidden, features * hidden, hidden * classes,
                batch * classes}));
  Matmul mm(dtype, max_operand);
  const float neg_lr = static_cast<float>(-lr);
  auto step_ok = [](hacrtError_t e) { CheckOk(hacrt::Wrap(e), "training step"); };

  // Forward over `rows` rows of `in` into `hp` (pre-activation), `ha`, `out` logits.
  auto forward = [&](int64_t rows, const float* in, float* hp, float* ha, float* out) {
    CheckOk(mm.Run(false, false, rows, hidden, features, in, w1.get(), 0.0f, hp), "forward");
    step_ok(hacrtBiasAdd(nullptr, hp, b1.get(), hp, rows, hidden));
    step_ok(hacrtRelu(nullptr, hp, ha, rows * hidden));
    CheckOk(mm.Run(false, false, rows, classes, hidden, ha, w2.get(), 0.0f, out), "forward");
    step_ok(hacrtBiasAdd(nullptr, out, b2.get(), out, rows, classes));
  };

  std::vector<int64_t> order(samples);
  for (int64_t i = 0; i < samples; ++i) order[i] = i;
  int64_t cursor = samples;
  std::vector<float> xh(batch * features), lossh(batch);
  std::vector<int32_t> yh(batch);
  std::vector<double> curve;
  uint64_t busy0 = BusyNs();
  for (int64_t step = 1; step <= steps; ++step) {
    for (int64_t r = 0; r < batch; ++r) {
      if (cursor == samples) {  // reshuffle each epoch
        for (int64_t i = samples - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
        cursor = 0;
      }
      int64_t s = order[cursor++];
      for (int64_t j = 0; j < features; ++j) xh[r * features + j] = x[s * features + j];
      yh[r] = y[s];
    }
    CheckOk(xb.CopyFrom(xh.data()), "copying a batch");
    CheckOk(yb.CopyFrom(yh.data()), "copying a batch");
    forward(batch, xb.get(), hpre.get(), h.get(), logits.get());
    step_ok(hacrtSoftmaxCrossEntropy(nullptr, logits.get(), yb.get(), loss.get(), dlogits.get(),
                                     1.0f / static_cast<float>(batch), batch, classes));
    // Backward.
    CheckOk(mm.Run(true, false, hidden, classes, batch, h.get(), dlogits.get(), 0.0f, dw2.get()),
            "backward");
    step_ok(hacrtReduceSumCols(nullptr, dlogits.get(), db2.get(), batch, classes));
    CheckOk(mm.Run(false, true, batch, hidden, classes, dlogits.get(), w2.get(), 0.0f, dh.get()),
            "backward");
    step_ok(hacrtReluBackward(nullptr, dh.get(), hpre.get(), dhpre.get(), batch * hidden));
    CheckOk(mm.Run(true, false, features, hidden, batch, xb.get(), dhpre.get(), 0.0f, dw1.get()),
            "backward");
    step_ok(hacrtReduceSumCols(nullptr, dhpre.get(), db1.get(), batch, hidden));
    // SGD.
    step_ok(hacrtAxpy(nullptr, neg_lr, dw1.get(), w1.get(), features * hidden));
    step_ok(hacrtAxpy(nullptr, neg_lr, db1.get(), b1.get(), hidden));
    step_ok(hacrtAxpy(nullptr, neg_lr, dw2.get(), w2.get(), hidden * classes));
    step_ok(hacrtAxpy(nullptr, neg_lr, db2.get(), b2.get(), classes));
    if (step == 1 || step % log_every == 0 || step == steps) {
      CheckOk(hacrt::Wrap(hacrtMemcpy(lossh.data(), loss.get(), batch * sizeof(float),
                                      HACRT_MEMCPY_DEVICE_TO_HOST)),
              "reading the loss");
      double sum = 0;
      for (float l : lossh) sum += l;
      curve.push_back(sum / static_cast<double>(batch));
      std::printf("step %lld loss %.6f\n", static_cast<long long>(step), curve.back());
      std::fflush(stdout);
    }
  }

  // Evaluation over the whole dataset.
  forward(samples, allx.get(), allh.get(), allh.get(), alllogits.get());
  hacrt::Buffer<float> grad;
  alloc(samples * classes, &grad);
  step_ok(hacrtSoftmaxCrossEntropy(nullptr, alllogits.get(), ally.get(), loss.get(), grad.get(),
                                   1.0f, samples, classes));
  std::vector<float> all_loss, all_logits;
  CheckOk(loss.CopyTo(&all_loss), "reading the loss");
  CheckOk(alllogits.CopyTo(&all_logits), "reading the logits");
  double total = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < samples; ++i) {
    total += all_loss[i];
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c) {
      if (all_logits[i * classes + c] > all_logits[i * classes + best]) best = c;
    }
    correct += best == y[i];
  }
  double final_loss = total / static_cast<double>(samples);
  double accuracy = static_cast<double>(correct) / static_cast<double>(samples);
  uint64_t busy = BusyNs() - busy0;
  bool passed = final_loss < loss_threshold && accuracy > accuracy_threshold;
  std::printf("%s\n", JsonLine()
                          .Add("workload", "train-mlp")
                          .Add("backend", prop.backend)
                          .Add("model", prop.model)
                          .Add("dtype", DtypeName(dtype))
                          .Add("seed", static_cast<int64_t>(seed))
                          .Add("steps", steps)
                          .Add("loss_curve", curve)
                          .Add("final_loss", final_loss)
                          .Add("accuracy", accuracy)
                          .Add("loss_threshold", loss_threshold)
                          .Add("accuracy_threshold", accuracy_threshold)
                          .Add("busy_ns", static_cast<int64_t>(busy))
                          .Add("passed", passed)
                          .str()
                          .c_str());
  return passed ? 0 : 3;
}

}  // namespace
}  // namespace hac::workloads

int main(int argc, char** argv) { return hac::workloads::Main(argc, argv); }
