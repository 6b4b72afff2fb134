// The engine: functions and their profiles, the front of everything the agent keeps. It folds
// first-sighting events and the kernel-side sets (the source of truth) into profiles, switches
// modes, records violations, and persists all of it. Thread-safe: one mutex guards everything.
// The state it owns lives in parts with their own files and tests: the slot table (slots and
// tracked cgroups), the mode switch (the generation flip), the folding of kernel counts, the
// kernel-state record, the violation log; conversions to and from the kernel ABI are in
// abi_codec.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bpf/events.h"
#include "bpf/kernel_maps.h"
#include "core/abi_codec.h"
#include "core/cgroup_registry.h"
#include "core/kernel_fold.h"
#include "core/kernel_state.h"
#include "core/mode_switch.h"
#include "core/policy.h"
#include "core/profile_host.h"
#include "core/slot_table.h"
#include "core/sock_codec.h"
#include "core/violation_log.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"
#include "faasguard/v1/state.pb.h"
#include "profile/store.h"
#include "seccomp/profile_files.h"

namespace faasguard {

struct EngineCounters {
  uint64_t events_syscall = 0;
  uint64_t events_exec = 0;
  uint64_t events_net = 0;
  uint64_t events_orphan = 0;     // events for a slot no section owns
  uint64_t new_items = 0;         // behaviours learned
  uint64_t unresolved_paths = 0;  // exec pairs whose path text is unknown (counted once)
  uint64_t events_dns = 0;
  uint64_t unresolved_dns_names = 0;  // DNS name hashes whose text is unknown (counted once)
  uint64_t dns_bindings_expired = 0;  // bindings the agent removed after their names expired
  uint64_t save_errors = 0;
  uint64_t syncs = 0;
  uint64_t events_violation = 0;
  uint64_t policy_writes = 0;
  uint64_t policy_errors = 0;
};

// The engine is the front: one lock, every operation, the public API. The node tracker and the
// cluster sync see it through narrow interfaces (CgroupRegistry, ProfileHost).
class Engine final : public CgroupRegistry, public ProfileHost {
 public:
  struct Options {
    uint32_t max_slots = FG_MAX_FUNCS;
    uint64_t hash_seed = 0;  // the seed the BPF programs hash paths with
    PolicyLimits limits;
    size_t max_violations = 10000;           // kept for ListViolations / AcceptViolation
    v1::Mode default_mode = v1::MODE_LEARN;  // for functions seen for the first time
    absl::Duration stable_window = absl::Minutes(10);
    uint64_t stable_min_observations = 100;
    v1::Mode auto_promote = v1::MODE_UNSPECIFIED;  // monitor / enforce once stable; off
    // Where the slot table and folded counts are kept for the next agent (with pinned maps);
    // "" = nowhere (the kernel state goes with this agent).
    std::string kernel_state_path;
    // The violation log (<state-dir>/violations.log): records and ids outlive the agent.
    // "" = in memory only.
    std::string violation_log_path;
    // Where enforced functions' OCI seccomp profiles are written for the kubelet (functions
    // of a platform other than "local"); null: nowhere.
    SeccompProfileFiles* seccomp_files = nullptr;
    // A cgroup's CPU time so far (cpu.stat usage_usec), for the busy seconds of learning
    // functions; nullopt when it cannot be read. Default: reads <path>/cpu.stat.
    std::function<std::optional<absl::Duration>(const std::string& cgroup_path)> cpu_usage;
  };

  // What RestoreKernelState took over.
  struct RestoreReport {
    uint32_t slots = 0;            // (function, container) slots from the record
    uint32_t cgroups = 0;          // tracked cgroups the kernel kept
    uint32_t dropped = 0;          // kernel entries of no known slot, or of vanished cgroups
    uint32_t modes_reapplied = 0;  // functions whose kernel config disagreed with the profile
  };

  // Per-function numbers for the metrics endpoint.
  struct FunctionMetrics {
    std::string function;  // "ns/name"
    v1::Mode mode = v1::MODE_UNSPECIFIED;
    uint32_t replicas = 0;
    bool stable = false;
    std::map<std::string, uint64_t> new_behaviours;  // by kind, since the agent started
    std::map<std::string, uint64_t> violations;      // by kind, since the agent started
  };

  Engine(KernelMaps* kernel, ProfileStore* store, Options opts);

  // Read the stored profiles (corrupt files are quarantined by the store) and violations.
  void LoadProfiles();

