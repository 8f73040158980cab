#include "common/status_macros.h"

#include <catch2/catch.hpp>

namespace hac::common {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("x: must be even");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

absl::Status CheckQuarter(int x, int* out) {
  RETURN_IF_ERROR(Half(x).status());
  ASSIGN_OR_RETURN(*out, Quarter(x));
  return absl::OkStatus();
}

TEST_CASE("ASSIGN_OR_RETURN passes values through and returns the first error") {
  CHECK(*Quarter(12) == 3);
  absl::StatusOr<int> bad = Quarter(6);  // 6 -> 3 -> odd
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().message() == "x: must be even");
}

TEST_CASE("RETURN_IF_ERROR stops at an error and continues on OK") {
  int out = 0;
  CHECK(CheckQuarter(8, &out).ok());
  CHECK(out == 2);
  CHECK(CheckQuarter(7, &out).code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hac::common
