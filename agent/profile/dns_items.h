// The DNS items of a profile section: named egress ({name, protocol, port}, the addresses only
// as evidence) and queried names (with their query types and whether one was NXDOMAIN). Adding,
// identity, order and validation, called from the profile operations of profile.h.
#pragma once

#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// At most this many addresses are kept as a named item's evidence (the newest).
inline constexpr int kNamedEgressEvidence = 8;

// Identity: (name, protocol, port) and the name.
inline auto NamedEgressKey(const v1::NamedEgress& e) {
  return std::make_tuple(e.name(), static_cast<int>(e.protocol()), e.port());
}
inline const std::string& DnsQueryKey(const v1::DnsQuery& q) { return q.name(); }

// Add one item; true when it was new. A known item merges: counts add up, first/last widen,
// evidence and query types join, NXDOMAIN sticks.
bool AddNamedEgress(v1::ContainerProfile& c, const v1::NamedEgress& e);
bool AddDnsQuery(v1::ContainerProfile& c, const v1::DnsQuery& q);

// Every DNS item of `from` into `into`; returns how many were new.
size_t MergeDnsItems(v1::ContainerProfile& into, const v1::ContainerProfile& from);
// The DNS items of `a` whose identity `b` lacks, into `out`.
void MissingDnsItems(const v1::ContainerProfile& a, const v1::ContainerProfile* b,
                     v1::ContainerProfile* out);
void NormalizeDnsItems(v1::ContainerProfile& c);
// Names ("*.x" rules too), protocols, ports, types, evidence and sizes; `where` prefixes errors.
absl::Status ValidateDnsItems(const v1::ContainerProfile& c, const std::string& where);

}  // namespace faasguard
