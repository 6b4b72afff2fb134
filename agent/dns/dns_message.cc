#include "dns/dns_message.h"

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

// clang-format off
#include "abi/fg_abi.h"
#include "abi/fg_dns.h"
// clang-format on

namespace faasguard {

ParsedDns ParseDnsMessage(absl::string_view msg, uint64_t seed) {
  auto m = std::make_unique<fg_dns_msg>();
  std::memset(m.get(), 0, sizeof *m);
  m->len = static_cast<uint32_t>(std::min<size_t>(msg.size(), FG_DNS_BUF));
  std::memcpy(m->buf, msg.data(), m->len);
  ParsedDns out;
  if (fg_dns_parse_question(m.get(), seed) == 0) {
    out.name.assign(m->q.text, m->q.len);
    out.hash = m->q.hash;
    out.depth = m->q.depth;
    for (uint32_t i = 0; i < FG_DNS_PARENTS && i < m->q.depth; ++i)
      out.parents.push_back(m->q.parents[i]);
    if (m->response)
      fg_dns_parse_answers(m.get(), seed);
    else
      fg_dns_check_query(m.get());
    for (uint32_t i = 0; i < m->naddrs; ++i) {
      const fg_dns_addr& a = m->addrs[i];
      out.addrs.push_back(
          {a.family, a.ttl,
           std::string(reinterpret_cast<const char*>(a.addr), a.family == 4 ? 4 : 16)});
    }
  }
  out.response = m->response;
  out.id = m->id;
  out.rcode = m->rcode;
  out.qtype = m->qtype;
  out.skipped = m->skipped;
  out.err = m->err;
  return out;
}

std::optional<DnsNameHash> HashDnsName(absl::string_view name, uint64_t seed) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > FG_DNS_NAME_MAX - 1) return std::nullopt;
  std::vector<std::string> labels = absl::StrSplit(name, '.');
  if (labels.size() > FG_DNS_LABELS) return std::nullopt;
  size_t wire = 1;
  for (const auto& l : labels) {
    if (l.empty() || l.size() > 63) return std::nullopt;
    wire += l.size() + 1;
  }
  if (wire > FG_DNS_WIRE_MAX) return std::nullopt;
  DnsNameHash out;
  uint64_t h = FG_FNV_OFFSET ^ seed;
  for (size_t i = labels.size(); i-- > 0;) {
    if (i + 1 != labels.size()) h = fg_hash_step(h, '.');
    for (char c : absl::AsciiStrToLower(labels[i])) h = fg_hash_step(h, static_cast<uint8_t>(c));
    if (out.parents.size() < FG_DNS_PARENTS) out.parents.push_back(h);
  }
  out.hash = h;
  out.depth = static_cast<uint32_t>(labels.size());
  return out;
}

}  // namespace faasguard
