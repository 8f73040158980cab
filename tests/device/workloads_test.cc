// The sample workloads as real processes on both backends: training converges (documented
// thresholds), bf16 on sim-npu tracks the f32 loss curve, the same binary runs unchanged on either
// backend, and jobs meter into exactly the segments they were given and fail clearly on faults.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/device/device_test_util.h"

namespace hac::device {
namespace {

struct Run {
  int exit_code = -1;
  std::string output;     // stdout and stderr
  std::string last_line;  // the JSON summary on success
};

// Runs `env_and_args` (e.g. "HAC_LOCAL_DEVICES=emu-gpu hac-gemm --m=8") from the workloads dir.
Run RunWorkload(const std::string& env, const std::string& binary, const std::string& args) {
  std::string cmd = "env " + env + " " + HAC_BIN_DIR + "/workloads/" + binary + " " + args + " 2>&1";
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  size_t end = r.output.find_last_not_of('\n');
  if (end != std::string::npos) {
    size_t start = r.output.rfind('\n', end);
    r.last_line = r.output.substr(start == std::string::npos ? 0 : start + 1, end + 1 -
                                  (start == std::string::npos ? 0 : start + 1));
  }
  return r;
}

// The number after "key": in a flat JSON line.
double Number(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

std::string String(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":\"");
  REQUIRE(at != std::string::npos);
  size_t start = at + key.size() + 4;
  return json.substr(start, json.find('"', start) - start);
}

std::vector<double> Array(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":[");
  REQUIRE(at != std::string::npos);
  std::vector<double> out;
  const char* p = json.c_str() + at + key.size() + 4;
  while (*p != ']' && *p != '\0') {
    char* end;
    out.push_back(std::strtod(p, &end));
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

// Documented in docs/devices.md and asserted here.
constexpr double kLossThreshold = 0.1;
constexpr double kAccuracyThreshold = 0.95;
constexpr double kBf16CurveTolerance = 0.01;

TEST_CASE("hac-train-mlp converges on emu-gpu in f32 and the same seed gives the same curve") {
  Run one = RunWorkload("HAC_LOCAL_DEVICES=emu-gpu/sms=1", "hac-train-mlp", "--seed=7");
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  CHECK(String(one.last_line, "dtype") == "f32");
  CHECK(Number(one.last_line, "final_loss") < kLossThreshold);
  CHECK(Number(one.last_line, "accuracy") > kAccuracyThreshold);
  std::vector<double> curve = Array(one.last_line, "loss_curve");
  REQUIRE(curve.size() == 16);  // step 1, every 10 steps to 150
  CHECK(curve.front() > 1.0);   // starts near ln(4)
  CHECK(curve.back() < curve.front() / 10);
  CHECK(Number(one.last_line, "busy_ns") > 0);
  Run two = RunWorkload("HAC_LOCAL_DEVICES=emu-gpu/sms=2", "hac-train-mlp", "--seed=7");
  REQUIRE(two.exit_code == 0);
  CHECK(Array(two.last_line, "loss_curve") == curve);
  Run other = RunWorkload("HAC_LOCAL_DEVICES=emu-gpu", "hac-train-mlp", "--seed=8");
  REQUIRE(other.exit_code == 0);
  CHECK(Array(other.last_line, "loss_curve") != curve);
}

TEST_CASE("hac-train-mlp converges on sim-npu in bf16 and tracks the f32 curve") {
  Run npu = RunWorkload("HAC_LOCAL_DEVICES=sim-npu", "hac-train-mlp", "--seed=7");
  INFO(npu.output);
  REQUIRE(npu.exit_code == 0);
  CHECK(String(npu.last_line, "dtype") == "bf16");
  CHECK(String(npu.last_line, "backend") == "sim-npu");
  CHECK(Number(npu.last_line, "final_loss") < kLossThreshold);
  CHECK(Number(npu.last_line, "accuracy") > kAccuracyThreshold);
  Run gpu = RunWorkload("HAC_LOCAL_DEVICES=emu-gpu", "hac-train-mlp", "--seed=7");
  REQUIRE(gpu.exit_code == 0);
  std::vector<double> a = Array(npu.last_line, "loss_curve"), b = Array(gpu.last_line, "loss_curve");
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("point " << i << ": bf16 " << a[i] << " f32 " << b[i]);
    CHECK(std::abs(a[i] - b[i]) <= kBf16CurveTolerance);
  }
}

TEST_CASE("hac-gemm and hac-infer run unchanged on both backends") {
  std::vector<std::string> i8_checksums;
  std::vector<double> i8_infer;
  for (const char* spec : {"emu-gpu", "sim-npu/model=atom-sim-fast"}) {
    INFO(spec);
    Run g = RunWorkload(std::string("HAC_LOCAL_DEVICES=") + spec, "hac-gemm",
                        "--m=70 --n=50 --k=90 --iters=3 --dtype=i8");
    INFO(g.output);
    REQUIRE(g.exit_code == 0);
    CHECK(Number(g.last_line, "gflops") > 0);
    CHECK(Number(g.last_line, "busy_ns") > 0);
    i8_checksums.push_back(g.last_line.substr(g.last_line.find("\"checksum\"")));
    Run auto_dtype = RunWorkload(std::string("HAC_LOCAL_DEVICES=") + spec, "hac-gemm",
                                 "--m=64 --n=64 --k=64 --iters=2");
    REQUIRE(auto_dtype.exit_code == 0);
    CHECK(String(auto_dtype.last_line, "dtype") ==
          (std::string(spec) == "emu-gpu" ? "f32" : "bf16"));
    Run inf = RunWorkload(std::string("HAC_LOCAL_DEVICES=") + spec, "hac-infer",
                          "--batches=10 --batch=8");
    INFO(inf.output);
    REQUIRE(inf.exit_code == 0);
    double p50 = Number(inf.last_line, "p50_ms"), p90 = Number(inf.last_line, "p90_ms"),
           p99 = Number(inf.last_line, "p99_ms");
    CHECK(p50 > 0);
    CHECK(p50 <= p90);
    CHECK(p90 <= p99);
    CHECK(Number(inf.last_line, "samples_per_s") > 0);
    CHECK(Number(inf.last_line, "top1_agreement") >= 0.99);  // f32 / bf16 vs the host f32 pass
    Run q = RunWorkload(std::string("HAC_LOCAL_DEVICES=") + spec, "hac-infer",
                        "--batches=5 --batch=16 --dtype=i8");
    INFO(q.output);
    REQUIRE(q.exit_code == 0);
    CHECK(Number(q.last_line, "top1_agreement") >= 0.9);  // per-tensor int8 quantization
    i8_infer.push_back(Number(q.last_line, "prediction_checksum"));
  }
  // Quantized inference is exact integer arithmetic: the same predictions on both backends.
  CHECK(i8_infer[0] == i8_infer[1]);
  // int8 GEMM is exact, so both backends compute the same result for the same seed.
  CHECK(i8_checksums[0] == i8_checksums[1]);
  Run f32_on_npu = RunWorkload("HAC_LOCAL_DEVICES=sim-npu", "hac-gemm", "--dtype=f32 --m=4");
  CHECK(f32_on_npu.exit_code == 2);
  CHECK(f32_on_npu.output.find("does not run GEMM in f32") != std::string::npos);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hac-wl-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("A job meters into exactly the devices in HAC_VISIBLE_DEVICES and fails clearly on faults") {
  TempDir dir;
  auto config = NodeDeviceConfig::Parse(
      "backend=emu-gpu count=2\n"
      "backend=sim-npu model=atom-sim-fast fault=unhealthy\n"
      "backend=sim-npu model=atom-sim-fast fault=error_after:4\n");
  REQUIRE(config.ok());
  std::mt19937_64 gen(9);
  auto segs = DeviceRegistry::CreateDefault()->CreateSegments(*config, dir.path(), gen);
  REQUIRE(segs.ok());
  auto& s = *segs;
  (s[1])->SetOwner("attempt-1");

  Run ok = RunWorkload("HAC_VISIBLE_DEVICES=" + s[1]->path(), "hac-gemm",
                       "--m=32 --n=32 --k=32 --iters=4 --warmup=1");
  INFO(ok.output);
  REQUIRE(ok.exit_code == 0);
  CHECK(String(ok.last_line, "backend") == "emu-gpu");
  DeviceStateSnapshot used = s[1]->Snapshot();
  CHECK(used.kernels_run == 5);
  CHECK(used.busy > absl::ZeroDuration());
  CHECK(used.memory_used == 0);  // released at clean exit
  CHECK(s[0]->Snapshot().kernels_run == 0);

  Run unhealthy = RunWorkload("HAC_VISIBLE_DEVICES=" + s[2]->path(), "hac-gemm", "--m=8");
  CHECK(unhealthy.exit_code == 1);
  CHECK(unhealthy.output.find("HACRT_ERROR_DEVICE_UNAVAILABLE") != std::string::npos);

  Run faulty = RunWorkload("HAC_VISIBLE_DEVICES=" + s[3]->path(), "hac-gemm",
                           "--m=8 --n=8 --k=8 --iters=10 --dtype=i8");
  CHECK(faulty.exit_code == 1);
  CHECK(faulty.output.find("HACRT_ERROR_DEVICE_FAULT") != std::string::npos);
  CHECK(s[3]->Snapshot().health == Health::kFailed);
  s[3]->Reset();
  CHECK(s[3]->Snapshot().health == Health::kHealthy);

  Run none = RunWorkload("HAC_VISIBLE_DEVICES=", "hac-infer", "");
  CHECK(none.exit_code == 1);
  CHECK(none.output.find("HACRT_ERROR_NO_DEVICE") != std::string::npos);
}

}  // namespace
}  // namespace hac::device
