#include "core/kernel_fold.h"

#include <cstring>

#include "core/abi_codec.h"

namespace faasguard {

NetKeyBytes NetKeyToBytes(const fg_net_key& k) {
  NetKeyBytes b;
  std::memcpy(b.data(), &k, sizeof k);
  return b;
}

SockKeyBytes SockKeyToBytes(const fg_sock_key& k) {
  SockKeyBytes b;
  std::memcpy(b.data(), &k, sizeof k);
  return b;
}

uint64_t Delta(uint64_t now, uint64_t base) { return now >= base ? now - base : now; }

CountFold FoldCount(uint64_t count, uint64_t base) {
  const uint64_t d = Delta(count, base);
  return {d != 0 || base == 0, d};
}

std::vector<std::pair<uint32_t, uint32_t>> FoldSyscalls(const fg_fn_state& state, FoldBase& base) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (uint32_t arch : {uint32_t{FG_ARCH_NATIVE}, uint32_t{FG_ARCH_COMPAT}}) {
    const __u64* words = arch == FG_ARCH_COMPAT ? state.sys_compat : state.sys;
    __u64* folded = arch == FG_ARCH_COMPAT ? base.sys.sys_compat : base.sys.sys;
    for (uint32_t w = 0; w < FG_SYS_WORDS; ++w) {
      for (uint64_t bits = words[w] & ~folded[w]; bits; bits &= bits - 1)
        out.emplace_back(arch, w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
      folded[w] |= words[w];
    }
  }
  for (uint32_t w = 0; w < 4; ++w) {
    for (uint64_t bits = state.uring_ops[w] & ~base.sys.uring_ops[w]; bits; bits &= bits - 1)
      out.emplace_back(FG_ARCH_URING, w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
    base.sys.uring_ops[w] |= state.uring_ops[w];
  }
  return out;
}

v1::Counters FoldCounters(const fg_fn_state& state, FoldBase& base) {
  v1::Counters d;
  d.set_execs(Delta(state.execs, base.execs));
  d.set_forks(Delta(state.forks, base.forks));
  d.set_exits(Delta(state.exits, base.exits));
  base.execs = state.execs;
  base.forks = state.forks;
  base.exits = state.exits;
  return d;
}

v1::ExecEntry ExecItem(const PathText& bin, const PathText& parent, const std::string& script,
                       const v1::Seen& seen, const ExecEvent* ev) {
  v1::ExecEntry e;
  v1::PathKind kind;
  PathToProfile(bin, e.mutable_path(), &kind);
  e.set_kind(kind);
  PathToProfile(parent, e.mutable_parent(), &kind);
  e.set_parent_kind(kind);
  e.set_script(script);
  *e.mutable_seen() = seen;
  if (ev) {
    e.add_uids(ev->uid);
    for (const auto& a : ev->args) e.add_sample_args(a);
  }
  return e;
}

std::optional<PathText> PathNames::Resolve(uint64_t hash) {
  if (auto it = known_.find(hash); it != known_.end()) return it->second;
  auto p = kernel_->LookupPath(hash);
  if (p) known_[hash] = *p;
  return p;
}

void DnsNames::Remember(uint64_t hash, std::string text) {
  if (text.empty()) return;
  // Bounded: a function in monitor mode can query names without end; the kernel has them.
  if (known_.size() >= 65536) known_.clear();
  known_[hash] = std::move(text);
}

std::optional<std::string> DnsNames::Resolve(uint64_t hash) {
  if (auto it = known_.find(hash); it != known_.end()) return it->second;
  auto t = kernel_->LookupDnsName(hash);
  if (t) Remember(hash, *t);
  return t;
}

}  // namespace faasguard
