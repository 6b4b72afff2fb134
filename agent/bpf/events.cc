#include "bpf/events.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

// clang-format off
#include "abi/fg_dns.h"
// clang-format on

namespace faasguard {
namespace {

EventHeader Header(const fg_event_hdr& h) {
  return EventHeader{h.type, h.fn_id, h.ts_ns, h.cgroup_id, h.pid, h.tid};
}

// A bounded, NUL-terminated string field whose length the kernel also reported.
std::string Field(const char* buf, size_t cap, size_t len) {
  if (len >= cap) len = cap - 1;
  return std::string(buf, strnlen(buf, len));
}

}  // namespace

absl::StatusOr<Event> DecodeEvent(const void* data, size_t size) {
  if (data == nullptr || size < sizeof(fg_event_hdr))
    return absl::InvalidArgumentError(
        absl::StrCat("event of ", size, " bytes: shorter than a header"));
  fg_event_hdr h;
  std::memcpy(&h, data, sizeof h);
  if (h.size > size)
    return absl::InvalidArgumentError(
        absl::StrCat("event claims ", h.size, " bytes, record holds ", size));
  switch (h.type) {
    case FG_EV_SYSCALL: {
      if (h.size != sizeof(fg_syscall_event))
        return absl::InvalidArgumentError(absl::StrCat("syscall event of ", h.size, " bytes"));
      fg_syscall_event e;
      std::memcpy(&e, data, sizeof e);
      // An io_uring operation comes as FG_ARCH_URING with its opcode (0..255) as nr.
      if ((e.arch == FG_ARCH_URING && e.nr >= 256) ||
          (e.arch != FG_ARCH_URING && (e.nr >= FG_SYS_MAX || e.arch > FG_ARCH_COMPAT)))
        return absl::InvalidArgumentError(
            absl::StrCat("syscall event nr ", e.nr, " arch ", e.arch));
      return Event(SyscallEvent{Header(h), e.nr, e.arch});
    }
    case FG_EV_EXEC: {
      if (h.size != sizeof(fg_exec_event))
        return absl::InvalidArgumentError(absl::StrCat("exec event of ", h.size, " bytes"));
      auto e = std::make_unique<fg_exec_event>();
      std::memcpy(e.get(), data, sizeof *e);
      ExecEvent x;
      x.hdr = Header(h);
      x.bin = {Field(e->bin, sizeof e->bin, e->bin_len), e->bin_flags, e->bin_hash};
      x.parent = {Field(e->parent, sizeof e->parent, e->parent_len), e->parent_flags,
                  e->parent_hash};
      x.script_hash = e->script_hash;
      x.uid = e->uid;
      x.ppid = e->ppid;
      size_t alen = e->args_len < sizeof e->args ? e->args_len : sizeof e->args - 1;
      for (absl::string_view a : absl::StrSplit(absl::string_view(e->args, alen), '\0'))
        if (!a.empty()) x.args.emplace_back(a);
      x.filename = Field(e->filename, sizeof e->filename, e->filename_len);
      x.flags = e->flags;
      return Event(std::move(x));
    }
    case FG_EV_NET: {
      if (h.size != sizeof(fg_net_event))
        return absl::InvalidArgumentError(absl::StrCat("net event of ", h.size, " bytes"));
      fg_net_event e;
      std::memcpy(&e, data, sizeof e);
      if (e.key.kind < FG_NET_CONNECT || e.key.kind > FG_NET_ACCEPT ||
          (e.key.family != 4 && e.key.family != 6))
        return absl::InvalidArgumentError(
            absl::StrCat("net event kind ", e.key.kind, " family ", e.key.family));
      return Event(NetEvent{Header(h), e.key});
    }
    case FG_EV_VIOLATION: {
      if (h.size != sizeof(fg_violation_event))
        return absl::InvalidArgumentError(absl::StrCat("violation event of ", h.size, " bytes"));
      auto e = std::make_unique<fg_violation_event>();
      std::memcpy(e.get(), data, sizeof *e);
      if (e->kind < FG_VIOL_SYSCALL || e->kind >= FG_VIOL_KINDS || e->action < FG_ACT_REPORTED ||
          e->action > FG_ACT_FAILED_OPEN || e->mode > FG_MODE_ENFORCE)
        return absl::InvalidArgumentError(absl::StrCat("violation event kind ", e->kind, " action ",
                                                       e->action, " mode ", e->mode));
      ViolationEvent v;
      v.hdr = Header(h);
      v.kind = e->kind;
      v.action = e->action;
      v.mode = e->mode;
      v.uid = e->uid;
      v.ppid = e->ppid;
      v.nr = e->nr;
      v.arch = e->arch;
      v.net = e->net;
      v.bin = {Field(e->bin, sizeof e->bin, e->bin_len), e->bin_flags, e->bin_hash};
      v.parent = {Field(e->parent, sizeof e->parent, e->parent_len), e->parent_flags,
                  e->parent_hash};
      v.script_hash = e->script_hash;
      v.exec_flags = e->exec_flags;
      v.script = Field(e->filename, sizeof e->filename, e->filename_len);
      v.comm = Field(e->comm, sizeof e->comm, sizeof e->comm);
      // An abstract Unix name may hold NULs: the kernel's length, bounded by the buffer.
      if (e->kind == FG_VIOL_UNIX && ((e->item_flags >> 16) & FG_PATH_F_ABSTRACT))
        v.item.assign(e->item, e->item_len < sizeof e->item ? e->item_len : sizeof e->item - 1);
      else
        v.item = Field(e->item, sizeof e->item, e->item_len);
      v.item_hash = e->item_hash;
      v.item_flags = e->item_flags;
      return Event(std::move(v));
    }
    case FG_EV_CGROUP: {
      if (h.size != sizeof(fg_cgroup_event))
        return absl::InvalidArgumentError(absl::StrCat("cgroup event of ", h.size, " bytes"));
      fg_cgroup_event e;
      std::memcpy(&e, data, sizeof e);
      if (e.op != FG_CGROUP_MKDIR && e.op != FG_CGROUP_RMDIR)
        return absl::InvalidArgumentError(absl::StrCat("cgroup event op ", e.op));
      CgroupEvent c;
      c.hdr = Header(h);
      c.parent_id = e.parent_id;
      c.op = e.op;
      c.level = e.level;
      c.inherited = e.inherited != 0;
      c.path = Field(e.path, sizeof e.path, e.path_len);
      return Event(std::move(c));
    }
    case FG_EV_FILE: {
      if (h.size != sizeof(fg_file_event))
        return absl::InvalidArgumentError(absl::StrCat("file event of ", h.size, " bytes"));
      auto e = std::make_unique<fg_file_event>();
      std::memcpy(e.get(), data, sizeof *e);
      if (!(e->access & FG_FILE_ACCESS) || (e->access & ~(FG_FILE_ACCESS | FG_FILE_LINKED)))
        return absl::InvalidArgumentError(absl::StrCat("file event access ", e->access));
      return Event(FileEvent{Header(h),
                             {Field(e->path, sizeof e->path, e->path_len), e->path_flags, e->hash},
                             e->access});
    }
    case FG_EV_SOCK: {
      if (h.size != sizeof(fg_sock_event))
        return absl::InvalidArgumentError(absl::StrCat("socket event of ", h.size, " bytes"));
      auto e = std::make_unique<fg_sock_event>();
      std::memcpy(e.get(), data, sizeof *e);
      if (e->key.kind < FG_SOCK_UNIX || e->key.kind > FG_SOCK_INBOUND)
        return absl::InvalidArgumentError(absl::StrCat("socket event kind ", e->key.kind));
      SockEvent x;
      x.hdr = Header(h);
      x.key = e->key;
      // Abstract names may hold NULs: their length is the kernel's, bounded by the buffer.
      size_t len = e->name_len < sizeof e->name ? e->name_len : sizeof e->name - 1;
      x.name = (e->name_flags & FG_PATH_F_ABSTRACT) ? std::string(e->name, len)
                                                    : Field(e->name, sizeof e->name, len);
      x.name_flags = e->name_flags;
      return Event(std::move(x));
    }
    case FG_EV_DNS: {
      if (h.size != sizeof(fg_dns_event))
        return absl::InvalidArgumentError(absl::StrCat("dns event of ", h.size, " bytes"));
      auto e = std::make_unique<fg_dns_event>();
      std::memcpy(e.get(), data, sizeof *e);
      if (e->what < FG_DNS_SEEN_QUERY || e->what > FG_DNS_SEEN_CONN ||
          (e->what == FG_DNS_SEEN_CONN && ((e->family != 4 && e->family != 6) ||
                                           (e->kind != FG_NET_CONNECT && e->kind != FG_NET_SEND))))
        return absl::InvalidArgumentError(
            absl::StrCat("dns event what ", e->what, " family ", e->family, " kind ", e->kind));
      DnsEvent d;
      d.hdr = Header(h);
      d.what = e->what;
      d.kind = e->kind;
      d.proto = e->proto;
      d.family = e->family;
      d.qtype = e->qtype;
      d.port = e->port;
      d.hash = e->hash;
      if (e->what == FG_DNS_SEEN_CONN)
        d.addr.assign(reinterpret_cast<const char*>(e->addr), e->family == 4 ? 4 : 16);
      d.name = Field(e->name, sizeof e->name, e->name_len);
      return Event(std::move(d));
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown event type ", h.type));
  }
}

}  // namespace faasguard
