#include "profile/dns_items.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "dns/dns_message.h"
#include "profile/address.h"
#include "profile/profile.h"

namespace faasguard {

namespace {

constexpr int kMaxDnsItems = 100000;

void JoinEvidence(v1::NamedEgress& into, const v1::NamedEgress& from) {
  for (const auto& a : from.addresses()) {
    auto* list = into.mutable_addresses();
    auto it = std::find(list->begin(), list->end(), a);
    if (it != list->end()) list->erase(it);
    *list->Add() = a;
  }
  auto* list = into.mutable_addresses();
  if (list->size() > kNamedEgressEvidence)
    list->DeleteSubrange(0, list->size() - kNamedEgressEvidence);
}

}  // namespace

bool AddNamedEgress(v1::ContainerProfile& c, const v1::NamedEgress& e) {
  for (auto& n : *c.mutable_named_egress()) {
    if (NamedEgressKey(n) != NamedEgressKey(e)) continue;
    MergeSeen(*n.mutable_seen(), e.seen());
    JoinEvidence(n, e);
    return false;
  }
  v1::NamedEgress* n = c.add_named_egress();
  *n = e;
  n->clear_addresses();
  JoinEvidence(*n, e);
  return true;
}

bool AddDnsQuery(v1::ContainerProfile& c, const v1::DnsQuery& q) {
  for (auto& x : *c.mutable_dns_queries()) {
    if (DnsQueryKey(x) != DnsQueryKey(q)) continue;
    MergeSeen(*x.mutable_seen(), q.seen());
    for (const auto& t : q.types())
      if (std::find(x.types().begin(), x.types().end(), t) == x.types().end()) x.add_types(t);
    if (q.nxdomain()) x.set_nxdomain(true);
    return false;
  }
  *c.add_dns_queries() = q;
  return true;
}

size_t MergeDnsItems(v1::ContainerProfile& into, const v1::ContainerProfile& from) {
  size_t added = 0;
  for (const auto& n : from.named_egress()) added += AddNamedEgress(into, n);
  for (const auto& q : from.dns_queries()) added += AddDnsQuery(into, q);
  return added;
}

void MissingDnsItems(const v1::ContainerProfile& a, const v1::ContainerProfile* b,
                     v1::ContainerProfile* out) {
  std::set<decltype(NamedEgressKey(v1::NamedEgress()))> named;
  std::set<std::string> queries;
  if (b) {
    for (const auto& n : b->named_egress()) named.insert(NamedEgressKey(n));
    for (const auto& q : b->dns_queries()) queries.insert(DnsQueryKey(q));
  }
  for (const auto& n : a.named_egress())
    if (!named.count(NamedEgressKey(n))) *out->add_named_egress() = n;
  for (const auto& q : a.dns_queries())
    if (!queries.count(DnsQueryKey(q))) *out->add_dns_queries() = q;
}

void NormalizeDnsItems(v1::ContainerProfile& c) {
  auto* n = c.mutable_named_egress();
  std::sort(n->begin(), n->end(),
            [](const auto& a, const auto& b) { return NamedEgressKey(a) < NamedEgressKey(b); });
  auto* q = c.mutable_dns_queries();
  std::sort(q->begin(), q->end(),
            [](const auto& a, const auto& b) { return DnsQueryKey(a) < DnsQueryKey(b); });
  for (auto& x : *q) {
    auto* t = x.mutable_types();
    std::sort(t->begin(), t->end(), [](const std::string& a, const std::string& b) {
      auto ta = ParseDnsType(a), tb = ParseDnsType(b);
      return (ta ? *ta : 65536) < (tb ? *tb : 65536);
    });
  }
}

absl::Status ValidateDnsItems(const v1::ContainerProfile& c, const std::string& where) {
  if (c.named_egress_size() > kMaxDnsItems || c.dns_queries_size() > kMaxDnsItems)
    return absl::InvalidArgumentError(absl::StrCat(where, ": too many DNS entries"));
  for (const auto& n : c.named_egress()) {
    const std::string w = absl::StrCat(where, " named egress");
    if (auto r = ParseDnsNameRule(n.name(), 0); !r.ok())
      return absl::InvalidArgumentError(absl::StrCat(w, ": ", r.status().message()));
    if (!v1::Protocol_IsValid(n.protocol()) || n.protocol() == v1::PROTOCOL_UNSPECIFIED)
      return absl::InvalidArgumentError(
          absl::StrCat(w, ": unknown protocol ", static_cast<int>(n.protocol())));
    if (n.port() > 65535)
      return absl::InvalidArgumentError(absl::StrCat(w, ": port ", n.port(), " > 65535"));
    if (n.addresses_size() > kNamedEgressEvidence)
      return absl::InvalidArgumentError(
          absl::StrCat(w, ": more than ", kNamedEgressEvidence, " evidence addresses"));
    for (const auto& a : n.addresses()) {
      auto parsed = ParseAddressOrCidr(a.substr(0, 64));
      if (!parsed.ok() || a.size() > 64 || parsed->prefix != (parsed->family == 4 ? 32 : 128))
        return absl::InvalidArgumentError(
            absl::StrCat(w, ": evidence \"", a.substr(0, 64), "\" is not an address"));
    }
  }
  for (const auto& q : c.dns_queries()) {
    const std::string w = absl::StrCat(where, " DNS query");
    if (auto r = ParseDnsNameRule(q.name(), 0); !r.ok())
      return absl::InvalidArgumentError(absl::StrCat(w, ": ", r.status().message()));
    if (q.types_size() > 256)
      return absl::InvalidArgumentError(absl::StrCat(w, ": too many query types"));
    for (const auto& t : q.types())
      if (!ParseDnsType(t))
        return absl::InvalidArgumentError(
            absl::StrCat(w, ": unknown query type \"", t.substr(0, 16), "\""));
  }
  return absl::OkStatus();
}

}  // namespace faasguard
