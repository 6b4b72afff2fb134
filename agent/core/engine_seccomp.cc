// Engine: the seccomp side of enforce mode. A container that runs under the filter of its
// function's current policy is refused before its syscalls run, and sys_enter passes it
// (FG_CG_F_SECCOMP); when no tracked cgroup needs sys_enter, the daemon detaches it.
#include "common/log.h"
#include "core/engine.h"
#include "profile/names.h"
#include "profile/profile.h"
#include "seccomp/seccomp_policy.h"

namespace faasguard {

namespace {

bool RuntimeStarted(const v1::Profile& p) {
  return p.function().platform() != kPlatformLocal && !p.function().platform().empty();
}

}  // namespace

absl::StatusOr<v1::SeccompPolicy> Engine::SeccompPolicyLocked(const Function& f,
                                                              const std::string& container) {
  if (!opts_.limits.files) {  // --files off: no read-only opens in the filter either
    v1::Profile p = f.profile;
    for (auto& c : *p.mutable_containers()) c.clear_files();
    return SeccompPolicyMessage(p, container, RuntimeStarted(p));
  }
  return SeccompPolicyMessage(f.profile, container, RuntimeStarted(f.profile));
}

std::optional<std::string> Engine::SeccompProfileForAdmission(const v1::FunctionId& id,
                                                              const std::string& container) {
  std::lock_guard<std::mutex> l(mu_);
  Function* f = FindFunctionLocked(id);
  if (!f || !opts_.seccomp_files || !FindContainer(f->profile, container)) return std::nullopt;
  auto m = SeccompPolicyLocked(*f, container);
  if (!m.ok() || !FilterEnforcesAlone(*m)) return std::nullopt;
  return SeccompProfileRelPath(f->profile.function(), container);
}

absl::StatusOr<v1::SeccompPolicy> Engine::GetSeccompPolicy(const v1::FunctionId& id,
                                                           const std::string& container) {
  std::lock_guard<std::mutex> l(mu_);
  Function* f = FindFunctionLocked(id);
  if (!f)
    return absl::NotFoundError(absl::StrCat("no function ", FunctionKey(id), " on this node"));
  return SeccompPolicyLocked(*f, container);
}

std::optional<std::string> Engine::FilterInForceLocked(const Function& f,
                                                       const std::string& container,
                                                       const RegisterOptions& opts,
                                                       const std::string& path) {
  if (opts.seccomp_revision.empty() && opts.seccomp_spec.empty()) return std::nullopt;
  auto m = SeccompPolicyLocked(f, container);
  bool same = false;
  std::string why;
  if (!m.ok()) {
    why = m.status().ToString();
  } else if (!FilterEnforcesAlone(*m)) {
    why = "the policy in force is not enforced by the filter alone";
  } else if (!opts.seccomp_revision.empty()) {
    same = m->revision() == opts.seccomp_revision;
  } else {
    auto s = SameSeccompFilter(opts.seccomp_spec, m->oci_profile());
    same = s.ok() && *s;
    if (!s.ok()) why = s.status().ToString();
  }
  if (same) return m->revision();
  LogWarn("cgroup runs under a seccomp filter that is not the policy in force: sys_enter checks it",
          {{"function", FunctionKey(f.profile.function())},
           {"cgroup", path},
           {"revision",
            opts.seccomp_revision.empty() ? "(from the runtime spec)" : opts.seccomp_revision},
           {"detail", why}});
  return std::nullopt;
}

void Engine::MarkFilteredLocked(Function& f, const std::string& container, uint64_t cgroup_id,
                                const std::string& revision) {
  if (!(slots_.FlagsOf(cgroup_id) & FG_CG_F_SECCOMP)) {
    if (absl::Status st = slots_.SetFlags(cgroup_id, FG_CG_F_SECCOMP, 0); !st.ok()) {
      LogWarn("cannot mark a cgroup as filtered: sys_enter checks it",
              {{"cgroup_id", cgroup_id}, {"error", st.ToString()}});
      return;
    }
  }
  cgroup_filter_[cgroup_id] = revision;
  auto sit = f.sections.find(container);
  if (sit != f.sections.end()) sit->second.seccomp_revision = revision;
}

void Engine::RefreshSeccompLocked(Function& f) {
  const std::string fkey = FunctionKey(f.profile.function());
  // The kubelet reads the files before any container of the function exists on this node:
  // one per container the profile knows.
  const bool files = opts_.seccomp_files != nullptr && RuntimeStarted(f.profile);
  bool any_file = false;
  if (files) {
    for (const auto& c : f.profile.containers()) {
      if (c.name() == kPodSection) continue;
      auto m = SeccompPolicyLocked(f, c.name());
      if (!m.ok() || !FilterEnforcesAlone(*m)) continue;
      any_file = true;
      auto w = opts_.seccomp_files->Write(f.profile.function(), c.name(), m->oci_profile());
      if (!w.ok())
        LogWarn("cannot write a seccomp profile",
                {{"function", fkey}, {"error", w.status().ToString()}});
      else if (*w)
        LogInfo("seccomp profile written",
                {{"function", fkey},
                 {"path", opts_.seccomp_files->PathOf(f.profile.function(), c.name())},
                 {"revision", m->revision()}});
    }
  }
  for (auto& [name, s] : f.sections) {
    s.seccomp_revision.clear();
    auto m = SeccompPolicyLocked(f, name);
    if (!m.ok())
      LogWarn("cannot compile a seccomp policy: sys_enter checks the function",
              {{"function", fkey}, {"container", name}, {"error", m.status().ToString()}});
    else if (FilterEnforcesAlone(*m))
      s.seccomp_revision = m->revision();
    // A cgroup whose filter is not the policy any more: sys_enter checks it again. One whose
    // filter is the policy again (back in enforce, unchanged): sys_enter passes it again.
    for (const auto& [cg, path] : slots_.Get(s.fn_id)->cgroups) {
      auto it = cgroup_filter_.find(cg);
      const bool same = it != cgroup_filter_.end() && !s.seccomp_revision.empty() &&
                        it->second == s.seccomp_revision;
      const bool flagged = slots_.FlagsOf(cg) & FG_CG_F_SECCOMP;
      if (same == flagged) continue;
      absl::Status st =
          same ? slots_.SetFlags(cg, FG_CG_F_SECCOMP, 0) : slots_.SetFlags(cg, 0, FG_CG_F_SECCOMP);
      LogInfo(same ? "cgroup runs the seccomp filter in force: sys_enter passes it"
                   : "cgroup runs an older seccomp filter: sys_enter checks it",
              {{"function", fkey}, {"cgroup", path}, {"ok", st.ok()}});
    }
  }
  if (files && !any_file) {
    if (absl::Status st = opts_.seccomp_files->RemoveFunction(f.profile.function()); !st.ok())
      LogWarn("cannot remove seccomp profiles", {{"function", fkey}, {"error", st.ToString()}});
  }
  UpdateSyscallHookLocked();
}

size_t Engine::CgroupsNeedingSyscallHook() {
  std::lock_guard<std::mutex> l(mu_);
  return slots_.CountWithout(kNoSyscallHook);
}

bool Engine::NeedsSyscallHook() {
  std::lock_guard<std::mutex> l(mu_);
  return slots_.CountWithout(kNoSyscallHook) > 0;
}

void Engine::SetSyscallHookSink(std::function<void(bool needed)> sink) {
  std::lock_guard<std::mutex> l(mu_);
  hook_sink_ = std::move(sink);
  hook_told_.reset();
  UpdateSyscallHookLocked();
}

void Engine::UpdateSyscallHookLocked(bool may_detach) {
  if (!hook_sink_) return;
  const bool needed = slots_.CountWithout(kNoSyscallHook) > 0;
  if (hook_told_ && *hook_told_ == needed) return;
  // Attach at once (before a command's first instruction); detach only at a sync, so that
  // cgroups coming and going (cold starts) do not attach and detach sys_enter each time.
  if (!needed && hook_told_ && !may_detach) return;
  hook_told_ = needed;
  hook_sink_(needed);
}

}  // namespace faasguard
