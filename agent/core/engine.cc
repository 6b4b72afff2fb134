#include "core/engine.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/log.h"
#include "profile/names.h"
#include "profile/profile.h"
#include "syscalls/syscall_table.h"

namespace faasguard {
namespace {

v1::Seen SeenFromKernel(uint64_t count, uint64_t first_ns, uint64_t last_ns) {
  v1::Seen s;
  s.set_count(count);
  if (first_ns) *s.mutable_first_seen() = ToProtoTime(BootNsToTime(first_ns));
  if (last_ns) *s.mutable_last_seen() = ToProtoTime(BootNsToTime(last_ns));
  return s;
}

std::array<uint8_t, sizeof(fg_net_key)> NetKeyBytes(const fg_net_key& k) {
  std::array<uint8_t, sizeof(fg_net_key)> b;
  std::memcpy(b.data(), &k, sizeof k);
  return b;
}

uint64_t Delta(uint64_t now, uint64_t base) { return now >= base ? now - base : now; }

}  // namespace

void PathToProfile(const PathText& p, std::string* path, v1::PathKind* kind) {
  if (p.flags & FG_PATH_F_DETACHED) {
    *kind = v1::PATH_KIND_ANONYMOUS;
    *path = !p.path.empty() && p.path[0] == '/' ? p.path.substr(1) : p.path;
  } else if (p.flags & FG_PATH_F_UNLINKED) {
    *kind = v1::PATH_KIND_DELETED;
    *path = p.path;
  } else if (p.flags & FG_PATH_F_TRUNCATED) {
    *kind = v1::PATH_KIND_TRUNCATED;
    *path = p.path;
  } else {
    *kind = v1::PATH_KIND_FILE;
    *path = p.path;
  }
}

std::optional<std::pair<std::string, v1::NetEntry>> NetKeyToEntry(const fg_net_key& k) {
  v1::NetEntry e;
  if (!v1::Protocol_IsValid(k.proto) || k.proto == 0) return std::nullopt;
  e.set_protocol(static_cast<v1::Protocol>(k.proto));
  e.set_port(k.port);
  auto addr = [&] {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(k.family == 6 ? AF_INET6 : AF_INET, k.addr, buf, sizeof buf);
    return std::string(buf);
  };
  switch (k.kind) {
    case FG_NET_CONNECT:
    case FG_NET_SEND:
      e.set_address(addr());
      return std::make_pair(std::string("egress"), e);
    case FG_NET_BIND:
      if (k.port == 0) return std::nullopt;  // ephemeral port: nothing to learn
      [[fallthrough]];
    case FG_NET_LISTEN:
      return std::make_pair(std::string("listen"), e);
    case FG_NET_ACCEPT:
      e.set_address(addr());
      return std::make_pair(std::string("ingress"), e);
    default:
      return std::nullopt;
  }
}

Engine::Engine(KernelMaps* kernel, ProfileStore* store, Options opts)
    : kernel_(kernel), store_(store), opts_(opts), slots_(opts.max_slots) {}

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
  LogInfo("profiles loaded", {{"count", static_cast<uint64_t>(loaded.profiles.size())},
                              {"quarantined", static_cast<uint64_t>(loaded.quarantined.size())},
                              {"dir", store_->profiles_dir()}});
}

Engine::Function* Engine::FindFunctionLocked(const v1::FunctionId& id) {
  auto it = functions_.find(FunctionKey(id));
  return it == functions_.end() ? nullptr : &it->second;
}

Engine::Section* Engine::SectionForSlotLocked(uint32_t fn_id, Function** fn) {
  if (fn_id >= slots_.size() || slots_[fn_id].function.empty()) return nullptr;
  auto fit = functions_.find(slots_[fn_id].function);
  if (fit == functions_.end()) return nullptr;
  auto sit = fit->second.sections.find(slots_[fn_id].container);
  if (sit == fit->second.sections.end()) return nullptr;
  *fn = &fit->second;
  return &sit->second;
}

absl::StatusOr<uint32_t> Engine::AllocateSlotLocked(const std::string& fkey,
                                                    const std::string& container, v1::Mode mode) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].function.empty()) continue;
    // A slot starts clean: whatever a previous owner left in the kernel is dropped.
    if (absl::Status s = kernel_->ResetFn(i); !s.ok()) return s;
    fg_fn_cfg cfg{};
    cfg.mode = mode == v1::MODE_ENFORCE   ? FG_MODE_ENFORCE
               : mode == v1::MODE_MONITOR ? FG_MODE_MONITOR
                                          : FG_MODE_LEARN;
    if (absl::Status s = kernel_->SetFnConfig(i, cfg); !s.ok()) return s;
    slots_[i] = {fkey, container};
    return i;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", slots_.size(), " function slots are in use"));
}

