// Which function (and which container section) a pod's container is, from the pod's labels.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

inline constexpr char kKnativeService[] = "serving.knative.dev/service";
inline constexpr char kKnativeRevision[] = "serving.knative.dev/revision";
inline constexpr char kKnativeConfiguration[] = "serving.knative.dev/configuration";
inline constexpr char kOpenFaasFunction[] = "faas_function";
inline constexpr char kDefaultFunctionLabel[] = "faasguard.dev/function";

struct PodFacts {
  std::string uid;
  std::string namespace_;
  std::string name;
  std::map<std::string, std::string> labels;
};

// Knative (serving.knative.dev/service, else /configuration), OpenFaaS (faas_function), or
// `custom_label`. nullopt: not a function (the pod is not tracked). An error: the pod claims
// to be a function but a label value is not a valid name.
absl::StatusOr<std::optional<v1::FunctionId>> FunctionOfPod(const PodFacts& pod,
                                                            const std::string& custom_label);

}  // namespace faasguard
