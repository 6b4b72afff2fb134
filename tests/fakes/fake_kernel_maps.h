// An in-memory KernelMaps for unit tests: the kernel-side maps (tracked cgroups, function
// configs and states, the exec and network sets, the path map, the statistics) as plain
// containers that a test fills in and inspects. Single-threaded, like the tests that use it.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bpf/kernel_maps.h"

namespace faasguard::fakes {

class FakeKernelMaps : public KernelMaps {
 public:
  // fn_id, parent hash, bin hash, script hash
  using ExecKey = std::tuple<uint32_t, uint64_t, uint64_t, uint64_t>;
  using NetKeyBytes = std::array<uint8_t, sizeof(fg_net_key)>;

  FakeKernelMaps() : stats(FG_STAT_COUNT_, 0) {}

  // --- KernelMaps ------------------------------------------------------------------------

  absl::Status TrackCgroup(uint64_t cgroup_id, uint32_t fn_id, uint32_t flags) override {
    ops.push_back(absl::StrCat("track ", cgroup_id, " ", fn_id));
    if (!track_error.ok()) return track_error;
    tracked[cgroup_id] = fn_id;
    tracked_flags[cgroup_id] = flags;
    return absl::OkStatus();
  }

  absl::Status RetargetCgroup(uint64_t cgroup_id, uint32_t fn_id) override {
    ops.push_back(absl::StrCat("retarget ", cgroup_id, " ", fn_id));
    auto it = tracked.find(cgroup_id);
    if (it == tracked.end()) return absl::NotFoundError("not tracked");
    it->second = fn_id;
    return absl::OkStatus();
  }

  absl::Status SetCgroupFlags(uint64_t cgroup_id, uint32_t set, uint32_t clear) override {
    ops.push_back(absl::StrCat("flags ", cgroup_id, " +", set, " -", clear));
    if (!tracked.count(cgroup_id)) return absl::NotFoundError("not tracked");
    tracked_flags[cgroup_id] = (tracked_flags[cgroup_id] | set) & ~clear;
    return absl::OkStatus();
  }

  absl::Status UntrackCgroup(uint64_t cgroup_id) override {
    ops.push_back(absl::StrCat("untrack ", cgroup_id));
    tracked.erase(cgroup_id);  // like the real map: a missing entry is not an error
    return absl::OkStatus();
  }

  absl::Status SetFnConfig(uint32_t fn_id, const fg_fn_cfg& cfg) override {
    ops.push_back(absl::StrCat("cfg ", fn_id, " mode=", cfg.mode, " gen=", cfg.gen));
    if (!cfg_error.ok()) {
      if (cfg_error_after == 0) return std::exchange(cfg_error, absl::OkStatus());  // once
      --cfg_error_after;
    }
    fn_cfg[fn_id] = cfg;
    return absl::OkStatus();
  }

  absl::Status ResetFn(uint32_t fn_id) override {
    resets.push_back(fn_id);
    ops.push_back(absl::StrCat("reset ", fn_id));
    fn_state.erase(fn_id);
    fn_cfg.erase(fn_id);
    std::erase_if(execs, [&](const auto& e) { return std::get<0>(e.first) == fn_id; });
    std::erase_if(net, [&](const auto& e) { return e.second.first.fn_id == fn_id; });
    std::erase_if(files, [&](const auto& e) { return std::get<0>(e.first) == fn_id; });
    std::erase_if(socks, [&](const auto& e) { return e.second.first.fn_id == fn_id; });
    std::erase_if(dns_queries, [&](const auto& e) { return std::get<0>(e.first) == fn_id; });
    std::erase_if(dns_conns, [&](const auto& e) { return std::get<0>(e.first) == fn_id; });
    policies.erase({fn_id, 0});
    policies.erase({fn_id, 1});
    return absl::OkStatus();
  }

  absl::Status WritePolicy(uint32_t fn_id, uint8_t gen, const AllowList& a) override {
    ++policy_writes;
    ops.push_back(absl::StrCat("write ", fn_id, " ", gen));
    if (!write_error.ok()) {
      if (write_error_after == 0) return write_error;  // like the real one: nothing left behind
      --write_error_after;
    }
    policies[{fn_id, gen & 1}] = a;
    return absl::OkStatus();
  }

  absl::Status ClearPolicy(uint32_t fn_id, uint8_t gen) override {
    ops.push_back(absl::StrCat("clear ", fn_id, " ", gen));
    policies.erase({fn_id, gen & 1});
    return absl::OkStatus();
  }

  absl::StatusOr<fg_fn_state> ReadFnState(uint32_t fn_id) override {
    if (fn_id >= FG_MAX_FUNCS)
      return absl::OutOfRangeError(absl::StrCat("fake fg_fn_state: slot ", fn_id));
    auto it = fn_state.find(fn_id);
    if (it == fn_state.end()) return fg_fn_state{};  // an array map: zeroed until written
    return it->second;
  }

