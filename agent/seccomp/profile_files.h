// The OCI seccomp profiles the agent writes for enforced function containers, under the
// kubelet's seccomp root (--seccomp-root, /var/lib/kubelet/seccomp by default):
// <root>/faasguard/<namespace>/<name>/<container>.json, the path the admission webhook names
// as a Localhost profile. Written atomically; a profile change reaches new containers.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// Where a function container's profile lives below the seccomp root:
// "faasguard/<namespace>/<name>/<container>.json" (the webhook's localhostProfile).
std::string SeccompProfileRelPath(const v1::FunctionId& id, const std::string& container);

class SeccompProfileFiles {
 public:
  explicit SeccompProfileFiles(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // The file of a function container.
  std::string PathOf(const v1::FunctionId& id, const std::string& container) const;
  // Write (replace) it; unchanged content is not rewritten. Returns whether the file changed.
  absl::StatusOr<bool> Write(const v1::FunctionId& id, const std::string& container,
                             const std::string& json);
  // Remove every file of a function (it left enforce mode, or was deleted). Missing: fine.
  absl::Status RemoveFunction(const v1::FunctionId& id);

 private:
  std::string root_;
};

}  // namespace faasguard