  // After a restart that adopted the pinned maps (after LoadProfiles): take the slots back
  // from `state` (the earlier agent's record, empty if it had none) and the tracked cgroups
  // from the kernel, then fold what the kernel learned while no agent ran. `path_of` names a
  // tracked cgroup by id (nullopt: it is gone).
  RestoreReport RestoreKernelState(
      const v1::KernelState& state,
      const std::function<std::optional<std::string>(uint64_t)>& path_of);
  // The record RestoreKernelState reads (written by SaveDirty and when slots change).
  v1::KernelState KernelStateSnapshot();

  // Track cgroup `cgroup_id` (directory `path`) as a replica of (function, container). A
  // cgroup tracked under the function's pod-wide section (inherited in the kernel) moves to
  // its container's section.
  absl::StatusOr<v1::RegisterCgroupResponse> RegisterCgroup(const v1::FunctionId& id,
                                                            const std::string& container,
                                                            uint64_t cgroup_id,
                                                            const std::string& path,
                                                            RegisterOptions opts = {}) override;
  // A cgroup the kernel added under a pod-level cgroup (FG_CG_F_INHERITED): remember it.
  void AdoptInheritedCgroup(uint64_t cgroup_id, uint64_t parent_id,
                            const std::string& path) override;
  // The function and container a tracked cgroup belongs to.
  std::optional<std::pair<v1::FunctionId, std::string>> CgroupOwner(uint64_t cgroup_id) override;
  absl::Status UnregisterCgroup(uint64_t cgroup_id,
                                absl::string_view reason = "unregistered") override;
  // The cgroup id registered at `path`, if any (for clients that give only the path).
  std::optional<uint64_t> CgroupIdForPath(const std::string& path);

  std::vector<v1::FunctionSummary> ListFunctions();
  std::vector<v1::FunctionId> FunctionIds() override;
  absl::StatusOr<v1::FunctionSummary> GetFunction(const v1::FunctionId& id) override;
  absl::StatusOr<v1::Profile> GetProfile(const v1::FunctionId& id) override;

  // Import: replace (or merge into) a function's profile; creates the function if needed. The
  // mode, syscall action and when_agent_absent change only when the request asks (take_mode,
  // mode); a dry run changes nothing. The response has the diff and the modes before and after.
  absl::StatusOr<v1::PutProfileResponse> PutProfile(const v1::PutProfileRequest& req,
                                                    ModeSource source) override;
  // Forget a function (its file too). FAILED_PRECONDITION while replicas are tracked.
  absl::Status DeleteProfile(const v1::FunctionId& id);
  absl::StatusOr<v1::DiffProfileResponse> DiffProfile(const v1::FunctionId& id,
                                                      const v1::Profile& other);
  v1::Mode SetDefaultMode(v1::Mode mode);  // returns the previous one
  v1::Mode default_mode();
  const Options& options() const { return opts_; }  // (default_mode: use default_mode())

  // Lifecycle pass (maintenance thread): announce functions that became stable, and promote
  // them when auto-promotion is on.
  void CheckLifecycle();
  size_t stable_functions();

  // Every event (new behaviour, violation, lifecycle) goes to this sink, called with the
  // engine's lock held: it must not block and must not call back into the engine.
  void SetEventSink(std::function<void(v1::AgentEvent)> sink);
  std::vector<FunctionMetrics> Metrics();

  // Switch every container of a function to a mode, all or nothing (ModeSwitch). What the
  // request leaves unset (syscall action, when_agent_absent) stays. The change is logged and
  // is a lifecycle event naming `source`.
  absl::StatusOr<v1::SetModeResponse> SetMode(const v1::FunctionId& id, const ModeRequest& req,
                                              ModeSource source) override;
  // The same, asked through the API.
  absl::StatusOr<v1::SetModeResponse> SetMode(const v1::FunctionId& id, v1::Mode mode,
                                              std::optional<v1::SyscallAction> action,
                                              std::optional<v1::AgentAbsence> absent = {}) {
    return SetMode(id, ModeRequest{mode, action, absent, {}}, ModeSource::kApi);
  }
  // Newest `limit` violations (of one function when `id` is given), oldest first, with how many
  // there are and how many the kernel counted without a record.
  v1::ListViolationsResponse ListViolations(const v1::FunctionId* id, size_t limit);
  // Add what violation `vid` attempted to the profile, and to the allow-list in force.
  absl::StatusOr<v1::AcceptViolationResponse> AcceptViolation(const v1::FunctionId& id,
                                                              uint64_t vid);

  // From the ring-buffer thread.
  void HandleEvent(const Event& ev);

