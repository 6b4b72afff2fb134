// Folding the kernel-side sets into profiles. The kernel keeps running totals per slot
// (syscall bitmaps, the exec and network sets with their counts, the task counters); the
// engine adds only what changed since it last looked, so that repeated syncs never count
// twice. FoldBase is what was folded; the functions here are pure. PathNames names the path
// hashes of the exec set.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "abi/fg_abi.h"
#include "bpf/events.h"
#include "bpf/kernel_maps.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

using ExecTuple = std::tuple<uint64_t, uint64_t, uint64_t>;  // (parent, bin, script) hashes
using NetKeyBytes = std::array<uint8_t, sizeof(fg_net_key)>;
using SockKeyBytes = std::array<uint8_t, sizeof(fg_sock_key)>;

NetKeyBytes NetKeyToBytes(const fg_net_key& k);
SockKeyBytes SockKeyToBytes(const fg_sock_key& k);

// How much of one slot's running kernel totals is already in the profile.
struct FoldBase {
  std::map<ExecTuple, uint64_t> exec;
  std::map<NetKeyBytes, uint64_t> net;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> file;  // (access, path hash) -> count
  std::map<SockKeyBytes, uint64_t> sock;
  uint64_t execs = 0, forks = 0, exits = 0;
  fg_fn_state sys{};  // syscall bits already folded (an import may have dropped some since)
  // DNS sets, by the bytes of their kernel keys (fg_dns_query_key, fg_dns_conn_key).
  std::map<std::string, uint64_t> dns_query, dns_conn;
};

// The part of a running count not folded yet. A count below its base started again from zero
// (the slot was reset), so all of it is new.
uint64_t Delta(uint64_t now, uint64_t base);

// One set entry's count against what was folded: whether there is anything to fold (new
// counts, or an item never folded), and how much.
struct CountFold {
  bool due = false;
  uint64_t delta = 0;
};
CountFold FoldCount(uint64_t count, uint64_t base);

// The syscall bits `state` has that were never folded, as (enum fg_arch, number) in order,
// native first, then the io_uring operations (FG_ARCH_URING, opcode). They are marked folded: a bit
// an import dropped from the profile is not learned again until the slot is reset.
std::vector<std::pair<uint32_t, uint32_t>> FoldSyscalls(const fg_fn_state& state, FoldBase& base);

// The task counters' growth since the last fold; they are marked folded.
v1::Counters FoldCounters(const fg_fn_state& state, FoldBase& base);

// The profile item of an exec: binary, parent and script as the kernel named them, with the
// first sighting's details (uid, argv) when it came as an event.
v1::ExecEntry ExecItem(const PathText& bin, const PathText& parent, const std::string& script,
                       const v1::Seen& seen, const ExecEvent* ev);

// Path texts by hash: remembered from exec events, else read from the kernel's fg_paths.
class PathNames {
 public:
  explicit PathNames(KernelMaps* kernel) : kernel_(kernel) {}
  void Remember(uint64_t hash, PathText text) { known_[hash] = std::move(text); }
  std::optional<PathText> Resolve(uint64_t hash);
  // An exec tuple whose paths cannot be named (yet): true the first time it is noted.
  bool NoteUnresolved(const ExecTuple& t) { return unresolved_.insert(t).second; }

 private:
  KernelMaps* kernel_;
  std::unordered_map<uint64_t, PathText> known_;
  std::set<ExecTuple> unresolved_;
};

// DNS name texts by hash: remembered from DNS events, else read from the kernel's
// fg_dns_names (which keeps the most recent ones).
class DnsNames {
 public:
  explicit DnsNames(KernelMaps* kernel) : kernel_(kernel) {}
  void Remember(uint64_t hash, std::string text);
  std::optional<std::string> Resolve(uint64_t hash);
  // A hash that cannot be named (yet): true the first time it is noted.
  bool NoteUnresolved(uint64_t hash) { return unresolved_.insert(hash).second; }

 private:
  KernelMaps* kernel_;
  std::unordered_map<uint64_t, std::string> known_;
  std::set<uint64_t> unresolved_;
};

}  // namespace faasguard
