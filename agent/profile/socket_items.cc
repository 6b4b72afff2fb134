#include "profile/socket_items.h"

#include <cctype>
#include <cstdio>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace faasguard {
namespace {

constexpr size_t kSunPath = 108;  // sizeof(sockaddr_un.sun_path)
// A path resolved against the working directory: at most 511 bytes of directory, '/', and the
// rest of a sun_path (bpf/name.bpf.c).
constexpr size_t kResolvedPath = 511 + 1 + 255;

constexpr std::pair<uint32_t, const char*> kTypes[] = {
    {1, "stream"}, {2, "dgram"}, {3, "raw"}, {4, "rdm"}, {5, "seqpacket"}, {10, "packet"},
};

constexpr std::pair<uint32_t, const char*> kFamilies[] = {
    {1, "unix"},    {2, "inet"}, {10, "inet6"}, {15, "key"},       {16, "netlink"},
    {17, "packet"}, {29, "can"}, {30, "tipc"},  {31, "bluetooth"}, {38, "alg"},
    {40, "vsock"},  {44, "xdp"}, {45, "mctp"},
};

struct Sockopt {
  uint32_t level, optname;
  const char* name;
};
// Keep in step with fg_rerouting (bpf/sock.bpf.c).
constexpr Sockopt kSockopts[] = {
    {0, 3, "IP_HDRINCL"},         {0, 4, "IP_OPTIONS"},       {0, 19, "IP_TRANSPARENT"},
    {41, 5, "IPV6_2292RTHDR"},    {41, 36, "IPV6_HDRINCL"},   {41, 57, "IPV6_RTHDR"},
    {41, 75, "IPV6_TRANSPARENT"}, {1, 25, "SO_BINDTODEVICE"}, {1, 36, "SO_MARK"},
    {1, 62, "SO_BINDTOIFINDEX"},
};

template <size_t N>
std::string Word(const std::pair<uint32_t, const char*> (&table)[N], uint32_t v,
                 absl::string_view prefix) {
  for (const auto& [n, w] : table)
    if (n == v) return w;
  return absl::StrCat(prefix, v);
}

template <size_t N>
std::optional<uint32_t> ParseWord(const std::pair<uint32_t, const char*> (&table)[N],
                                  absl::string_view word, absl::string_view prefix) {
  for (const auto& [n, w] : table)
    if (word == w) return n;
  uint32_t v;
  if (absl::ConsumePrefix(&word, prefix) && !word.empty() && absl::SimpleAtoi(word, &v) &&
      v <= 0xffff)
    return v;
  return std::nullopt;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UnixNameToProfile(absl::string_view name, bool abstract) {
  std::string out = abstract ? "@" : "";
  for (unsigned char c : name) {
    if (c == '\\' || c == '*') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

absl::StatusOr<UnixRule> ParseUnixName(absl::string_view text) {
  UnixRule r;
  absl::string_view t = text;
  r.abstract = absl::ConsumePrefix(&t, "@");
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("Unix socket \"", text.substr(0, 64), "\": ", why));
  };
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\\') {
      if (i + 1 < t.size() && (t[i + 1] == '\\' || t[i + 1] == '*')) {
        r.name += t[++i];
      } else if (i + 3 < t.size() && t[i + 1] == 'x' && HexDigit(t[i + 2]) >= 0 &&
                 HexDigit(t[i + 3]) >= 0) {
        r.name += static_cast<char>(HexDigit(t[i + 2]) * 16 + HexDigit(t[i + 3]));
        i += 3;
      } else {
        return bad("'\\' must be followed by '\\', '*' or xNN");
      }
    } else if (c == '*') {
      if (i + 1 != t.size()) return bad("'*' is allowed only at the end (write \\* for a '*')");
      r.prefix = true;
    } else {
      r.name += c;
    }
  }
  if (!r.abstract && (r.name.empty() || r.name[0] != '/'))
    return bad("a path is absolute; an abstract name starts with '@'");
  if (r.name.size() > (r.abstract ? kSunPath - 1 : kResolvedPath))
    return bad("longer than a Unix socket address holds");
  return r;
}

std::string SocketTypeWord(uint32_t type) { return Word(kTypes, type, "type"); }
std::optional<uint32_t> ParseSocketType(absl::string_view word) {
  return ParseWord(kTypes, word, "type");
}
std::string FamilyWord(uint32_t family) { return Word(kFamilies, family, "af"); }
std::optional<uint32_t> ParseFamily(absl::string_view word) {
  return ParseWord(kFamilies, word, "af");
}

std::optional<std::string> SockoptName(uint32_t level, uint32_t optname) {
  for (const auto& o : kSockopts)
    if (o.level == level && o.optname == optname) return std::string(o.name);
  return std::nullopt;
}

std::optional<SockoptId> ParseSockopt(absl::string_view name) {
  for (const auto& o : kSockopts)
    if (name == o.name) return SockoptId{o.level, o.optname};
  return std::nullopt;
}

std::string PeerClassWord(v1::PeerClass c) {
  switch (c) {
    case v1::PEER_CLASS_LOOPBACK:
      return "loopback";
    case v1::PEER_CLASS_NAMESPACE:
      return "namespace";
    case v1::PEER_CLASS_CLUSTER:
      return "cluster";
    case v1::PEER_CLASS_OUTSIDE:
      return "outside";
    default:
      return "any";
  }
}

}  // namespace faasguard
