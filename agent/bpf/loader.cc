#include "bpf/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cgroup/cgroup.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fg_bpf.skel.h"

namespace faasguard {
namespace {

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[4096];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  absl::string_view msg = absl::StripTrailingAsciiWhitespace(buf);
  if (level == LIBBPF_WARN)
    LogWarn("libbpf", {{"detail", msg}});
  else
    LogDebug("libbpf", {{"detail", msg}});
  return 0;
}

bool IsPowerOfTwo(uint32_t v) { return v && !(v & (v - 1)); }

// A map of a kind this kernel lacks becomes a one-entry array that nothing uses.
absl::Status MakePlaceholder(bpf_map* m) {
  const char* name = bpf_map__name(m);
  FG_RETURN_IF_ERROR(
      LibbpfStatus(bpf_map__set_type(m, BPF_MAP_TYPE_ARRAY), absl::StrCat("retype ", name)));
  FG_RETURN_IF_ERROR(LibbpfStatus(bpf_map__set_map_flags(m, 0), absl::StrCat("flags of ", name)));
  return LibbpfStatus(bpf_map__set_max_entries(m, 1), absl::StrCat("size ", name));
}

// "raw_tracepoint/sys_enter" -> {"raw_tracepoint", "sys_enter"}.
std::pair<std::string, std::string> SplitSection(const char* sec) {
  absl::string_view s = sec ? sec : "";
  if (!s.empty() && s[0] == '?') s.remove_prefix(1);
  auto slash = s.find('/');
  if (slash == absl::string_view::npos) return {std::string(s), ""};
  return {std::string(s.substr(0, slash)), std::string(s.substr(slash + 1))};
}

constexpr long kBpfFsMagic = 0xcafe4a11;

std::string MapsDir(const std::string& pin_dir) { return pin_dir + "/maps"; }
std::string LinksDir(const std::string& pin_dir) { return pin_dir + "/links"; }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Maps that outlive the agent: all but libbpf's internal ones (.rodata, part of each program)
// and the per-CPU scratch space (nothing in it lasts beyond one program run).
bool Pinnable(const bpf_map* m) {
  return !bpf_map__is_internal(m) && std::strcmp(bpf_map__name(m), "fg_scratch") != 0 &&
         std::strcmp(bpf_map__name(m), "fg_dns_scratch") != 0 &&
         std::strcmp(bpf_map__name(m), "fg_name_scr") != 0;
}

absl::Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, absl::StrCat("create ", dir));
  return absl::OkStatus();
}

// The pin directory and its maps/ and links/, on a bpf filesystem.
absl::Status MakePinDirs(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  std::string parent = slash == std::string::npos || slash == 0 ? "/" : dir.substr(0, slash);
  struct statfs fs;
  if (::statfs(parent.c_str(), &fs) != 0)
    return ErrnoStatus(errno, absl::StrCat("pin directory ", dir));
  if (fs.f_type != kBpfFsMagic) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pin directory ", dir, ": ", parent,
        " is not a bpf filesystem (mount one: mount -t bpf bpf /sys/fs/bpf; or run without "
        "pinning: --bpf-pin-dir off)"));
  }
  for (const auto& d : {dir, MapsDir(dir), LinksDir(dir)}) FG_RETURN_IF_ERROR(MakeDir(d));
  return absl::OkStatus();
}

template <typename Info>
absl::Status InfoOf(int fd, Info* info, absl::string_view what) {
  uint32_t len = sizeof *info;
  if (bpf_obj_get_info_by_fd(fd, info, &len) != 0) return ErrnoStatus(errno, what);
  return absl::OkStatus();
}

uint64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns's clock
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void InstallLibbpfLogger() { libbpf_set_print(LibbpfPrint); }

absl::StatusOr<std::unique_ptr<BpfPrograms>> BpfPrograms::LoadAndAttach(const LoaderOptions& o) {
  if (!o.features.lsm && !o.features.fentry && !o.features.task_mark && !o.features.unix_hooks)
    return Load(o, false);
  // The optional programs passed a load probe; should they still fail here (a verifier
  // difference, an LSM hook this kernel lacks), run without them rather than not at all.
  auto p = Load(o, true);
  if (p.ok()) return p;
  LogWarn(
      "optional programs failed to load: running without BPF-LSM / fentry / the task mark / "
      "the Unix socket hooks",
      {{"error", p.status().ToString()}});
  return Load(o, false);
}

