// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr.
//
// Abseil 20220623 (Debian 12) ships no status macros; these are the one copy the project uses.
//
//   absl::Status Load() {
//     RETURN_IF_ERROR(Open());
//     ASSIGN_OR_RETURN(Row row, ReadRow());
//     ...
//   }
#ifndef HAC_COMMON_STATUS_MACROS_H_
#define HAC_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HAC_STATUS_CONCAT_INNER_(a, b) a##b
#define HAC_STATUS_CONCAT_(a, b) HAC_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the calling function if it is not OK.
#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (::absl::Status hac_status_ = (expr); !hac_status_.ok()) \
      return hac_status_;                                     \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the
// value into `lhs`, which may declare a variable: ASSIGN_OR_RETURN(auto x, F());
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  HAC_ASSIGN_OR_RETURN_IMPL_(HAC_STATUS_CONCAT_(hac_statusor_, __LINE__), lhs, rexpr)

#define HAC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // HAC_COMMON_STATUS_MACROS_H_
