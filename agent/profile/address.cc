#include "profile/address.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace faasguard {

absl::StatusOr<ParsedAddress> ParseAddressOrCidr(absl::string_view text) {
  ParsedAddress a;
  absl::string_view ip = text;
  int prefix = -1;
  if (auto slash = text.find('/'); slash != absl::string_view::npos) {
    ip = text.substr(0, slash);
    if (!absl::SimpleAtoi(text.substr(slash + 1), &prefix) || prefix < 0)
      return absl::InvalidArgumentError(absl::StrCat("bad CIDR prefix length in \"", text, "\""));
  }
  std::string s(ip);
  in6_addr a6;
  if (inet_pton(AF_INET, s.c_str(), a.addr) == 1) {
    a.family = 4;
    if (prefix > 32)
      return absl::InvalidArgumentError(absl::StrCat("CIDR \"", text, "\": prefix over 32"));
    a.prefix = prefix < 0 ? 32 : static_cast<uint32_t>(prefix);
  } else if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    if (prefix > 128)
      return absl::InvalidArgumentError(absl::StrCat("CIDR \"", text, "\": prefix over 128"));
    a.prefix = prefix < 0 ? 128 : static_cast<uint32_t>(prefix);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a6.s6_addr, kMapped, 12) == 0 && a.prefix >= 96) {
      a.family = 4;
      std::memcpy(a.addr, a6.s6_addr + 12, 4);
      a.prefix -= 96;
    } else {
      a.family = 6;
      std::memcpy(a.addr, a6.s6_addr, 16);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not an IPv4/IPv6 address or CIDR prefix"));
  }
  // Host bits past the prefix must be zero: "10.1.2.3/8" is a typo, not a rule.
  for (uint32_t bit = a.prefix; bit < (a.family == 4 ? 32u : 128u); ++bit) {
    if (a.addr[bit / 8] & (0x80 >> (bit % 8)))
      return absl::InvalidArgumentError(
          absl::StrCat("CIDR \"", text, "\" has host bits set past /", a.prefix));
  }
  return a;
}

}  // namespace faasguard
