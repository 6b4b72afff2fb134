#include "core/engine.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cgroup/cgroup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "core/abi_codec.h"
#include "core/lifecycle.h"
#include "profile/files.h"
#include "profile/names.h"
#include "profile/profile.h"
#include "seccomp/seccomp_policy.h"

namespace faasguard {

absl::string_view ModeSourceWord(ModeSource s) {
  switch (s) {
    case ModeSource::kApi:
      return "api";
    case ModeSource::kImport:
      return "import";
    case ModeSource::kCluster:
      return "cluster";
    case ModeSource::kAutoPromote:
      return "auto-promote";
    case ModeSource::kRestore:
      return "restore";
  }
  return "";
}

Engine::Engine(KernelMaps* kernel, ProfileStore* store, Options opts)
    : kernel_(kernel),
      store_(store),
      opts_(opts),
      slots_(kernel, opts.max_slots),
      violations_({opts.max_violations, opts.violation_log_path, store->quarantine_dir()}),
      record_(opts.kernel_state_path) {
  if (!opts_.cpu_usage)
    opts_.cpu_usage = [](const std::string& path) -> std::optional<absl::Duration> {
      auto u = CgroupCpuUsage(path);
      if (!u.ok()) return std::nullopt;
      return *u;
    };
}

void Engine::LoadProfiles() {
  auto loaded = store_->LoadAll();
  std::lock_guard<std::mutex> l(mu_);
  for (auto& p : loaded.profiles) {
    std::string key = FunctionKey(p.function());
    auto [it, inserted] = functions_.try_emplace(key);
    if (inserted)
      it->second.profile = std::move(p);
    else
      MergeProfile(it->second.profile, p);
  }
  for (auto& [key, f] : functions_) RefreshSeccompLocked(f);
  LogInfo("profiles loaded",
          {{"count", static_cast<uint64_t>(loaded.profiles.size())},
           {"quarantined", static_cast<uint64_t>(loaded.quarantined.size())},
           {"unfinished_writes_removed", static_cast<uint64_t>(loaded.stale_temporaries)},
           {"dir", store_->profiles_dir()}});
  ViolationLog::LoadResult v = violations_.Load();
  if (!opts_.violation_log_path.empty())
    LogInfo("violations loaded", {{"count", static_cast<uint64_t>(v.records)},
                                  {"unreadable_lines", static_cast<uint64_t>(v.bad_lines)},
                                  {"next_id", violations_.next_id()},
                                  {"file", opts_.violation_log_path}});
}

Engine::Function* Engine::FindFunctionLocked(const v1::FunctionId& id) {
  auto it = functions_.find(FunctionKey(id));
  return it == functions_.end() ? nullptr : &it->second;
}

Engine::Section* Engine::SectionForSlotLocked(uint32_t fn_id, Function** fn) {
  const SlotTable::Slot* slot = slots_.Get(fn_id);
  if (!slot || slot->function.empty()) return nullptr;
  auto fit = functions_.find(slot->function);
  if (fit == functions_.end()) return nullptr;
  auto sit = fit->second.sections.find(slot->container);
  if (sit == fit->second.sections.end()) return nullptr;
  *fn = &fit->second;
  return &sit->second;
}

absl::StatusOr<uint32_t> Engine::AllocateSlotLocked(const std::string& fkey,
                                                    const std::string& container, v1::Mode mode) {
  Function& f = functions_[fkey];
  // A container of a function already in monitor / enforce mode is checked from its first
  // syscall: its allow-list is compiled and written before any cgroup of it is tracked.
  std::optional<CompiledPolicy> policy;
  if (mode != v1::MODE_LEARN) {
    auto c = CompileSection(f.profile, container, opts_.hash_seed, opts_.limits);
    if (!c.ok()) return c.status();
    policy = std::move(*c);
  }
  return slots_.Allocate(fkey, container, policy ? &*policy : nullptr, ModeSettings::Of(f.profile));
}

absl::StatusOr<v1::RegisterCgroupResponse> Engine::RegisterCgroup(const v1::FunctionId& in_id,
                                                                  const std::string& container_in,
                                                                  uint64_t cgroup_id,
                                                                  const std::string& path,
                                                                  RegisterOptions opts) {
  v1::FunctionId id = in_id;
  const std::string container = opts.pod_level ? std::string(kPodSection) : container_in;
  if (id.platform().empty()) id.set_platform(std::string(kPlatformLocal));
  std::string fkey = FunctionKey(id);

  std::lock_guard<std::mutex> l(mu_);
  if (auto at = slots_.SlotOf(cgroup_id)) {
    const SlotTable::Slot& slot = *slots_.Get(*at);
    if (slot.function == fkey && slot.container == container) {
      // Idempotent; a filter shown now (the tracker read the runtime spec) still counts.
      Function& f = functions_[fkey];
      if (!(slots_.FlagsOf(cgroup_id) & FG_CG_F_SECCOMP))
        if (auto rev = FilterInForceLocked(f, container, opts, path))
          MarkFilteredLocked(f, container, cgroup_id, *rev);
      v1::RegisterCgroupResponse r;
      r.set_cgroup_id(cgroup_id);
      r.set_mode(f.profile.mode());
      return r;
    }
    if (slot.function == fkey && slot.container == kPodSection && !opts.pod_level) {
      auto r = MoveFromPodSectionLocked(fkey, container, cgroup_id, path);
      Function& f = functions_[fkey];
      if (r.ok())
        if (auto rev = FilterInForceLocked(f, container, opts, path))
          MarkFilteredLocked(f, container, cgroup_id, *rev);
      UpdateSyscallHookLocked();
      return r;
    }
    return absl::FailedPreconditionError(absl::StrCat("cgroup ", path, " is already registered as ",
                                                      slot.function, " container ",
                                                      slot.container));
  }
  auto [fit, created] = functions_.try_emplace(fkey);
  Function& f = fit->second;
  if (created || !f.profile.has_function()) {
    f.profile = NewProfile(id, absl::Now());
    f.profile.set_mode(opts_.default_mode);
    f.dirty = true;
  }
  auto sit = f.sections.find(container);
  bool new_section = sit == f.sections.end();
  if (new_section) {
    auto slot = AllocateSlotLocked(fkey, container, f.profile.mode());
    if (!slot.ok()) {
      if (created) functions_.erase(fit);
      return slot.status();
    }
    Section s;
    s.container = container;
    s.fn_id = *slot;
    sit = f.sections.emplace(container, std::move(s)).first;
  }
  EnsureFileHookLocked(NeedsFilesLocked(f, f.profile.mode()));  // before its first open
  uint32_t kflags = (opts.pod_level ? FG_CG_F_POD : 0) | (opts.pending ? FG_CG_F_PENDING : 0);
  // Started under the filter of the policy in force: refused before its syscalls run, and
  // sys_enter passes it. Another revision (the profile changed meanwhile): sys_enter checks.
  const std::optional<std::string> filtered = FilterInForceLocked(f, container, opts, path);
  if (filtered) {
    kflags |= FG_CG_F_SECCOMP;
    sit->second.seccomp_revision = *filtered;
  }
  if (absl::Status s = slots_.Track(cgroup_id, sit->second.fn_id, path, kflags); !s.ok()) {
    // Leave nothing behind for a registration that did not happen.
    if (new_section) {
      slots_.Release(sit->second.fn_id);
      f.sections.erase(sit);
    }
    if (created) functions_.erase(fit);
    return s;
  }
  ContainerSection(f.profile, container);
  // A new slot is on disk before anyone relies on it: an agent killed right after still
  // knows, when it comes back, whose slot the kernel is enforcing.
  if (new_section) PersistKernelStateLocked();
  if (filtered) cgroup_filter_[cgroup_id] = *filtered;
  UpdateSyscallHookLocked();  // before the command's first instruction
  LogInfo("cgroup registered", {{"function", fkey},
                                {"container", container},
                                {"cgroup", path},
                                {"cgroup_id", cgroup_id},
                                {"slot", sit->second.fn_id},
                                {"seccomp", filtered.value_or("")}});
  EmitLocked(v1::EVENT_KIND_LIFECYCLE, f, container, "registered", path);
  v1::RegisterCgroupResponse r;
  r.set_cgroup_id(cgroup_id);
  r.set_mode(f.profile.mode());
  return r;
}

absl::StatusOr<v1::RegisterCgroupResponse> Engine::MoveFromPodSectionLocked(
    const std::string& fkey, const std::string& container, uint64_t cgroup_id,
    const std::string& path) {
  Function& f = functions_[fkey];
  auto sit = f.sections.find(container);
  if (sit == f.sections.end()) {
    auto slot = AllocateSlotLocked(fkey, container, f.profile.mode());
    if (!slot.ok()) return slot.status();
    Section s;
    s.container = container;
    s.fn_id = *slot;
    sit = f.sections.emplace(container, std::move(s)).first;
    PersistKernelStateLocked();
  }
  // Fold what the pod-wide slot learned so far; then the container's own slot takes over.
  SyncLocked();
  FG_RETURN_IF_ERROR(slots_.Retarget(cgroup_id, sit->second.fn_id, path));
  ContainerSection(f.profile, container);
  LogInfo("container identified", {{"function", fkey},
                                   {"container", container},
                                   {"cgroup", path},
                                   {"cgroup_id", cgroup_id},
                                   {"slot", sit->second.fn_id}});
  EmitLocked(v1::EVENT_KIND_LIFECYCLE, f, container, "registered", path);
  v1::RegisterCgroupResponse r;
  r.set_cgroup_id(cgroup_id);
  r.set_mode(f.profile.mode());
  return r;
}

void Engine::AdoptInheritedCgroup(uint64_t cgroup_id, uint64_t parent_id, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto parent = slots_.SlotOf(parent_id);
  if (!parent) return;
  // Already named: the tracker registered it through the CRI before this mkdir event was read.
  // The kernel covered it through its pod from its creation all the same.
  auto named = slots_.SlotOf(cgroup_id);
  Function* f = nullptr;
  Section* s = SectionForSlotLocked(named ? *named : *parent, &f);
  if (!s) return;
  if (!named) {
    slots_.Adopt(cgroup_id, *parent, path);
    UpdateSyscallHookLocked();
  }
  LogInfo("cgroup covered through its pod", {{"function", FunctionKey(f->profile.function())},
                                             {"cgroup", path},
                                             {"cgroup_id", cgroup_id},
                                             {"already_named", named.has_value()}});
}

std::optional<std::pair<v1::FunctionId, std::string>> Engine::CgroupOwner(uint64_t cgroup_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto slot = slots_.SlotOf(cgroup_id);
  if (!slot) return std::nullopt;
  Function* f = nullptr;
  Section* s = SectionForSlotLocked(*slot, &f);
  if (!s) return std::nullopt;
  return std::make_pair(f->profile.function(), s->container);
}

absl::Status Engine::UnregisterCgroup(uint64_t cgroup_id, absl::string_view reason) {
  std::lock_guard<std::mutex> l(mu_);
  auto slot = slots_.SlotOf(cgroup_id);
  if (!slot)
    return absl::NotFoundError(absl::StrCat("cgroup id ", cgroup_id, " is not registered"));
  Function* f = nullptr;
  Section* s = SectionForSlotLocked(*slot, &f);
  // Fold what the kernel learned before the cgroup leaves: nothing learned is lost.
  SyncLocked();
  const std::string path = slots_.PathOf(cgroup_id).value_or("");
  absl::Status st = slots_.Untrack(cgroup_id);
  cgroup_filter_.erase(cgroup_id);
  cpu_seen_.erase(cgroup_id);
  UpdateSyscallHookLocked();
  LogInfo(absl::StrCat("cgroup ", reason),
          {{"function", f ? FunctionKey(f->profile.function()) : ""},
           {"cgroup", path},
           {"cgroup_id", cgroup_id}});
  if (f && s) EmitLocked(v1::EVENT_KIND_LIFECYCLE, *f, s->container, std::string(reason), path);
  UpdateFileHookLocked();
  return st;
}

std::optional<uint64_t> Engine::CgroupIdForPath(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  return slots_.CgroupAt(path);
}

void Engine::NoteNew(Function& f, const Section& s, absl::string_view kind,
                     std::initializer_list<std::pair<absl::string_view, std::string>> what) {
  absl::Time now = absl::Now();
  *f.profile.mutable_updated() = ToProtoTime(now);
  f.dirty = true;
  ++counters_.new_items;
  std::string detail;
  for (const auto& [k, v] : what) absl::StrAppend(&detail, detail.empty() ? "" : " ", k, "=", v);
  LogInfo("new behaviour", {{"function", FunctionKey(f.profile.function())},
                            {"container", s.container},
                            {"kind", kind},
                            {"item", detail}});
  ++f.new_by_kind[std::string(kind)];
  EmitLocked(v1::EVENT_KIND_NEW_BEHAVIOUR, f, s.container, std::string(kind), detail);
}

void Engine::EmitLocked(v1::EventKind kind, const Function& f, const std::string& container,
                        const std::string& what, const std::string& detail,
                        const v1::Violation* v) {
  if (!sink_) return;
  v1::AgentEvent e;
  e.set_kind(kind);
  *e.mutable_function() = f.profile.function();
  e.set_container(container);
  e.set_what(what);
  e.set_detail(detail);
  if (v) {
    *e.mutable_violation() = *v;
    *e.mutable_time() = v->time();
  }
  sink_(std::move(e));
}

void Engine::SetEventSink(std::function<void(v1::AgentEvent)> sink) {
  std::lock_guard<std::mutex> l(mu_);
  sink_ = std::move(sink);
}

bool Engine::ApplySyscall(Function& f, Section& s, uint32_t arch, uint32_t nr, absl::Time when) {
  if (arch == FG_ARCH_URING) {  // an io_uring operation, reported like a syscall
    v1::IoUringOp op = IoUringFromKernel(nr);
    *op.mutable_first_seen() = ToProtoTime(when);
    if (!AddIoUring(ContainerSection(f.profile, s.container), op)) return false;
    NoteNew(f, s, "io_uring", {{"op", op.name()}});
    return true;
  }
  v1::SyscallEntry e = SyscallFromKernel(arch, nr);
  *e.mutable_first_seen() = ToProtoTime(when);
  if (!AddSyscall(ContainerSection(f.profile, s.container), e)) return false;
  NoteNew(f, s, "syscall", {{"name", e.name()}, {"arch", e.arch()}});
  return true;
}

bool Engine::ApplyExec(Function& f, Section& s, const PathText& bin, const PathText& parent,
                       const std::string& script, const v1::Seen& seen, const ExecEvent* ev) {
  v1::ExecEntry e = ExecItem(bin, parent, script, seen, ev);
  if (!AddExec(ContainerSection(f.profile, s.container), e)) return false;
  NoteNew(f, s, "exec", {{"path", e.path()}, {"parent", e.parent()}});
  return true;
}

bool Engine::ApplyNet(Function& f, Section& s, const fg_net_key& key, const v1::Seen& seen) {
  auto entry = NetKeyToEntry(key);
  if (!entry) return false;
  auto& [list_name, e] = *entry;
  *e.mutable_seen() = seen;
  v1::ContainerProfile& c = ContainerSection(f.profile, s.container);
  NetList* list = list_name == "egress"   ? c.mutable_egress()
                  : list_name == "listen" ? c.mutable_listen()
                                          : c.mutable_ingress();
  if (!AddNet(list, e)) return false;
  NoteNew(f, s, list_name,
          {{"protocol", v1::Protocol_Name(e.protocol())},
           {"address", e.address()},
           {"port", std::to_string(e.port())}});
  return true;
}

// --- Files -----------------------------------------------------------------------------------

bool Engine::ApplyFile(Function& f, Section& s, const PathText& path, uint32_t access,
                       const v1::Seen& seen) {
  v1::FileEntry e = FileFromKernel(path, access, seen);
  v1::ContainerProfile& c = ContainerSection(f.profile, s.container);
  if (!AddFile(c, e)) return false;
  NoteNew(f, s, "file", {{"path", e.path()}, {"access", FileAccessWords(access)}});
  if (size_t n = FoldFiles(c)) {
    LogInfo("files folded into rules", {{"function", FunctionKey(f.profile.function())},
                                        {"container", s.container},
                                        {"items", static_cast<uint64_t>(n)}});
  }
  return true;
}

void Engine::SyncFilesLocked() {
  absl::Status st = kernel_->ForEachFile([&](const fg_file_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    uint64_t& base = s->folded.file[{k.access, k.hash}];
    const CountFold c = FoldCount(v.count, base);
    if (!c.due) return;
    auto path = paths_.Resolve(k.hash);
    if (!path) {
      if (paths_.NoteUnresolved({0, k.hash, k.access})) ++counters_.unresolved_paths;
      return;
    }
    base = v.count;
    ApplyFile(*f, *s, *path, k.access, SeenFromKernel(c.delta, v.first_ns, v.last_ns));
    if (c.delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read file set", {{"error", st.ToString()}});
}

bool Engine::NeedsFilesLocked(const Function& f, v1::Mode mode) const {
  if (!opts_.limits.files) return false;  // --files off
  if (mode == v1::MODE_LEARN || mode == v1::MODE_UNSPECIFIED) return true;
  for (const auto& c : f.profile.containers())
    if (c.files_size()) return true;
  return false;
}

void Engine::EnsureFileHookLocked(bool needed) {
  if (!needed || file_hook_on_ || !file_hook_) return;
  if (absl::Status st = file_hook_(true); !st.ok()) {
    ++counters_.policy_errors;
    LogError("cannot attach the file hooks: files are neither learned nor checked",
             {{"error", st.ToString()}});
    return;
  }
  file_hook_on_ = true;
}

void Engine::UpdateFileHookLocked() {
  if (!file_hook_) return;
  bool needed = false;
  for (const auto& [key, f] : functions_)
    if (ReplicasLocked(f) && NeedsFilesLocked(f, f.profile.mode())) needed = true;
  if (needed) return EnsureFileHookLocked(true);
  if (!file_hook_on_) return;
  if (absl::Status st = file_hook_(false); !st.ok()) {
    LogWarn("cannot detach the file hooks", {{"error", st.ToString()}});
    return;
  }
  file_hook_on_ = false;
}

void Engine::SetFileHook(std::function<absl::Status(bool)> hook, bool attached) {
  std::lock_guard<std::mutex> l(mu_);
  file_hook_ = std::move(hook);
  file_hook_on_ = attached;  // kept until the replicas are known (RegisterCgroup, restore)
}

bool Engine::file_hook_attached() {
  std::lock_guard<std::mutex> l(mu_);
  return file_hook_on_;
}

bool Engine::ApplySock(Function& f, Section& s, const fg_sock_key& key, const PathText& name,
                       const v1::Seen& seen) {
  auto entry = SockKeyToEntry(key, name.path, name.flags);
  if (!entry) return false;
  SetSockEntrySeen(*entry, seen);
  if (!AddSockEntry(ContainerSection(f.profile, s.container), *entry)) return false;
  NoteNew(f, s, SockEntryKind(*entry), {{"item", SockEntryWords(*entry)}});
  return true;
}

void Engine::SyncSocksLocked() {
  absl::Status st = kernel_->ForEachSock([&](const fg_sock_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    uint64_t& base = s->folded.sock[SockKeyToBytes(k)];
    const CountFold c = FoldCount(v.count, base);
    if (!c.due) return;
    PathText name;
    if (k.kind == FG_SOCK_UNIX) {
      auto text = paths_.Resolve(k.hash);
      if (!text) return;  // fg_paths was full: the name comes with no later sync either
      name = *text;
    }
    base = v.count;
    ApplySock(*f, *s, k, name, SeenFromKernel(c.delta, v.first_ns, v.last_ns));
    if (c.delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read socket set", {{"error", st.ToString()}});
}

void Engine::HandleEvent(const Event& ev) {
  std::lock_guard<std::mutex> l(mu_);
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SyscallEvent>) ++counters_.events_syscall;
        if constexpr (std::is_same_v<T, ExecEvent>) ++counters_.events_exec;
        if constexpr (std::is_same_v<T, NetEvent>) ++counters_.events_net;
        if constexpr (std::is_same_v<T, ViolationEvent>) {
          ++counters_.events_violation;
          HandleViolationLocked(e);
          return;
        }
        if constexpr (std::is_same_v<T, CgroupEvent>) return;  // for the node tracker
        if constexpr (std::is_same_v<T, DnsEvent>) {
          HandleDnsEventLocked(e);
          return;
        }
        Function* f = nullptr;
        Section* s = SectionForSlotLocked(e.hdr.fn_id, &f);
        if (!s) {
          ++counters_.events_orphan;
          return;
        }
        absl::Time when = BootNsToTime(e.hdr.ts_ns);
        if constexpr (std::is_same_v<T, SyscallEvent>) {
          ApplySyscall(*f, *s, e.arch, e.nr, when);
        } else if constexpr (std::is_same_v<T, ExecEvent>) {
          PathText bin{e.bin.path, e.bin.flags}, parent{e.parent.path, e.parent.flags};
          paths_.Remember(e.bin.hash, bin);
          paths_.Remember(e.parent.hash, parent);
          std::string script = (e.flags & FG_EXEC_F_SCRIPT) ? e.filename : "";
          if (script.size() >= FG_FILENAME_MAX - 1) {
            // cut to the record's field: the kernel kept all of it in fg_paths
            auto full = paths_.Resolve(e.script_hash);
            if (full) script = full->path;
          } else if (!script.empty()) {
            paths_.Remember(e.script_hash, PathText{script, 0});
          }
          // Counts come from the kernel set; the event brings the item and its details.
          ApplyExec(*f, *s, bin, parent, script, SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns), &e);
        } else if constexpr (std::is_same_v<T, NetEvent>) {
          ApplyNet(*f, *s, e.key, SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns));
        } else if constexpr (std::is_same_v<T, FileEvent>) {
          PathText path{e.path.path, e.path.flags};
          paths_.Remember(e.path.hash, path);
          ApplyFile(*f, *s, path, e.access, SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns));
        } else if constexpr (std::is_same_v<T, SockEvent>) {
          PathText name{e.name, e.name_flags};
          if (e.key.kind == FG_SOCK_UNIX) paths_.Remember(e.key.hash, name);
          ApplySock(*f, *s, e.key, name, SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns));
        }
      },
      ev);
}

