#include "workloads/workload_util.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hac::workloads {

Flags::Flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      if (error_.empty()) error_ = "malformed argument " + a + " (expected --key=value)";
      continue;
    }
    values_[a.substr(2, eq - 2)] = a.substr(eq + 1);
  }
}

int64_t Flags::Int(const std::string& key, int64_t def) {
  used_[key] = true;
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (end == it->second.c_str() || *end != '\0') {
    if (error_.empty()) error_ = "--" + key + " needs an integer";
    return def;
  }
  return v;
}

double Flags::Double(const std::string& key, double def) {
  used_[key] = true;
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0') {
    if (error_.empty()) error_ = "--" + key + " needs a number";
    return def;
  }
  return v;
}

std::string Flags::String(const std::string& key, const std::string& def) {
  used_[key] = true;
  auto it = values_.find(key);
  return it == values_.end() ? def : it->second;
}

void Flags::Check(const std::string& usage) const {
  std::string err = error_;
  for (const auto& [k, v] : values_) {
    if (err.empty() && used_.count(k) == 0) err = "unknown flag --" + k;
  }
  if (!err.empty()) {
    std::fprintf(stderr, "error: %s\nusage: %s\n", err.c_str(), usage.c_str());
    std::exit(2);
  }
}

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::Uniform(double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(Next() >> 11) * 0x1.0p-53);
}

double Rng::Normal() {
  double u1 = Uniform(0, 1), u2 = Uniform(0, 1);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

int64_t Rng::Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }

void CheckOk(const hacrt::Error& e, const std::string& what) {
  if (e.ok()) return;
  std::fprintf(stderr, "error: %s: %s\n", what.c_str(), e.ToString().c_str());
  std::exit(1);
}

hacrtDeviceProp SelectDevice(int index) {
  int count = 0;
  CheckOk(hacrt::Wrap(hacrtGetDeviceCount(&count)), "listing devices");
  if (count == 0) {
    CheckOk(hacrt::Error(HACRT_ERROR_NO_DEVICE,
                         "no devices: set HAC_VISIBLE_DEVICES or HAC_LOCAL_DEVICES"),
            "listing devices");
  }
  hacrtDeviceProp prop;
  CheckOk(hacrt::Wrap(hacrtGetDeviceProperties(&prop, index)), "reading device properties");
  CheckOk(hacrt::Wrap(hacrtSetDevice(index)), "selecting the device");
  return prop;
}

const char* DtypeName(hacrtDataType t) {
  switch (t) {
    case HACRT_F32: return "f32";
    case HACRT_BF16: return "bf16";
    case HACRT_I8: return "i8";
    case HACRT_I32: return "i32";
  }
  return "?";
}

hacrtDataType PickDtype(const hacrtDeviceProp& prop, const std::string& flag, bool allow_i8) {
  hacrtDataType t;
  if (flag == "auto") {
    t = prop.peak_ops_per_s[HACRT_F32] > 0 ? HACRT_F32 : HACRT_BF16;
  } else if (flag == "f32") {
    t = HACRT_F32;
  } else if (flag == "bf16") {
    t = HACRT_BF16;
  } else if (flag == "i8" && allow_i8) {
    t = HACRT_I8;
  } else {
    std::fprintf(stderr, "error: --dtype=%s is not one of auto, f32, bf16%s\n", flag.c_str(),
                 allow_i8 ? ", i8" : "");
    std::exit(2);
  }
  if (prop.peak_ops_per_s[t] <= 0) {
    std::fprintf(stderr, "error: %s (%s) does not run GEMM in %s\n", prop.backend, prop.model,
                 DtypeName(t));
    std::exit(2);
  }
  return t;
}

Matmul::Matmul(hacrtDataType dtype, size_t max_elems) : dtype_(dtype) {
  if (dtype_ == HACRT_BF16) {
    CheckOk(hacrt::Buffer<uint16_t>::Allocate(max_elems, &a16_), "allocating bf16 scratch");
    CheckOk(hacrt::Buffer<uint16_t>::Allocate(max_elems, &b16_), "allocating bf16 scratch");
  }
}

hacrt::Error Matmul::Run(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                         const float* a, const float* b, float beta, float* c) {
  if (dtype_ == HACRT_F32) {
    return hacrt::Wrap(hacrtGemm(nullptr, HACRT_F32, trans_a, trans_b, m, n, k, 1.0f, a, b, beta, c));
  }
  HACRT_RETURN_IF_ERROR(hacrt::Wrap(hacrtCast(nullptr, HACRT_F32, HACRT_BF16, a, a16_.get(), m * k)));
  HACRT_RETURN_IF_ERROR(hacrt::Wrap(hacrtCast(nullptr, HACRT_F32, HACRT_BF16, b, b16_.get(), k * n)));
  return hacrt::Wrap(hacrtGemm(nullptr, HACRT_BF16, trans_a, trans_b, m, n, k, 1.0f, a16_.get(),
                               b16_.get(), beta, c));
}

void JsonLine::Key(const std::string& key) {
  if (!body_.empty()) body_ += ",";
  body_ += "\"" + key + "\":";
}

JsonLine& JsonLine::Add(const std::string& key, const std::string& value) {
  Key(key);
  body_ += "\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') body_ += '\\';
    body_ += ch;
  }
  body_ += "\"";
  return *this;
}
JsonLine& JsonLine::Add(const std::string& key, const char* value) {
  return Add(key, std::string(value));
}
JsonLine& JsonLine::Add(const std::string& key, double value) {
  Key(key);
  char buf[64];
  if (std::isfinite(value)) {
    std::snprintf(buf, sizeof(buf), "%.6g", value);
  } else {
    std::snprintf(buf, sizeof(buf), "null");
  }
  body_ += buf;
  return *this;
}
JsonLine& JsonLine::Add(const std::string& key, int64_t value) {
  Key(key);
  body_ += std::to_string(value);
  return *this;
}
JsonLine& JsonLine::Add(const std::string& key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}
JsonLine& JsonLine::Add(const std::string& key, const std::vector<double>& values) {
  Key(key);
  body_ += "[";
  for (size_t i = 0; i < values.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s%.6g", i ? "," : "", values[i]);
    body_ += buf;
  }
  body_ += "]";
  return *this;
}

uint64_t BusyNs() {
  hacrtDeviceUsage u;
  CheckOk(hacrt::Wrap(hacrtDeviceGetUsage(&u)), "reading device usage");
  return u.busy_ns;
}

}  // namespace hac::workloads
