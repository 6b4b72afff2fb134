#include "bpf/kernel_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cgroup/cgroup.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace faasguard {
namespace {

// An allow-list rule is a key (the map's value: 1, allowed) or a (key, value) pair.
template <typename K>
K& RuleKey(K& k) {
  return k;
}
template <typename K, typename V>
K& RuleKey(std::pair<K, V>& r) {
  return r.first;
}
template <typename K>
uint8_t RuleValue(const K&) {
  return 1;
}
template <typename K, typename V>
V RuleValue(const std::pair<K, V>& r) {
  return r.second;
}

// Walk a hash map's keys; entries deleted meanwhile are skipped.
template <typename K, typename V, typename Fn>
absl::Status ForEach(int fd, const char* name, Fn&& fn) {
  K key{}, next{};
  V val{};
  const K* prev = nullptr;
  for (;;) {
    int r = bpf_map_get_next_key(fd, prev, &next);
    if (r != 0) {
      if (errno == ENOENT) return absl::OkStatus();
      return ErrnoStatus(errno, absl::StrCat("iterate map ", name));
    }
    if (bpf_map_lookup_elem(fd, &next, &val) == 0) fn(next, val);
    key = next;
    prev = &key;
  }
}

template <typename K, typename Pred>
absl::Status DeleteWhere(int fd, const char* name, Pred&& pred) {
  std::vector<K> doomed;
  K key{}, next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (pred(next)) doomed.push_back(next);
    key = next;
    prev = &key;
  }
  for (const K& k : doomed) {
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT)
      return ErrnoStatus(errno, absl::StrCat("delete from map ", name));
  }
  return absl::OkStatus();
}

}  // namespace

BpfKernelMaps::BpfKernelMaps(Fds fds) : fds_(fds) {
  ncpus_ = libbpf_num_possible_cpus();
  if (fds_.cpu_cache < 0 || ncpus_ <= 0) return;
  // Adopted maps: carry on from the generation the earlier agent left.
  std::vector<fg_cpu_cache> per(static_cast<size_t>(ncpus_));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(fds_.cpu_cache, &zero, per.data()) == 0)
    for (const auto& c : per) cache_gen_ = std::max<uint64_t>(cache_gen_, c.gen);
}

absl::Status BpfKernelMaps::InvalidateCpuCaches() {
  if (fds_.cpu_cache < 0 || ncpus_ <= 0) return absl::OkStatus();
  std::vector<fg_cpu_cache> per(static_cast<size_t>(ncpus_));
  ++cache_gen_;
  for (auto& c : per) c.gen = cache_gen_;
  uint32_t zero = 0;
  if (bpf_map_update_elem(fds_.cpu_cache, &zero, per.data(), BPF_ANY) != 0)
    return ErrnoStatus(errno, "invalidate map fg_cpu_cache");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> MarkTrackedTasks(int prog_fd) {
  UniqueFd link(bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, nullptr));
  if (!link.valid()) return ErrnoStatus(errno, "create the task-mark iterator (fg_mark_tasks)");
  UniqueFd it(bpf_iter_create(link.get()));
  if (!it.valid()) return ErrnoStatus(errno, "start the task-mark iterator (fg_mark_tasks)");
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(it.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "run the task-mark iterator (fg_mark_tasks)");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  std::vector<uint32_t> tids(out.size() / sizeof(uint32_t));
  if (!tids.empty()) std::memcpy(tids.data(), out.data(), tids.size() * sizeof(uint32_t));
  return tids;
}

absl::Status BpfKernelMaps::Mirror(uint64_t cgroup_id) {
  if (fds_.cg_local < 0) return absl::OkStatus();
  int cg = OpenCgroupById(fds_.cgroup_root, cgroup_id);
  if (cg < 0) {
    // Gone (or never was): no task can run in it, and its storage went with it.
    if (errno == ESTALE || errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("open cgroup id ", cgroup_id));
  }
  fg_cgroup_val v{};
  int r;
  bool present = bpf_map_lookup_elem(fds_.tracked, &cgroup_id, &v) == 0;
  if (present) {
    r = bpf_map_update_elem(fds_.cg_local, &cg, &v, BPF_ANY);
  } else {
    r = bpf_map_delete_elem(fds_.cg_local, &cg);
    if (r != 0 && errno == ENOENT) r = 0;
  }
  int err = errno;
  ::close(cg);
  if (r != 0)
    return ErrnoStatus(err, absl::StrCat("update map fg_cg_local for cgroup id ", cgroup_id));
  // After the entry: a task forked from here on is marked by the kernel (fg_mark_fork), and
  // every task already inside is marked by the iterator. Also after a retarget: the entry may
  // be the first this cgroup had in fg_cg_local (one left to the next exec), and one pass over
  // the node's tasks costs less than being wrong about that.
  if (present && fds_.mark_iter >= 0) {
    auto marked = MarkTrackedTasks(fds_.mark_iter);
    if (!marked.ok()) return marked.status();
  }
  return InvalidateCpuCaches();
}