void Engine::SyncSectionStateLocked(Function& f, Section& s) {
  auto st = kernel_->ReadFnState(s.fn_id);
  if (!st.ok()) {
    LogWarn("cannot read function state", {{"slot", s.fn_id}, {"error", st.status().ToString()}});
    return;
  }
  absl::Time now = absl::Now();
  for (auto [arch, nr] : FoldSyscalls(*st, s.folded)) ApplySyscall(f, s, arch, nr, now);
  v1::Counters d = FoldCounters(*st, s.folded);
  auto* k = ContainerSection(f.profile, s.container).mutable_counters();
  if (d.execs() || d.forks() || d.exits()) {
    k->set_execs(k->execs() + d.execs());
    k->set_forks(k->forks() + d.forks());
    k->set_exits(k->exits() + d.exits());
    f.dirty = true;
  }
  for (size_t k = 0; k < s.viol.size(); ++k) s.viol[k] = st->viol[k];
  s.viol_suppressed = st->viol_suppressed;
  SyncBusyLocked(f, s);
}

void Engine::SyncBusyLocked(Function& f, Section& s) {
  const SlotTable::Slot* slot = slots_.Get(s.fn_id);
  if (!slot) return;
  const bool learning = f.profile.mode() == v1::MODE_LEARN;
  const absl::Time now = absl::Now();
  double busy = 0;
  for (const auto& [cg, path] : slot->cgroups) {
    if (!learning) {
      cpu_seen_.erase(cg);  // only learning counts: a new sample when it learns again
      continue;
    }
    std::optional<absl::Duration> usage = opts_.cpu_usage(path);
    if (!usage) continue;
    auto [it, first] = cpu_seen_.try_emplace(cg, CpuSample{*usage, now});
    if (first) continue;
    const absl::Duration elapsed = now - it->second.at;
    if (elapsed < absl::Seconds(1)) continue;  // API calls sync too: whole intervals only
    busy += BusySeconds(*usage - it->second.usage, elapsed);
    it->second = CpuSample{*usage, now};
  }
  s.busy_carry += busy;
  if (s.busy_carry >= 1) {
    const auto whole = static_cast<uint64_t>(s.busy_carry);
    s.busy_carry -= static_cast<double>(whole);
    auto* k = ContainerSection(f.profile, s.container).mutable_counters();
    k->set_busy_seconds(k->busy_seconds() + whole);
  }
}

