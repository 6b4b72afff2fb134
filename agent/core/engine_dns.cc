// The engine's part of egress by DNS name (docs/architecture.md, "Egress by DNS name"): what
// the kernel learned from the DNS traffic of functions (bpf/dns.bpf.c) into their profiles.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/abi_codec.h"
#include "core/engine.h"
#include "dns/dns_message.h"
#include "profile/dns_items.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {

namespace {

template <typename K>
std::string KeyBytes(const K& k) {
  return std::string(reinterpret_cast<const char*>(&k), sizeof k);
}

}  // namespace

bool Engine::ApplyDnsQuery(Function& f, Section& s, const v1::DnsQuery& q) {
  if (!AddDnsQuery(ContainerSection(f.profile, s.container), q)) return false;
  NoteNew(f, s, "dns", {{"name", q.name()}, {"type", q.types_size() ? q.types(0) : ""}});
  return true;
}

bool Engine::ApplyNamedEgress(Function& f, Section& s, const v1::NamedEgress& n) {
  if (!AddNamedEgress(ContainerSection(f.profile, s.container), n)) return false;
  NoteNew(f, s, "egress",
          {{"protocol", v1::Protocol_Name(n.protocol())},
           {"name", n.name()},
           {"port", std::to_string(n.port())},
           {"address", n.addresses_size() ? n.addresses(0) : ""}});
  return true;
}

void Engine::HandleDnsEventLocked(const DnsEvent& e) {
  ++counters_.events_dns;
  dns_names_.Remember(e.hash, e.name);
  Function* f = nullptr;
  Section* s = SectionForSlotLocked(e.hdr.fn_id, &f);
  if (!s) {
    ++counters_.events_orphan;
    return;
  }
  auto name = dns_names_.Resolve(e.hash);
  if (!name) return;  // the sync names it once the kernel does
  // Counts come from the kernel sets; the event brings the item as soon as it is seen.
  const v1::Seen seen = SeenFromKernel(0, e.hdr.ts_ns, e.hdr.ts_ns);
  if (e.what == FG_DNS_SEEN_CONN) {
    uint8_t addr[16] = {};
    std::memcpy(addr, e.addr.data(), std::min(e.addr.size(), sizeof addr));
    ApplyNamedEgress(*f, *s, NamedEgressFromKernel(*name, e.proto, e.port, e.family, addr, seen));
  } else {
    ApplyDnsQuery(*f, *s, DnsQueryFromKernel(*name, e.qtype, e.what == FG_DNS_SEEN_NXDOMAIN, seen));
  }
}

void Engine::SyncDnsLocked() {
  absl::Status st = kernel_->ForEachDnsQuery([&](const fg_dns_query_key& k, const fg_seen_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    uint64_t& base = s->folded.dns_query[KeyBytes(k)];
    const CountFold c = FoldCount(v.count, base);
    if (!c.due) return;
    auto name = dns_names_.Resolve(k.hash);
    if (!name) {
      if (dns_names_.NoteUnresolved(k.hash)) ++counters_.unresolved_dns_names;
      return;
    }
    base = v.count;
    const bool nx = k.what == FG_DNS_SEEN_NXDOMAIN;
    // An NXDOMAIN entry counts answers, not queries: it only marks the name.
    ApplyDnsQuery(*f, *s,
                  DnsQueryFromKernel(*name, k.qtype, nx,
                                     SeenFromKernel(nx ? 0 : c.delta, v.first_ns, v.last_ns)));
    if (c.delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read the DNS query set", {{"error", st.ToString()}});

  st = kernel_->ForEachDnsConn([&](const fg_dns_conn_key& k, const fg_dns_conn_val& v) {
    Function* f = nullptr;
    Section* s = SectionForSlotLocked(k.fn_id, &f);
    if (!s) return;
    uint64_t& base = s->folded.dns_conn[KeyBytes(k)];
    const CountFold c = FoldCount(v.count, base);
    if (!c.due) return;
    auto name = dns_names_.Resolve(k.hash);
    if (!name) {
      if (dns_names_.NoteUnresolved(k.hash)) ++counters_.unresolved_dns_names;
      return;
    }
    base = v.count;
    ApplyNamedEgress(*f, *s,
                     NamedEgressFromKernel(*name, k.proto, k.port, v.family, v.addr,
                                           SeenFromKernel(c.delta, v.first_ns, v.last_ns)));
    if (c.delta) f->dirty = true;
  });
  if (!st.ok()) LogWarn("cannot read the named egress set", {{"error", st.ToString()}});
}

void Engine::NameDnsViolationLocked(ViolationEvent& e) {
  if (!(e.item_flags & FG_VIOL_ITEM_DNS_NAME) || !e.item.empty()) {
    if (e.item_flags & FG_VIOL_ITEM_DNS_NAME) dns_names_.Remember(e.item_hash, e.item);
    return;
  }
  // The kernel no longer had the text at hand: name it from what the agent knows.
  if (auto name = dns_names_.Resolve(e.item_hash)) e.item = *name;
}

void Engine::ExpireDnsBindingsLocked() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns's clock
  const uint64_t now =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  auto removed = kernel_->ExpireDnsBindings(now);
  if (!removed.ok()) {
    LogWarn("cannot remove expired DNS bindings", {{"error", removed.status().ToString()}});
    return;
  }
  counters_.dns_bindings_expired += *removed;
}

}  // namespace faasguard