absl::StatusOr<std::unique_ptr<BpfPrograms>> BpfPrograms::Load(const LoaderOptions& o,
                                                               bool optional) {
  std::string btf = o.btf_path.empty() ? "/sys/kernel/btf/vmlinux" : o.btf_path;
  if (::access(btf.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(
        o.btf_path.empty()
            ? "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): faasguard's "
              "CO-RE programs need CONFIG_DEBUG_INFO_BTF=y, or a BTF file given with --btf"
            : absl::StrCat("BTF file ", o.btf_path, ": ", std::strerror(errno)));
  }
  if (!IsPowerOfTwo(o.ringbuf_bytes) || o.ringbuf_bytes < 4096)
    return absl::InvalidArgumentError(
        absl::StrCat("ring buffer size ", o.ringbuf_bytes, " must be a power of two >= 4096"));

  std::unique_ptr<BpfPrograms> p(new BpfPrograms());
  p->seed_ = o.hash_seed;
  p->fail_open_after_ns_ = o.fail_open_after_ns;
  if (!o.pin_dir.empty()) FG_RETURN_IF_ERROR(p->CheckPinnedMark(o));
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (!o.btf_path.empty()) opts.btf_custom_path = o.btf_path.c_str();
  p->skel_.reset(fg_bpf__open_opts(&opts));
  if (!p->skel_) return ErrnoStatus(errno, "open BPF object fg_bpf");
  SetProgramTypesLibbpfLacks(p->skel_->obj);

  struct {
    bpf_map* map;
    uint32_t entries;
  } sizes[] = {
      {p->skel_->maps.fg_events, o.ringbuf_bytes},
      {p->skel_->maps.fg_tracked, o.max_cgroups},
      {p->skel_->maps.fg_execs, o.max_execs},
      {p->skel_->maps.fg_net, o.max_net},
      {p->skel_->maps.fg_paths, o.max_paths},
      {p->skel_->maps.fg_exec_allow, o.max_exec_rules},
      {p->skel_->maps.fg_net_allow, o.max_net_rules},
      {p->skel_->maps.fg_files, o.max_files},
      {p->skel_->maps.fg_file_allow, o.max_file_rules},
      {p->skel_->maps.fg_dns_binds, o.max_dns_bindings},
      {p->skel_->maps.fg_dns_allow, o.max_dns_rules},
      {p->skel_->maps.fg_socks, o.max_net},  // socket items share the network sizes
      {p->skel_->maps.fg_sock_allow, o.max_net_rules},
  };
  for (const auto& s : sizes) {
    FG_RETURN_IF_ERROR(LibbpfStatus(bpf_map__set_max_entries(s.map, s.entries),
                                    absl::StrCat("size map ", bpf_map__name(s.map))));
  }
  p->skel_->rodata->fg_hash_seed = p->seed_;
  // sys_enter's fast path (maps.bpf.h, fg_cg_local). Without cgroup local storage the map
  // becomes a one-entry array nothing uses, and the programs' storage calls are dead code.
  p->skel_->rodata->fg_cg_local_on = o.features.cgroup_storage;
  if (!o.features.cgroup_storage) FG_RETURN_IF_ERROR(MakePlaceholder(p->skel_->maps.fg_cg_local));
  // sys_enter's first test (maps.bpf.h, fg_task_mark), kept by taskmark.bpf.c, an optional
  // part. Off, the mark programs stay unloaded and nothing uses the map; a kernel without task
  // storage gets a one-entry array instead (where it has task storage the type stays, so the
  // map pinned by an agent that ran the mark can be adopted).
  p->task_mark_on_ =
      optional && o.features.task_mark && o.features.tp_btf && o.features.cgroup_storage;
  p->skel_->rodata->fg_task_mark_on = p->task_mark_on_;
  if (!o.features.task_mark) FG_RETURN_IF_ERROR(MakePlaceholder(p->skel_->maps.fg_task_mark));
  for (bpf_program* mark :
       {p->skel_->progs.fg_mark_fork, p->skel_->progs.fg_mark_attach, p->skel_->progs.fg_mark_tasks,
        p->skel_->progs.fg_sys_enter, p->skel_->progs.fg_sys_exit})
    bpf_program__set_autoload(mark, p->task_mark_on_);
  bpf_program__set_autoload(p->skel_->progs.fg_sys_enter_cg, !p->task_mark_on_);
  bpf_program__set_autoload(p->skel_->progs.fg_sys_exit_cg, !p->task_mark_on_);
  bpf_program__set_autoload(p->skel_->progs.fg_uring_open, true);

  // Optional programs: autoload only when the feature probe loaded one of their kind.
  bpf_program* prog;
  bpf_object__for_each_program(prog, p->skel_->obj) {
    auto [type, target] = SplitSection(bpf_program__section_name(prog));
    if (type == "lsm") {
      bpf_program__set_autoload(prog, optional && o.features.lsm);
      p->lsm_active_ = optional && o.features.lsm;
    }
    if (type == "fentry" || type == "fexit")
      bpf_program__set_autoload(prog, optional && o.features.fentry);
  }
  // cgroup_mkdir: the tp_btf variant where it can write sys_enter's entry at mkdir.
  bool mkdir_btf = o.features.tp_btf && o.features.cgroup_storage;
  bpf_program__set_autoload(p->skel_->progs.fg_cgroup_mkdir_btf, mkdir_btf);
  bpf_program__set_autoload(p->skel_->progs.fg_cgroup_mkdir, !mkdir_btf);

  // Unix socket peers (6.7+), and the ingress hook's variant (sock.bpf.c).
  p->unix_on_ = optional && o.features.unix_hooks;
  for (bpf_program* u : {p->skel_->progs.fg_connect_unix, p->skel_->progs.fg_sendmsg_unix})
    bpf_program__set_autoload(u, p->unix_on_);
  bool ingress_storage = o.features.skb_btf && o.features.cgroup_storage;
  bpf_program__set_autoload(p->skel_->progs.fg_ingress, ingress_storage);
  bpf_program__set_autoload(p->skel_->progs.fg_ingress_id, !ingress_storage);

  p->cg_local_on_ = o.features.cgroup_storage;
  if (p->adopted_) FG_RETURN_IF_ERROR(p->ReusePinnedMaps());
  int err = fg_bpf__load(p->skel_.get());
  if (err) {
    return LibbpfStatus(err, "load BPF programs (the verifier log is in the libbpf lines above)");
  }
  if (!p->pin_dir_.empty()) FG_RETURN_IF_ERROR(p->PinMaps());
  // Before any program of ours runs, and at once for adopted ones: a fail-open function that
  // opened while no agent ran blocks again from here.
  FG_RETURN_IF_ERROR(p->Heartbeat());
  FG_RETURN_IF_ERROR(p->Attach(o));
  return p;
}

absl::Status BpfPrograms::CheckPinnedMark(const LoaderOptions& o) {
  const std::string mark = MapsDir(o.pin_dir) + "/fg_agent";
  std::vector<std::string> removed;
  if (Exists(o.pin_dir) && !Exists(mark)) {
    // Pins without the agent's mark cannot be trusted (a half-done cleanup): start clean.
    FG_RETURN_IF_ERROR(RemovePinned(o.pin_dir, &removed));
    if (!removed.empty())
      LogWarn("pinned objects without faasguard's mark removed",
              {{"dir", o.pin_dir}, {"removed", static_cast<uint64_t>(removed.size())}});
  } else if (Exists(mark)) {
    UniqueFd fd(bpf_obj_get(mark.c_str()));
    if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open pinned map ", mark));
    bpf_map_info info{};
    FG_RETURN_IF_ERROR(InfoOf(fd.get(), &info, absl::StrCat("inspect pinned map ", mark)));
    fg_agent_val v{};
    uint32_t zero = 0;
    bool readable = info.value_size == sizeof v && info.max_entries >= 1 &&
                    bpf_map_lookup_elem(fd.get(), &zero, &v) == 0 && v.magic == FG_AGENT_MAGIC;
    if (readable && v.abi_version == FG_ABI_VERSION) {
      adopted_ = true;
      seed_ = v.hash_seed;  // every hashed key in the maps was made with it
      LogInfo("taking over the pinned state of an earlier agent",
              {{"dir", o.pin_dir},
               {"abi", v.abi_version},
               {"earlier_pid", static_cast<uint64_t>(v.agent_pid)}});
    } else {
      // Another layout: its maps cannot be read by this agent. Its programs go with them; the
      // profiles on disk come back through the new programs (a short gap, logged).
      FG_RETURN_IF_ERROR(RemovePinned(o.pin_dir, &removed));
      LogWarn(
          "pinned state of another ABI removed: enforcement restarts from the stored "
          "profiles",
          {{"dir", o.pin_dir},
           {"pinned_abi", readable ? v.abi_version : 0u},
           {"abi", FG_ABI_VERSION},
           {"removed", static_cast<uint64_t>(removed.size())}});
    }
  }
  pin_dir_ = o.pin_dir;
  return MakePinDirs(pin_dir_);
}

absl::Status BpfPrograms::ReusePinnedMaps() {
  bpf_map* m;
  bpf_object__for_each_map(m, skel_->obj) {
    if (!Pinnable(m)) continue;
    std::string path = absl::StrCat(MapsDir(pin_dir_), "/", bpf_map__name(m));
    if (!Exists(path)) {
      LogWarn("pinned map missing: a new one is made", {{"map", bpf_map__name(m)}});
      continue;
    }
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open pinned map ", path));
    bpf_map_info info{};
    FG_RETURN_IF_ERROR(InfoOf(fd.get(), &info, absl::StrCat("inspect pinned map ", path)));
    if (info.type != static_cast<uint32_t>(bpf_map__type(m)) ||
        info.key_size != bpf_map__key_size(m) || info.value_size != bpf_map__value_size(m)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "pinned map ", path, " does not match this agent's ", bpf_map__name(m),
          " (type, key or value size): remove the pinned state with faasguard-agent --cleanup"));
    }
    if (info.max_entries != bpf_map__max_entries(m) &&
        bpf_map__type(m) != static_cast<bpf_map_type>(32) /* CGRP_STORAGE: no size */) {
      LogWarn("keeping the pinned map's size (faasguard-agent --cleanup to change it)",
              {{"map", bpf_map__name(m)},
               {"pinned", info.max_entries},
               {"asked", bpf_map__max_entries(m)}});
    }
    FG_RETURN_IF_ERROR(LibbpfStatus(bpf_map__reuse_fd(m, fd.get()),
                                    absl::StrCat("reuse pinned map ", bpf_map__name(m))));
  }
  return absl::OkStatus();
}

