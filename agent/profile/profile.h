// Operations on profiles (faasguard.v1.Profile): adding learned items, merging, stable
// ordering, validation and the JSON form (the protobuf JSON mapping).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "faasguard/v1/profile.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace faasguard {

// 2: syscall actions for the sensitive class and the rest apart (schema 1 had one action,
// kill by default, for every syscall).
inline constexpr uint32_t kProfileSchemaVersion = 2;

using NetList = google::protobuf::RepeatedPtrField<v1::NetEntry>;

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

v1::Profile NewProfile(const v1::FunctionId& id, absl::Time now);

// The section of a container, created when missing.
v1::ContainerProfile& ContainerSection(v1::Profile& p, absl::string_view container);
const v1::ContainerProfile* FindContainer(const v1::Profile& p, absl::string_view container);

// Add one learned item to a section. Each returns true when the item was new; a known item
// has its Seen merged (counts add up, first/last widen).
bool AddSyscall(v1::ContainerProfile& c, const v1::SyscallEntry& e);
bool AddIoUring(v1::ContainerProfile& c, const v1::IoUringOp& e);
bool AddExec(v1::ContainerProfile& c, const v1::ExecEntry& e);
bool AddNet(NetList* list, const v1::NetEntry& e);

// Socket items (profile/socket_items.h for their words).
bool AddUnix(v1::ContainerProfile& c, const v1::UnixEntry& e);
bool AddSocket(v1::ContainerProfile& c, const v1::SocketEntry& e);
bool AddInbound(v1::ContainerProfile& c, const v1::InboundEntry& e);
bool AddSockopt(v1::ContainerProfile& c, const v1::SockoptEntry& e);

void MergeSeen(v1::Seen& into, const v1::Seen& from);

// Merge every item of `from` into `into` (same function). Returns how many items were new.
size_t MergeProfile(v1::Profile& into, const v1::Profile& from);

// What `other` has that `base` has not (added) and the other way round (removed), per
// container, by item identity (counts and times are not compared).
struct ProfileDiff {
  std::vector<v1::ContainerProfile> added;
  std::vector<v1::ContainerProfile> removed;
  bool identical() const { return added.empty() && removed.empty(); }
};
ProfileDiff DiffProfiles(const v1::Profile& base, const v1::Profile& other);

// Sort containers and items so equal profiles print identically. A "#!" script entry whose
// script is a relative name (learned before scripts were resolved to absolute paths) is dropped
// once the same (binary, parent) has an entry for a script at an absolute path ending in that
// name: the function learned where it is.
void NormalizeProfile(v1::Profile& p);

// Whether an exec entry's script is a name given relative to a working directory (profiles
// learned before scripts were resolved): matched by that name in any directory.
bool RelativeScript(const v1::ExecEntry& e);

struct ProfileCounts {
  size_t syscalls = 0;
  size_t execs = 0;
  size_t egress = 0;
  size_t listen = 0;
  size_t ingress = 0;
  size_t files = 0;
  size_t named_egress = 0;  // hosts by DNS name
  size_t dns_queries = 0;   // names queried
  size_t sockets = 0;       // Unix peers, socket kinds, inbound classes, socket options
  size_t total() const {
    return syscalls + execs + egress + listen + ingress + named_egress + dns_queries + sockets +
           files;
  }
};
ProfileCounts CountItems(const v1::Profile& p);

// Structural checks of a profile read from outside (file, API): schema version, names,
// enum values, ports, addresses, sizes.
absl::Status ValidateProfile(const v1::Profile& p);

// Brings a profile of an older schema to this one (schema 0, absent, is 1): schema 1's syscall
// action "kill" (its default, for every syscall) becomes the defaults (refuse with EPERM, kill
// for the sensitive class), "alert" stays alert for both. Newer schemas are left for
// ValidateProfile to refuse.
void MigrateProfile(v1::Profile* p);

// JSON (protobuf JSON mapping, indented). Parsing validates.
std::string ProfileToJson(const v1::Profile& p);
absl::StatusOr<v1::Profile> ProfileFromJson(absl::string_view json);

// Any message to JSON (for `-o json` and logs).
std::string MessageToJson(const google::protobuf::Message& m, bool indent = true);

}  // namespace faasguard