void Engine::SyncLocked() {
  ++counters_.syncs;
  UpdateSyscallHookLocked(/*may_detach=*/true);
  for (auto& [key, f] : functions_)
    for (auto& [name, s] : f.sections) SyncSectionStateLocked(f, s);

  absl::Status st = kernel_->ForEachExec([&](const fg_exec_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    const ExecTuple t{k.parent_hash, k.bin_hash, k.script_hash};
    uint64_t& base = s->folded.exec[t];
    const CountFold c = FoldCount(v.count, base);
    if (!c.due) return;
    auto bin = paths_.Resolve(k.bin_hash);
    auto parent = paths_.Resolve(k.parent_hash);
    std::optional<PathText> script;
    if (k.script_hash) script = paths_.Resolve(k.script_hash);
    if (!bin || !parent || (k.script_hash && !script)) {
      if (paths_.NoteUnresolved(t)) ++counters_.unresolved_paths;
      return;
    }
    base = v.count;
    ApplyExec(*f, *s, *bin, *parent, script ? script->path : "",
              SeenFromKernel(c.delta, v.first_ns, v.last_ns), nullptr);
    if (c.delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read exec set", {{"error", st.ToString()}});

  st = kernel_->ForEachNet([&](const fg_net_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    uint64_t& base = s->folded.net[NetKeyToBytes(k)];
    const CountFold c = FoldCount(v.count, base);
    if (!c.due) return;
    base = v.count;
    ApplyNet(*f, *s, k, SeenFromKernel(c.delta, v.first_ns, v.last_ns));
    if (c.delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read network set", {{"error", st.ToString()}});
  SyncFilesLocked();
  SyncSocksLocked();
  SyncDnsLocked();
}

void Engine::SyncFromKernel() {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  ExpireDnsBindingsLocked();
}

void Engine::SaveDirty() {
  std::vector<v1::Profile> todo;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [key, f] : functions_) {
      if (!f.dirty) continue;
      todo.push_back(f.profile);
      f.dirty = false;
    }
    // The counts folded so far go with the profiles that hold them (a crash between the two
    // writes counts at most one sync interval's worth twice after a restart).
    PersistKernelStateLocked();
  }
  for (const auto& p : todo) {
    absl::Status st = store_->Save(p);
    if (st.ok()) continue;
    LogError("cannot save profile",
             {{"function", FunctionKey(p.function())}, {"error", st.ToString()}});
    std::lock_guard<std::mutex> l(mu_);
    ++counters_.save_errors;
    if (Function* f = FindFunctionLocked(p.function())) f->dirty = true;
  }
}

v1::KernelState Engine::SnapshotLocked() {
  v1::KernelState st;
  st.set_abi_version(FG_ABI_VERSION);
  st.set_hash_seed(opts_.hash_seed);
  for (const auto& [key, f] : functions_) {
    for (const auto& [name, s] : f.sections) {
      v1::SlotState* ss = st.add_slots();
      ss->set_slot(s.fn_id);
      *ss->mutable_function() = f.profile.function();
      ss->set_container(s.container);
      for (const auto& [id, path] : slots_.Get(s.fn_id)->cgroups)
        (*ss->mutable_cgroups())[id] = path;
      RecordFoldBase(s.folded, ss);
      for (uint64_t v : s.viol) ss->add_viol(v);
      ss->set_viol_suppressed(s.viol_suppressed);
    }
  }
  return st;
}

v1::KernelState Engine::KernelStateSnapshot() {
  std::lock_guard<std::mutex> l(mu_);
  return SnapshotLocked();
}

void Engine::PersistKernelStateLocked() {
  if (!record_.enabled()) return;
  if (absl::Status st = record_.Write(SnapshotLocked()); !st.ok()) {
    ++counters_.save_errors;
    LogError("cannot save the kernel-state record", {{"error", st.ToString()}});
  }
}

Engine::RestoreReport Engine::RestoreKernelState(
    const v1::KernelState& state,
    const std::function<std::optional<std::string>(uint64_t)>& path_of) {
  std::lock_guard<std::mutex> l(mu_);
  RestoreReport r;
  absl::Time now = absl::Now();
  for (const v1::SlotState& ss : state.slots()) {
    const uint32_t slot = ss.slot();
    const SlotTable::Slot* free = slots_.Get(slot);
    if (!free || !free->function.empty() || !ValidateFunctionId(ss.function()).ok() ||
        !ValidateContainerName(ss.container()).ok()) {
      LogWarn("kernel-state record: slot skipped", {{"slot", slot}});
      continue;
    }
    const std::string fkey = FunctionKey(ss.function());
    auto cfg = kernel_->ReadFnConfig(slot);
    Function& f = functions_[fkey];
    if (!f.profile.has_function()) {
      // Its profile never reached the disk: start one in the mode the kernel is in.
      f.profile = NewProfile(ss.function(), now);
      f.profile.set_mode(cfg.ok() ? ModeFromKernel(cfg->mode) : opts_.default_mode);
      f.dirty = true;
    }
    if (f.sections.count(ss.container())) continue;
    Section& s = f.sections[ss.container()];
    s.container = ss.container();
    s.fn_id = slot;
    s.folded = FoldBaseFromRecord(ss);
    for (int i = 0; i < ss.viol_size() && i < static_cast<int>(s.viol.size()); ++i)
      s.viol[i] = ss.viol(i);
    s.viol_suppressed = ss.viol_suppressed();
    slots_.Claim(slot, fkey, ss.container(), cfg.ok() ? cfg->gen : 0,
                 static_cast<uint8_t>(cfg.ok() ? cfg->flags & ~FG_CFG_F_FAIL_OPEN : 0));
    ContainerSection(f.profile, ss.container());
    ++r.slots;
  }
  // The cgroups are the kernel's: those the earlier agent registered, and those created
  // under a tracked pod while no agent ran.
  std::vector<uint64_t> drop;
  absl::Status st = kernel_->ForEachTracked([&](uint64_t id, const fg_cgroup_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(v.fn_id, &f);
    std::optional<std::string> path = s ? path_of(id) : std::nullopt;
    if (!path) {
      drop.push_back(id);
      return;
    }
    slots_.Adopt(id, v.fn_id, *path, v.flags);
    // The filter it started under is taken as the policy it had (RefreshSeccompLocked below
    // clears the flag where the policy is another now).
    if (v.flags & FG_CG_F_SECCOMP) {
      auto m = SeccompPolicyLocked(*f, s->container);
      if (m.ok()) cgroup_filter_[id] = m->revision();
    }
    ++r.cgroups;
  });
  if (!st.ok()) LogWarn("cannot read the tracked cgroups", {{"error", st.ToString()}});
  for (uint64_t id : drop) {
    (void)slots_.DropKernelEntry(id);
    ++r.dropped;
  }
  // The kernel's config is what was in force; where it is not what the profile says (a crash
  // between the flip and the profile write), the profile wins.
  for (auto& [key, f] : functions_) {
    std::optional<v1::Mode> in_force;  // the kernel's mode where it differs
    for (const auto& [name, s] : f.sections) {
      auto cfg = kernel_->ReadFnConfig(s.fn_id);
      const SlotTable::Slot& slot = *slots_.Get(s.fn_id);
      fg_fn_cfg want = KernelConfig(ModeSettings::Of(f.profile), slot.gen, slot.cfg_flags);
      if (!in_force && (!cfg.ok() || cfg->mode != want.mode || cfg->sys_action != want.sys_action ||
                        cfg->flags != want.flags))
        in_force = cfg.ok() ? ModeFromKernel(cfg->mode) : v1::MODE_UNSPECIFIED;
    }
    if (!in_force) continue;
    auto applied = ApplyModeLocked(f, ModeSettings::Of(f.profile));
    LogWarn("kernel config of a function differed from its profile: applied again",
            {{"function", key}, {"mode", ModeWord(f.profile.mode())}, {"ok", applied.ok()}});
    if (applied.ok()) AnnounceModeLocked(f, *in_force, ModeSource::kRestore, *applied);
    ++r.modes_reapplied;
  }
  for (auto& [key, f] : functions_) RefreshSeccompLocked(f);
  // What the kernel learned while no agent ran.
  SyncLocked();
  record_.Reset();
  PersistKernelStateLocked();
  UpdateFileHookLocked();
  return r;
}

void Engine::DropVanishedCgroups(const std::function<bool(uint64_t, const std::string&)>& exists) {
  std::vector<uint64_t> gone;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, path] : slots_.Cgroups())
      if (!exists(id, path)) gone.push_back(id);
  }
  for (uint64_t id : gone) {
    LogWarn("tracked cgroup vanished: untracking it", {{"cgroup_id", id}});
    (void)UnregisterCgroup(id, "vanished");
  }
}

std::map<std::string, uint64_t> Engine::ViolationsByKindLocked(const Function& f) {
  std::map<std::string, uint64_t> by_kind;
  for (const auto& [name, s] : f.sections)
    for (uint8_t k = FG_VIOL_SYSCALL; k < FG_VIOL_KINDS; ++k)
      // The kinds added later are listed once they happen (the four first ones always are).
      if (k <= FG_VIOL_LISTEN || ((k == FG_VIOL_DNS_QUERY || k == FG_VIOL_FILE) && s.viol[k]))
        by_kind[ViolationKindWord(k)] += s.viol[k];
  return by_kind;
}

uint64_t Engine::UnrecordedLocked(const Function& f) {
  uint64_t n = 0;
  for (const auto& [name, s] : f.sections) n += s.viol_suppressed;
  return n;
}

size_t Engine::ReplicasLocked(const Function& f) {
  size_t n = 0;
  for (const auto& [name, s] : f.sections) n += slots_.Get(s.fn_id)->cgroups.size();
  return n;
}

v1::Lifecycle Engine::LifecycleLocked(const Function& f) {
  return LifecycleOf(f.profile, {opts_.stable_window, opts_.stable_min_observations}, absl::Now());
}

v1::FunctionSummary Engine::SummaryLocked(const Function& f) {
  v1::FunctionSummary s;
  *s.mutable_function() = f.profile.function();
  s.set_mode(f.profile.mode());
  for (const auto& c : f.profile.containers()) s.add_containers(c.name());
  s.set_replicas(static_cast<uint32_t>(ReplicasLocked(f)));
  ProfileCounts n = CountItems(f.profile);
  s.set_syscalls(n.syscalls);
  s.set_execs(n.execs);
  s.set_egress(n.egress + n.named_egress);
  s.set_listen(n.listen);
  s.set_ingress(n.ingress);
  if (f.profile.has_updated()) *s.mutable_last_new_behaviour() = f.profile.updated();
  s.set_syscall_action(f.profile.syscall_action());
  s.set_sensitive_syscall_action(f.profile.sensitive_syscall_action());
  s.set_when_agent_absent(f.profile.when_agent_absent());
  uint64_t total = 0;
  for (const auto& [kind, count] : ViolationsByKindLocked(f)) {
    auto* c = s.add_violations_by_kind();
    c->set_name(kind);
    c->set_value(count);
    total += count;
  }
  s.set_violations(total);
  s.set_violations_recorded(violations_.CountFor(FunctionKey(f.profile.function())));
  s.set_violations_unrecorded(UnrecordedLocked(f));
  *s.mutable_lifecycle() = LifecycleLocked(f);
  std::vector<std::string> revisions;
  for (const auto& [name, sec] : f.sections) {
    if (!sec.seccomp_revision.empty())
      revisions.push_back(f.sections.size() == 1 ? sec.seccomp_revision
                                                 : absl::StrCat(name, "=", sec.seccomp_revision));
    for (const auto& [cg, path] : slots_.Get(sec.fn_id)->cgroups) {
      v1::Replica* r = s.add_replica_details();
      r->set_container(name);
      r->set_cgroup(path);
      const bool filtered = slots_.FlagsOf(cg) & FG_CG_F_SECCOMP;
      r->set_syscall_hook(!(slots_.FlagsOf(cg) & kNoSyscallHook));
      if (auto it = cgroup_filter_.find(cg); filtered && it != cgroup_filter_.end())
        r->set_seccomp_revision(it->second);
    }
  }
  s.set_seccomp_revision(absl::StrJoin(revisions, ","));
  return s;
}

std::vector<v1::FunctionId> Engine::FunctionIds() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<v1::FunctionId> out;
  for (const auto& [key, f] : functions_) out.push_back(f.profile.function());
  return out;
}

