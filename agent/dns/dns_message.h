// DNS messages and names as the kernel programs see them: the parser of bpf/abi/fg_dns.h run
// in user space (the fuzzer and the tests drive the kernel's code), and the name hash the
// agent computes for profile names and rules, equal to the kernel's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// The kernel's hash of a dotted name ("api.example.com", case-insensitive, a final dot
// ignored), and of its parents. nullopt: not a valid name (empty label, too long).
struct DnsNameHash {
  uint64_t hash = 0;
  uint32_t depth = 0;
  std::vector<uint64_t> parents;
};
std::optional<DnsNameHash> HashDnsName(absl::string_view name, uint64_t seed);

}  // namespace faasguard