absl::Status BpfKernelMaps::UpdateTracked(uint64_t cgroup_id,
                                          const std::function<void(fg_cgroup_val&)>& change) {
  // The kernel may clear FG_CG_F_PENDING between the read and the write; a retry keeps it
  // cleared (a lost clear would only delay checks until the next exec).
  for (int attempt = 0; attempt < 3; ++attempt) {
    fg_cgroup_val v{};
    if (bpf_map_lookup_elem(fds_.tracked, &cgroup_id, &v) != 0)
      return absl::NotFoundError(absl::StrCat("cgroup id ", cgroup_id, " is not tracked"));
    fg_cgroup_val nv = v;
    change(nv);
    if (bpf_map_update_elem(fds_.tracked, &cgroup_id, &nv, BPF_EXIST) != 0)
      return ErrnoStatus(errno, "update map fg_tracked");
    fg_cgroup_val now{};
    if (bpf_map_lookup_elem(fds_.tracked, &cgroup_id, &now) != 0 ||
        (now.flags & FG_CG_F_PENDING) == (nv.flags & FG_CG_F_PENDING) ||
        !(now.flags & FG_CG_F_PENDING))
      return Mirror(cgroup_id);
  }
  return Mirror(cgroup_id);
}

absl::Status BpfKernelMaps::RetargetCgroup(uint64_t cgroup_id, uint32_t fn_id) {
  return UpdateTracked(cgroup_id, [&](fg_cgroup_val& v) { v.fn_id = fn_id; });
}

absl::Status BpfKernelMaps::SetCgroupFlags(uint64_t cgroup_id, uint32_t set, uint32_t clear) {
  return UpdateTracked(cgroup_id, [&](fg_cgroup_val& v) { v.flags = (v.flags | set) & ~clear; });
}

absl::Status BpfKernelMaps::TrackCgroup(uint64_t cgroup_id, uint32_t fn_id, uint32_t flags) {
  fg_cgroup_val v{}, before{};
  v.fn_id = fn_id;
  v.flags = flags;
  bool had = bpf_map_lookup_elem(fds_.tracked, &cgroup_id, &before) == 0;
  if (bpf_map_update_elem(fds_.tracked, &cgroup_id, &v, BPF_ANY) != 0) {
    if (errno == E2BIG)
      return absl::ResourceExhaustedError(
          "the tracked-cgroup map (fg_tracked) is full: raise --max-cgroups");
    return ErrnoStatus(errno, "update map fg_tracked");
  }
  absl::Status s = Mirror(cgroup_id);
  if (!s.ok()) {
    // The caller forgets a registration that failed: so does the kernel.
    if (had)
      bpf_map_update_elem(fds_.tracked, &cgroup_id, &before, BPF_ANY);
    else
      bpf_map_delete_elem(fds_.tracked, &cgroup_id);
    (void)Mirror(cgroup_id);
  }
  return s;
}

absl::Status BpfKernelMaps::UntrackCgroup(uint64_t cgroup_id) {
  if (bpf_map_delete_elem(fds_.tracked, &cgroup_id) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, "delete from map fg_tracked");
  return Mirror(cgroup_id);
}

absl::Status BpfKernelMaps::SetFnConfig(uint32_t fn_id, const fg_fn_cfg& cfg) {
  if (bpf_map_update_elem(fds_.fn_cfg, &fn_id, &cfg, BPF_ANY) != 0)
    return ErrnoStatus(errno, "update map fg_fn_cfg");
  return InvalidateCpuCaches();
}