std::vector<v1::FunctionSummary> Engine::ListFunctions() {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  std::vector<v1::FunctionSummary> out;
  for (auto& [key, f] : functions_) out.push_back(SummaryLocked(f));
  return out;
}

absl::StatusOr<v1::FunctionSummary> Engine::GetFunction(const v1::FunctionId& id) {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  Function* f = FindFunctionLocked(id);
  if (!f)
    return absl::NotFoundError(absl::StrCat("no function ", FunctionKey(id), " on this node"));
  return SummaryLocked(*f);
}

absl::StatusOr<v1::Profile> Engine::GetProfile(const v1::FunctionId& id) {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  Function* f = FindFunctionLocked(id);
  if (!f) {
    std::vector<std::string> known;
    for (const auto& [k, v] : functions_) known.push_back(k);
    return absl::NotFoundError(absl::StrCat(
        "no function ", FunctionKey(id), " on this node",
        known.empty() ? "" : absl::StrCat(" (known: ", absl::StrJoin(known, ", "), ")")));
  }
  v1::Profile p = f->profile;
  NormalizeProfile(p);
  return p;
}

absl::StatusOr<uint32_t> Engine::ApplyModeLocked(Function& f, const ModeSettings& to) {
  const ModeSettings from = ModeSettings::Of(f.profile);
  absl::Status st;
  uint32_t rules = 0;
  EnsureFileHookLocked(!f.sections.empty() && NeedsFilesLocked(f, to.mode));
  if (to.mode == v1::MODE_LEARN) {
    std::vector<uint32_t> slots;
    for (const auto& [name, s] : f.sections) slots.push_back(s.fn_id);
    st = mode_switch_.ToLearn(slots, from, to);
  } else {
    // Every section compiles before anything touches the kernel.
    std::vector<std::pair<uint32_t, AllowList>> todo;
    v1::Profile target = f.profile;  // the settings asked for decide the kill set
    to.ApplyTo(target);
    for (const auto& [name, s] : f.sections) {
      auto c = CompileSection(target, s.container, opts_.hash_seed, opts_.limits);
      if (!c.ok()) {
        ++counters_.policy_errors;
        return c.status();
      }
      rules += static_cast<uint32_t>(c->rules());
      todo.emplace_back(s.fn_id, std::move(*c));
    }
    st = mode_switch_.ToAllowLists(todo, from, to);
    if (st.ok()) ++counters_.policy_writes;
  }
  if (!st.ok()) {
    ++counters_.policy_errors;
    return st;
  }
  if (to.mode == v1::MODE_LEARN && from.mode != v1::MODE_LEARN)
    *f.profile.mutable_learning_started() = ToProtoTime(absl::Now());
  to.ApplyTo(f.profile);
  f.dirty = true;
  UpdateFileHookLocked();
  RefreshSeccompLocked(f);
  return rules;
}

