// Building a JobSpec for `hacctl submit` from flags, from a JSON file, or both.
//
// `-f spec.json` gives a JobSpec in protobuf JSON form; flags given as well override (scalars),
// replace (--device, the command after --, --workload) or add to (--label, --env) its fields.
// Every error is INVALID_ARGUMENT naming the flag and what it expects, so hacctl can exit 2.
//
//   hacctl submit --name t --device npu:2 --device gpu:1 --speed gpu=1500 -- ./train --steps 5
#ifndef HAC_CLI_SPEC_H_
#define HAC_CLI_SPEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "hac/v1/jobs.pb.h"

namespace hac::cli {

// The flags of `hacctl submit` (without the global ones).
std::vector<FlagSpec> SubmitFlags();

// Parses a byte count: plain digits, or digits with a binary suffix Ki, Mi, Gi or Ti
// ("512Mi" = 536870912). `flag` names the flag in errors.
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text, std::string_view flag);

// Parses "CLASS:COUNT[:MODEL]" ("npu:2", "gpu:1:emu-a100") into a DeviceRequest.
absl::StatusOr<hac::v1::DeviceRequest> ParseDeviceFlag(std::string_view text);

// Parses a JobSpec in protobuf JSON form. Unknown fields are errors naming `source`.
absl::StatusOr<hac::v1::JobSpec> ParseJobSpecJson(std::string_view json, std::string_view source);

// Applies the submit flags in `args` on top of `spec`.
absl::Status ApplySubmitFlags(const ParsedArgs& args, hac::v1::JobSpec& spec);

// A job name when none is given: the workload's name, else the file name of argv[0], with
// characters outside [A-Za-z0-9._-] replaced by '-' ("./train.py" -> "train.py"); "job" if
// nothing is left.
std::string DefaultJobName(const hac::v1::JobSpec& spec);

// Reads -f (if given), applies the flags, checks the result has devices and something to run,
// and names it DefaultJobName() if it has no name.
absl::StatusOr<hac::v1::JobSpec> BuildJobSpec(const ParsedArgs& args);

}  // namespace hac::cli

#endif  // HAC_CLI_SPEC_H_
