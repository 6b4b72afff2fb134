// The socket items of a profile (Unix peers, socket kinds and options, inbound peer classes) in
// the words profiles use, both ways: what the kernel reports as numbers and bytes, and what a
// person reads and writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// A Unix socket's name as the kernel saw it (a path, or an abstract name's bytes) in its profile
// form: a path as it is, an abstract name as "@" + its bytes; '\' and '*' escaped with '\', and
// any byte outside printable ASCII as \xNN (profiles are UTF-8 text).
std::string UnixNameToProfile(absl::string_view name, bool abstract);

struct UnixRule {
  std::string name;  // the bytes the kernel hashes (without the abstract '@')
  bool abstract = false;
  bool prefix = false;  // written with a trailing unescaped '*'
};
// The inverse: errors name what does not parse (a bad escape, a '*' before the end, a relative
// path, an empty name, a name longer than sun_path holds).
absl::StatusOr<UnixRule> ParseUnixName(absl::string_view text);

// Socket types (SOCK_STREAM...) and address families (AF_INET...) as words: "stream", "inet6";
// numbers without a word as "type<N>", "af<N>". The parsers take both forms.
std::string SocketTypeWord(uint32_t type);
std::optional<uint32_t> ParseSocketType(absl::string_view word);
std::string FamilyWord(uint32_t family);
std::optional<uint32_t> ParseFamily(absl::string_view word);

// The rerouting socket options the kernel watches (sock.bpf.c, fg_rerouting), by name.
std::optional<std::string> SockoptName(uint32_t level, uint32_t optname);
struct SockoptId {
  uint32_t level = 0;
  uint32_t optname = 0;
};
std::optional<SockoptId> ParseSockopt(absl::string_view name);

// "loopback", "namespace", "cluster", "outside", "any".
std::string PeerClassWord(v1::PeerClass c);

}  // namespace faasguard
