// Command-line flags are spelled with dashes (--metrics-listen), as users of Kubernetes and
// Slurm tools expect; Abseil's flag names use underscores. NormalizeFlagNames rewrites each
// "--some-flag[=value]" in argv to "--some_flag[=value]" before absl::ParseCommandLine.
// Values are left alone, and everything after a bare "--" too.
#ifndef HAC_COMMON_FLAGS_H_
#define HAC_COMMON_FLAGS_H_

namespace hac::common {

void NormalizeFlagNames(int argc, char** argv);

}  // namespace hac::common

#endif  // HAC_COMMON_FLAGS_H_