absl::StatusOr<v1::RegisterCgroupResponse> Engine::RegisterCgroup(const v1::FunctionId& in_id,
                                                                  const std::string& container,
                                                                  uint64_t cgroup_id,
                                                                  const std::string& path) {
  v1::FunctionId id = in_id;
  if (id.platform().empty()) id.set_platform(std::string(kPlatformLocal));
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return s;
  if (absl::Status s = ValidateLabel(container, "container name"); !s.ok()) return s;
  std::string fkey = FunctionKey(id);

  std::lock_guard<std::mutex> l(mu_);
  if (auto it = cgroups_.find(cgroup_id); it != cgroups_.end()) {
    const Slot& slot = slots_[it->second];
    if (slot.function == fkey && slot.container == container) {
      v1::RegisterCgroupResponse r;
      r.set_cgroup_id(cgroup_id);
      r.set_mode(functions_[fkey].profile.mode());
      return r;  // idempotent
    }
    return absl::FailedPreconditionError(absl::StrCat("cgroup ", path, " is already registered as ",
                                                      slot.function, " container ",
                                                      slot.container));
  }
  auto [fit, created] = functions_.try_emplace(fkey);
  Function& f = fit->second;
  if (created || !f.profile.has_function()) {
    f.profile = NewProfile(id, absl::Now());
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
  if (absl::Status s = kernel_->TrackCgroup(cgroup_id, sit->second.fn_id); !s.ok()) {
    // Leave nothing behind for a registration that did not happen.
    if (new_section) {
      slots_[sit->second.fn_id] = Slot{};
      f.sections.erase(sit);
    }
    if (created) functions_.erase(fit);
    return s;
  }
  ContainerSection(f.profile, container);
  sit->second.cgroups[cgroup_id] = path;
  cgroups_[cgroup_id] = sit->second.fn_id;
  LogInfo("cgroup registered", {{"function", fkey},
                                {"container", container},
                                {"cgroup", path},
                                {"cgroup_id", cgroup_id},
                                {"slot", sit->second.fn_id}});
  v1::RegisterCgroupResponse r;
  r.set_cgroup_id(cgroup_id);
  r.set_mode(f.profile.mode());
  return r;
}

absl::Status Engine::UnregisterCgroup(uint64_t cgroup_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = cgroups_.find(cgroup_id);
  if (it == cgroups_.end())
    return absl::NotFoundError(absl::StrCat("cgroup id ", cgroup_id, " is not registered"));
  uint32_t slot = it->second;
  Function* f = nullptr;
  Section* s = SectionForSlotLocked(slot, &f);
  // Fold what the kernel learned before the cgroup leaves: nothing learned is lost.
  SyncLocked();
  absl::Status st = kernel_->UntrackCgroup(cgroup_id);
  cgroups_.erase(it);
  std::string path;
  if (s) {
    path = s->cgroups[cgroup_id];
    s->cgroups.erase(cgroup_id);
  }
  LogInfo("cgroup unregistered", {{"function", f ? FunctionKey(f->profile.function()) : ""},
                                  {"cgroup", path},
                                  {"cgroup_id", cgroup_id}});
  return st;
}

std::optional<uint64_t> Engine::CgroupIdForPath(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [key, f] : functions_)
    for (auto& [name, s] : f.sections)
      for (auto& [id, p] : s.cgroups)
        if (p == path) return id;
  return std::nullopt;
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
}

bool Engine::ApplySyscall(Function& f, Section& s, uint32_t arch, uint32_t nr, absl::Time when) {
  SyscallArch a = arch == FG_ARCH_COMPAT ? SyscallArch::kCompat : SyscallArch::kNative;
  v1::SyscallEntry e;
  e.set_name(SyscallName(a, nr));
  e.set_arch(std::string(ArchName(a)));
  e.set_nr(nr);
  *e.mutable_first_seen() = ToProtoTime(when);
  if (!AddSyscall(ContainerSection(f.profile, s.container), e)) return false;
  NoteNew(f, s, "syscall", {{"name", e.name()}, {"arch", e.arch()}});
  return true;
}

