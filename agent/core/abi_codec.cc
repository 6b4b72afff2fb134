#include "core/abi_codec.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "core/sock_codec.h"
#include "dns/dns_message.h"
#include "profile/files.h"
#include "profile/path_rule.h"
#include "profile/profile.h"
#include "syscalls/syscall_table.h"

namespace faasguard {

std::string ModeWord(v1::Mode m) {
  switch (m) {
    case v1::MODE_MONITOR:
      return "monitor";
    case v1::MODE_ENFORCE:
      return "enforce";
    default:
      return "learn";
  }
}

std::optional<v1::Mode> ParseModeWord(absl::string_view word) {
  for (v1::Mode m : {v1::MODE_LEARN, v1::MODE_MONITOR, v1::MODE_ENFORCE})
    if (word == ModeWord(m)) return m;
  return std::nullopt;
}

std::string SyscallActionWord(v1::SyscallAction a) {
  switch (a) {
    case v1::SYSCALL_ACTION_ALERT:
      return "alert";
    case v1::SYSCALL_ACTION_KILL:
      return "kill";
    case v1::SYSCALL_ACTION_ERRNO:
      return "errno";
    default:
      return "default";
  }
}

std::optional<v1::SyscallAction> ParseSyscallActionWord(absl::string_view word) {
  for (v1::SyscallAction a : {v1::SYSCALL_ACTION_DEFAULT, v1::SYSCALL_ACTION_ALERT,
                              v1::SYSCALL_ACTION_KILL, v1::SYSCALL_ACTION_ERRNO})
    if (word == SyscallActionWord(a)) return a;
  return std::nullopt;
}

v1::SyscallAction EffectiveUnlearnedAction(v1::SyscallAction a) {
  return a == v1::SYSCALL_ACTION_DEFAULT ? v1::SYSCALL_ACTION_ERRNO : a;
}

v1::SyscallAction EffectiveSensitiveAction(v1::SyscallAction a) {
  return a == v1::SYSCALL_ACTION_DEFAULT ? v1::SYSCALL_ACTION_KILL : a;
}

std::string AgentAbsenceWord(v1::AgentAbsence a) {
  return a == v1::AGENT_ABSENCE_FAIL_OPEN ? "fail-open" : "fail-closed";
}

ModeSettings ModeSettings::Of(const v1::Profile& p) {
  return {p.mode() == v1::MODE_UNSPECIFIED ? v1::MODE_LEARN : p.mode(), p.syscall_action(),
          p.when_agent_absent(), p.sensitive_syscall_action()};
}

void ModeSettings::ApplyTo(v1::Profile& p) const {
  p.set_mode(mode);
  p.set_syscall_action(syscall_action);
  p.set_when_agent_absent(when_agent_absent);
  p.set_sensitive_syscall_action(sensitive_syscall_action);
}

v1::Mode ModeFromKernel(uint32_t fg_mode) {
  switch (fg_mode) {
    case FG_MODE_ENFORCE:
      return v1::MODE_ENFORCE;
    case FG_MODE_MONITOR:
      return v1::MODE_MONITOR;
    default:
      return v1::MODE_LEARN;
  }
}

uint8_t ModeToKernel(v1::Mode m) {
  switch (m) {
    case v1::MODE_ENFORCE:
      return FG_MODE_ENFORCE;
    case v1::MODE_MONITOR:
      return FG_MODE_MONITOR;
    default:
      return FG_MODE_LEARN;
  }
}

fg_fn_cfg KernelConfig(const ModeSettings& settings, uint8_t gen, uint8_t flags) {
  fg_fn_cfg cfg{};
  cfg.mode = ModeToKernel(settings.mode);
  // Where only sys_enter acts, the syscall already ran: "errno" cannot refuse it, it is
  // reported; the sensitive class is in the allow-list's kill set (core/policy.cc).
  cfg.sys_action = EffectiveUnlearnedAction(settings.syscall_action) == v1::SYSCALL_ACTION_KILL
                       ? FG_SYS_KILL
                       : FG_SYS_ALERT;
  cfg.gen = gen & 1;
  cfg.flags = flags;
  if (settings.when_agent_absent == v1::AGENT_ABSENCE_FAIL_OPEN) cfg.flags |= FG_CFG_F_FAIL_OPEN;
  return cfg;
}

v1::Seen SeenFromKernel(uint64_t count, uint64_t first_ns, uint64_t last_ns) {
  v1::Seen s;
  s.set_count(count);
  if (first_ns) *s.mutable_first_seen() = ToProtoTime(BootNsToTime(first_ns));
  if (last_ns) *s.mutable_last_seen() = ToProtoTime(BootNsToTime(last_ns));
  return s;
}

void PathToProfile(const PathText& p, std::string* path, v1::PathKind* kind) {
  if (p.flags & FG_PATH_F_DETACHED) {
    *kind = v1::PATH_KIND_ANONYMOUS;
    *path = EscapeRulePath(!p.path.empty() && p.path[0] == '/' ? p.path.substr(1) : p.path);
    return;
  }
  *kind = (p.flags & FG_PATH_F_UNLINKED)    ? v1::PATH_KIND_DELETED
          : (p.flags & FG_PATH_F_TRUNCATED) ? v1::PATH_KIND_TRUNCATED
                                            : v1::PATH_KIND_FILE;
  *path = EscapeRulePath(p.path);
}

uint32_t KernelPathFlags(v1::PathKind kind) {
  switch (kind) {
    case v1::PATH_KIND_DELETED:
      return FG_PATH_F_UNLINKED;
    case v1::PATH_KIND_ANONYMOUS:
      return FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED;
    case v1::PATH_KIND_TRUNCATED:
      return FG_PATH_F_TRUNCATED;
    default:
      return 0;
  }
}

std::string KernelPathText(const std::string& path, v1::PathKind kind) {
  if (kind == v1::PATH_KIND_ANONYMOUS && (path.empty() || path[0] != '/')) return "/" + path;
  return path;
}

uint64_t PathHash(absl::string_view path, uint32_t flags, uint64_t seed) {
  uint64_t h = FG_FNV_OFFSET ^ seed;
  for (unsigned char c : path) h = fg_hash_step(h, c);
  if (flags) {
    h = fg_hash_step(h, 0xff);
    h = fg_hash_step(h, flags & 0xff);
  }
  return h;
}

std::optional<std::pair<std::string, v1::NetEntry>> NetKeyToEntry(const fg_net_key& k) {
  v1::NetEntry e;
  if (!v1::Protocol_IsValid(k.proto) || k.proto == 0) return std::nullopt;
  e.set_protocol(static_cast<v1::Protocol>(k.proto));
  e.set_port(k.port);
  auto addr = [&] {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(k.family == 6 ? AF_INET6 : AF_INET, k.addr, buf, sizeof buf);
    return std::string(buf);
  };
  switch (k.kind) {
    case FG_NET_CONNECT:
    case FG_NET_SEND:
      e.set_address(addr());
      return std::make_pair(std::string("egress"), e);
    case FG_NET_BIND:
      if (k.port == 0) return std::nullopt;  // ephemeral port: nothing to learn
      [[fallthrough]];
    case FG_NET_LISTEN:
      return std::make_pair(std::string("listen"), e);
    case FG_NET_ACCEPT:
      e.set_address(addr());
      return std::make_pair(std::string("ingress"), e);
    default:
      return std::nullopt;
  }
}

v1::SyscallEntry SyscallFromKernel(uint32_t arch, uint32_t nr) {
  SyscallArch a = arch == FG_ARCH_COMPAT ? SyscallArch::kCompat : SyscallArch::kNative;
  v1::SyscallEntry e;
  e.set_name(SyscallName(a, nr));
  e.set_arch(std::string(ArchName(a)));
  e.set_nr(nr);
  return e;
}

v1::FileEntry FileFromKernel(const PathText& p, uint32_t access, const v1::Seen& seen) {
  v1::FileEntry e;
  v1::PathKind kind;
  PathToProfile(p, e.mutable_path(), &kind);
  e.set_kind(kind);
  SetFileAccess(e, access);
  e.set_hard_linked(access & FG_FILE_LINKED);
  *e.mutable_seen() = seen;
  return e;
}

namespace {

std::string AddrText(uint8_t family, const uint8_t* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, sizeof buf);
  return buf;
}

}  // namespace

