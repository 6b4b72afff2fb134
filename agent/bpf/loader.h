// Loads and attaches the node programs (the fg_bpf skeleton, embedded in the binary) and
// owns every kernel resource they hold: skeleton, links, the cgroup root fd.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bpf/features.h"
#include "bpf/kernel_maps.h"
#include "common/unique_fd.h"

struct fg_bpf;
struct bpf_link;
struct bpf_program;

namespace faasguard {

struct LoaderOptions {
  std::string btf_path;       // "" = /sys/kernel/btf/vmlinux
  std::string cgroup2_mount;  // where the cgroup hooks are attached (the v2 root)
  uint32_t ringbuf_bytes = 1u << 20;
  uint32_t max_cgroups = 16384;
  uint32_t max_execs = 16384;
  uint32_t max_net = 16384;
  uint32_t max_paths = 8192;
  uint32_t max_exec_rules = 16384;
  uint32_t max_net_rules = 16384;
  uint32_t max_files = 16384;        // fg_files: learned (function, access, path) items
  uint32_t max_file_rules = 16384;   // fg_file_allow: file rules of every function, 2 generations
  uint32_t max_dns_bindings = 8192;  // fg_dns_binds: addresses from DNS answers, all functions
  uint32_t max_dns_rules = 16384;    // fg_dns_allow: name rules, all functions
  uint64_t hash_seed = 0;   // for a fresh start; adopted state keeps the seed it was made with
  KernelFeatures features;  // optional programs load only when probed available
  // Where maps and links are pinned (a directory on a bpf filesystem), so that they outlive
  // the agent: "" pins nothing (everything goes with the process). See docs/security.md,
  // "Agent restarts".
  std::string pin_dir;
  uint64_t fail_open_after_ns = 15'000'000'000ull;  // fg_agent_val.fail_open_after_ns
};

struct AttachedProgramInfo {
  std::string name;
  std::string type;
  std::string target;
  std::string link;  // "adopted", "replaced" or "new" (pinned); "" when not pinned
};

class BpfPrograms {
 public:
  // Open, size, load and attach. Every failure names the program or map at fault.
  static absl::StatusOr<std::unique_ptr<BpfPrograms>> LoadAndAttach(const LoaderOptions& o);
  ~BpfPrograms();
  BpfPrograms(const BpfPrograms&) = delete;
  BpfPrograms& operator=(const BpfPrograms&) = delete;

  const std::vector<AttachedProgramInfo>& attached() const { return attached_; }
  // Whether the optional BPF-LSM exec program is loaded and attached.
  bool lsm_active() const { return lsm_active_; }
  // Whether sys_enter finds tracked cgroups in cgroup local storage (else in fg_tracked).
  bool cgroup_storage_active() const { return cg_local_on_; }
  // Whether sys_enter passes unmarked tasks after one load (fg_task_mark, taskmark.bpf.c).
  bool task_mark_active() const { return task_mark_on_; }
  // Whether the Unix socket hooks (cgroup/connect_unix, sendmsg_unix: 6.7+) are attached.
  bool unix_active() const { return unix_on_; }
  // The cluster's CIDRs (fg_cluster, keys complete): an inbound peer inside one is of class
  // "cluster". Replaces what was there.
  absl::Status SetClusterCidrs(const std::vector<fg_cidr_key>& cidrs);
  int ringbuf_fd() const;
  BpfKernelMaps::Fds map_fds() const;
  uint64_t hash_seed() const { return seed_; }
  // Whether the pinned maps of an earlier agent were taken over (their contents are live).
  bool adopted() const { return adopted_; }
  const std::string& pin_dir() const { return pin_dir_; }

  // sys_enter (every syscall of the node passes it while attached) is needed only while some
  // function learns or is monitored, or an enforced container runs without its seccomp
  // filter; detached, an untracked syscall costs nothing. Attached at load.
  absl::Status SetSyscallHook(bool attached);
  bool syscall_hook_attached() const { return sys_enter_on_; }

  // The file hooks (files.bpf.c): sys_exit, a second node-wide hook (behind the task mark like
  // sys_enter), and io_uring's completions. Needed only while some function profiles files
  // (learns, or is checked against file rules): the engine says when (Engine::SetFileHook).
  // Detached at load, unless an earlier agent's pinned links are adopted (no gap on restart).
  absl::Status SetFileHook(bool attached);
  bool file_hook_attached() const { return file_hook_on_; }
  // Whether the optional BPF-LSM file_open program is loaded (refuses with EPERM).
  bool file_lsm_active() const;

