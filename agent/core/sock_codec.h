// Socket items (bpf/abi/fg_sock.h) between the kernel's keys and records and the profile's
// entries: the learned set's keys and first sightings, and the violations of kinds unix,
// socket, sockopt and inbound. Pure functions, like abi_codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "abi/fg_abi.h"
#include "absl/strings/string_view.h"
#include "bpf/events.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

using SockEntry = std::variant<v1::UnixEntry, v1::SocketEntry, v1::InboundEntry, v1::SockoptEntry>;

// A learned key -> its profile entry. `name`, `name_flags`: a Unix peer's name as the kernel
// kept it (fg_paths, or the event). nullopt for a key no profile list holds.
std::optional<SockEntry> SockKeyToEntry(const fg_sock_key& k, absl::string_view name,
                                        uint32_t name_flags);

// Add it to its list of a section (true when new); what it is, for logs and events: the
// list's name ("unix", "socket", "inbound", "sockopt") and the item in words.
bool AddSockEntry(v1::ContainerProfile& c, const SockEntry& e);
std::string SockEntryKind(const SockEntry& e);
std::string SockEntryWords(const SockEntry& e);
void SetSockEntrySeen(SockEntry& e, const v1::Seen& seen);

// The part of a violation record of these kinds: what was attempted, and the item.
void SockViolationFromKernel(const ViolationEvent& e, v1::Violation* v);

}  // namespace faasguard