void Engine::AnnounceModeLocked(Function& f, v1::Mode from, ModeSource source, uint32_t rules) {
  const ModeSettings now = ModeSettings::Of(f.profile);
  LogInfo("mode changed",
          {{"function", FunctionKey(f.profile.function())},
           {"from", ModeWord(from)},
           {"to", ModeWord(now.mode)},
           {"source", ModeSourceWord(source)},
           {"syscall_action", SyscallActionWord(now.syscall_action)},
           {"sensitive_syscall_action", SyscallActionWord(now.sensitive_syscall_action)},
           {"when_agent_absent", AgentAbsenceWord(now.when_agent_absent)},
           {"rules", rules}});
  EmitLocked(
      v1::EVENT_KIND_LIFECYCLE, f, "", "mode",
      absl::StrCat(ModeWord(from), " -> ", ModeWord(now.mode), " (", ModeSourceWord(source), ")"));
  f.announced_stable = false;
}

absl::StatusOr<v1::SetModeResponse> Engine::SetMode(const v1::FunctionId& id,
                                                    const ModeRequest& req, ModeSource source) {
  std::lock_guard<std::mutex> l(mu_);
  Function* f = FindFunctionLocked(id);
  if (!f)
    return absl::NotFoundError(absl::StrCat("no function ", FunctionKey(id), " on this node"));
  v1::SetModeResponse r;
  r.set_previous(f->profile.mode());
  // Whatever was learned until now belongs in the profile the allow-list is compiled from.
  SyncLocked();
  ModeSettings to = ModeSettings::Of(f->profile);
  to.mode = req.mode;
  if (req.syscall_action) to.syscall_action = *req.syscall_action;
  if (req.sensitive_syscall_action) to.sensitive_syscall_action = *req.sensitive_syscall_action;
  if (req.when_agent_absent) to.when_agent_absent = *req.when_agent_absent;
  auto rules = ApplyModeLocked(*f, to);
  if (!rules.ok()) {
    LogError("mode change refused: nothing changed", {{"function", FunctionKey(id)},
                                                      {"mode", ModeWord(req.mode)},
                                                      {"source", ModeSourceWord(source)},
                                                      {"error", rules.status().ToString()}});
    return rules.status();
  }
  r.set_mode(req.mode);
  r.set_rules(*rules);
  AnnounceModeLocked(*f, r.previous(), source, *rules);
  return r;
}