  // Renew the agent's heartbeat in fg_agent (fail-open functions block while it is fresh).
  absl::Status Heartbeat();
  // When the kernel failed to mark a task since the last call (FG_STAT_MARK_FAIL moved), run
  // the task-mark iterator again: returns how many failures it answered (0: nothing to do).
  absl::StatusOr<uint64_t> RepairTaskMarks();

  // Remove everything pinned under `dir` (dir itself stays): links first (the programs detach
  // as the last reference goes), then maps. `removed` lists what was unpinned. A missing dir
  // is not an error.
  static absl::Status RemovePinned(const std::string& dir, std::vector<std::string>* removed);

 private:
  BpfPrograms() = default;
  absl::Status Attach(const LoaderOptions& o);
  // Attach (or adopt the pinned link of) one program, and pin its link.
  absl::Status AttachProgram(bpf_program* prog);
  static absl::StatusOr<std::unique_ptr<BpfPrograms>> Load(const LoaderOptions& o, bool optional);
  // Pinned state: read the mark of an earlier agent (same ABI: adopt it, with its hash seed;
  // another: remove it), then reuse its maps.
  absl::Status CheckPinnedMark(const LoaderOptions& o);
  absl::Status ReusePinnedMaps();
  absl::Status PinMaps();
  // Keep the pinned link of `prog` when it runs the same code; returns whether it was kept.
  absl::StatusOr<bool> AdoptLink(bpf_program* prog, const std::string& path, uint64_t cgroup_id);
  // The sys_enter program loaded: fg_sys_enter behind the task mark, else fg_sys_enter_cg.
  bpf_program* sys_enter() const;
  // The file hooks loaded: fg_sys_exit (behind the mark) or fg_sys_exit_cg, and fg_uring_open.
  std::vector<bpf_program*> file_hooks() const;
  bool IsFileHook(const bpf_program* prog) const;
  // Task marks: FG_STAT_MARK_FAIL summed over CPUs; run the task-mark iterator.
  absl::StatusOr<uint64_t> MarkFailures() const;
  absl::Status MarkAll();

  // Owners of the kernel resources, destroyed in reverse order: links first, then the
  // skeleton (programs and maps), then the cgroup root fd.
  struct SkeletonDeleter {
    void operator()(fg_bpf* skel) const;
  };
  // A pinned link is only let go of (bpf_link__disconnect): it stays attached after the agent.
  struct LinkDeleter {
    bool keep_attached = false;
    void operator()(bpf_link* link) const;
  };
  using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

  UniqueFd cgroup_fd_;
  std::unique_ptr<fg_bpf, SkeletonDeleter> skel_;
  std::vector<UniqueFd> adopted_link_fds_;
  std::vector<LinkPtr> links_;
  LinkPtr sys_enter_link_{nullptr, LinkDeleter{}};  // sys_enter's link, attached here
  UniqueFd sys_enter_adopted_;                      // or the pinned link it adopted
  bool sys_enter_on_ = false;
  std::vector<LinkPtr> file_links_;     // the file hooks' links, attached here
  std::vector<UniqueFd> file_adopted_;  // or the pinned links they adopted
  bool file_hook_on_ = false;
  std::string cgroup2_mount_;
  uint64_t root_id_ = 0;        // the v2 root's id (pinned cgroup links are checked)
  std::set<std::string> ours_;  // names of the programs whose links we pinned
  std::string pin_dir_;
  uint64_t fail_open_after_ns_ = 0;
  bool adopted_ = false;
  // What is attached now (status): replaces the line of a program attached again.
  void NoteAttached(AttachedProgramInfo info);
  std::vector<AttachedProgramInfo> attached_;
  uint64_t seed_ = 0;
  bool lsm_active_ = false;
  bool cg_local_on_ = false;
  bool task_mark_on_ = false;
  bool unix_on_ = false;
  uint64_t mark_failures_seen_ = 0;
};

// Route libbpf's messages into our log (warnings as warn, the rest as debug).
void InstallLibbpfLogger();

}  // namespace faasguard