absl::Status BpfPrograms::PinMaps() {
  bpf_map* m;
  bpf_object__for_each_map(m, skel_->obj) {
    if (!Pinnable(m)) continue;
    std::string path = absl::StrCat(MapsDir(pin_dir_), "/", bpf_map__name(m));
    if (Exists(path)) continue;  // adopted
    if (bpf_obj_pin(bpf_map__fd(m), path.c_str()) != 0)
      return ErrnoStatus(errno, absl::StrCat("pin map ", path));
  }
  return absl::OkStatus();
}

absl::Status BpfPrograms::Heartbeat() {
  fg_agent_val v{};
  v.magic = FG_AGENT_MAGIC;
  v.abi_version = FG_ABI_VERSION;
  v.hash_seed = seed_;
  v.heartbeat_ns = MonotonicNs();
  v.fail_open_after_ns = fail_open_after_ns_;
  v.agent_pid = static_cast<uint64_t>(::getpid());
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.fg_agent), &zero, &v, BPF_ANY) != 0)
    return ErrnoStatus(errno, "write the agent heartbeat (fg_agent)");
  return absl::OkStatus();
}

bpf_program* BpfPrograms::sys_enter() const {
  return task_mark_on_ ? skel_->progs.fg_sys_enter : skel_->progs.fg_sys_enter_cg;
}

