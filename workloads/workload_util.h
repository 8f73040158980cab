// Shared pieces of the sample workloads: flags, a portable seeded RNG, device selection, a
// dtype-aware matmul, and the one-line JSON summary every workload prints last.
//
// Everything here uses only libhacrt, like any job would. Single-threaded use.
#ifndef HAC_WORKLOADS_WORKLOAD_UTIL_H_
#define HAC_WORKLOADS_WORKLOAD_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/hacrt.hpp"

namespace hac::workloads {

// --key=value flags. Unknown keys make Check() print usage and exit(2).
class Flags {
 public:
  Flags(int argc, char** argv);
  int64_t Int(const std::string& key, int64_t def);
  double Double(const std::string& key, double def);
  std::string String(const std::string& key, const std::string& def);
  // Exits with status 2 naming the first flag nobody asked for, or a malformed one.
  void Check(const std::string& usage) const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
  std::string error_;
};

// SplitMix64: the same stream on every platform and compiler (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  double Uniform(double lo, double hi);  // [lo, hi)
  double Normal();                       // Box-Muller, mean 0, stddev 1
  int64_t Below(int64_t n);              // [0, n)

 private:
  uint64_t state_;
};

// Prints "error: <what>: <hacrt error>" to stderr and exits 1 unless ok.
void CheckOk(const hacrt::Error& e, const std::string& what);

// Selects device `index` (exits on error) and returns its properties.
hacrtDeviceProp SelectDevice(int index);

// "auto": f32 where the device runs f32 GEMM, else bf16. "f32" / "bf16" / "i8" as given; exits
// if the device does not support it (`allow_i8` false rejects i8).
hacrtDataType PickDtype(const hacrtDeviceProp& prop, const std::string& flag, bool allow_i8);
const char* DtypeName(hacrtDataType t);

// c = op(a) op(b) + beta * c with f32 operands in device memory, on `dtype`: f32 directly, bf16 by
// casting both operands to bf16 scratch first (f32 accumulation, f32 result).
class Matmul {
 public:
  // Scratch for operands of up to `max_elems` elements each. Exits on allocation failure.
  Matmul(hacrtDataType dtype, size_t max_elems);
  hacrt::Error Run(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                   const float* b, float beta, float* c);

 private:
  hacrtDataType dtype_;
  hacrt::Buffer<uint16_t> a16_, b16_;
};

// Builds {"k":v,...} in insertion order.
class JsonLine {
 public:
  JsonLine& Add(const std::string& key, const std::string& value);
  JsonLine& Add(const std::string& key, const char* value);
  JsonLine& Add(const std::string& key, double value);
  JsonLine& Add(const std::string& key, int64_t value);
  JsonLine& Add(const std::string& key, bool value);
  JsonLine& Add(const std::string& key, const std::vector<double>& values);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void Key(const std::string& key);
  std::string body_;
};

// Busy nanoseconds of the current device so far.
uint64_t BusyNs();

}  // namespace hac::workloads

#endif  // HAC_WORKLOADS_WORKLOAD_UTIL_H_
