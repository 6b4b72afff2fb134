#include "dns/dns_message.h"

#include <cstring>
#include <memory>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

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

namespace {

bool Plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Presentation form -> the labels' bytes (A-Z lowercased); nullopt on a bad escape.
std::optional<std::vector<std::string>> Labels(absl::string_view name) {
  if (!name.empty() && name.back() == '.' && (name.size() < 2 || name[name.size() - 2] != '\\'))
    name.remove_suffix(1);
  std::vector<std::string> labels(1);
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '.') {
      labels.emplace_back();
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= name.size()) return std::nullopt;
      unsigned char n = static_cast<unsigned char>(name[i + 1]);
      if (n >= '0' && n <= '9') {
        if (i + 3 >= name.size()) return std::nullopt;
        int v = 0;
        for (size_t k = 1; k <= 3; ++k) {
          unsigned char d = static_cast<unsigned char>(name[i + k]);
          if (d < '0' || d > '9') return std::nullopt;
          v = v * 10 + (d - '0');
        }
        if (v > 255) return std::nullopt;
        c = static_cast<unsigned char>(v);
        i += 3;
      } else {
        c = n;
        i += 1;
      }
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    labels.back().push_back(static_cast<char>(c));
  }
  return labels;
}

}  // namespace

std::string EscapeDnsName(absl::string_view kernel_text) {
  std::string out;
  out.reserve(kernel_text.size());
  for (unsigned char c : kernel_text) {
    if (Plain(c) || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    }
  }
  return out;
}

std::optional<DnsNameHash> HashDnsName(absl::string_view name, uint64_t seed) {
  auto labels = Labels(name);
  if (!labels || labels->size() > FG_DNS_LABELS) return std::nullopt;
  size_t wire = 1, text = labels->size() - 1;
  for (const auto& l : *labels) {
    if (l.empty() || l.size() > 63) return std::nullopt;
    // The kernel refuses a '.' or NUL inside a label: no name holding one can match.
    if (l.find('.') != std::string::npos || l.find('\0') != std::string::npos) return std::nullopt;
    wire += l.size() + 1;
    text += l.size();
  }
  if (wire > FG_DNS_WIRE_MAX || text > FG_DNS_NAME_MAX - 1) return std::nullopt;
  DnsNameHash out;
  uint64_t h = FG_FNV_OFFSET ^ seed;
  for (size_t i = labels->size(); i-- > 0;) {
    if (i + 1 != labels->size()) h = fg_hash_step(h, '.');
    for (char c : (*labels)[i]) h = fg_hash_step(h, static_cast<uint8_t>(c));
    if (out.parents.size() < FG_DNS_PARENTS) out.parents.push_back(h);
  }
  out.hash = h;
  out.depth = static_cast<uint32_t>(labels->size());
  return out;
}

absl::StatusOr<DnsNameRule> ParseDnsNameRule(absl::string_view rule, uint64_t seed) {
  DnsNameRule r;
  absl::string_view name = rule;
  if (absl::ConsumePrefix(&name, "*.")) r.wildcard = true;
  auto h = HashDnsName(name, seed);
  if (!h || name.find('*') != absl::string_view::npos)
    return absl::InvalidArgumentError(absl::StrCat(
        "DNS name \"", rule.substr(0, 64),
        "\" is not a name (labels of 1 to 63 bytes, at most 253 characters; \"*.\" only in "
        "front; escape other bytes as \\DDD)"));
  if (r.wildcard && h->depth > FG_DNS_PARENTS)
    return absl::InvalidArgumentError(absl::StrCat("DNS name rule \"", rule.substr(0, 64),
                                                   "\": a wildcard's base may be at most ",
                                                   FG_DNS_PARENTS, " labels deep"));
  r.hash = h->hash;
  return r;
}

namespace {

constexpr std::pair<uint16_t, const char*> kTypes[] = {
    {1, "A"},     {2, "NS"},     {5, "CNAME"}, {6, "SOA"},    {12, "PTR"},  {15, "MX"},
    {16, "TXT"},  {28, "AAAA"},  {33, "SRV"},  {35, "NAPTR"}, {43, "DS"},   {48, "DNSKEY"},
    {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},  {255, "ANY"},  {257, "CAA"},
};

}  // namespace

std::string DnsTypeName(uint16_t type) {
  for (const auto& [t, n] : kTypes)
    if (t == type) return n;
  return absl::StrCat("TYPE", type);
}

std::optional<uint16_t> ParseDnsType(absl::string_view name) {
  for (const auto& [t, n] : kTypes)
    if (absl::EqualsIgnoreCase(name, n)) return t;
  uint32_t v = 0;
  if (absl::ConsumePrefix(&name, "TYPE") && !name.empty() && absl::SimpleAtoi(name, &v) &&
      v <= 65535)
    return static_cast<uint16_t>(v);
  return std::nullopt;
}

}  // namespace faasguard