absl::StatusOr<uint64_t> BpfPrograms::MarkFailures() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return ErrnoStatus(-ncpus, "count possible CPUs");
  std::vector<uint64_t> per(static_cast<size_t>(ncpus));
  uint32_t idx = FG_STAT_MARK_FAIL;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.fg_stats), &idx, per.data()) != 0)
    return ErrnoStatus(errno, "read map fg_stats");
  uint64_t total = 0;
  for (uint64_t v : per) total += v;
  return total;
}

absl::Status BpfPrograms::MarkAll() {
  // Failures counted before this run are answered by it.
  auto failures = MarkFailures();
  if (!failures.ok()) return failures.status();
  auto marked = MarkTrackedTasks(bpf_program__fd(skel_->progs.fg_mark_tasks));
  if (!marked.ok()) return marked.status();
  mark_failures_seen_ = *failures;
  if (!marked->empty())
    LogInfo("tasks of tracked cgroups marked", {{"tasks", static_cast<uint64_t>(marked->size())}});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> BpfPrograms::RepairTaskMarks() {
  if (!task_mark_on_) return 0;
  auto total = MarkFailures();
  if (!total.ok()) return total.status();
  if (*total <= mark_failures_seen_) return 0;
  uint64_t failed = *total - mark_failures_seen_;
  FG_RETURN_IF_ERROR(MarkAll());
  return failed;
}

absl::StatusOr<bool> BpfPrograms::AdoptLink(bpf_program* prog, const std::string& path,
                                            uint64_t cgroup_id) {
  UniqueFd lfd(bpf_obj_get(path.c_str()));
  if (!lfd.valid()) return ErrnoStatus(errno, absl::StrCat("open pinned link ", path));
  bpf_link_info li{};
  FG_RETURN_IF_ERROR(InfoOf(lfd.get(), &li, absl::StrCat("inspect pinned link ", path)));
  if (li.type == BPF_LINK_TYPE_CGROUP &&
      (li.cgroup.cgroup_id != cgroup_id ||
       li.cgroup.attach_type != static_cast<uint32_t>(bpf_program__expected_attach_type(prog))))
    return false;
  UniqueFd old_fd(bpf_prog_get_fd_by_id(li.prog_id));
  if (!old_fd.valid()) return ErrnoStatus(errno, absl::StrCat("open the program of ", path));
  uint32_t old_maps[64] = {};
  bpf_prog_info old{}, cur{};
  old.nr_map_ids = 64;
  old.map_ids = reinterpret_cast<uint64_t>(old_maps);
  FG_RETURN_IF_ERROR(InfoOf(old_fd.get(), &old, "inspect the pinned program"));
  FG_RETURN_IF_ERROR(InfoOf(bpf_program__fd(prog), &cur, "inspect the loaded program"));
  // The tag is a hash of the instructions (map references left out): same tag, same code.
  if (old.type != cur.type || std::memcmp(old.tag, cur.tag, sizeof old.tag) != 0) return false;
  // And the same maps: every pinnable map the old program uses must be the one adopted.
  for (uint32_t i = 0; i < std::min<uint32_t>(old.nr_map_ids, 64); ++i) {
    UniqueFd mfd(bpf_map_get_fd_by_id(old_maps[i]));
    bpf_map_info mi{};
    if (!mfd.valid() || !InfoOf(mfd.get(), &mi, "inspect a map").ok()) return false;
    bpf_map* ours = bpf_object__find_map_by_name(skel_->obj, mi.name);
    if (!ours || !Pinnable(ours)) continue;
    bpf_map_info oi{};
    if (!InfoOf(bpf_map__fd(ours), &oi, "inspect a map").ok() || oi.id != mi.id) return false;
  }
  adopted_link_fds_.push_back(std::move(lfd));
  return true;
}

absl::Status BpfPrograms::AttachProgram(bpf_program* prog) {
  auto [type, target] = SplitSection(bpf_program__section_name(prog));
  // "cgroup/connect4", "cgroup_skb/egress": attached to a cgroup.
  const bool cgroup = type == "cgroup" || type == "cgroup_skb";
  if (cgroup) target = absl::StrCat(target, " @ ", cgroup2_mount_);
  const bool is_sys_enter = prog == sys_enter();
  std::string how, pin;
  if (!pin_dir_.empty()) {
    // A program is attached once: an earlier agent's link to the same code is kept (it never
    // stopped running); a link to other code is replaced, ours attached before it goes.
    pin = absl::StrCat(LinksDir(pin_dir_), "/", bpf_program__name(prog));
    ours_.insert(bpf_program__name(prog));
    how = "new";
    if (Exists(pin)) {
      auto kept = AdoptLink(prog, pin, root_id_);
      if (kept.ok() && *kept) {
        if (is_sys_enter) {
          sys_enter_adopted_ = std::move(adopted_link_fds_.back());
          adopted_link_fds_.pop_back();
          sys_enter_on_ = true;
        } else if (IsFileHook(prog)) {
          file_adopted_.push_back(std::move(adopted_link_fds_.back()));
          adopted_link_fds_.pop_back();
        }
        NoteAttached({bpf_program__name(prog), type, target, "adopted"});
        return absl::OkStatus();
      }
      if (!kept.ok())
        LogWarn("pinned link unreadable: replacing it",
                {{"link", pin}, {"error", kept.status().ToString()}});
      how = "replaced";
    }
  }
  // A cgroup program is attached once, at the v2 root: that covers every present and future
  // cgroup.
  LinkPtr link(
      cgroup ? bpf_program__attach_cgroup(prog, cgroup_fd_.get()) : bpf_program__attach(prog),
      LinkDeleter{.keep_attached = !pin_dir_.empty()});
  if (!link) {
    return ErrnoStatus(errno, absl::StrCat("attach program ", bpf_program__name(prog), " (",
                                           bpf_program__section_name(prog), ")"));
  }
  bpf_link* l = link.get();
  if (is_sys_enter) {
    sys_enter_link_ = std::move(link);
    sys_enter_on_ = true;
  } else if (IsFileHook(prog)) {
    file_links_.push_back(std::move(link));
  } else {
    links_.push_back(std::move(link));
  }
  if (!pin.empty()) {
    // Unpinning the replaced link drops its last reference: it detaches here.
    if (how == "replaced" && ::unlink(pin.c_str()) != 0)
      return ErrnoStatus(errno, absl::StrCat("remove replaced link ", pin));
    FG_RETURN_IF_ERROR(LibbpfStatus(bpf_link__pin(l, pin.c_str()), absl::StrCat("pin link ", pin)));
  }
  NoteAttached({bpf_program__name(prog), type, target, how});
  return absl::OkStatus();
}

void BpfPrograms::NoteAttached(AttachedProgramInfo info) {
  // sys_enter comes and goes: one line per program, the one attached now.
  std::erase_if(attached_, [&](const AttachedProgramInfo& a) { return a.name == info.name; });
  attached_.push_back(std::move(info));
}

absl::Status BpfPrograms::Attach(const LoaderOptions& o) {
  cgroup2_mount_ = o.cgroup2_mount;
  cgroup_fd_.Reset(::open(o.cgroup2_mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup_fd_.valid())
    return ErrnoStatus(errno, absl::StrCat("open cgroup v2 root ", o.cgroup2_mount));
  if (!pin_dir_.empty()) {
    auto id = CgroupIdOf(o.cgroup2_mount);
    if (!id.ok()) return id.status();
    root_id_ = *id;
  }
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    if (!bpf_program__autoload(prog) || prog == sys_enter() || IsFileHook(prog)) continue;
    // An iterator is run, not attached (MarkTrackedTasks).
    if (SplitSection(bpf_program__section_name(prog)).first == "iter") continue;
    FG_RETURN_IF_ERROR(AttachProgram(prog));
  }
  FG_RETURN_IF_ERROR(SetSyscallHook(true));
  if (pin_dir_.empty()) return absl::OkStatus();
  // An earlier agent's file hooks stay attached (their functions are enforced meanwhile).
  if (Exists(absl::StrCat(LinksDir(pin_dir_), "/", bpf_program__name(file_hooks().front()))))
    FG_RETURN_IF_ERROR(SetFileHook(true));
  // Links of programs this agent does not run (an optional program no longer loaded, the
  // other variant of one): they would keep running beside ours.
  auto pinned = ListDir(LinksDir(pin_dir_));
  if (!pinned.ok()) return pinned.status();
  for (const auto& name : *pinned) {
    if (ours_.count(name)) continue;
    std::string path = absl::StrCat(LinksDir(pin_dir_), "/", name);
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, absl::StrCat("remove ", path));
    LogInfo("removed the pinned link of a program this agent does not run", {{"link", path}});
  }
  return absl::OkStatus();
}

