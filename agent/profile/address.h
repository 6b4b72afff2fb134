// IP addresses and CIDR prefixes as profiles write them.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faasguard {

// Parse "1.2.3.4", "::1", "10.0.0.0/8", "fd00::/16" into family (4/6), 16 address bytes (network
// order, IPv4 in the first 4; an IPv4-mapped IPv6 address becomes IPv4) and prefix length.
struct ParsedAddress {
  uint8_t family = 0;
  uint8_t addr[16] = {};
  uint32_t prefix = 0;
};
absl::StatusOr<ParsedAddress> ParseAddressOrCidr(absl::string_view text);

}  // namespace faasguard