absl::Status BpfKernelMaps::ResetFn(uint32_t fn_id) {
  fg_fn_state zero{};
  if (bpf_map_update_elem(fds_.fn_state, &fn_id, &zero, BPF_ANY) != 0)
    return ErrnoStatus(errno, "reset map fg_fn_state");
  fg_fn_cfg cfg{};
  if (bpf_map_update_elem(fds_.fn_cfg, &fn_id, &cfg, BPF_ANY) != 0)
    return ErrnoStatus(errno, "reset map fg_fn_cfg");
  FG_RETURN_IF_ERROR(DeleteWhere<fg_exec_key>(
      fds_.execs, "fg_execs", [&](const fg_exec_key& k) { return k.fn_id == fn_id; }));
  FG_RETURN_IF_ERROR(DeleteWhere<fg_net_key>(
      fds_.net, "fg_net", [&](const fg_net_key& k) { return k.fn_id == fn_id; }));
  FG_RETURN_IF_ERROR(DeleteWhere<fg_file_key>(
      fds_.files, "fg_files", [&](const fg_file_key& k) { return k.fn_id == fn_id; }));
  if (fds_.socks >= 0)
    FG_RETURN_IF_ERROR(DeleteWhere<fg_sock_key>(
        fds_.socks, "fg_socks", [&](const fg_sock_key& k) { return k.fn_id == fn_id; }));
  FG_RETURN_IF_ERROR(ResetDns(fn_id));
  FG_RETURN_IF_ERROR(ClearPolicy(fn_id, 0));
  FG_RETURN_IF_ERROR(ClearPolicy(fn_id, 1));
  return InvalidateCpuCaches();
}

absl::Status BpfKernelMaps::WritePolicy(uint32_t fn_id, uint8_t gen, const AllowList& a) {
  auto fail = [&](int err, const char* map) {
    absl::Status st = err == E2BIG || err == ENOMEM || err == ENOSPC
                          ? absl::ResourceExhaustedError(absl::StrCat("the allow-list map ", map,
                                                                      " is full: raise its size"))
                          : ErrnoStatus(err, absl::StrCat("write map ", map));
    (void)ClearPolicy(fn_id, gen);
    return st;
  };
  // Each rule of one kind, stamped with the slot and generation. A map the kernel lacks fails
  // only when there is something to write into it.
  auto put = [&](int fd, const char* map, const auto& rules) -> absl::Status {
    for (auto r : rules) {
      auto& k = RuleKey(r);
      k.fn_id = fn_id;
      k.gen = gen & 1;
      auto v = RuleValue(r);
      if (fd < 0 || bpf_map_update_elem(fd, &k, &v, BPF_ANY) != 0)
        return fail(fd < 0 ? ENOTSUP : errno, map);
    }
    return absl::OkStatus();
  };
  uint32_t idx = fn_id * 2 + (gen & 1);
  if (bpf_map_update_elem(fds_.sys_allow, &idx, &a.sys, BPF_ANY) != 0)
    return fail(errno, "fg_sys_allow");
  FG_RETURN_IF_ERROR(put(fds_.exec_allow, "fg_exec_allow", a.exec));
  FG_RETURN_IF_ERROR(put(fds_.net_allow, "fg_net_allow", a.net));
  FG_RETURN_IF_ERROR(put(fds_.file_allow, "fg_file_allow", a.files));
  // Last: the generation checks files only once every rule is in.
  if (bpf_map_update_elem(fds_.file_pol, &idx, &a.file_pol, BPF_ANY) != 0)
    return fail(errno, "fg_file_pol");
  FG_RETURN_IF_ERROR(put(fds_.sock_allow, "fg_sock_allow", a.sock));
  FG_RETURN_IF_ERROR(put(fds_.dns_allow, "fg_dns_allow", a.dns));
  return absl::OkStatus();
}

absl::Status BpfKernelMaps::ClearPolicy(uint32_t fn_id, uint8_t gen) {
  uint32_t idx = fn_id * 2 + (gen & 1);
  fg_sys_allow none{};
  if (bpf_map_update_elem(fds_.sys_allow, &idx, &none, BPF_ANY) != 0)
    return ErrnoStatus(errno, "clear map fg_sys_allow");
  fg_file_pol no_files{};
  if (bpf_map_update_elem(fds_.file_pol, &idx, &no_files, BPF_ANY) != 0)
    return ErrnoStatus(errno, "clear map fg_file_pol");
  FG_RETURN_IF_ERROR(DeleteWhere<fg_file_rule_key>(
      fds_.file_allow, "fg_file_allow",
      [&](const fg_file_rule_key& k) { return k.fn_id == fn_id && k.gen == (gen & 1); }));
  FG_RETURN_IF_ERROR(DeleteWhere<fg_exec_rule_key>(
      fds_.exec_allow, "fg_exec_allow",
      [&](const fg_exec_rule_key& k) { return k.fn_id == fn_id && k.gen == (gen & 1); }));
  FG_RETURN_IF_ERROR(DeleteWhere<fg_net_rule_key>(
      fds_.net_allow, "fg_net_allow",
      [&](const fg_net_rule_key& k) { return k.fn_id == fn_id && k.gen == (gen & 1); }));
  if (fds_.sock_allow >= 0)
    FG_RETURN_IF_ERROR(DeleteWhere<fg_sock_key>(
        fds_.sock_allow, "fg_sock_allow",
        [&](const fg_sock_key& k) { return k.fn_id == fn_id && k.gen == (gen & 1); }));
  if (fds_.dns_allow < 0) return absl::OkStatus();
  return DeleteWhere<fg_dns_rule_key>(
      fds_.dns_allow, "fg_dns_allow",
      [&](const fg_dns_rule_key& k) { return k.fn_id == fn_id && k.gen == (gen & 1); });
}