absl::Status BpfPrograms::SetSyscallHook(bool attached) {
  if (attached == sys_enter_on_) return absl::OkStatus();
  if (attached) {
    // sys_enter passes unmarked tasks: it comes last, once the mark programs run and every
    // task already in a tracked cgroup is marked.
    if (task_mark_on_) FG_RETURN_IF_ERROR(MarkAll());
    return AttachProgram(sys_enter());
  }
  // Detached: the pin goes first, then our reference, which is the last one.
  if (!pin_dir_.empty()) {
    std::string pin = absl::StrCat(LinksDir(pin_dir_), "/", bpf_program__name(sys_enter()));
    if (::unlink(pin.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus(errno, absl::StrCat("unpin ", pin));
  }
  if (sys_enter_link_) sys_enter_link_.get_deleter().keep_attached = false;
  sys_enter_link_.reset();
  sys_enter_adopted_.Reset();
  sys_enter_on_ = false;
  const std::string name = bpf_program__name(sys_enter());
  std::erase_if(attached_, [&](const AttachedProgramInfo& a) { return a.name == name; });
  return absl::OkStatus();
}

absl::Status BpfPrograms::RemovePinned(const std::string& dir, std::vector<std::string>* removed) {
  if (!Exists(dir)) return absl::OkStatus();
  for (const auto& sub : {LinksDir(dir), MapsDir(dir)}) {  // links first: programs detach
    auto names = ListDir(sub);
    if (absl::IsNotFound(names.status())) continue;
    if (!names.ok()) return names.status();
    for (const auto& n : *names) {
      std::string path = absl::StrCat(sub, "/", n);
      if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, absl::StrCat("unpin ", path));
      removed->push_back(path);
    }
    if (::rmdir(sub.c_str()) != 0) return ErrnoStatus(errno, absl::StrCat("remove ", sub));
  }
  return absl::OkStatus();
}

void BpfPrograms::SkeletonDeleter::operator()(fg_bpf* skel) const { fg_bpf__destroy(skel); }

void BpfPrograms::LinkDeleter::operator()(bpf_link* link) const {
  // A pinned link stays attached after the agent: only our reference to it goes.
  if (keep_attached) bpf_link__disconnect(link);
  bpf_link__destroy(link);
}

BpfPrograms::~BpfPrograms() = default;

int BpfPrograms::ringbuf_fd() const { return bpf_map__fd(skel_->maps.fg_events); }

BpfKernelMaps::Fds BpfPrograms::map_fds() const {
  return {bpf_map__fd(skel_->maps.fg_tracked),
          bpf_map__fd(skel_->maps.fg_fn_cfg),
          bpf_map__fd(skel_->maps.fg_fn_state),
          bpf_map__fd(skel_->maps.fg_execs),
          bpf_map__fd(skel_->maps.fg_net),
          bpf_map__fd(skel_->maps.fg_paths),
          bpf_map__fd(skel_->maps.fg_stats),
          bpf_map__fd(skel_->maps.fg_sys_allow),
          bpf_map__fd(skel_->maps.fg_exec_allow),
          bpf_map__fd(skel_->maps.fg_net_allow),
          cg_local_on_ ? bpf_map__fd(skel_->maps.fg_cg_local) : -1,
          cgroup_fd_.get(),
          bpf_map__fd(skel_->maps.fg_cpu_cache),
          task_mark_on_ ? bpf_program__fd(skel_->progs.fg_mark_tasks) : -1,
          bpf_map__fd(skel_->maps.fg_files),
          bpf_map__fd(skel_->maps.fg_file_allow),
          bpf_map__fd(skel_->maps.fg_file_pol),
          bpf_map__fd(skel_->maps.fg_dns_queries),
          bpf_map__fd(skel_->maps.fg_dns_conns),
          bpf_map__fd(skel_->maps.fg_dns_names),
          bpf_map__fd(skel_->maps.fg_dns_binds),
          bpf_map__fd(skel_->maps.fg_dns_allow),
          bpf_map__fd(skel_->maps.fg_dns_pending),
          bpf_map__fd(skel_->maps.fg_socks),
          bpf_map__fd(skel_->maps.fg_sock_allow)};
}

absl::Status BpfPrograms::SetClusterCidrs(const std::vector<fg_cidr_key>& cidrs) {
  int fd = bpf_map__fd(skel_->maps.fg_cluster);
  std::vector<fg_cidr_key> old;
  fg_cidr_key key{}, next{};
  const fg_cidr_key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    old.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto& k : old) (void)bpf_map_delete_elem(fd, &k);
  for (const auto& k : cidrs) {
    uint8_t one = 1;
    if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) != 0)
      return ErrnoStatus(errno, "write map fg_cluster (at most 64 cluster CIDRs)");
  }
  return absl::OkStatus();
}

