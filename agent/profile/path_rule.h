// Exec paths in profiles are both observations and rules. A learned path is stored escaped
// ('\' -> "\\", '*' -> "\*"), so that an unescaped trailing '*' can only be a rule a person
// wrote ("/usr/lib/python3/*": every path with that prefix).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faasguard {

// A literal path (as the kernel reported it) in its profile form.
std::string EscapeRulePath(absl::string_view literal);

struct PathRule {
  std::string text;     // the literal path, or the prefix of a prefix rule
  bool prefix = false;  // written with a trailing unescaped '*'
};

// The inverse: errors for a dangling or unknown escape and for an unescaped '*' anywhere but
// at the end.
absl::StatusOr<PathRule> ParseRulePath(absl::string_view profile_path);

}  // namespace faasguard
