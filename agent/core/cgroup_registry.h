// What the node tracker (k8s/tracker.h) needs of the engine: cgroups registered as replicas of
// function containers, and their owners. Engine implements it; tests/fakes has a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "faasguard/v1/agent.pb.h"

namespace faasguard {

// How a cgroup is registered.
struct RegisterOptions {
  bool pod_level = false;  // a pod's own cgroup: the kernel passes its slot to new children
  bool pending = false;    // a container not started yet: unchecked until its first exec
  // Its tasks run under the function's seccomp filter of this revision (GetSeccompPolicy);
  // when it is the revision in force, sys_enter need not check them.
  std::string seccomp_revision;
  // Or: the filter its container runtime gave it (the OCI LinuxSeccomp JSON of its runtime
  // spec, read through the CRI); when it is the policy in force, the same.
  std::string seccomp_spec;
};

class CgroupRegistry {
 public:
  virtual ~CgroupRegistry() = default;

  // Track cgroup `cgroup_id` (directory `path`) as a replica of (function, container); with
  // `opts.pod_level` under the function's pod-wide section. A cgroup tracked under the pod-wide
  // section moves to its container's. `id` and `container` are valid names (callers check).
  virtual absl::StatusOr<v1::RegisterCgroupResponse> RegisterCgroup(const v1::FunctionId& id,
                                                                    const std::string& container,
                                                                    uint64_t cgroup_id,
                                                                    const std::string& path,
                                                                    RegisterOptions opts) = 0;
  // NOT_FOUND when it is not registered.
  virtual absl::Status UnregisterCgroup(uint64_t cgroup_id, absl::string_view reason) = 0;
  // The function and container a tracked cgroup belongs to.
  virtual std::optional<std::pair<v1::FunctionId, std::string>> CgroupOwner(uint64_t cgroup_id) = 0;
  // A cgroup the kernel added under a tracked pod-level cgroup (FG_CG_F_INHERITED).
  virtual void AdoptInheritedCgroup(uint64_t cgroup_id, uint64_t parent_id,
                                    const std::string& path) = 0;
};

}  // namespace faasguard