absl::StatusOr<fg_fn_state> BpfKernelMaps::ReadFnState(uint32_t fn_id) {
  fg_fn_state st{};
  if (bpf_map_lookup_elem(fds_.fn_state, &fn_id, &st) != 0)
    return ErrnoStatus(errno, absl::StrCat("read fg_fn_state[", fn_id, "]"));
  return st;
}

absl::StatusOr<fg_fn_cfg> BpfKernelMaps::ReadFnConfig(uint32_t fn_id) {
  fg_fn_cfg cfg{};
  if (bpf_map_lookup_elem(fds_.fn_cfg, &fn_id, &cfg) != 0)
    return ErrnoStatus(errno, absl::StrCat("read fg_fn_cfg[", fn_id, "]"));
  return cfg;
}

absl::Status BpfKernelMaps::ForEachTracked(
    const std::function<void(uint64_t, const fg_cgroup_val&)>& fn) {
  return ForEach<uint64_t, fg_cgroup_val>(fds_.tracked, "fg_tracked", fn);
}

absl::Status BpfKernelMaps::ForEachExec(
    const std::function<void(const fg_exec_key&, const fg_seen_val&)>& fn) {
  return ForEach<fg_exec_key, fg_seen_val>(fds_.execs, "fg_execs", fn);
}

absl::Status BpfKernelMaps::ForEachNet(
    const std::function<void(const fg_net_key&, const fg_seen_val&)>& fn) {
  return ForEach<fg_net_key, fg_seen_val>(fds_.net, "fg_net", fn);
}

absl::Status BpfKernelMaps::ForEachFile(
    const std::function<void(const fg_file_key&, const fg_seen_val&)>& fn) {
  return ForEach<fg_file_key, fg_seen_val>(fds_.files, "fg_files", fn);
}

absl::Status BpfKernelMaps::ForEachSock(
    const std::function<void(const fg_sock_key&, const fg_seen_val&)>& fn) {
  if (fds_.socks < 0) return absl::OkStatus();
  return ForEach<fg_sock_key, fg_seen_val>(fds_.socks, "fg_socks", fn);
}

std::optional<PathText> BpfKernelMaps::LookupPath(uint64_t hash) {
  auto v = std::make_unique<fg_path_val>();
  if (bpf_map_lookup_elem(fds_.paths, &hash, v.get()) != 0) return std::nullopt;
  size_t len = v->len < FG_PATH_MAX ? v->len : FG_PATH_MAX - 1;
  // An abstract Unix name may hold NULs: all of its length.
  if (v->flags & FG_PATH_F_ABSTRACT) return PathText{std::string(v->path, len), v->flags};
  return PathText{std::string(v->path, strnlen(v->path, len)), v->flags};
}

absl::Status BpfKernelMaps::ResetDns(uint32_t fn_id) {
  if (fds_.dns_queries < 0) return absl::OkStatus();
  FG_RETURN_IF_ERROR(
      DeleteWhere<fg_dns_query_key>(fds_.dns_queries, "fg_dns_queries",
                                    [&](const fg_dns_query_key& k) { return k.fn_id == fn_id; }));
  FG_RETURN_IF_ERROR(DeleteWhere<fg_dns_conn_key>(
      fds_.dns_conns, "fg_dns_conns", [&](const fg_dns_conn_key& k) { return k.fn_id == fn_id; }));
  FG_RETURN_IF_ERROR(DeleteWhere<fg_dns_bind_key>(
      fds_.dns_binds, "fg_dns_binds", [&](const fg_dns_bind_key& k) { return k.fn_id == fn_id; }));
  return DeleteWhere<fg_dns_pend_key>(fds_.dns_pending, "fg_dns_pending",
                                      [&](const fg_dns_pend_key& k) { return k.fn_id == fn_id; });
}

