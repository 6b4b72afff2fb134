// The agent's view of the kernel-side state: an interface (the engine is unit-tested with a
// fake, tests/fakes/fake_kernel_maps.h) and its real implementation over the BPF map fds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "abi/fg_abi.h"
// clang-format off
#include "abi/fg_dns.h"
// clang-format on
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace faasguard {

struct PathText {
  std::string path;
  uint32_t flags = 0;
};

// A compiled allow-list for one slot (see core/policy.h). Keys are complete but for fn_id and
// gen, which WritePolicy fills in.
struct AllowList {
  fg_sys_allow sys{};
  std::vector<fg_exec_rule_key> exec;
  std::vector<fg_net_rule_key> net;
  uint8_t cfg_flags = 0;  // FG_CFG_F_*
  // Files (abi/fg_file.h): whether and how opens are checked, and the rules with the access
  // each allows.
  fg_file_pol file_pol{};
  std::vector<std::pair<fg_file_rule_key, uint32_t>> files;
  std::vector<fg_dns_rule_key> dns;  // names (fg_dns_allow)
  std::vector<fg_sock_key> sock;     // Unix peers, socket kinds and options, inbound (fg_sock.h)
  size_t rules() const {
    return exec.size() + net.size() + files.size() + dns.size() + sock.size() + 1;
  }
};

// How full a kernel map is.
struct MapUsage {
  std::string name;
  uint64_t entries = 0;
  uint64_t capacity = 0;
};

class KernelMaps {
 public:
  virtual ~KernelMaps() = default;

  // flags: FG_CG_F_* (FG_CG_F_POD for a pod-level cgroup, FG_CG_F_PENDING for a container
  // not started yet).
  virtual absl::Status TrackCgroup(uint64_t cgroup_id, uint32_t fn_id, uint32_t flags = 0) = 0;
  // Move a tracked cgroup to another slot, keeping its flags (FG_CG_F_PENDING may be cleared
  // by the kernel at any time). NOT_FOUND when it is not tracked.
  virtual absl::Status RetargetCgroup(uint64_t cgroup_id, uint32_t fn_id) = 0;
  virtual absl::Status UntrackCgroup(uint64_t cgroup_id) = 0;
  // Set and clear flags (FG_CG_F_*) of a tracked cgroup, leaving the others (the kernel may
  // clear FG_CG_F_PENDING at any time). NOT_FOUND when it is not tracked.
  virtual absl::Status SetCgroupFlags(uint64_t cgroup_id, uint32_t set, uint32_t clear) = 0;
  virtual absl::Status SetFnConfig(uint32_t fn_id, const fg_fn_cfg& cfg) = 0;
  // Clear a function slot: its state, its config, every set entry and allow-list keyed by it.
  virtual absl::Status ResetFn(uint32_t fn_id) = 0;
  // Write an allow-list as generation `gen` (0/1) of a slot. All or nothing: on failure what
  // was written is removed again.
  virtual absl::Status WritePolicy(uint32_t fn_id, uint8_t gen, const AllowList& a) = 0;
  // Remove generation `gen` of a slot's allow-list.
  virtual absl::Status ClearPolicy(uint32_t fn_id, uint8_t gen) = 0;

  virtual absl::StatusOr<fg_fn_state> ReadFnState(uint32_t fn_id) = 0;
  // A slot's configuration as the kernel has it (an array: zeroed until written).
  virtual absl::StatusOr<fg_fn_cfg> ReadFnConfig(uint32_t fn_id) = 0;
  // Every tracked cgroup (after an agent restart: what the kernel kept while none ran).
  virtual absl::Status ForEachTracked(
      const std::function<void(uint64_t cgroup_id, const fg_cgroup_val&)>& fn) = 0;
  virtual absl::Status ForEachExec(
      const std::function<void(const fg_exec_key&, const fg_seen_val&)>& fn) = 0;
  virtual absl::Status ForEachNet(
      const std::function<void(const fg_net_key&, const fg_seen_val&)>& fn) = 0;
  virtual absl::Status ForEachFile(
      const std::function<void(const fg_file_key&, const fg_seen_val&)>& fn) = 0;
  virtual std::optional<PathText> LookupPath(uint64_t hash) = 0;
  // The learned socket items (fg_socks). A kernel without them has none.
  virtual absl::Status ForEachSock(
      const std::function<void(const fg_sock_key&, const fg_seen_val&)>& /*fn*/) {
    return absl::OkStatus();
  }

  // Egress by DNS name (bpf/dns.bpf.c): the queries (and NXDOMAIN answers) and the named egress
  // the kernel learned, the text of a name hash (fg_dns_names; the kernel keeps the most recent
  // ones), and the removal of bindings whose every name expired before `before_ns`
  // (CLOCK_MONOTONIC): returns how many went.
  virtual absl::Status ForEachDnsQuery(
      const std::function<void(const fg_dns_query_key&, const fg_seen_val&)>& fn) = 0;
  virtual absl::Status ForEachDnsConn(
      const std::function<void(const fg_dns_conn_key&, const fg_dns_conn_val&)>& fn) = 0;
  virtual std::optional<std::string> LookupDnsName(uint64_t hash) = 0;
  virtual absl::StatusOr<size_t> ExpireDnsBindings(uint64_t before_ns) = 0;

  // Sum over CPUs of each enum fg_stat counter.
  virtual absl::StatusOr<std::vector<uint64_t>> ReadStats() = 0;
  // Entries currently in the tracked-cgroup map.
  virtual size_t TrackedCount() = 0;
  // Fill level of every hash-like map (arrays are always full and left out).
  virtual std::vector<MapUsage> Usage() = 0;
};

// Run fg_mark_tasks (a task iterator, `prog_fd`) once over every task on the node: each task
// in a cgroup with an fg_cg_local entry gets its fg_task_mark. Returns the thread ids marked.
absl::StatusOr<std::vector<uint32_t>> MarkTrackedTasks(int prog_fd);

// KernelMaps over the fds of a loaded fg_bpf object.
class BpfKernelMaps : public KernelMaps {
 public:
  struct Fds {
    int tracked, fn_cfg, fn_state, execs, net, paths, stats, sys_allow, exec_allow, net_allow;
    // fg_cg_local, sys_enter's copy of fg_tracked as cgroup local storage (-1: the kernel has
    // none), and an open directory of the cgroup v2 mount (to open cgroups by id).
    int cg_local = -1;
    int cgroup_root = -1;
    // fg_cpu_cache, sys_enter's per-CPU decision cache (-1: none, e.g. without fg_cg_local).
    int cpu_cache = -1;
    // fg_mark_tasks, the task iterator that marks the tasks of tracked cgroups (-1: the kernel
    // has no task mark, fg_task_mark_on).
    int mark_iter = -1;
    // Files opened (files.bpf.c): the learned set, the rules, the per-generation policy.
    int files = -1, file_allow = -1, file_pol = -1;
    // Egress by DNS name: fg_dns_queries, fg_dns_conns, fg_dns_names, fg_dns_binds,
    // fg_dns_allow, fg_dns_pending (-1: none, as in tests that load no DNS maps).
    int dns_queries = -1, dns_conns = -1, dns_names = -1, dns_binds = -1, dns_allow = -1,
        dns_pending = -1;
    // fg_socks and fg_sock_allow: socket items learned and allowed (fg_sock.h).
    int socks = -1;
    int sock_allow = -1;
  };
  explicit BpfKernelMaps(Fds fds);

  absl::Status TrackCgroup(uint64_t cgroup_id, uint32_t fn_id, uint32_t flags) override;
  absl::Status RetargetCgroup(uint64_t cgroup_id, uint32_t fn_id) override;
  absl::Status SetCgroupFlags(uint64_t cgroup_id, uint32_t set, uint32_t clear) override;
  absl::Status UntrackCgroup(uint64_t cgroup_id) override;
  absl::Status SetFnConfig(uint32_t fn_id, const fg_fn_cfg& cfg) override;
  absl::Status ResetFn(uint32_t fn_id) override;
  absl::Status WritePolicy(uint32_t fn_id, uint8_t gen, const AllowList& a) override;
  absl::Status ClearPolicy(uint32_t fn_id, uint8_t gen) override;
  absl::StatusOr<fg_fn_state> ReadFnState(uint32_t fn_id) override;
  absl::StatusOr<fg_fn_cfg> ReadFnConfig(uint32_t fn_id) override;
  absl::Status ForEachTracked(
      const std::function<void(uint64_t, const fg_cgroup_val&)>& fn) override;
  absl::Status ForEachExec(
      const std::function<void(const fg_exec_key&, const fg_seen_val&)>& fn) override;
  absl::Status ForEachNet(
      const std::function<void(const fg_net_key&, const fg_seen_val&)>& fn) override;
  absl::Status ForEachFile(
      const std::function<void(const fg_file_key&, const fg_seen_val&)>& fn) override;
  std::optional<PathText> LookupPath(uint64_t hash) override;
  absl::Status ForEachDnsQuery(
      const std::function<void(const fg_dns_query_key&, const fg_seen_val&)>& fn) override;
  absl::Status ForEachDnsConn(
      const std::function<void(const fg_dns_conn_key&, const fg_dns_conn_val&)>& fn) override;
  std::optional<std::string> LookupDnsName(uint64_t hash) override;
  absl::StatusOr<size_t> ExpireDnsBindings(uint64_t before_ns) override;
  absl::Status ForEachSock(
      const std::function<void(const fg_sock_key&, const fg_seen_val&)>& fn) override;
  absl::StatusOr<std::vector<uint64_t>> ReadStats() override;
  size_t TrackedCount() override;
  std::vector<MapUsage> Usage() override;

 private:
  // Write fg_tracked's entry of a cgroup (or its absence) to fg_cg_local; after an entry, mark
  // the tasks already in the cgroup (fg_task_mark, the task iterator).
  absl::Status Mirror(uint64_t cgroup_id);
  // Read, change and write a cgroup's fg_tracked entry, then Mirror it (a PENDING clear the
  // kernel made meanwhile is retried over).
  absl::Status UpdateTracked(uint64_t cgroup_id, const std::function<void(fg_cgroup_val&)>& change);
  // Make every CPU's fg_cpu_cache entry stale (one per-CPU write of a new generation): after
  // any change of what sys_enter decides with (tracking, config, learned or allowed sets).
  absl::Status InvalidateCpuCaches();
  // A slot's DNS state: its learned sets, bindings and pending queries (ResetFn).
  absl::Status ResetDns(uint32_t fn_id);
  Fds fds_;
  uint64_t cache_gen_ = 0;
  int ncpus_ = 0;
};

}  // namespace faasguard
