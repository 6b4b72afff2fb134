// Decoding of ring-buffer records (struct fg_*_event in bpf/abi/fg_abi.h) into C++ values.
// Pure functions of the bytes: every size and length is checked before it is trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/status/statusor.h"

namespace faasguard {

struct EventHeader {
  uint16_t type = 0;
  uint32_t fn_id = 0;
  uint64_t ts_ns = 0;  // CLOCK_BOOTTIME
  uint64_t cgroup_id = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
};

struct SyscallEvent {
  EventHeader hdr;
  uint32_t nr = 0;
  uint32_t arch = 0;  // enum fg_arch
};

// A path as the kernel resolved it.
struct KernelPath {
  std::string path;
  uint32_t flags = 0;  // FG_PATH_F_*
  uint64_t hash = 0;
};

struct ExecEvent {
  EventHeader hdr;
  KernelPath bin;
  KernelPath parent;
  uint64_t script_hash = 0;
  uint32_t uid = 0;
  uint32_t ppid = 0;
  std::vector<std::string> args;
  std::string filename;  // name passed to exec
  uint32_t flags = 0;    // FG_EXEC_F_*
};

struct NetEvent {
  EventHeader hdr;
  fg_net_key key{};
};

struct ViolationEvent {
  EventHeader hdr;
  uint8_t kind = 0;    // enum fg_viol_kind
  uint8_t action = 0;  // enum fg_viol_action
  uint8_t mode = 0;    // enum fg_mode
  uint32_t uid = 0;
  uint32_t ppid = 0;
  uint32_t nr = 0;
  uint32_t arch = 0;
  fg_net_key net{};
  KernelPath bin;
  KernelPath parent;
  uint64_t script_hash = 0;
  std::string script;  // the name given to exec, for a "#!" script
  uint32_t exec_flags = 0;
  std::string comm;
  // Kinds with an item in text (a DNS name, a Unix socket path, a file path).
  std::string item;
  uint64_t item_hash = 0;
  uint32_t item_flags = 0;
};

// A socket item's first sighting (bpf/abi/fg_sock.h): a Unix peer with its name, a socket
// kind, a socket option, something received.
struct SockEvent {
  EventHeader hdr;
  fg_sock_key key{};
  std::string name;         // FG_SOCK_UNIX: the peer's name (a path, or an abstract name's bytes)
  uint32_t name_flags = 0;  // FG_PATH_F_*
};

// A cgroup v2 directory came (mkdir) or went (rmdir).
struct CgroupEvent {
  EventHeader hdr;  // hdr.cgroup_id: the cgroup's id
  uint64_t parent_id = 0;
  uint32_t op = 0;  // enum fg_cgroup_op
  uint32_t level = 0;
  bool inherited = false;  // the kernel tracked it from its pod-level parent
  std::string path;        // relative to the cgroup v2 root
};

// A first sighting of a file opened with an access (abi/fg_file.h).
struct FileEvent {
  EventHeader hdr;
  KernelPath path;
  uint32_t access = 0;  // FG_FILE_*
};

// A DNS first sighting (struct fg_dns_event): a query (name, qtype), an NXDOMAIN answer, or
// named egress (name, kind, protocol, port; the address reached is the evidence).
struct DnsEvent {
  EventHeader hdr;
  uint8_t what = 0;    // enum fg_dns_what
  uint8_t kind = 0;    // FG_DNS_SEEN_CONN: FG_NET_CONNECT or FG_NET_SEND
  uint8_t proto = 0;   // FG_DNS_SEEN_CONN
  uint8_t family = 0;  // of addr: 4 or 6 (FG_DNS_SEEN_CONN), else 0
  uint16_t qtype = 0;
  uint16_t port = 0;
  uint64_t hash = 0;
  std::string addr;  // 4 or 16 bytes (FG_DNS_SEEN_CONN), else empty
  std::string name;  // "" when the kernel no longer knew the text
};

using Event = std::variant<SyscallEvent, ExecEvent, NetEvent, ViolationEvent, CgroupEvent, DnsEvent,
                           FileEvent, SockEvent>;

absl::StatusOr<Event> DecodeEvent(const void* data, size_t size);

}  // namespace faasguard