v1::NamedEgress NamedEgressFromKernel(const std::string& name_text, uint8_t proto, uint16_t port,
                                      uint8_t family, const uint8_t* addr, const v1::Seen& seen) {
  v1::NamedEgress n;
  n.set_name(EscapeDnsName(name_text));
  if (v1::Protocol_IsValid(proto)) n.set_protocol(static_cast<v1::Protocol>(proto));
  n.set_port(port);
  *n.mutable_seen() = seen;
  if (addr && (family == 4 || family == 6)) n.add_addresses(AddrText(family, addr));
  return n;
}

v1::DnsQuery DnsQueryFromKernel(const std::string& name_text, uint16_t qtype, bool nxdomain,
                                const v1::Seen& seen) {
  v1::DnsQuery q;
  q.set_name(EscapeDnsName(name_text));
  q.add_types(DnsTypeName(qtype));
  q.set_nxdomain(nxdomain);
  *q.mutable_seen() = seen;
  return q;
}

std::string IoUringOpName(uint32_t opcode) {
  // include/uapi/linux/io_uring.h, enum io_uring_op (6.18).
  static constexpr const char* kNames[] = {"nop",
                                           "readv",
                                           "writev",
                                           "fsync",
                                           "read_fixed",
                                           "write_fixed",
                                           "poll_add",
                                           "poll_remove",
                                           "sync_file_range",
                                           "sendmsg",
                                           "recvmsg",
                                           "timeout",
                                           "timeout_remove",
                                           "accept",
                                           "async_cancel",
                                           "link_timeout",
                                           "connect",
                                           "fallocate",
                                           "openat",
                                           "close",
                                           "files_update",
                                           "statx",
                                           "read",
                                           "write",
                                           "fadvise",
                                           "madvise",
                                           "send",
                                           "recv",
                                           "openat2",
                                           "epoll_ctl",
                                           "splice",
                                           "provide_buffers",
                                           "remove_buffers",
                                           "tee",
                                           "shutdown",
                                           "renameat",
                                           "unlinkat",
                                           "mkdirat",
                                           "symlinkat",
                                           "linkat",
                                           "msg_ring",
                                           "fsetxattr",
                                           "setxattr",
                                           "fgetxattr",
                                           "getxattr",
                                           "socket",
                                           "uring_cmd",
                                           "send_zc",
                                           "sendmsg_zc",
                                           "read_multishot",
                                           "waitid",
                                           "futex_wait",
                                           "futex_wake",
                                           "futex_waitv",
                                           "fixed_fd_install",
                                           "ftruncate",
                                           "bind",
                                           "listen",
                                           "recv_zc",
                                           "epoll_wait",
                                           "readv_fixed",
                                           "writev_fixed",
                                           "pipe"};
  if (opcode < sizeof kNames / sizeof kNames[0]) return kNames[opcode];
  return absl::StrCat("op_", opcode);
}

