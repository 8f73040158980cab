// What the benchmarks share: a percentile of samples, and one sample read from a Prometheus
// text exposition (hacd's /metrics).
#ifndef HAC_BENCH_BENCH_UTIL_H_
#define HAC_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hac::bench {

// The p-quantile (0..1) of `v` by rank, 0 when empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// The value of the unlabelled sample `name` ("name value" line), if present.
inline std::optional<double> MetricSample(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
  }
  return std::nullopt;
}

}  // namespace hac::bench

#endif  // HAC_BENCH_BENCH_UTIL_H_
