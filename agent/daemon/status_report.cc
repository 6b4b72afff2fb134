#include "daemon/status_report.h"

#include <sys/utsname.h>

#include "absl/strings/str_cat.h"

#include "core/abi_codec.h"
#include "profile/profile.h"

namespace faasguard {

KernelStatInfo KernelStat(int stat) {
  switch (stat) {
    case FG_STAT_RB_RESERVE_FAIL:
      return {"kernel_events_lost",
              "Ring-buffer records the kernel could not deliver (learning is not lost)."};
    case FG_STAT_MAP_FULL:
      return {"kernel_map_full", "Items a full kernel set could not take (not learned)."};
    case FG_STAT_READ_FAIL:
      return {"kernel_read_failures", "Kernel memory reads (bpf_probe_read_*) that failed."};
    case FG_STAT_PATH_TRUNC:
      return {"kernel_paths_truncated", "Paths kept truncated (too long or too deep)."};
    case FG_STAT_SYS_RANGE:
      return {"kernel_syscalls_out_of_range",
              "Syscalls numbered outside the table (counted, not recorded)."};
    case FG_STAT_EVENTS:
      return {"kernel_events_submitted", "Records the kernel submitted to the ring buffer."};
    case FG_STAT_HELPER_ERR:
      return {"kernel_helper_errors", "BPF helper calls that failed (other than reads)."};
    case FG_STAT_MARK_FAIL:
      return {"kernel_task_mark_failures",
              "Tasks of tracked cgroups the kernel could not mark (the agent marks them again)."};
    case FG_STAT_SECCOMP_KILL:
      return {"kernel_seccomp_kills",
              "Processes of functions their seccomp filter killed (reported as violations)."};
    case FG_STAT_FILE_MISS:
      return {"kernel_file_misses",
              "Opened files the kernel could not find or read (not learned; refused in enforce)."};
    case FG_STAT_SCRATCH_BUSY:
      return {"kernel_scratch_busy",
              "Unix socket checks that found no free scratch space (learn: skipped; enforce: "
              "refused)."};
    case FG_STAT_DNS_UNPARSED:
      return {"kernel_dns_unparsed",
              "Packets of functions to or from port 53 that were not DNS the kernel could read "
              "(dropped in enforce mode when leaving)."};
    case FG_STAT_DNS_UNMATCHED:
      return {"kernel_dns_unmatched",
              "DNS answers that answered no query of the receiving function (nothing bound)."};
    case FG_STAT_DNS_BIND_FULL:
      return {"kernel_dns_bindings_full",
              "Answered addresses not bound because the DNS binding map was full (raise "
              "--max-dns-bindings)."};
    case FG_STAT_DNS_BUSY:
      return {"kernel_dns_busy",
              "DNS packets not parsed because every parser slot of the CPU was in use."};
    default:
      return {"kernel_unknown", "A kernel counter this agent does not know."};
  }
}

v1::GetStatusResponse BuildStatus(const StatusSources& s) {
  v1::GetStatusResponse r;
  r.set_version(kVersion);
  utsname u{};
  if (uname(&u) == 0) {
    r.set_node(u.nodename);
    r.set_kernel(std::string(u.sysname) + " " + u.release + " " + u.machine);
  }
  r.set_cgroup2_mount(s.cgroup2_mount);
  r.set_state_dir(s.state_dir);
  r.set_auto_promote(s.auto_promote == v1::MODE_UNSPECIFIED ? "" : ModeWord(s.auto_promote));
  r.set_metrics_addr(s.metrics_addr);
  r.set_fail_open_after_seconds(s.fail_open_after_seconds);
  r.set_seccomp_root(s.seccomp_root);
  if (s.syscall_hook) r.set_syscall_hook_attached(s.syscall_hook());
  if (s.webhook_addr) r.set_webhook_addr(s.webhook_addr());
  if (s.engine)
    r.set_cgroups_needing_syscall_hook(
        static_cast<uint32_t>(s.engine->CgroupsNeedingSyscallHook()));
  if (s.kubernetes) *r.mutable_kubernetes() = s.kubernetes();
  if (s.cluster_sync) *r.mutable_cluster_sync() = s.cluster_sync();
  *r.mutable_started() = ToProtoTime(s.started);
  if (s.features) {
    for (const auto& f : s.features->list) {
      auto* kf = r.add_features();
      kf->set_name(f.name);
      kf->set_available(f.available);
      kf->set_detail(f.detail);
    }
  }
  if (s.programs) {
    auto* lsm = r.add_features();
    lsm->set_name("exec_enforcement");
    lsm->set_available(true);
    lsm->set_detail(s.programs->lsm_active()
                        ? "BPF-LSM bprm_creds_from_file (EPERM), SIGKILL at exec as a backstop"
                        : "SIGKILL from the exec tracepoint (BPF-LSM not available)");
    auto* files = r.add_features();
    files->set_name("file_enforcement");
    files->set_available(true);
    files->set_detail(absl::StrCat(
        s.programs->file_lsm_active()
            ? "BPF-LSM file_open (EPERM), SIGKILL at sys_exit as a backstop"
            : "SIGKILL at sys_exit, decided on the file opened (BPF-LSM not available)",
        s.programs->file_hook_attached() ? "; file hooks attached"
                                         : "; file hooks detached (no function profiles files)"));
    auto* hot = r.add_features();
    hot->set_name("syscall_hot_path");
    hot->set_available(true);
    hot->set_detail(s.programs->task_mark_active()
                        ? "task mark (one load for an untracked task), cgroup local storage"
                    : s.programs->cgroup_storage_active()
                        ? "cgroup local storage (three loads for an untracked task)"
                        : "fg_tracked hash lookup by cgroup id");
    for (const auto& p : s.programs->attached()) {
      auto* ap = r.add_programs();
      ap->set_name(p.name);
      ap->set_type(p.type);
      ap->set_target(p.target);
      ap->set_link(p.link);
    }
    r.set_pin_dir(s.programs->pin_dir());
    r.set_adopted(s.programs->adopted());
  }
  auto add = [&](const std::string& name, uint64_t v) {
    auto* c = r.add_counters();
    c->set_name(name);
    c->set_value(v);
  };
  if (s.kernel) {
    if (auto stats = s.kernel->ReadStats(); stats.ok())
      for (size_t i = 0; i < stats->size(); ++i)
        add(KernelStat(static_cast<int>(i)).name, (*stats)[i]);
  }
  if (s.reader) {
    add("agent_events_received", s.reader->received());
    add("agent_events_malformed", s.reader->malformed());
  }
  if (s.engine) {
    EngineCounters c = s.engine->counters();
    add("agent_events_syscall", c.events_syscall);
    add("agent_events_exec", c.events_exec);
    add("agent_events_net", c.events_net);
    add("agent_events_orphan", c.events_orphan);
    add("agent_new_behaviours", c.new_items);
    add("agent_unresolved_paths", c.unresolved_paths);
    add("agent_profile_save_errors", c.save_errors);
    add("agent_kernel_syncs", c.syncs);
    add("agent_events_violation", c.events_violation);
    add("agent_policy_writes", c.policy_writes);
    add("agent_policy_errors", c.policy_errors);
    r.set_functions(static_cast<uint32_t>(s.engine->function_count()));
    r.set_tracked_cgroups(static_cast<uint32_t>(s.engine->tracked_cgroups()));
    r.set_default_mode(s.engine->default_mode());
    r.set_stable_functions(static_cast<uint32_t>(s.engine->stable_functions()));
    r.set_stable_window_seconds(
        static_cast<uint32_t>(absl::ToInt64Seconds(s.engine->options().stable_window)));
    r.set_stable_min_observations(s.engine->options().stable_min_observations);
  }
  return r;
}

}  // namespace faasguard