v1::IoUringOp IoUringFromKernel(uint32_t opcode) {
  v1::IoUringOp op;
  op.set_opcode(opcode);
  op.set_name(IoUringOpName(opcode));
  return op;
}

const char* ViolationKindWord(uint8_t kind) {
  switch (kind) {
    case FG_VIOL_SYSCALL:
      return "syscall";
    case FG_VIOL_EXEC:
      return "exec";
    case FG_VIOL_CONNECT:
    case FG_VIOL_SEND:
      return "egress";
    case FG_VIOL_BIND:
    case FG_VIOL_LISTEN:
      return "listen";
    case FG_VIOL_IOURING:
      return "io_uring";
    case FG_VIOL_DNS_QUERY:
      return "dns";
    case FG_VIOL_UNIX:
      return "unix";
    case FG_VIOL_SOCKET:
      return "socket";
    case FG_VIOL_SOCKOPT:
      return "sockopt";
    case FG_VIOL_INBOUND:
      return "inbound";
    case FG_VIOL_FILE:
      return "file";
    default:
      return "other";
  }
}

const char* ViolationActionWord(uint8_t action) {
  switch (action) {
    case FG_ACT_KILLED:
      return "killed";
    case FG_ACT_DENIED:
      return "denied";
    case FG_ACT_ALERT:
      return "alert";
    case FG_ACT_FAILED_OPEN:
      return "failed-open";
    default:
      return "reported";
  }
}

namespace {

std::string ProtocolWord(v1::Protocol p) {
  switch (p) {
    case v1::PROTOCOL_TCP:
      return "tcp";
    case v1::PROTOCOL_UDP:
      return "udp";
    case v1::PROTOCOL_ICMP:
      return "icmp";
    case v1::PROTOCOL_ICMPV6:
      return "icmpv6";
    case v1::PROTOCOL_SCTP:
      return "sctp";
    default:
      return "ip";
  }
}

}  // namespace

