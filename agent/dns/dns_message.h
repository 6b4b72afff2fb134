// DNS messages and names as the kernel programs see them: the parser of bpf/abi/fg_dns.h run
// in user space (the fuzzer and the tests drive the kernel's code), and the name hash the
// agent computes for profile names and rules, equal to the kernel's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faasguard {

struct DnsAnswerAddr {
  int family = 4;  // 4 or 6
  uint32_t ttl = 0;
  std::string addr;  // 4 or 16 bytes
};

struct ParsedDns {
  bool response = false;
  uint16_t id = 0;
  uint8_t rcode = 0;
  uint16_t qtype = 0;
  std::string name;  // lowercase, dotted, no final dot
  uint64_t hash = 0;
  uint32_t depth = 0;
  std::vector<uint64_t> parents;  // parents[i]: the last i + 1 labels (up to 8)
  std::vector<DnsAnswerAddr> addrs;
  uint32_t skipped = 0;
  uint32_t err = 0;  // enum fg_dns_err; the fields above are valid as far as parsing got
};

// Parses `msg` (at most the first FG_DNS_BUF bytes are seen, as in the kernel) with the
// kernel's parser: the question, and for a response the answers bound to it.
ParsedDns ParseDnsMessage(absl::string_view msg, uint64_t seed);

// Names in profiles are in presentation form: lowercase, dotted, no final dot, and a byte
// outside [a-z0-9-_] written \DDD (decimal, RFC 1035's master-file escape): the kernel keeps a
// label's bytes as they came (but A-Z, lowercased), and a query of a tunnel can hold any.
std::string EscapeDnsName(absl::string_view kernel_text);

// The kernel's hash of a name in presentation form ("api.example.com", case-insensitive, a
// final dot ignored, \DDD and \X escapes), and of its parents. nullopt: not a valid name (an
// empty label, a label of more than 63 bytes, more than 255 on the wire, a '.' or NUL inside a
// label, a bad escape).
struct DnsNameHash {
  uint64_t hash = 0;
  uint32_t depth = 0;
  std::vector<uint64_t> parents;
};
std::optional<DnsNameHash> HashDnsName(absl::string_view name, uint64_t seed);

// A name rule of a profile: an exact name, or "*.example.com" (strict subdomains of
// example.com; the base may be at most FG_DNS_PARENTS labels deep).
struct DnsNameRule {
  bool wildcard = false;
  uint64_t hash = 0;  // the name's, or the wildcard's base's
};
absl::StatusOr<DnsNameRule> ParseDnsNameRule(absl::string_view rule, uint64_t seed);

// Query types: "A", "AAAA", ... and "TYPE<n>" for the others (RFC 3597), both ways.
std::string DnsTypeName(uint16_t type);
std::optional<uint16_t> ParseDnsType(absl::string_view name);

}  // namespace faasguard
