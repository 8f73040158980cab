// Numeric correctness of every kernel against simple reference implementations, on every backend,
// on random shapes including ones that straddle the GEMM tiles (128 x 256 x 256), the elementwise
// block (16384) and empty dimensions.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/device/host_kernels.h"
#include "agent/device/numerics.h"
#include "tests/device/device_test_util.h"

namespace hac::device {
namespace {

using testing::FromDevice;
using testing::OpenLocal;
using testing::RandomFloats;
using testing::ToDevice;

// Every backend runs the same suite. sim-npu uses its fast model so pacing does not slow the test.
#define HAC_BACKENDS \
  GENERATE(as<std::string>{}, "emu-gpu/sms=1", "emu-gpu/sms=3", "sim-npu/model=atom-sim-fast")

struct Shape {
  int64_t m, n, k;
};

// Shapes at and across tile edges (128 or 256 rows x 256 cols x 256 deep), plus empty dimensions.
const std::vector<Shape>& GemmShapes() {
  static const std::vector<Shape> shapes = {
      {0, 5, 7}, {5, 0, 7}, {5, 7, 0},   {1, 1, 1},    {6, 16, 1},   {7, 17, 33},
      {13, 250, 9}, {129, 31, 20}, {40, 257, 11}, {20, 30, 257}, {131, 259, 260},
      {1030, 20, 30}};  // m >= 1024: the taller 256-row tiles, with a ragged last tile
  return shapes;
}

template <typename T>
double At(const std::vector<T>& v, int64_t i);
template <>
double At<float>(const std::vector<float>& v, int64_t i) { return v[i]; }
template <>
double At<uint16_t>(const std::vector<uint16_t>& v, int64_t i) { return Bf16ToFloat(v[i]); }

// Reference: c = alpha * op(a) op(b) + beta * c in double; also returns sum |a||b| per element
// for the tolerance.
template <typename T>
void ReferenceGemm(const Shape& s, bool ta, bool tb, double alpha, const std::vector<T>& a,
                   const std::vector<T>& b, double beta, const std::vector<float>& c0,
                   std::vector<double>* c, std::vector<double>* mag) {
  c->assign(s.m * s.n, 0.0);
  mag->assign(s.m * s.n, 0.0);
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      double acc = 0, m = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        double x = At(a, ta ? p * s.m + i : i * s.k + p);
        double y = At(b, tb ? j * s.k + p : p * s.n + j);
        acc += x * y;
        m += std::fabs(x * y);
      }
      (*c)[i * s.n + j] = alpha * acc + (beta != 0 ? beta * c0[i * s.n + j] : 0.0);
      (*mag)[i * s.n + j] = std::fabs(alpha) * m + std::fabs(beta * c0[i * s.n + j]);
    }
  }
}

TEST_CASE("f32 and bf16 GEMM match a double-precision reference on awkward shapes") {
  std::string spec = HAC_BACKENDS;
  auto dev = OpenLocal(spec);
  bool npu = spec.rfind("sim-npu", 0) == 0;
  std::mt19937 gen(7);
  int checked = 0;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    for (const Shape& s : GemmShapes()) {
      for (int t = 0; t < 4; ++t) {
        bool ta = t & 1, tb = t & 2;
        // The largest shape runs without transposes only, to keep the suite quick.
        if (s.m * s.n * s.k > 1'000'000 && t != 0 && t != 3) continue;
        std::vector<float> af = RandomFloats(gen, s.m * s.k), bf = RandomFloats(gen, s.k * s.n);
        std::vector<float> c0 = RandomFloats(gen, s.m * s.n);
        float alpha = 0.75f, beta = (t == 3) ? 0.5f : 0.0f;
        std::vector<double> ref, mag;
        void *a, *b;
        if (dtype == DType::kF32) {
          ReferenceGemm(s, ta, tb, alpha, af, bf, beta, c0, &ref, &mag);
          a = ToDevice(*dev, af);
          b = ToDevice(*dev, bf);
        } else {
          std::vector<uint16_t> ah(af.size()), bh(bf.size());
          for (size_t i = 0; i < af.size(); ++i) ah[i] = FloatToBf16(af[i]);
          for (size_t i = 0; i < bf.size(); ++i) bh[i] = FloatToBf16(bf[i]);
          ReferenceGemm(s, ta, tb, alpha, ah, bh, beta, c0, &ref, &mag);
          a = ToDevice(*dev, ah);
          b = ToDevice(*dev, bh);
        }
        void* c = ToDevice(*dev, c0);
        absl::Status st = dev->Launch(
            kDefaultStream, Kernel::Gemm(dtype, ta, tb, s.m, s.n, s.k, alpha, a, b, beta, c));
        if (npu && dtype == DType::kF32) {
          REQUIRE(st.code() == absl::StatusCode::kUnimplemented);
        } else {
          REQUIRE(st.ok());
          std::vector<float> got = FromDevice<float>(*dev, c, s.m * s.n);
          int64_t bad = 0;
          for (int64_t i = 0; i < s.m * s.n; ++i) {
            bad += !(std::fabs(got[i] - ref[i]) <= 2e-6 * (mag[i] + 1) * (1 + std::sqrt(s.k)));
          }
          INFO(spec << " " << DTypeName(dtype) << " m=" << s.m << " n=" << s.n << " k=" << s.k
                    << " ta=" << ta << " tb=" << tb);
          REQUIRE(bad == 0);
          ++checked;
        }
        REQUIRE(dev->Free(a).ok());
        REQUIRE(dev->Free(b).ok());
        REQUIRE(dev->Free(c).ok());
      }
    }
  }
  CHECK(checked > 0);
  CHECK(dev->Telemetry().memory_used == 0);
}

