// The mutating admission webhook's decision: a function pod's containers get the seccomp
// profile the node agents write from the function's profile (a Localhost profile under the
// kubelet's seccomp root), so that enforce mode refuses syscalls before they run. Pure: the
// AdmissionReview JSON in, the AdmissionReview response JSON out.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "faasguard/v1/profile.pb.h"
#include "seccomp/profile_files.h"  // SeccompProfileRelPath

namespace faasguard {

// The Localhost profile (relative to the kubelet's seccomp root) for one container of a
// function, or nullopt to leave the container as it is (the function is not enforced, or the
// container has no learned section).
using SeccompProfileFor =
    std::function<std::optional<std::string>(const v1::FunctionId&, const std::string& container)>;

struct AdmissionOptions {
  std::string custom_label = "faasguard.dev/function";  // as the node tracker's --function-label
};

// Answers an AdmissionReview (admission.k8s.io/v1) for a Pod CREATE: always allowed; a JSON
// patch sets securityContext.seccompProfile {type: Localhost, localhostProfile} on each
// container that `profile_for` names, unless the container (or the pod) already asks for a
// Localhost or Unconfined profile, which is the user's choice. The decision is in the audit
// annotation "seccomp". A request that is not an
// AdmissionReview is an InvalidArgument error.
absl::StatusOr<std::string> ReviewPodAdmission(const std::string& review_json,
                                               const SeccompProfileFor& profile_for,
                                               const AdmissionOptions& options = {});

}  // namespace faasguard