absl::Status BpfKernelMaps::ForEachDnsQuery(
    const std::function<void(const fg_dns_query_key&, const fg_seen_val&)>& fn) {
  if (fds_.dns_queries < 0) return absl::OkStatus();
  return ForEach<fg_dns_query_key, fg_seen_val>(fds_.dns_queries, "fg_dns_queries", fn);
}

absl::Status BpfKernelMaps::ForEachDnsConn(
    const std::function<void(const fg_dns_conn_key&, const fg_dns_conn_val&)>& fn) {
  if (fds_.dns_conns < 0) return absl::OkStatus();
  return ForEach<fg_dns_conn_key, fg_dns_conn_val>(fds_.dns_conns, "fg_dns_conns", fn);
}

std::optional<std::string> BpfKernelMaps::LookupDnsName(uint64_t hash) {
  fg_dns_name_val v{};
  if (fds_.dns_names < 0 || bpf_map_lookup_elem(fds_.dns_names, &hash, &v) != 0)
    return std::nullopt;
  size_t len = v.len < FG_DNS_NAME_MAX ? v.len : FG_DNS_NAME_MAX - 1;
  return std::string(v.text, strnlen(v.text, len));
}

absl::StatusOr<size_t> BpfKernelMaps::ExpireDnsBindings(uint64_t before_ns) {
  if (fds_.dns_binds < 0) return 0;
  auto expired = [&](const fg_dns_bind_val& v) {
    for (const auto& n : v.names)
      if (n.expires_ns >= before_ns) return false;
    return true;
  };
  std::vector<fg_dns_bind_key> doomed;
  fg_dns_bind_key key{}, next{};
  const fg_dns_bind_key* prev = nullptr;
  fg_dns_bind_val v{};
  while (bpf_map_get_next_key(fds_.dns_binds, prev, &next) == 0) {
    if (bpf_map_lookup_elem_flags(fds_.dns_binds, &next, &v, BPF_F_LOCK) == 0 && expired(v))
      doomed.push_back(next);
    key = next;
    prev = &key;
  }
  size_t removed = 0;
  for (const auto& k : doomed) {
    // Atomic: what was removed is what the kernel had last. An answer the kernel bound in
    // between (it writes in place, under the lock) is put back; the kernel, which looks the
    // element up again after writing, also binds again when it finds it gone.
    if (bpf_map_lookup_and_delete_elem_flags(fds_.dns_binds, &k, &v, BPF_F_LOCK) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus(errno, "delete from map fg_dns_binds");
    }
    if (expired(v)) {
      ++removed;
      continue;
    }
    if (bpf_map_update_elem(fds_.dns_binds, &k, &v, BPF_NOEXIST) != 0 && errno != EEXIST)
      return ErrnoStatus(errno, "restore in map fg_dns_binds");
  }
  return removed;
}

absl::StatusOr<std::vector<uint64_t>> BpfKernelMaps::ReadStats() {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return ErrnoStatus(-ncpu, "libbpf_num_possible_cpus");
  std::vector<uint64_t> out(FG_STAT_COUNT_, 0), per(static_cast<size_t>(ncpu));
  for (uint32_t i = 0; i < FG_STAT_COUNT_; ++i) {
    if (bpf_map_lookup_elem(fds_.stats, &i, per.data()) != 0)
      return ErrnoStatus(errno, "read map fg_stats");
    for (uint64_t v : per) out[i] += v;
  }
  return out;
}

size_t BpfKernelMaps::TrackedCount() {
  size_t n = 0;
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  while (bpf_map_get_next_key(fds_.tracked, prev, &next) == 0) {
    ++n;
    key = next;
    prev = &key;
  }
  return n;
}

namespace {

// Counts keys by walking the map; key size from the kernel.
uint64_t CountKeys(int fd, uint32_t key_size) {
  std::vector<uint8_t> key(key_size), next(key_size);
  const void* prev = nullptr;
  uint64_t n = 0;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++n;
    key.swap(next);
    prev = key.data();
  }
  return n;
}

}  // namespace

std::vector<MapUsage> BpfKernelMaps::Usage() {
  std::vector<MapUsage> out;
  for (int fd : {fds_.tracked, fds_.execs, fds_.net, fds_.paths, fds_.exec_allow, fds_.net_allow,
                 fds_.files, fds_.file_allow, fds_.dns_queries, fds_.dns_conns, fds_.dns_binds,
                 fds_.dns_allow, fds_.socks, fds_.sock_allow}) {
    if (fd < 0) continue;
    bpf_map_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
    out.push_back({info.name, CountKeys(fd, info.key_size), info.max_entries});
  }
  return out;
}

}  // namespace faasguard
