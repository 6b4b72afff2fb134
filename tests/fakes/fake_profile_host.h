// A ProfileHost for the cluster sync's tests: profiles in a map. An import merges or replaces
// the items and changes a mode only when it asks (as the engine's PutProfile); SetMode sets it.
// Every mode change is remembered with its source. Thread-safe: the sync has two threads.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/abi_codec.h"
#include "core/profile_host.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard::fakes {

class FakeProfileHost : public ProfileHost {
 public:
  std::vector<v1::FunctionId> FunctionIds() override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<v1::FunctionId> out;
    for (const auto& [key, p] : profiles_) out.push_back(p.function());
    return out;
  }

  absl::StatusOr<v1::Profile> GetProfile(const v1::FunctionId& id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = profiles_.find(FunctionKey(id));
    if (it == profiles_.end()) return absl::NotFoundError(absl::StrCat("no ", FunctionKey(id)));
    return it->second;
  }

  absl::StatusOr<v1::FunctionSummary> GetFunction(const v1::FunctionId& id) override {
    auto p = GetProfile(id);
    if (!p.ok()) return p.status();
    v1::FunctionSummary s;
    *s.mutable_function() = p->function();
    s.set_mode(p->mode());
    s.set_syscalls(static_cast<uint32_t>(CountItems(*p).syscalls));
    return s;
  }

  absl::StatusOr<v1::PutProfileResponse> PutProfile(const v1::PutProfileRequest& req,
                                                    ModeSource source) override {
    std::lock_guard<std::mutex> l(mu_);
    const std::string key = FunctionKey(req.profile().function());
    auto it = profiles_.find(key);
    v1::PutProfileResponse r;
    r.set_created(it == profiles_.end());
    ModeSettings before = it == profiles_.end() ? ModeSettings{} : ModeSettings::Of(it->second);
    ModeSettings after = before;
    if (req.take_mode()) {
      after = ModeSettings::Of(req.profile());
      if (req.profile().mode() == v1::MODE_UNSPECIFIED) after.mode = before.mode;
    }
    if (req.mode() != v1::MODE_UNSPECIFIED) after.mode = req.mode();
    v1::Profile next = req.profile();
    if (it != profiles_.end() && req.merge()) {
      next = it->second;
      MergeProfile(next, req.profile());
    }
    after.ApplyTo(next);
    *next.mutable_updated() = ToProtoTime(absl::Now());
    r.set_previous_mode(it == profiles_.end() ? v1::MODE_UNSPECIFIED : before.mode);
    if (it != profiles_.end() && !(after == before)) mode_changes_.emplace_back(key, source);
    profiles_[key] = std::move(next);
    r.set_mode(after.mode);
    return r;
  }

  absl::StatusOr<v1::SetModeResponse> SetMode(const v1::FunctionId& id, const ModeRequest& req,
                                              ModeSource source) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = profiles_.find(FunctionKey(id));
    if (it == profiles_.end()) return absl::NotFoundError(absl::StrCat("no ", FunctionKey(id)));
    v1::SetModeResponse r;
    r.set_previous(it->second.mode());
    it->second.set_mode(req.mode);
    if (req.syscall_action) it->second.set_syscall_action(*req.syscall_action);
    if (req.when_agent_absent) it->second.set_when_agent_absent(*req.when_agent_absent);
    *it->second.mutable_updated() = ToProtoTime(absl::Now());
    mode_changes_.emplace_back(FunctionKey(id), source);
    r.set_mode(req.mode);
    return r;
  }

  // --- Test helpers ----------------------------------------------------------------------

  // A profile as this node learned it (its mode included), replacing or merged into the one
  // it has.
  void Put(const v1::Profile& p, bool merge = false) {
    v1::PutProfileRequest req;
    *req.mutable_profile() = p;
    req.set_merge(merge);
    req.set_take_mode(true);
    size_t changes = mode_changes().size();
    (void)PutProfile(req, ModeSource::kImport);
    std::lock_guard<std::mutex> l(mu_);
    mode_changes_.resize(changes);  // what the node learned is no mode change of interest
  }
  // (function key, source) of every mode change, in order.
  std::vector<std::pair<std::string, ModeSource>> mode_changes() {
    std::lock_guard<std::mutex> l(mu_);
    return mode_changes_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, v1::Profile> profiles_;
  std::vector<std::pair<std::string, ModeSource>> mode_changes_;
};

}  // namespace faasguard::fakes
