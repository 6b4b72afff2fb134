#include "bpf/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/status.h"
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

// "raw_tracepoint/sys_enter" -> {"raw_tracepoint", "sys_enter"}.
std::pair<std::string, std::string> SplitSection(const char* sec) {
  absl::string_view s = sec ? sec : "";
  if (!s.empty() && s[0] == '?') s.remove_prefix(1);
  auto slash = s.find('/');
  if (slash == absl::string_view::npos) return {std::string(s), ""};
  return {std::string(s.substr(0, slash)), std::string(s.substr(slash + 1))};
}

}  // namespace

void InstallLibbpfLogger() { libbpf_set_print(LibbpfPrint); }

absl::StatusOr<std::unique_ptr<BpfPrograms>> BpfPrograms::LoadAndAttach(const LoaderOptions& o) {
  if (!o.features.lsm && !o.features.fentry) return Load(o, false);
  // The optional programs passed a load probe; should they still fail here (a verifier
  // difference, an LSM hook this kernel lacks), run without them rather than not at all.
  auto p = Load(o, true);
  if (p.ok()) return p;
  LogWarn("optional programs failed to load: running without BPF-LSM / fentry",
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
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (!o.btf_path.empty()) opts.btf_custom_path = o.btf_path.c_str();
  p->skel_ = fg_bpf__open_opts(&opts);
  if (!p->skel_) return ErrnoStatus(errno, "open BPF object fg_bpf");

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
  };
  for (const auto& s : sizes) {
    FG_RETURN_IF_ERROR(LibbpfStatus(bpf_map__set_max_entries(s.map, s.entries),
                                    absl::StrCat("size map ", bpf_map__name(s.map))));
  }
  p->seed_ = o.hash_seed;
  p->skel_->rodata->fg_hash_seed = o.hash_seed;
  // sys_enter's fast path (maps.bpf.h, fg_cg_local). Without cgroup local storage the map
  // becomes a one-entry array nothing uses, and the programs' storage calls are dead code.
  p->skel_->rodata->fg_cg_local_on = o.features.cgroup_storage;
  if (!o.features.cgroup_storage) {
    bpf_map* m = p->skel_->maps.fg_cg_local;
    FG_RETURN_IF_ERROR(
        LibbpfStatus(bpf_map__set_type(m, BPF_MAP_TYPE_ARRAY), "retype fg_cg_local"));
    FG_RETURN_IF_ERROR(LibbpfStatus(bpf_map__set_map_flags(m, 0), "flags of fg_cg_local"));
    FG_RETURN_IF_ERROR(LibbpfStatus(bpf_map__set_max_entries(m, 1), "size fg_cg_local"));
  }

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

  p->cg_local_on_ = o.features.cgroup_storage;
  int err = fg_bpf__load(p->skel_);
  if (err) {
    return LibbpfStatus(err, "load BPF programs (the verifier log is in the libbpf lines above)");
  }
  FG_RETURN_IF_ERROR(p->Attach(o));
  return p;
}

absl::Status BpfPrograms::Attach(const LoaderOptions& o) {
  cgroup_fd_ = ::open(o.cgroup2_mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup_fd_ < 0)
    return ErrnoStatus(errno, absl::StrCat("open cgroup v2 root ", o.cgroup2_mount));
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    if (!bpf_program__autoload(prog)) continue;
    auto [type, target] = SplitSection(bpf_program__section_name(prog));
    bpf_link* link;
    if (type == "cgroup") {
      // One attachment at the root covers every present and future cgroup.
      link = bpf_program__attach_cgroup(prog, cgroup_fd_);
      target = absl::StrCat(target, " @ ", o.cgroup2_mount);
    } else {
      link = bpf_program__attach(prog);
    }
    if (!link) {
      return ErrnoStatus(errno, absl::StrCat("attach program ", bpf_program__name(prog), " (",
                                             bpf_program__section_name(prog), ")"));
    }
    links_.push_back(link);
    attached_.push_back({bpf_program__name(prog), type, target});
  }
  return absl::OkStatus();
}

BpfPrograms::~BpfPrograms() {
  for (bpf_link* l : links_) bpf_link__destroy(l);
  if (skel_) fg_bpf__destroy(skel_);
  if (cgroup_fd_ >= 0) ::close(cgroup_fd_);
}

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
          cgroup_fd_};
}

}  // namespace faasguard