TEST_CASE("i8 GEMM accumulates exactly in int32, overwriting or accumulating") {
  std::string spec = HAC_BACKENDS;
  auto dev = OpenLocal(spec);
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> d(-128, 127);
  for (const Shape& s : GemmShapes()) {
    for (int t = 0; t < 4; ++t) {
      bool ta = t & 1, tb = t & 2;
      if (s.m * s.n * s.k > 1'000'000 && t != 0) continue;
      std::vector<int8_t> a(s.m * s.k), b(s.k * s.n);
      for (auto& x : a) x = static_cast<int8_t>(d(gen));
      for (auto& x : b) x = static_cast<int8_t>(d(gen));
      std::vector<int32_t> c0(s.m * s.n);
      for (auto& x : c0) x = d(gen) * 1000;
      float beta = (t == 2) ? 1.0f : 0.0f;
      void* da = ToDevice(*dev, a);
      void* db = ToDevice(*dev, b);
      void* dc = ToDevice(*dev, c0);
      REQUIRE(dev->Launch(kDefaultStream,
                          Kernel::Gemm(DType::kI8, ta, tb, s.m, s.n, s.k, 1.0f, da, db, beta, dc))
                  .ok());
      std::vector<int32_t> got = FromDevice<int32_t>(*dev, dc, s.m * s.n);
      int64_t bad = 0;
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          int64_t acc = beta != 0 ? c0[i * s.n + j] : 0;
          for (int64_t p = 0; p < s.k; ++p) {
            acc += int64_t{a[ta ? p * s.m + i : i * s.k + p]} * b[tb ? j * s.k + p : p * s.n + j];
          }
          bad += got[i * s.n + j] != acc;
        }
      }
      INFO(spec << " m=" << s.m << " n=" << s.n << " k=" << s.k << " t=" << t);
      REQUIRE(bad == 0);
      REQUIRE(dev->Free(da).ok());
      REQUIRE(dev->Free(db).ok());
      REQUIRE(dev->Free(dc).ok());
    }
  }
  // alpha must be 1 for i8.
  CHECK(dev->Launch(kDefaultStream, Kernel::Gemm(DType::kI8, false, false, 0, 0, 0, 2.0f, nullptr,
                                                 nullptr, 0.0f, nullptr))
            .code() == absl::StatusCode::kInvalidArgument);
}

