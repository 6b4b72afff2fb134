// Function identity: validation and the "namespace/name" form used on the command line.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

inline constexpr absl::string_view kDefaultNamespace = "default";
inline constexpr absl::string_view kDefaultContainer = "main";
inline constexpr absl::string_view kPlatformLocal = "local";
// The pod-wide section of a Kubernetes function: what its containers did before the agent
// could name them (see docs/architecture.md, "No gap at cold start"). Its allow-list is the
// union of every section's.
inline constexpr absl::string_view kPodSection = "*";

// Kubernetes rules: a namespace is a DNS-1123 label (<= 63: [a-z0-9]([-a-z0-9]*[a-z0-9])?);
// a function name is a DNS-1123 subdomain (<= 253, dots allowed); a container name is a
// label. `what` names the field in the error message.
absl::Status ValidateLabel(absl::string_view value, absl::string_view what);
absl::Status ValidateSubdomain(absl::string_view value, absl::string_view what);

// A container name (a label), or the pod-wide section "*".
absl::Status ValidateContainerName(absl::string_view name);

// Checks namespace, name and platform of a FunctionId.
absl::Status ValidateFunctionId(const v1::FunctionId& id);

// "ns/name" (or "name", namespace "default") -> FunctionId with platform "local".
absl::StatusOr<v1::FunctionId> ParseFunctionRef(absl::string_view ref);

// "ns/name".
std::string FunctionRef(const v1::FunctionId& id);

// A map key that ignores the platform: "ns/name".
inline std::string FunctionKey(const v1::FunctionId& id) { return FunctionRef(id); }

}  // namespace faasguard