void Engine::HandleViolationLocked(const ViolationEvent& e) {
  Function* f = nullptr;
  Section* s = SectionForSlotLocked(e.hdr.fn_id, &f);
  if (!s) {
    ++counters_.events_orphan;
    return;
  }
  ViolationEvent named = e;
  NameDnsViolationLocked(named);
  v1::Violation record = ViolationFromKernel(named);
  *record.mutable_function() = f->profile.function();
  record.set_container(s->container);
  const v1::Violation& v = violations_.Add(std::move(record));
  LogWarn("violation", {{"id", v.id()},
                        {"function", FunctionKey(v.function())},
                        {"container", v.container()},
                        {"pid", v.pid()},
                        {"uid", v.uid()},
                        {"binary", v.binary()},
                        {"parent", v.parent()},
                        {"kind", v.kind()},
                        {"attempted", v.attempted()},
                        {"action", v.action()},
                        {"mode", ModeWord(v.mode())}});
  EmitLocked(v1::EVENT_KIND_VIOLATION, *f, s->container, v.kind(), v.attempted(), &v);
}

v1::ListViolationsResponse Engine::ListViolations(const v1::FunctionId* id, size_t limit) {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  v1::ListViolationsResponse r;
  uint64_t total = 0;
  for (auto& v : violations_.Newest(id ? FunctionKey(*id) : "", limit, &total))
    *r.add_violations() = std::move(v);
  r.set_total(total);
  uint64_t dropped = 0;
  for (const auto& [key, f] : functions_)
    if (!id || key == FunctionKey(*id)) dropped += UnrecordedLocked(f);
  r.set_dropped(dropped);
  return r;
}