double RefGelu(double x) {
  return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

TEST_CASE("Elementwise, activation, backward and update kernels match their formulas") {
  std::string spec = HAC_BACKENDS;
  auto dev = OpenLocal(spec);
  std::mt19937 gen(3);
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{16383}, int64_t{16385}, int64_t{40000}}) {
    std::vector<float> x = RandomFloats(gen, n, -3, 3), y = RandomFloats(gen, n, -3, 3);
    void* dx = ToDevice(*dev, x);
    void* dy = ToDevice(*dev, y);
    auto out_or = dev->Allocate(n * 4);
    REQUIRE(out_or.ok());
    float* out = static_cast<float*>(*out_or);
    const float* fx = static_cast<const float*>(dx);
    const float* fy = static_cast<const float*>(dy);
    struct Case {
      const char* name;
      Kernel kernel;
      double (*ref)(double, double);
    };
    const Case cases[] = {
        {"add", Kernel::Add(fx, fy, out, n), [](double a, double b) { return a + b; }},
        {"mul", Kernel::Mul(fx, fy, out, n), [](double a, double b) { return a * b; }},
        {"relu", Kernel::Relu(fx, out, n), [](double a, double) { return a > 0 ? a : 0.0; }},
        {"gelu", Kernel::Gelu(fx, out, n), [](double a, double) { return RefGelu(a); }},
        // dy = x, forward input = y.
        {"relu_backward", Kernel::ReluBackward(fx, fy, out, n),
         [](double g, double v) { return v > 0 ? g : 0.0; }},
        {"gelu_backward", Kernel::GeluBackward(fx, fy, out, n),
         [](double g, double v) { return g * (RefGelu(v + 1e-4) - RefGelu(v - 1e-4)) / 2e-4; }},
    };
    for (const Case& c : cases) {
      REQUIRE(dev->Launch(kDefaultStream, c.kernel).ok());
      std::vector<float> got = FromDevice<float>(*dev, out, n);
      int64_t bad = 0;
      for (int64_t i = 0; i < n; ++i) {
        double want = c.ref(x[i], y[i]);
        bad += !(std::fabs(got[i] - want) <= 1e-4 * (1 + std::fabs(want)));
      }
      INFO(spec << " " << c.name << " n=" << n);
      REQUIRE(bad == 0);
    }
    // Axpy updates in place: y += 0.5 x.
    REQUIRE(dev->Launch(kDefaultStream, Kernel::Axpy(0.5f, fx, static_cast<float*>(dy), n)).ok());
    std::vector<float> got = FromDevice<float>(*dev, dy, n);
    std::vector<float> want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = y[i] + 0.5f * x[i];
    REQUIRE(got == want);
    // Device-to-device copy as a kernel.
    REQUIRE(dev->Launch(kDefaultStream, Kernel::Copy(dx, out, n * 4)).ok());
    CHECK(FromDevice<float>(*dev, out, n) == x);
    REQUIRE(dev->Free(dx).ok());
    REQUIRE(dev->Free(dy).ok());
    REQUIRE(dev->Free(out).ok());
  }
}

