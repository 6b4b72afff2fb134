#include "profile/path_rule.h"

#include "absl/strings/str_cat.h"

namespace faasguard {

std::string EscapeRulePath(absl::string_view literal) {
  std::string out;
  out.reserve(literal.size());
  for (char c : literal) {
    if (c == '\\' || c == '*') out += '\\';
    out += c;
  }
  return out;
}

absl::StatusOr<PathRule> ParseRulePath(absl::string_view p) {
  PathRule r;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size() || (p[i + 1] != '\\' && p[i + 1] != '*'))
        return absl::InvalidArgumentError(
            absl::StrCat("path \"", p.substr(0, 64), "\": '\\' must be followed by '\\' or '*'"));
      r.text += p[++i];
    } else if (c == '*') {
      if (i + 1 != p.size())
        return absl::InvalidArgumentError(
            absl::StrCat("path \"", p.substr(0, 64),
                         "\": '*' is allowed only at the end (write \\* for a '*')"));
      r.prefix = true;
    } else {
      r.text += c;
    }
  }
  return r;
}

}  // namespace faasguard