absl::StatusOr<v1::AcceptViolationResponse> Engine::AcceptViolation(const v1::FunctionId& id,
                                                                    uint64_t vid) {
  std::lock_guard<std::mutex> l(mu_);
  const v1::Violation* v = violations_.Find(vid);
  if (!v)
    return absl::NotFoundError(
        absl::StrCat("no violation ", vid, " (the newest ", opts_.max_violations, " are kept)"));
  if (FunctionKey(v->function()) != FunctionKey(id))
    return absl::InvalidArgumentError(absl::StrCat(
        "violation ", vid, " belongs to ", FunctionKey(v->function()), ", not ", FunctionKey(id)));
  Function* f = FindFunctionLocked(id);
  if (!f) return absl::NotFoundError(absl::StrCat("no function ", FunctionKey(id)));
  if (v->item_case() == v1::Violation::ITEM_NOT_SET)
    return absl::FailedPreconditionError(
        absl::StrCat("violation ", vid, " (", v->attempted(), ") cannot become a profile rule"));
  v1::Profile before = f->profile;
  const bool added = AddViolationItem(ContainerSection(f->profile, v->container()), *v);
  if (added && f->profile.mode() != v1::MODE_LEARN) {
    auto r = ApplyModeLocked(*f, ModeSettings::Of(f->profile));
    if (!r.ok()) {
      f->profile = std::move(before);  // the allow-list in force did not change either
      return r.status();
    }
  }
  violations_.MarkAccepted(vid);
  *f->profile.mutable_updated() = ToProtoTime(absl::Now());
  f->dirty = true;
  LogInfo("violation accepted into the profile", {{"id", vid},
                                                  {"function", FunctionKey(id)},
                                                  {"container", v->container()},
                                                  {"kind", v->kind()},
                                                  {"item", v->attempted()},
                                                  {"added", added}});
  v1::AcceptViolationResponse r;
  *r.mutable_violation() = *v;
  r.set_added(added);
  return r;
}

namespace {

uint64_t ItemsOf(const google::protobuf::RepeatedPtrField<v1::ContainerProfile>& sections) {
  v1::Profile p;
  *p.mutable_containers() = sections;
  return CountItems(p).total();
}

}  // namespace