  // The file hooks (BpfPrograms::SetFileHook), attached only while some function profiles
  // files: one with replicas that learns, or whose profile has file rules. The engine attaches
  // them before a replica or an allow-list needs them, and detaches them when nothing does.
  // `attached`: their state now (an earlier agent's pinned links may have been adopted).
  void SetFileHook(std::function<absl::Status(bool)> hook, bool attached);
  bool file_hook_attached();

  // Fold the kernel-side sets and counters into the profiles.
  void SyncFromKernel();
  // Write every profile that changed. Errors are logged and retried next time.
  void SaveDirty();
  // Untrack cgroups whose directory is gone (exists(id, path) == false): the safety net for
  // rmdir events that were lost (ring buffer full) or happened while no agent ran.
  void DropVanishedCgroups(const std::function<bool(uint64_t, const std::string&)>& exists);

  // The seccomp filter a container of a function starts under now (agent/seccomp/).
  absl::StatusOr<v1::SeccompPolicy> GetSeccompPolicy(const v1::FunctionId& id,
                                                     const std::string& container);
  // The Localhost profile (relative to the seccomp root) a new container of a function gets
  // from the admission webhook: when the function is enforced and the filter alone enforces
  // its policy; nullopt leaves the container as it is.
  std::optional<std::string> SeccompProfileForAdmission(const v1::FunctionId& id,
                                                        const std::string& container);
  // Whether sys_enter must be attached: some tracked cgroup runs without a filter that
  // enforces its function's syscall policy alone (learn, monitor, a container started before
  // its filter, or a pod whose next containers are not known yet). `sink` hears every change,
  // under the engine's lock (it must not call the engine), and once at once.
  bool NeedsSyscallHook();
  void SetSyscallHookSink(std::function<void(bool needed)> sink);
  // Tracked cgroups that need sys_enter (GetStatus).
  size_t CgroupsNeedingSyscallHook();

  EngineCounters counters();
  size_t function_count();
  size_t tracked_cgroups();

 private:
  struct Section {
    std::string container;
    uint32_t fn_id = 0;  // its slot (SlotTable)
    FoldBase folded;     // the kernel's running counts already in the profile
    std::array<uint64_t, FG_VIOL_KINDS> viol{};  // kernel violation counters, by kind
    uint64_t viol_suppressed = 0;
    // The filter its containers start under now ("" = none that enforces alone).
    std::string seccomp_revision;
    double busy_carry = 0;  // busy seconds not yet whole
  };
  struct Function {
    v1::Profile profile;
    std::map<std::string, Section> sections;
    bool dirty = false;
    bool announced_stable = false;
    std::map<std::string, uint64_t> new_by_kind;  // new behaviours since the agent started
  };

  Function* FindFunctionLocked(const v1::FunctionId& id);
  Section* SectionForSlotLocked(uint32_t fn_id, Function** fn);
  absl::StatusOr<uint32_t> AllocateSlotLocked(const std::string& fkey, const std::string& container,
                                              v1::Mode mode);
  absl::StatusOr<v1::RegisterCgroupResponse> MoveFromPodSectionLocked(const std::string& fkey,
                                                                      const std::string& container,
                                                                      uint64_t cgroup_id,
                                                                      const std::string& path);
  void SyncLocked();
  void SyncSectionStateLocked(Function& f, Section& s);
  // Compile every slot's allow-list for `to` and switch (ModeSwitch); the profile takes `to`
  // only on success. Returns the rules written.
  absl::StatusOr<uint32_t> ApplyModeLocked(Function& f, const ModeSettings& to);
  // After a mode switch of `f` from `from`: the log line and the lifecycle event "mode".
  void AnnounceModeLocked(Function& f, v1::Mode from, ModeSource source, uint32_t rules);
  void HandleViolationLocked(const ViolationEvent& e);
  v1::FunctionSummary SummaryLocked(const Function& f);
  v1::Lifecycle LifecycleLocked(const Function& f);
  size_t ReplicasLocked(const Function& f);  // tracked cgroups of every container
  // The kernel's violation counters of every container: by kind ("exec", "egress", ...), and
  // those it sent no record for (over the budget).
  std::map<std::string, uint64_t> ViolationsByKindLocked(const Function& f);
  uint64_t UnrecordedLocked(const Function& f);
  void EmitLocked(v1::EventKind kind, const Function& f, const std::string& container,
                  const std::string& what, const std::string& detail,
                  const v1::Violation* v = nullptr);