// --- Files (files.bpf.c) ----------------------------------------------------------------------

std::vector<bpf_program*> BpfPrograms::file_hooks() const {
  return {task_mark_on_ ? skel_->progs.fg_sys_exit : skel_->progs.fg_sys_exit_cg,
          skel_->progs.fg_uring_open};
}

bool BpfPrograms::IsFileHook(const bpf_program* prog) const {
  for (const bpf_program* h : file_hooks())
    if (h == prog) return true;
  return false;
}

bool BpfPrograms::file_lsm_active() const {
  return lsm_active_ && bpf_program__autoload(skel_->progs.fg_lsm_file);
}

absl::Status BpfPrograms::SetFileHook(bool attached) {
  if (attached == file_hook_on_) return absl::OkStatus();
  if (attached) {
    // Marks first, as for sys_enter: the mark is what lets an untracked task leave at once.
    if (task_mark_on_ && !sys_enter_on_) FG_RETURN_IF_ERROR(MarkAll());
    for (bpf_program* prog : file_hooks()) {
      absl::Status st = AttachProgram(prog);
      // io_uring's tracepoint is missing where the kernel has no io_uring: sys_exit suffices.
      if (!st.ok() && prog == skel_->progs.fg_uring_open) {
        LogWarn("io_uring open completions are not watched", {{"error", st.ToString()}});
        continue;
      }
      if (!st.ok()) {
        file_links_.clear();
        file_adopted_.clear();
        return st;
      }
    }
    file_hook_on_ = true;
    LogInfo("file hooks attached", {{"programs", static_cast<uint64_t>(file_hooks().size())}});
    return absl::OkStatus();
  }
  // Detached: the pins go first, then our references, the last ones.
  for (bpf_program* prog : file_hooks()) {
    if (pin_dir_.empty()) break;
    std::string pin = absl::StrCat(LinksDir(pin_dir_), "/", bpf_program__name(prog));
    if (::unlink(pin.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus(errno, absl::StrCat("unpin ", pin));
    ours_.erase(bpf_program__name(prog));
  }
  for (auto& l : file_links_) l.get_deleter().keep_attached = false;
  file_links_.clear();
  file_adopted_.clear();
  file_hook_on_ = false;
  std::erase_if(attached_, [&](const AttachedProgramInfo& a) {
    for (bpf_program* prog : file_hooks())
      if (a.name == bpf_program__name(prog)) return true;
    return false;
  });
  LogInfo("file hooks detached", {});
  return absl::OkStatus();
}

}  // namespace faasguard
