#include "k8s/identity.h"

#include "absl/strings/str_cat.h"
#include "profile/names.h"

namespace faasguard {

absl::StatusOr<std::optional<v1::FunctionId>> FunctionOfPod(const PodFacts& pod,
                                                            const std::string& custom_label) {
  auto label = [&](const std::string& k) -> const std::string* {
    auto it = pod.labels.find(k);
    return it == pod.labels.end() ? nullptr : &it->second;
  };
  v1::FunctionId id;
  id.set_namespace_(pod.namespace_);
  if (const std::string* s = label(kKnativeService)) {
    id.set_platform("knative");
    id.set_name(*s);
  } else if (const std::string* c = label(kKnativeConfiguration)) {
    id.set_platform("knative");
    id.set_name(*c);
  } else if (const std::string* f = label(kOpenFaasFunction)) {
    id.set_platform("openfaas");
    id.set_name(*f);
  } else if (const std::string* u = custom_label.empty() ? nullptr : label(custom_label)) {
    id.set_platform("custom");
    id.set_name(*u);
  } else {
    return std::optional<v1::FunctionId>();
  }
  if (absl::Status s = ValidateFunctionId(id); !s.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("pod ", pod.namespace_, "/", pod.name, ": ", s.message()));
  return std::optional<v1::FunctionId>(id);
}

}  // namespace faasguard