TEST_CASE("Row kernels: bias add, softmax, cross entropy and reductions match references") {
  std::string spec = HAC_BACKENDS;
  int64_t bad = 0;  // elements off their reference
  auto dev = OpenLocal(spec);
  std::mt19937 gen(5);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{0, 4}, {3, 0}, {1, 1}, {7, 10},
                            {300, 65}, {5, 20000}}) {
    int64_t n = rows * cols;
    std::vector<float> x = RandomFloats(gen, n, -4, 4), bias = RandomFloats(gen, cols);
    std::vector<int32_t> labels(rows);
    for (int64_t r = 0; r < rows; ++r) labels[r] = cols > 0 ? static_cast<int32_t>(r % cols) : 0;
    if (rows > 2 && cols > 0) labels[1] = static_cast<int32_t>(cols);  // out of range -> NaN
    void* dx = ToDevice(*dev, x);
    void* db = ToDevice(*dev, bias);
    void* dl = ToDevice(*dev, labels);
    float* out = static_cast<float*>(*dev->Allocate(n * 4));
    float* rowv = static_cast<float*>(*dev->Allocate(rows * 4));
    float* colv = static_cast<float*>(*dev->Allocate(cols * 4));
    const float* fx = static_cast<const float*>(dx);
    INFO(spec << " rows=" << rows << " cols=" << cols);

    REQUIRE(dev->Launch(kDefaultStream,
                        Kernel::BiasAdd(fx, static_cast<const float*>(db), out, rows, cols))
                .ok());
    std::vector<float> got = FromDevice<float>(*dev, out, n);
    for (int64_t i = 0; i < n; ++i) bad += !(got[i] == x[i] + bias[i % cols]);

    REQUIRE(dev->Launch(kDefaultStream, Kernel::Softmax(fx, out, rows, cols)).ok());
    got = FromDevice<float>(*dev, out, n);
    std::vector<std::vector<double>> p(rows, std::vector<double>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      double mx = -1e30, sum = 0;
      for (int64_t j = 0; j < cols; ++j) mx = std::max<double>(mx, x[r * cols + j]);
      for (int64_t j = 0; j < cols; ++j) sum += std::exp(x[r * cols + j] - mx);
      for (int64_t j = 0; j < cols; ++j) {
        p[r][j] = std::exp(x[r * cols + j] - mx) / sum;
        bad += !(std::fabs(got[r * cols + j] - p[r][j]) <= 1e-5);
      }
    }

    if (cols > 0) {
      REQUIRE(dev->Launch(kDefaultStream,
                          Kernel::SoftmaxCrossEntropy(fx, static_cast<const int32_t*>(dl), rowv,
                                                      out, 0.25f, rows, cols))
                  .ok());
      std::vector<float> loss = FromDevice<float>(*dev, rowv, rows);
      got = FromDevice<float>(*dev, out, n);
      for (int64_t r = 0; r < rows; ++r) {
        if (labels[r] >= cols) {
          REQUIRE(std::isnan(loss[r]));
          for (int64_t j = 0; j < cols; ++j) bad += !(got[r * cols + j] == 0.0f);
          continue;
        }
        bad += !(std::fabs(loss[r] + std::log(p[r][labels[r]])) <= 1e-4);
        for (int64_t j = 0; j < cols; ++j) {
          double want = 0.25 * (p[r][j] - (j == labels[r] ? 1 : 0));
          bad += !(std::fabs(got[r * cols + j] - want) <= 1e-5);
        }
      }
      REQUIRE(dev->Launch(kDefaultStream, Kernel::ReduceRows(ReduceOp::kMax, fx, rowv, rows, cols))
                  .ok());
      std::vector<float> mx = FromDevice<float>(*dev, rowv, rows);
      for (int64_t r = 0; r < rows; ++r) {
        float want = x[r * cols];
        for (int64_t j = 1; j < cols; ++j) want = std::max(want, x[r * cols + j]);
        bad += !(mx[r] == want);
      }
    }
    REQUIRE(dev->Launch(kDefaultStream, Kernel::ReduceRows(ReduceOp::kSum, fx, rowv, rows, cols))
                .ok());
    std::vector<float> rs = FromDevice<float>(*dev, rowv, rows);
    for (int64_t r = 0; r < rows; ++r) {
      double want = 0, mag = 0;
      for (int64_t j = 0; j < cols; ++j) {
        want += x[r * cols + j];
        mag += std::fabs(x[r * cols + j]);
      }
      bad += !(std::fabs(rs[r] - want) <= 1e-6 * (mag + 1) * (1 + std::sqrt(cols)));
    }
    REQUIRE(dev->Launch(kDefaultStream, Kernel::ReduceCols(fx, colv, rows, cols)).ok());
    std::vector<float> cs = FromDevice<float>(*dev, colv, cols);
    for (int64_t j = 0; j < cols; ++j) {
      double want = 0, mag = 0;
      for (int64_t r = 0; r < rows; ++r) {
        want += x[r * cols + j];
        mag += std::fabs(x[r * cols + j]);
      }
      bad += !(std::fabs(cs[j] - want) <= 1e-6 * (mag + 1) * (1 + std::sqrt(rows)));
    }
    for (void* ptr : {dx, db, dl, static_cast<void*>(out), static_cast<void*>(rowv),
                      static_cast<void*>(colv)}) {
      REQUIRE(dev->Free(ptr).ok());
    }
    REQUIRE(bad == 0);
  }
}

