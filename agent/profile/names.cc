#include "profile/names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace faasguard {
namespace {

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

absl::Status Bad(absl::string_view what, absl::string_view value, absl::string_view why) {
  std::string shown(value.substr(0, 80));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " \"", shown, "\": ", why));
}

}  // namespace

absl::Status ValidateLabel(absl::string_view v, absl::string_view what) {
  if (v.empty()) return Bad(what, v, "must not be empty");
  if (v.size() > 63) return Bad(what, v, "longer than 63 characters");
  for (char c : v)
    if (!IsAlnum(c) && c != '-')
      return Bad(what, v, "only lowercase letters, digits and '-' are allowed");
  if (!IsAlnum(v.front()) || !IsAlnum(v.back()))
    return Bad(what, v, "must start and end with a letter or digit");
  return absl::OkStatus();
}

absl::Status ValidateSubdomain(absl::string_view v, absl::string_view what) {
  if (v.empty()) return Bad(what, v, "must not be empty");
  if (v.size() > 253) return Bad(what, v, "longer than 253 characters");
  for (absl::string_view part : absl::StrSplit(v, '.')) {
    if (part.empty()) return Bad(what, v, "empty part between dots");
    for (char c : part)
      if (!IsAlnum(c) && c != '-')
        return Bad(what, v, "only lowercase letters, digits, '-' and '.' are allowed");
    if (!IsAlnum(part.front()) || !IsAlnum(part.back()))
      return Bad(what, v, "each part must start and end with a letter or digit");
  }
  return absl::OkStatus();
}

absl::Status ValidateContainerName(absl::string_view name) {
  if (name == kPodSection) return absl::OkStatus();
  return ValidateLabel(name, "container name");
}

absl::Status ValidateFunctionId(const v1::FunctionId& id) {
  FG_RETURN_IF_ERROR(ValidateLabel(id.namespace_(), "namespace"));
  FG_RETURN_IF_ERROR(ValidateSubdomain(id.name(), "function name"));
  if (!id.platform().empty()) {
    FG_RETURN_IF_ERROR(ValidateLabel(id.platform(), "platform"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::FunctionId> ParseFunctionRef(absl::string_view ref) {
  v1::FunctionId id;
  id.set_platform(std::string(kPlatformLocal));
  auto slash = ref.find('/');
  if (slash == absl::string_view::npos) {
    id.set_namespace_(std::string(kDefaultNamespace));
    id.set_name(std::string(ref));
  } else {
    id.set_namespace_(std::string(ref.substr(0, slash)));
    id.set_name(std::string(ref.substr(slash + 1)));
  }
  FG_RETURN_IF_ERROR(ValidateFunctionId(id));
  return id;
}

std::string FunctionRef(const v1::FunctionId& id) {
  return absl::StrCat(id.namespace_(), "/", id.name());
}

}  // namespace faasguard