  // Each returns true when the item was new; new items are logged and mark the function dirty.
  bool ApplySyscall(Function& f, Section& s, uint32_t arch, uint32_t nr, absl::Time when);
  bool ApplyExec(Function& f, Section& s, const PathText& bin, const PathText& parent,
                 const std::string& script, const v1::Seen& seen, const ExecEvent* ev);
  bool ApplyNet(Function& f, Section& s, const fg_net_key& key, const v1::Seen& seen);
  // A file opened (path, FG_FILE_* access); the section's files are folded after a new one.
  bool ApplyFile(Function& f, Section& s, const PathText& path, uint32_t access,
                 const v1::Seen& seen);
  // Files: fold the kernel's set; whether `f` in `mode` needs the file hooks; attach them when
  // `needed` (before anything relies on them); attach or detach to what every function needs.
  void SyncFilesLocked();
  bool NeedsFilesLocked(const Function& f, v1::Mode mode) const;
  void EnsureFileHookLocked(bool needed);
  void UpdateFileHookLocked();
  // A socket item (a Unix peer named by `name`, a kind, an option, a class of inbound peers).
  bool ApplySock(Function& f, Section& s, const fg_sock_key& key, const PathText& name,
                 const v1::Seen& seen);
  // Fold fg_socks into the profiles (SyncLocked).
  void SyncSocksLocked();
  void NoteNew(Function& f, const Section& s, absl::string_view kind,
               std::initializer_list<std::pair<absl::string_view, std::string>> what);
  // Egress by DNS name (engine_dns.cc): first sightings, the fold of the kernel's DNS sets,
  // the name a violation carries only as a hash, and the removal of expired bindings.
  void HandleDnsEventLocked(const DnsEvent& e);
  void SyncDnsLocked();
  bool ApplyDnsQuery(Function& f, Section& s, const v1::DnsQuery& q);
  bool ApplyNamedEgress(Function& f, Section& s, const v1::NamedEgress& n);
  void NameDnsViolationLocked(ViolationEvent& e);
  void ExpireDnsBindingsLocked();
  // After the profile or mode of `f` changed: each section's filter revision, the cgroups
  // whose filter is no longer the policy (sys_enter checks them again), the OCI files.
  void RefreshSeccompLocked(Function& f);
  absl::StatusOr<v1::SeccompPolicy> SeccompPolicyLocked(const Function& f,
                                                        const std::string& container);
  // The revision in force when the cgroup being registered runs under the filter of the
  // container's policy in force (opts.seccomp_revision or opts.seccomp_spec says which it runs
  // under); nullopt (logged) when it runs under another or none.
  std::optional<std::string> FilterInForceLocked(const Function& f, const std::string& container,
                                                 const RegisterOptions& opts,
                                                 const std::string& path);
  // The registered cgroup runs under the filter of `revision`, the one in force: sys_enter
  // passes it.
  void MarkFilteredLocked(Function& f, const std::string& container, uint64_t cgroup_id,
                          const std::string& revision);
  // Tell the sink when whether sys_enter is needed changed (a detach only when `may_detach`:
  // at a sync).
  void UpdateSyscallHookLocked(bool may_detach = false);
  v1::KernelState SnapshotLocked();
  // Write the kernel-state record if it changed (errors are logged and counted).
  void PersistKernelStateLocked();

  std::mutex mu_;
  KernelMaps* kernel_;
  ProfileStore* store_;
  Options opts_;
  std::map<std::string, Function> functions_;
  SlotTable slots_;
  ModeSwitch mode_switch_{kernel_, &slots_};
  PathNames paths_{kernel_};
  DnsNames dns_names_{kernel_};
  ViolationLog violations_;
  EngineCounters counters_;
  std::function<void(v1::AgentEvent)> sink_;
  KernelStateRecord record_;
  std::function<absl::Status(bool)> file_hook_;
  bool file_hook_on_ = false;
  // Cgroups sys_enter need not check: those under the filter in force, and pod-level ones (no
  // task runs in a cgroup v2 with children; a container cgroup made under one is inherited
  // without these flags, pending until its first exec, and counts from its mkdir event on).
  static constexpr uint32_t kNoSyscallHook = FG_CG_F_SECCOMP | FG_CG_F_POD;
  std::map<uint64_t, std::string> cgroup_filter_;  // cgroup id -> revision of its filter
  struct CpuSample {
    absl::Duration usage;
    absl::Time at;
  };
  std::map<uint64_t, CpuSample> cpu_seen_;       // cgroup id -> last CPU sample (learning)
  void SyncBusyLocked(Function& f, Section& s);  // cgroup id -> filter revision it runs under
  std::function<void(bool)> hook_sink_;
  std::optional<bool> hook_told_;  // what the sink heard last
};

}  // namespace faasguard