  absl::StatusOr<fg_fn_cfg> ReadFnConfig(uint32_t fn_id) override {
    if (fn_id >= FG_MAX_FUNCS)
      return absl::OutOfRangeError(absl::StrCat("fake fg_fn_cfg: slot ", fn_id));
    auto it = fn_cfg.find(fn_id);
    return it == fn_cfg.end() ? fg_fn_cfg{} : it->second;
  }

  absl::Status ForEachTracked(
      const std::function<void(uint64_t, const fg_cgroup_val&)>& fn) override {
    for (const auto& [id, slot] : tracked) {
      fg_cgroup_val v{};
      v.fn_id = slot;
      auto f = tracked_flags.find(id);
      v.flags = f == tracked_flags.end() ? 0 : f->second;
      fn(id, v);
    }
    return absl::OkStatus();
  }

  absl::Status ForEachExec(
      const std::function<void(const fg_exec_key&, const fg_seen_val&)>& fn) override {
    for (const auto& [k, v] : execs) {
      fg_exec_key key{};
      key.fn_id = std::get<0>(k);
      key.parent_hash = std::get<1>(k);
      key.bin_hash = std::get<2>(k);
      key.script_hash = std::get<3>(k);
      fn(key, v);
    }
    return absl::OkStatus();
  }

  absl::Status ForEachNet(
      const std::function<void(const fg_net_key&, const fg_seen_val&)>& fn) override {
    for (const auto& [bytes, kv] : net) fn(kv.first, kv.second);
    return absl::OkStatus();
  }

  absl::Status ForEachFile(
      const std::function<void(const fg_file_key&, const fg_seen_val&)>& fn) override {
    for (const auto& [k, v] : files) {
      fg_file_key key{};
      key.fn_id = std::get<0>(k);
      key.access = std::get<1>(k);
      key.hash = std::get<2>(k);
      fn(key, v);
    }
    return absl::OkStatus();
  }
  absl::Status ForEachSock(
      const std::function<void(const fg_sock_key&, const fg_seen_val&)>& fn) override {
    for (const auto& [bytes, kv] : socks) fn(kv.first, kv.second);
    return absl::OkStatus();
  }

  std::optional<PathText> LookupPath(uint64_t hash) override {
    ++path_lookups;
    auto it = paths.find(hash);
    if (it == paths.end()) return std::nullopt;
    return it->second;
  }

  absl::Status ForEachDnsQuery(
      const std::function<void(const fg_dns_query_key&, const fg_seen_val&)>& fn) override {
    for (const auto& [k, v] : dns_queries) {
      fg_dns_query_key key{};
      std::tie(key.fn_id, key.hash, key.qtype, key.what) = k;
      fn(key, v);
    }
    return absl::OkStatus();
  }

  absl::Status ForEachDnsConn(
      const std::function<void(const fg_dns_conn_key&, const fg_dns_conn_val&)>& fn) override {
    for (const auto& [k, v] : dns_conns) {
      fg_dns_conn_key key{};
      std::tie(key.fn_id, key.hash, key.kind, key.proto, key.port) = k;
      fn(key, v);
    }
    return absl::OkStatus();
  }

