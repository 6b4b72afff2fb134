// A CgroupRegistry for the node tracker's tests: it records what is registered, moves a cgroup
// from the pod-wide section to its container's as the engine does, and refuses what the
// engine refuses (another owner). Thread-safe: the tracker calls it from its own thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/cgroup_registry.h"
#include "profile/names.h"

namespace faasguard::fakes {

class FakeCgroupRegistry : public CgroupRegistry {
 public:
  struct Registration {
    v1::FunctionId function;
    std::string container;
    std::string path;
    RegisterOptions opts;
    bool inherited = false;  // adopted from its pod, not registered
  };

  absl::StatusOr<v1::RegisterCgroupResponse> RegisterCgroup(const v1::FunctionId& id,
                                                            const std::string& container,
                                                            uint64_t cgroup_id,
                                                            const std::string& path,
                                                            RegisterOptions opts) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!register_error.ok()) return register_error;
    specs_[cgroup_id].push_back(opts.seccomp_spec);
    const std::string c = opts.pod_level ? std::string(kPodSection) : container;
    auto it = cgroups_.find(cgroup_id);
    if (it != cgroups_.end()) {
      const Registration& r = it->second;
      const bool same_fn = FunctionKey(r.function) == FunctionKey(id);
      if (!(same_fn && (r.container == c || (r.container == kPodSection && !opts.pod_level))))
        return absl::FailedPreconditionError(
            absl::StrCat("cgroup ", path, " is already registered as ", FunctionKey(r.function)));
    }
    Registration& r = cgroups_[cgroup_id];
    RegisterOptions kept = it != cgroups_.end() ? r.opts : opts;  // a move keeps its flags
    r = Registration{id, c, path, kept, false};
    v1::RegisterCgroupResponse resp;
    resp.set_cgroup_id(cgroup_id);
    return resp;
  }

  absl::Status UnregisterCgroup(uint64_t cgroup_id, absl::string_view reason) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!cgroups_.erase(cgroup_id)) return absl::NotFoundError("not registered");
    unregistered_.emplace_back(cgroup_id, std::string(reason));
    return absl::OkStatus();
  }

  std::optional<std::pair<v1::FunctionId, std::string>> CgroupOwner(uint64_t cgroup_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cgroups_.find(cgroup_id);
    if (it == cgroups_.end()) return std::nullopt;
    return std::make_pair(it->second.function, it->second.container);
  }

  void AdoptInheritedCgroup(uint64_t cgroup_id, uint64_t parent_id,
                            const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    auto parent = cgroups_.find(parent_id);
    if (parent == cgroups_.end() || cgroups_.count(cgroup_id)) return;
    Registration r = parent->second;
    r.path = path;
    r.opts = {};
    r.inherited = true;
    cgroups_[cgroup_id] = r;
  }

  // --- Test helpers ----------------------------------------------------------------------

  std::optional<Registration> Get(uint64_t cgroup_id) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cgroups_.find(cgroup_id);
    if (it == cgroups_.end()) return std::nullopt;
    return it->second;
  }
  bool Has(uint64_t cgroup_id) { return Get(cgroup_id).has_value(); }
  size_t size() {
    std::lock_guard<std::mutex> l(mu_);
    return cgroups_.size();
  }
  // (cgroup id, reason) of every UnregisterCgroup that found its cgroup, in order.
  std::vector<std::pair<uint64_t, std::string>> unregistered() {
    std::lock_guard<std::mutex> l(mu_);
    return unregistered_;
  }

  // The seccomp_spec of every RegisterCgroup call for `cgroup_id`, in order.
  std::vector<std::string> seccomp_specs(uint64_t cgroup_id) {
    std::lock_guard<std::mutex> l(mu_);
    return specs_[cgroup_id];
  }

  absl::Status register_error;  // returned by RegisterCgroup when not OK

 private:
  std::mutex mu_;
  std::map<uint64_t, Registration> cgroups_;
  std::vector<std::pair<uint64_t, std::string>> unregistered_;
  std::map<uint64_t, std::vector<std::string>> specs_;
};

}  // namespace faasguard::fakes
