// libFuzzer: the kernel's DNS parser (bpf/abi/fg_dns.h) on hostile messages. Beyond no crash,
// hang or read out of bounds (ASan, UBSan), it checks what a binding relies on: a parsed
// question's text, escaped as a profile name, hashes to the hash the kernel computed (no text can
// pass for another name), and no more addresses are bound than the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dns/dns_message.h"

// clang-format off
#include "abi/fg_abi.h"
#include "abi/fg_dns.h"
// clang-format on

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string msg(reinterpret_cast<const char*>(data), size);
  faasguard::ParsedDns p = faasguard::ParseDnsMessage(msg, 42);
  if (p.addrs.size() > FG_DNS_ADDRS) std::abort();
  if (!p.name.empty()) {
    // As the agent names it (presentation form: bytes other than [a-z0-9-_.] as \DDD).
    auto h = faasguard::HashDnsName(faasguard::EscapeDnsName(p.name), 42);
    if (!h || h->hash != p.hash || h->depth != p.depth || h->parents != p.parents) std::abort();
  }
  for (const auto& a : p.addrs)
    if (a.addr.size() != (a.family == 4 ? 4u : 16u)) std::abort();
  return 0;
}