  std::optional<std::string> LookupDnsName(uint64_t hash) override {
    auto it = dns_names.find(hash);
    if (it == dns_names.end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<size_t> ExpireDnsBindings(uint64_t before_ns) override {
    dns_expired_before.push_back(before_ns);
    return size_t{0};
  }

  absl::StatusOr<std::vector<uint64_t>> ReadStats() override { return stats; }

  size_t TrackedCount() override { return tracked.size(); }

  std::vector<MapUsage> Usage() override {
    return {{"fg_tracked", tracked.size(), 16384},
            {"fg_execs", execs.size(), 16384},
            {"fg_net", net.size(), 16384}};
  }

  // --- Test helpers ----------------------------------------------------------------------

  // What the kernel would do on a first sighting (count 1) or a later one (count grows).
  void SetExec(uint32_t fn_id, uint64_t parent_hash, uint64_t bin_hash, uint64_t count,
               uint64_t first_ns = 0, uint64_t last_ns = 0, uint64_t script_hash = 0) {
    execs[{fn_id, parent_hash, bin_hash, script_hash}] = fg_seen_val{count, first_ns, last_ns};
  }

  void SetNet(const fg_net_key& key, uint64_t count, uint64_t first_ns = 0, uint64_t last_ns = 0) {
    NetKeyBytes b;
    std::memcpy(b.data(), &key, sizeof key);
    net[b] = {key, fg_seen_val{count, first_ns, last_ns}};
  }

  // A file open as the kernel records it: (function, FG_FILE_* access, path hash).
  void SetFile(uint32_t fn_id, uint32_t access, uint64_t hash, uint64_t count,
               uint64_t first_ns = 0, uint64_t last_ns = 0) {
    files[{fn_id, access, hash}] = fg_seen_val{count, first_ns, last_ns};
  }
  void SetSock(const fg_sock_key& key, uint64_t count, uint64_t first_ns = 0,
               uint64_t last_ns = 0) {
    SockKeyBytes b;
    std::memcpy(b.data(), &key, sizeof key);
    socks[b] = {key, fg_seen_val{count, first_ns, last_ns}};
  }

  void SetPath(uint64_t hash, std::string path, uint32_t flags = 0) {
    paths[hash] = PathText{std::move(path), flags};
  }

  fg_fn_state& State(uint32_t fn_id) { return fn_state[fn_id]; }

  // The kernel's DNS sets: a query (what = FG_DNS_SEEN_QUERY / NXDOMAIN), named egress with its
  // last address (textual), a name's text.
  void SetDnsQuery(uint32_t fn_id, uint64_t hash, uint16_t qtype, uint8_t what, uint64_t count) {
    dns_queries[{fn_id, hash, qtype, what}] = fg_seen_val{count, 0, 0};
  }
  void SetDnsConn(uint32_t fn_id, uint64_t hash, uint8_t kind, uint8_t proto, uint16_t port,
                  uint64_t count, const std::string& addr) {
    fg_dns_conn_val v{};
    v.count = count;
    v.family = 4;
    if (::inet_pton(AF_INET, addr.c_str(), v.addr) != 1) {
      v.family = 6;
      if (::inet_pton(AF_INET6, addr.c_str(), v.addr) != 1) std::abort();  // a broken test
    }
    dns_conns[{fn_id, hash, kind, proto, port}] = v;
  }

  // Maps.
  std::map<uint64_t, uint32_t> tracked;        // cgroup id -> fn_id
  std::map<uint64_t, uint32_t> tracked_flags;  // cgroup id -> FG_CG_F_*
  std::map<uint32_t, fg_fn_cfg> fn_cfg;
  std::map<uint32_t, fg_fn_state> fn_state;
  std::map<ExecKey, fg_seen_val> execs;
  std::map<NetKeyBytes, std::pair<fg_net_key, fg_seen_val>> net;
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, fg_seen_val> files;  // fn, access, hash
  using SockKeyBytes = std::array<uint8_t, sizeof(fg_sock_key)>;
  std::map<SockKeyBytes, std::pair<fg_sock_key, fg_seen_val>> socks;
  std::map<uint64_t, PathText> paths;
  std::vector<uint64_t> stats;
  std::map<std::pair<uint32_t, uint8_t>, AllowList> policies;  // (fn_id, gen) -> allow-list
  // (fn_id, hash, qtype, what) and (fn_id, hash, kind, proto, port); hash -> text.
  std::map<std::tuple<uint32_t, uint64_t, uint16_t, uint8_t>, fg_seen_val> dns_queries;
  std::map<std::tuple<uint32_t, uint64_t, uint8_t, uint8_t, uint16_t>, fg_dns_conn_val> dns_conns;
  std::map<uint64_t, std::string> dns_names;
  std::vector<uint64_t> dns_expired_before;  // ExpireDnsBindings calls

  // Observations and failure injection.
  std::vector<uint32_t> resets;  // slots passed to ResetFn, in order
  size_t path_lookups = 0;
  absl::Status track_error;      // returned by TrackCgroup when not OK
  absl::Status write_error;      // returned by WritePolicy when not OK...
  size_t write_error_after = 0;  // ...after this many more calls have succeeded
  size_t policy_writes = 0;      // WritePolicy calls, failed ones included
  absl::Status cfg_error;        // returned once by SetFnConfig (which then works again)...
  size_t cfg_error_after = 0;    // ...after this many more calls have succeeded
  // Every map-changing call in order: "track CG SLOT", "untrack CG", "cfg SLOT mode=M gen=G",
  // "reset SLOT", "write SLOT GEN", "clear SLOT GEN" (failed calls included).
  std::vector<std::string> ops;
};

// A network key as the kernel builds it: `addr` is textual IPv4 or IPv6 ("" leaves the
// address zero and the family 4), `port` in host byte order.
inline fg_net_key MakeNetKey(uint32_t fn_id, uint8_t kind, uint8_t proto, const std::string& addr,
                             uint16_t port) {
  fg_net_key k{};
  k.fn_id = fn_id;
  k.kind = kind;
  k.proto = proto;
  k.family = 4;
  k.port = port;
  if (!addr.empty()) {
    if (::inet_pton(AF_INET, addr.c_str(), k.addr) != 1) {
      k.family = 6;
      if (::inet_pton(AF_INET6, addr.c_str(), k.addr) != 1) std::abort();  // a broken test
    }
  }
  return k;
}

}  // namespace faasguard::fakes