TEST_CASE("Casts and quantization round as documented") {
  std::string spec = HAC_BACKENDS;
  int64_t bad = 0;  // elements off their reference
  auto dev = OpenLocal(spec);
  std::mt19937 gen(9);
  for (int64_t n : {int64_t{0}, int64_t{3}, int64_t{20000}}) {
    std::vector<float> x = RandomFloats(gen, n, -10, 10);
    if (n > 0) x[0] = 1.00390625f;  // exactly halfway between two bf16 values: rounds to even
    void* dx = ToDevice(*dev, x);
    void* h = *dev->Allocate(n * 2);
    void* back = *dev->Allocate(n * 4);
    REQUIRE(dev->Launch(kDefaultStream, Kernel::Cast(DType::kF32, DType::kBF16, dx, h, n)).ok());
    REQUIRE(dev->Launch(kDefaultStream, Kernel::Cast(DType::kBF16, DType::kF32, h, back, n)).ok());
    std::vector<float> got = FromDevice<float>(*dev, back, n);
    for (int64_t i = 0; i < n; ++i) {
      bad += !(std::fabs(got[i] - x[i]) <= std::fabs(x[i]) / 256.0f);  // 8-bit mantissa
    }
    if (n > 0) CHECK(got[0] == 1.0f);

    float scale = QuantizationScale(x.data(), n);
    void* q = *dev->Allocate(n);
    REQUIRE(dev->Launch(kDefaultStream, Kernel::Quantize(static_cast<const float*>(dx),
                                                         static_cast<int8_t*>(q), scale, n))
                .ok());
    std::vector<int8_t> qs = FromDevice<int8_t>(*dev, q, n);
    for (int64_t i = 0; i < n; ++i) {
      bad += !(qs[i] == static_cast<int8_t>(std::max(-127.0, std::min(127.0, static_cast<double>(std::nearbyint(x[i] / scale))))));
    }
    std::vector<int32_t> ints(n);
    for (int64_t i = 0; i < n; ++i) ints[i] = static_cast<int32_t>(i) - 5;
    void* di = ToDevice(*dev, ints);
    REQUIRE(dev->Launch(kDefaultStream, Kernel::Dequantize(static_cast<const int32_t*>(di),
                                                           static_cast<float*>(back), 0.5f, n))
                .ok());
    got = FromDevice<float>(*dev, back, n);
    for (int64_t i = 0; i < n; ++i) bad += !(got[i] == 0.5f * static_cast<float>(ints[i]));
    for (void* p : {dx, h, back, q, di}) REQUIRE(dev->Free(p).ok());
    REQUIRE(bad == 0);
  }
  // f32 -> i8 is not a cast (it is Quantize).
  CHECK(dev->Launch(kDefaultStream, Kernel::Cast(DType::kF32, DType::kI8, nullptr, nullptr, 0))
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Results do not depend on the number of SMs") {
  std::mt19937 gen(13);
  const int64_t m = 200, n = 300, k = 280;
  std::vector<float> a = RandomFloats(gen, m * k), b = RandomFloats(gen, k * n);
  std::vector<std::vector<float>> results;
  for (const char* spec : {"emu-gpu/sms=1", "emu-gpu/sms=2", "emu-gpu/sms=5"}) {
    auto dev = OpenLocal(spec);
    void* da = ToDevice(*dev, a);
    void* db = ToDevice(*dev, b);
    void* dc = *dev->Allocate(m * n * 4);
    REQUIRE(dev->Launch(kDefaultStream,
                        Kernel::Gemm(DType::kF32, false, true, m, n, k, 1.0f, da, db, 0.0f, dc))
                .ok());
    results.push_back(FromDevice<float>(*dev, dc, m * n));
  }
  CHECK(results[0] == results[1]);
  CHECK(results[0] == results[2]);
}

}  // namespace
}  // namespace hac::device

namespace hac::device {
namespace {

TEST_CASE("Every GEMM micro-kernel variant the CPU supports matches the reference") {
  auto dev = testing::OpenLocal("emu-gpu/sms=2");
  std::mt19937 gen(17);
  const GemmIsa best = BestGemmIsa();
  int variants = 0;
  for (GemmIsa isa : {GemmIsa::kGeneric, GemmIsa::kAvx2, GemmIsa::kAvx512}) {
    if (!SetGemmIsa(isa)) continue;
    ++variants;
    for (const Shape& s :
         {Shape{37, 70, 300}, Shape{129, 33, 5}, Shape{6, 257, 40}, Shape{1025, 40, 7}}) {
      for (bool tb : {false, true}) {
        std::vector<float> a = RandomFloats(gen, s.m * s.k), b = RandomFloats(gen, s.k * s.n);
        std::vector<float> c0(s.m * s.n, 0.0f);
        std::vector<double> ref, mag;
        ReferenceGemm(s, false, tb, 1.0, a, b, 0.0, c0, &ref, &mag);
        void* da = ToDevice(*dev, a);
        void* db = ToDevice(*dev, b);
        void* dc = ToDevice(*dev, c0);
        REQUIRE(dev->Launch(kDefaultStream, Kernel::Gemm(DType::kF32, false, tb, s.m, s.n, s.k,
                                                         1.0f, da, db, 0.0f, dc))
                    .ok());
        std::vector<float> got = FromDevice<float>(*dev, dc, s.m * s.n);
        int64_t bad = 0;
        for (int64_t i = 0; i < s.m * s.n; ++i) {
          bad += !(std::fabs(got[i] - ref[i]) <= 2e-6 * (mag[i] + 1) * (1 + std::sqrt(s.k)));
        }
        INFO(GemmIsaName(isa) << " m=" << s.m << " n=" << s.n << " k=" << s.k << " tb=" << tb);
        CHECK(bad == 0);
        for (void* p : {da, db, dc}) REQUIRE(dev->Free(p).ok());
      }
    }
  }
  REQUIRE(SetGemmIsa(best));
  CHECK(variants >= 1);
  CHECK(CurrentGemmIsa() == best);
}

}  // namespace
}  // namespace hac::device
