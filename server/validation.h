// Validation of what clients send. Every error is INVALID_ARGUMENT and names the field (as a
// path, e.g. "spec.devices[1].count") and the limit it broke. Strings are never interpreted:
// they are checked against a charset and a length, then stored and returned byte for byte.
//
// Pure functions; thread-safe.
#ifndef HAC_SERVER_VALIDATION_H_
#define HAC_SERVER_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hac/v1/jobs.pb.h"

namespace hac::server {

// Checks a job spec against the limits in limits.h.
absl::Status ValidateJobSpec(const hac::v1::JobSpec& spec);

// Fills defaults into a valid spec: nodes 0 -> 1, relative speed 0 -> 1000, unset max runtime ->
// 24 h, OPTIMIZE_UNSPECIFIED -> OPTIMIZE_TIME. Idempotent.
void ApplyJobSpecDefaults(hac::v1::JobSpec& spec);

// Tenant (and node, pool) names: 1..63 characters from [a-z0-9-], starting with a letter or
// digit. `field` names the field in the error.
absl::Status ValidateName63(absl::string_view field, absl::string_view name);

// The built-in workloads a spec may name, and the binary each runs.
absl::string_view WorkloadBinary(absl::string_view workload);

}  // namespace hac::server

#endif  // HAC_SERVER_VALIDATION_H_