absl::StatusOr<v1::PutProfileResponse> Engine::PutProfile(const v1::PutProfileRequest& req,
                                                          ModeSource source) {
  v1::Profile incoming = req.profile();
  incoming.set_schema_version(kProfileSchemaVersion);
  if (incoming.function().platform().empty())
    incoming.mutable_function()->set_platform(std::string(kPlatformLocal));
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  const std::string key = FunctionKey(incoming.function());
  Function* existing = FindFunctionLocked(incoming.function());
  const absl::Time now = absl::Now();

  // The mode, syscall action and absence are the function's (a new one's: the agent's
  // defaults) unless the request asks: take the document's, or set a mode.
  const ModeSettings before =
      existing ? ModeSettings::Of(existing->profile) : ModeSettings{opts_.default_mode};
  ModeSettings after = before;
  if (req.take_mode()) {
    after = ModeSettings::Of(incoming);
    if (incoming.mode() == v1::MODE_UNSPECIFIED) after.mode = before.mode;
  }
  if (req.mode() != v1::MODE_UNSPECIFIED) after.mode = req.mode();

  v1::Profile next;
  if (!existing) {
    next = std::move(incoming);
    if (!next.has_created()) *next.mutable_created() = ToProtoTime(now);
    if (!next.has_updated()) *next.mutable_updated() = ToProtoTime(now);
  } else if (req.merge()) {
    next = existing->profile;
    MergeProfile(next, incoming);
  } else {
    next = std::move(incoming);
    *next.mutable_created() = existing->profile.created();
    next.clear_learning_started();
    if (existing->profile.has_learning_started())
      *next.mutable_learning_started() = existing->profile.learning_started();
  }
  if (existing) *next.mutable_updated() = ToProtoTime(now);
  before.ApplyTo(next);  // ApplyModeLocked moves them, all or nothing

  v1::PutProfileResponse r;
  r.set_created(!existing);
  r.set_previous_mode(existing ? before.mode : v1::MODE_UNSPECIFIED);
  ProfileDiff d = DiffProfiles(existing ? existing->profile : v1::Profile(), next);
  for (auto& c : d.added) *r.mutable_diff()->add_added() = std::move(c);
  for (auto& c : d.removed) *r.mutable_diff()->add_removed() = std::move(c);
  r.mutable_diff()->set_identical(d.identical());
  // Running replicas get the new allow-list (monitor / enforce) or stop being checked.
  const bool to_kernel = existing && !existing->sections.empty() &&
                         (after.mode != v1::MODE_LEARN || before.mode != v1::MODE_LEARN);
  if (req.dry_run()) {
    // Nothing changes; what the import would be refused for is said now.
    if (to_kernel && after.mode != v1::MODE_LEARN) {
      for (const auto& [name, s] : existing->sections) {
        auto c = CompileSection(next, s.container, opts_.hash_seed, opts_.limits);
        if (!c.ok()) return c.status();
      }
    }
    r.set_items(static_cast<uint32_t>(CountItems(next).total()));
    r.set_mode(after.mode);
    r.set_dry_run(true);
    return r;
  }

  Function& f = existing ? *existing : functions_[key];
  v1::Profile old = std::move(f.profile);
  f.profile = std::move(next);
  uint32_t rules = 0;
  if (to_kernel) {
    auto applied = ApplyModeLocked(f, after);
    if (!applied.ok()) {
      f.profile = std::move(old);
      return applied.status();
    }
    rules = *applied;
  } else {
    after.ApplyTo(f.profile);
    if (after.mode == v1::MODE_LEARN &&
        (existing ? before.mode != v1::MODE_LEARN : !f.profile.has_learning_started()))
      *f.profile.mutable_learning_started() = ToProtoTime(now);
  }
  NormalizeProfile(f.profile);
  f.dirty = true;
  f.announced_stable = false;
  r.set_items(static_cast<uint32_t>(CountItems(f.profile).total()));
  r.set_mode(f.profile.mode());
  LogInfo("profile imported", {{"function", key},
                               {"created", !existing},
                               {"merge", req.merge()},
                               {"items", r.items()},
                               {"added", ItemsOf(r.diff().added())},
                               {"removed", ItemsOf(r.diff().removed())},
                               {"mode", ModeWord(r.mode())}});
  EmitLocked(v1::EVENT_KIND_LIFECYCLE, f, "", "imported",
             absl::StrCat(r.items(), " items", req.merge() ? " (merged)" : "",
                          existing ? "" : absl::StrCat(", new function in ", ModeWord(r.mode()))));
  if (existing && !(after == before)) AnnounceModeLocked(f, before.mode, source, rules);
  return r;
}

absl::Status Engine::DeleteProfile(const v1::FunctionId& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = functions_.find(FunctionKey(id));
  if (it == functions_.end())
    return absl::NotFoundError(absl::StrCat("no function ", FunctionKey(id), " on this node"));
  Function& f = it->second;
  const size_t replicas = ReplicasLocked(f);
  if (replicas)
    return absl::FailedPreconditionError(absl::StrCat(
        "function ", FunctionKey(id), " has ", replicas, " tracked replicas: stop them first"));
  FG_RETURN_IF_ERROR(store_->Remove(f.profile.function()));
  if (opts_.seccomp_files) (void)opts_.seccomp_files->RemoveFunction(f.profile.function());
  for (auto& [name, s] : f.sections) slots_.Free(s.fn_id);
  EmitLocked(v1::EVENT_KIND_LIFECYCLE, f, "", "deleted", "profile and kernel state dropped");
  LogInfo("function deleted", {{"function", FunctionKey(id)}});
  functions_.erase(it);
  PersistKernelStateLocked();
  UpdateFileHookLocked();
  return absl::OkStatus();
}

absl::StatusOr<v1::DiffProfileResponse> Engine::DiffProfile(const v1::FunctionId& id,
                                                            const v1::Profile& other) {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  Function* f = FindFunctionLocked(id);
  if (!f)
    return absl::NotFoundError(absl::StrCat("no function ", FunctionKey(id), " on this node"));
  ProfileDiff d = DiffProfiles(f->profile, other);
  v1::DiffProfileResponse r;
  for (auto& c : d.added) *r.add_added() = std::move(c);
  for (auto& c : d.removed) *r.add_removed() = std::move(c);
  r.set_identical(d.identical());
  return r;
}

v1::Mode Engine::SetDefaultMode(v1::Mode mode) {
  std::lock_guard<std::mutex> l(mu_);
  v1::Mode old = opts_.default_mode;
  opts_.default_mode = mode;
  LogInfo("default mode changed", {{"from", ModeWord(old)}, {"to", ModeWord(mode)}});
  return old;
}

v1::Mode Engine::default_mode() {
  std::lock_guard<std::mutex> l(mu_);
  return opts_.default_mode;
}

void Engine::CheckLifecycle() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [key, f] : functions_) {
    v1::Lifecycle lc = LifecycleLocked(f);
    if (!lc.stable()) {
      f.announced_stable = false;
      continue;
    }
    if (f.announced_stable) continue;
    f.announced_stable = true;
    std::string detail = absl::StrCat("nothing new for ", lc.seconds_since_new(), "s after ",
                                      lc.observations(), " observations");
    LogInfo("function stable", {{"function", key}, {"detail", detail}});
    EmitLocked(v1::EVENT_KIND_LIFECYCLE, f, "", "stable", detail);
    if (opts_.auto_promote == v1::MODE_UNSPECIFIED || f.sections.empty()) continue;
    ModeSettings to = ModeSettings::Of(f.profile);
    to.mode = opts_.auto_promote;
    auto r = ApplyModeLocked(f, to);
    if (!r.ok()) {
      LogWarn("auto-promotion refused", {{"function", key}, {"error", r.status().ToString()}});
      continue;
    }
    AnnounceModeLocked(f, v1::MODE_LEARN, ModeSource::kAutoPromote, *r);
    LogInfo("function promoted", {{"function", key}, {"mode", ModeWord(opts_.auto_promote)}});
    EmitLocked(v1::EVENT_KIND_LIFECYCLE, f, "", "promoted",
               absl::StrCat("learn -> ", ModeWord(opts_.auto_promote)));
  }
}

size_t Engine::stable_functions() {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (auto& [key, f] : functions_) n += LifecycleLocked(f).stable();
  return n;
}

std::vector<Engine::FunctionMetrics> Engine::Metrics() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<FunctionMetrics> out;
  for (auto& [key, f] : functions_) {
    FunctionMetrics m;
    m.function = key;
    m.mode = f.profile.mode();
    m.stable = LifecycleLocked(f).stable();
    m.new_behaviours = f.new_by_kind;
    m.replicas = static_cast<uint32_t>(ReplicasLocked(f));
    m.violations = ViolationsByKindLocked(f);
    out.push_back(std::move(m));
  }
  return out;
}

EngineCounters Engine::counters() {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

size_t Engine::function_count() {
  std::lock_guard<std::mutex> l(mu_);
  return functions_.size();
}

size_t Engine::tracked_cgroups() {
  std::lock_guard<std::mutex> l(mu_);
  return slots_.tracked();
}

}  // namespace faasguard