bool Engine::ApplyExec(Function& f, Section& s, const PathText& bin, const PathText& parent,
                       const v1::Seen& seen, const ExecEvent* ev) {
  v1::ExecEntry e;
  v1::PathKind kind;
  PathToProfile(bin, e.mutable_path(), &kind);
  e.set_kind(kind);
  PathToProfile(parent, e.mutable_parent(), &kind);
  e.set_parent_kind(kind);
  *e.mutable_seen() = seen;
  if (ev) {
    e.add_uids(ev->uid);
    for (const auto& a : ev->args) e.add_sample_args(a);
    if (ev->flags & FG_EXEC_F_SCRIPT) e.set_script(ev->filename);
  }
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

std::optional<PathText> Engine::ResolvePathLocked(uint64_t hash) {
  if (auto it = paths_.find(hash); it != paths_.end()) return it->second;
  auto p = kernel_->LookupPath(hash);
  if (p) paths_[hash] = *p;
  return p;
}

void Engine::HandleEvent(const Event& ev) {
  std::lock_guard<std::mutex> l(mu_);
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SyscallEvent>) ++counters_.events_syscall;
        if constexpr (std::is_same_v<T, ExecEvent>) ++counters_.events_exec;
        if constexpr (std::is_same_v<T, NetEvent>) ++counters_.events_net;
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
          paths_[e.bin.hash] = bin;
          paths_[e.parent.hash] = parent;
          // Counts come from the kernel set; the event brings the item and its details.
          ApplyExec(*f, *s, bin, parent, SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns), &e);
        } else {
          ApplyNet(*f, *s, e.key, SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns));
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
  for (uint32_t arch = 0; arch < 2; ++arch) {
    const __u64* words = arch == FG_ARCH_COMPAT ? st->sys_compat : st->sys;
    for (uint32_t w = 0; w < FG_SYS_WORDS; ++w) {
      for (uint64_t bits = words[w]; bits; bits &= bits - 1) {
        uint32_t nr = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
        ApplySyscall(f, s, arch, nr, now);
      }
    }
  }
  auto* k = ContainerSection(f.profile, s.container).mutable_counters();
  uint64_t d;
  if ((d = Delta(st->execs, s.execs_base))) k->set_execs(k->execs() + d), f.dirty = true;
  if ((d = Delta(st->forks, s.forks_base))) k->set_forks(k->forks() + d), f.dirty = true;
  if ((d = Delta(st->exits, s.exits_base))) k->set_exits(k->exits() + d), f.dirty = true;
  s.execs_base = st->execs;
  s.forks_base = st->forks;
  s.exits_base = st->exits;
}

void Engine::SyncLocked() {
  ++counters_.syncs;
  for (auto& [key, f] : functions_)
    for (auto& [name, s] : f.sections) SyncSectionStateLocked(f, s);

  absl::Status st = kernel_->ForEachExec([&](const fg_exec_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    auto bkey = std::make_pair(k.parent_hash, k.bin_hash);
    uint64_t& base = s->exec_base[bkey];
    uint64_t delta = Delta(v.count, base);
    if (delta == 0 && base != 0) return;
    auto bin = ResolvePathLocked(k.bin_hash);
    auto parent = ResolvePathLocked(k.parent_hash);
    if (!bin || !parent) {
      if (unresolved_.insert(bkey).second) ++counters_.unresolved_paths;
      return;
    }
    base = v.count;
    ApplyExec(*f, *s, *bin, *parent, SeenFromKernel(delta, v.first_ns, v.last_ns), nullptr);
    if (delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read exec set", {{"error", st.ToString()}});

  st = kernel_->ForEachNet([&](const fg_net_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    uint64_t& base = s->net_base[NetKeyBytes(k)];
    uint64_t delta = Delta(v.count, base);
    if (delta == 0 && base != 0) return;
    base = v.count;
    ApplyNet(*f, *s, k, SeenFromKernel(delta, v.first_ns, v.last_ns));
    if (delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read network set", {{"error", st.ToString()}});
}

void Engine::SyncFromKernel() {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
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

void Engine::DropVanishedCgroups(const std::function<bool(uint64_t, const std::string&)>& exists) {
  std::vector<uint64_t> gone;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [key, f] : functions_)
      for (auto& [name, s] : f.sections)
        for (auto& [id, path] : s.cgroups)
          if (!exists(id, path)) gone.push_back(id);
  }
  for (uint64_t id : gone) {
    LogWarn("tracked cgroup vanished: untracking it", {{"cgroup_id", id}});
    (void)UnregisterCgroup(id);
  }
}

std::vector<v1::FunctionSummary> Engine::ListFunctions() {
  std::lock_guard<std::mutex> l(mu_);
  SyncLocked();
  std::vector<v1::FunctionSummary> out;
  for (auto& [key, f] : functions_) {
    v1::FunctionSummary s;
    *s.mutable_function() = f.profile.function();
    s.set_mode(f.profile.mode());
    uint32_t replicas = 0;
    for (const auto& c : f.profile.containers()) s.add_containers(c.name());
    for (const auto& [name, sec] : f.sections) replicas += sec.cgroups.size();
    s.set_replicas(replicas);
    ProfileCounts n = CountItems(f.profile);
    s.set_syscalls(n.syscalls);
    s.set_execs(n.execs);
    s.set_egress(n.egress);
    s.set_listen(n.listen);
    s.set_ingress(n.ingress);
    if (f.profile.has_updated()) *s.mutable_last_new_behaviour() = f.profile.updated();
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<v1::Profile> Engine::GetProfile(const v1::FunctionId& id) {
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return s;
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
  return cgroups_.size();
}

}  // namespace faasguard
