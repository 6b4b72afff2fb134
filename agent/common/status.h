// Errors cross module boundaries as absl::Status. errno values (from libc or from libbpf's
// negative returns) become a Status here, in one place, with what failed named.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace faasguard {

// A Status for errno `err` (positive), its message "what: strerror".
absl::Status ErrnoStatus(int err, absl::string_view what);

// A Status for a libbpf return value (negative errno) or OK when ret >= 0.
absl::Status LibbpfStatus(long ret, absl::string_view what);

}  // namespace faasguard

#define FG_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status fg_status_ = (expr);      \
    if (!fg_status_.ok()) return fg_status_; \
  } while (0)

#define FG_CONCAT_INNER_(a, b) a##b
#define FG_CONCAT_(a, b) FG_CONCAT_INNER_(a, b)
#define FG_ASSIGN_OR_RETURN(lhs, expr) \
  FG_ASSIGN_OR_RETURN_IMPL_(FG_CONCAT_(fg_statusor_, __LINE__), lhs, expr)
#define FG_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