v1::Violation ViolationFromKernel(const ViolationEvent& e) {
  v1::Violation v;
  v.set_cgroup_id(e.hdr.cgroup_id);
  v.set_pid(e.hdr.pid);
  v.set_uid(e.uid);
  v.set_comm(e.comm);
  v1::PathKind kind;
  PathToProfile({e.bin.path, e.bin.flags}, v.mutable_binary(), &kind);
  v1::PathKind parent_kind;
  PathToProfile({e.parent.path, e.parent.flags}, v.mutable_parent(), &parent_kind);
  v.set_kind(ViolationKindWord(e.kind));
  v.set_action(ViolationActionWord(e.action));
  v.set_mode(ModeFromKernel(e.mode));
  *v.mutable_time() = ToProtoTime(BootNsToTime(e.hdr.ts_ns));
  switch (e.kind) {
    case FG_VIOL_SYSCALL: {
      v1::SyscallEntry sc = SyscallFromKernel(e.arch, e.nr);
      v.set_attempted(e.arch == FG_ARCH_COMPAT ? absl::StrCat(sc.name(), " (", sc.arch(), ")")
                                               : sc.name());
      if (e.nr < FG_SYS_MAX) *v.mutable_syscall() = std::move(sc);
      break;
    }
    case FG_VIOL_FILE: {
      // The path the kernel opened and how: "/etc/shadow (read)", "deleted /tmp/x (write)".
      const uint32_t access = e.item_flags >> FG_FILE_ITEM_ACCESS_SHIFT;
      v1::FileEntry f = FileFromKernel({e.item, e.item_flags & 0xff}, access, {});
      f.clear_seen();
      static constexpr const char* kKind[] = {"", "deleted ", "anonymous ", "truncated "};
      v.set_attempted(absl::StrCat(kKind[f.kind() & 3], f.path(), " (", FileAccessWords(access),
                                   f.hard_linked() ? ", hard-linked" : "", ")"));
      *v.mutable_file() = std::move(f);
      break;
    }
    case FG_VIOL_IOURING: {
      v1::IoUringOp op = IoUringFromKernel(e.nr);
      v.set_attempted(absl::StrCat("io_uring ", op.name()));
      if (e.nr < 256) *v.mutable_io_uring() = std::move(op);
      break;
    }
    case FG_VIOL_EXEC: {
      auto* x = v.mutable_exec();
      x->set_path(v.binary());
      x->set_kind(kind);
      x->set_parent(v.parent());
      x->set_parent_kind(parent_kind);
      // A script: its absolute path is the item (the name given is in e.script).
      if (e.exec_flags & FG_EXEC_F_SCRIPT) x->set_script(e.item.empty() ? e.script : e.item);
      v.set_attempted(x->script().empty() ? x->path()
                                          : absl::StrCat(x->path(), " (script ", x->script(), ")"));
      break;
    }
    case FG_VIOL_UNIX:
    case FG_VIOL_SOCKET:
    case FG_VIOL_SOCKOPT:
    case FG_VIOL_INBOUND:
      SockViolationFromKernel(e, &v);
      break;
    case FG_VIOL_DNS_QUERY: {
      const std::string server =
          absl::StrCat(e.net.family == 6 ? absl::StrCat("[", AddrText(6, e.net.addr), "]")
                                         : AddrText(4, e.net.addr),
                       ":", e.net.port);
      if (!(e.item_flags & FG_VIOL_ITEM_DNS_NAME) || e.item.empty()) {
        v.set_attempted(absl::StrCat("a DNS packet it cannot read, to ", server));
        break;
      }
      *v.mutable_dns_query() = DnsQueryFromKernel(e.item, static_cast<uint16_t>(e.nr), false, {});
      v.mutable_dns_query()->clear_seen();
      v.set_attempted(absl::StrCat("query ", v.dns_query().types(0), " ", v.dns_query().name(),
                                   " (to ", server, ")"));
      break;
    }
    default: {
      auto entry = NetKeyToEntry(e.net);
      if (!entry) {
        v.set_attempted(absl::StrCat("protocol ", e.net.proto, " port ", e.net.port));
        break;
      }
      v1::NetEntry& n = entry->second;
      if (entry->first == "egress" && (e.item_flags & FG_VIOL_ITEM_DNS_NAME) && !e.item.empty()) {
        // An address the function received for a name outside its profile: the name is what
        // it tried to reach.
        v1::NamedEgress named =
            NamedEgressFromKernel(e.item, e.net.proto, e.net.port, e.net.family, e.net.addr, {});
        named.clear_seen();
        v.set_attempted(absl::StrCat(ProtocolWord(n.protocol()), " ", named.name(), ":", n.port(),
                                     " (", n.address(), ")"));
        *v.mutable_dns_egress() = std::move(named);
      } else if (entry->first == "egress") {
        v.set_attempted(absl::StrCat(ProtocolWord(n.protocol()), " ",
                                     n.address().find(':') != std::string::npos
                                         ? absl::StrCat("[", n.address(), "]")
                                         : n.address(),
                                     ":", n.port()));
        *v.mutable_egress() = std::move(n);
      } else {
        v.set_attempted(absl::StrCat(ProtocolWord(n.protocol()), " port ", n.port()));
        *v.mutable_listen() = std::move(n);
      }
    }
  }
  return v;
}

}  // namespace faasguard
