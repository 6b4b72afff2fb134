#include "core/policy.h"

#include <arpa/inet.h>

#include <cstring>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "core/abi_codec.h"
#include "dns/dns_message.h"
#include "profile/dns_items.h"
#include "profile/files.h"
#include "profile/names.h"
#include "profile/path_rule.h"
#include "profile/profile.h"
#include "profile/socket_items.h"
#include "syscalls/syscall_classes.h"
#include "syscalls/syscall_table.h"

namespace faasguard {

namespace {

absl::Status CompileSyscalls(const v1::ContainerProfile& c, CompiledPolicy& out) {
  for (SyscallArch arch : {SyscallArch::kNative, SyscallArch::kCompat}) {
    __u64* words = arch == SyscallArch::kCompat ? out.sys.sys_compat : out.sys.sys;
    for (absl::string_view name : AlwaysAllowedSyscalls()) {
      if (auto nr = SyscallNumber(arch, name); nr && *nr < FG_SYS_MAX)
        words[*nr / 64] |= 1ull << (*nr % 64);
    }
  }
  for (const auto& s : c.syscalls()) {
    auto arch = ParseArch(s.arch());
    if (!arch)
      return absl::InvalidArgumentError(
          absl::StrCat("syscall rule \"", s.name(), "\": unknown arch \"", s.arch(), "\""));
    auto nr = SyscallNumber(*arch, s.name());
    if (!nr) return absl::InvalidArgumentError(absl::StrCat("unknown syscall \"", s.name(), "\""));
    if (*nr >= FG_SYS_MAX)
      return absl::InvalidArgumentError(
          absl::StrCat("syscall \"", s.name(), "\" (", *nr, ") is beyond the kernel table"));
    __u64* words = *arch == SyscallArch::kCompat ? out.sys.sys_compat : out.sys.sys;
    words[*nr / 64] |= 1ull << (*nr % 64);
  }
  return absl::OkStatus();
}

absl::Status CompileExecs(const v1::ContainerProfile& c, uint64_t seed, CompiledPolicy& out) {
  bool by_name = false;  // relative script names (profiles learned before they were resolved)
  for (const auto& x : c.execs()) {
    fg_exec_rule_key k{};
    if (x.path().empty()) return absl::InvalidArgumentError("exec rule with an empty path");
    auto rule = ParseRulePath(x.path());
    if (!rule.ok())
      return absl::InvalidArgumentError(absl::StrCat("exec rule: ", rule.status().message()));
    if (rule->prefix) {
      if (x.kind() != v1::PATH_KIND_FILE || rule->text.empty() || rule->text[0] != '/')
        return absl::InvalidArgumentError(absl::StrCat(
            "exec rule \"", x.path(), "\": a prefix rule needs an absolute plain path"));
      if (rule->text.size() >= FG_PATH_MAX - 1)
        return absl::InvalidArgumentError(absl::StrCat("exec rule \"", x.path(), "\": too long"));
      k.kind |= FG_EXEC_RULE_PREFIX;
      k.prefix_len = static_cast<__u16>(rule->text.size());
      k.bin_hash = PathHash(rule->text, 0, seed);
      out.cfg_flags |= FG_CFG_F_EXEC_PREFIX;
    } else {
      k.bin_hash = PathHash(KernelPathText(rule->text, x.kind()), KernelPathFlags(x.kind()), seed);
      if (!x.script().empty()) k.script_hash = PathHash(x.script(), 0, seed);
      if (RelativeScript(x)) k.kind |= FG_EXEC_RULE_SCRIPT_NAME;
    }
    if (x.parent() == "*") {
      k.kind |= FG_EXEC_RULE_ANY_PARENT;
    } else {
      auto parent = ParseRulePath(x.parent());
      if (!parent.ok() || parent->prefix)
        return absl::InvalidArgumentError(absl::StrCat(
            "exec rule \"", x.path(), "\": a parent is a path or \"*\", not \"", x.parent(), "\""));
      k.parent_hash = PathHash(KernelPathText(parent->text, x.parent_kind()),
                               KernelPathFlags(x.parent_kind()), seed);
    }
    out.exec.push_back(k);
    if (k.kind & FG_EXEC_RULE_SCRIPT_NAME) by_name = true;
  }
  if (by_name) {
    // The mark that makes the kernel look scripts up by the name given as well (fg_sock.h).
    fg_exec_rule_key mark{};
    mark.kind = FG_EXEC_RULE_SCRIPT_NAME;
    out.exec.push_back(mark);
  }
  return absl::OkStatus();
}

absl::Status CompileNet(const google::protobuf::RepeatedPtrField<v1::NetEntry>& list, uint8_t cls,
                        CompiledPolicy& out) {
  const char* what = cls == FG_RULE_EGRESS ? "egress" : "listen";
  for (const auto& n : list) {
    if (!v1::Protocol_IsValid(n.protocol()) || n.protocol() == v1::PROTOCOL_UNSPECIFIED)
      return absl::InvalidArgumentError(
          absl::StrCat(what, " rule with unknown protocol ", static_cast<int>(n.protocol())));
    if (n.port() > 65535)
      return absl::InvalidArgumentError(absl::StrCat(what, " rule: port ", n.port(), " > 65535"));
    fg_net_rule_key k{};
    k.cls = cls;
    k.proto = static_cast<__u8>(n.protocol());
    k.port = static_cast<__u16>(n.port());
    if (cls == FG_RULE_LISTEN) {
      // A listening port holds for both families; the address is not part of the rule.
      k.prefixlen = FG_NET_RULE_FIXED_BITS;
      for (uint8_t fam : {4, 6}) {
        k.family = fam;
        out.net.push_back(k);
      }
      continue;
    }
    if (n.address().empty())
      return absl::InvalidArgumentError(
          "egress rule without an address (use 0.0.0.0/0 or ::/0 for any)");
    auto a = ParseAddressOrCidr(n.address());
    if (!a.ok())
      return absl::InvalidArgumentError(absl::StrCat("egress rule: ", a.status().message()));
    k.family = a->family;
    std::memcpy(k.addr, a->addr, 16);
    k.prefixlen = FG_NET_RULE_FIXED_BITS + a->prefix;
    out.net.push_back(k);
  }
  return absl::OkStatus();
}

// Files (abi/fg_file.h): an exact item is the hash of its kernel path text and kind; a "path*"
// rule the hash of its prefix, whose length goes into the generation's prefix bitmap. A section
// with no file item is not checked for files at all (a profile from before files were learned).
absl::Status CompileFiles(const v1::ContainerProfile& c, uint64_t seed, CompiledPolicy& out) {
  for (const auto& f : c.files()) {
    auto rule = ParseRulePath(f.path());
    if (!rule.ok())
      return absl::InvalidArgumentError(absl::StrCat("file rule: ", rule.status().message()));
    fg_file_rule_key k{};
    uint32_t access = FileAccessMask(f);
    // Creating a file allows opening it again with O_TRUNC: a function that writes a file of
    // its own from scratch on every request creates it once and truncates it after.
    if (access & FG_FILE_CREATE) access |= FG_FILE_TRUNC;
    if (!access)
      return absl::InvalidArgumentError(
          absl::StrCat("file rule \"", f.path().substr(0, 64), "\": no access"));
    if (f.hard_linked()) k.kind |= FG_FILE_RULE_LINKED;
    if (rule->text.size() >= FG_PATH_MAX - 1)
      return absl::InvalidArgumentError(absl::StrCat(
          "file rule \"", f.path().substr(0, 64), "...\": longer than the kernel keeps (",
          FG_PATH_MAX - 2, " bytes; a longer path is learned as kind PATH_KIND_TRUNCATED)"));
    if (rule->prefix) {
      if (f.kind() != v1::PATH_KIND_FILE || rule->text.empty() || rule->text[0] != '/')
        return absl::InvalidArgumentError(
            absl::StrCat("file rule \"", f.path().substr(0, 64),
                         "\": a prefix rule needs an absolute plain path"));
      const size_t n = rule->text.size();
      k.kind |= FG_FILE_RULE_PREFIX;
      k.prefix_len = static_cast<__u16>(n);
      k.hash = PathHash(rule->text, 0, seed);
      out.file_pol.prefix_lens[n / 64] |= 1ull << (n % 64);
    } else {
      k.hash = PathHash(KernelPathText(rule->text, f.kind()), KernelPathFlags(f.kind()), seed);
    }
    out.file_pol.flags = FG_FILE_POL_ON;
    out.file_pol.access |= access;
    out.files.emplace_back(k, access);
  }
  return absl::OkStatus();
}

// Unix peers, socket kinds, socket options and inbound classes -> fg_sock_allow keys.
absl::Status CompileSockets(const v1::ContainerProfile& c, uint64_t seed, CompiledPolicy& out) {
  bool prefix_rules = false;
  for (const auto& u : c.unix_peers()) {
    auto r = ParseUnixName(u.path());
    if (!r.ok())
      return absl::InvalidArgumentError(absl::StrCat("unix rule: ", r.status().message()));
    fg_sock_key k{};
    k.kind = FG_SOCK_UNIX;
    if (!u.type().empty()) {
      auto type = ParseSocketType(u.type());
      if (!type)
        return absl::InvalidArgumentError(
            absl::StrCat("unix rule \"", u.path(), "\": type \"", u.type(), "\""));
      k.type = static_cast<__u16>(*type);
    }
    if (r->abstract) k.flags |= FG_SOCK_F_ABSTRACT;
    if (r->prefix) {
      k.flags |= FG_SOCK_F_PREFIX;
      k.port = static_cast<__u16>(r->name.size());
      k.hash = PathHash(r->name, 0, seed);
      prefix_rules = true;
    } else {
      k.hash = PathHash(r->name, r->abstract ? FG_PATH_F_ABSTRACT : 0, seed);
    }
    out.sock.push_back(k);
  }
  if (prefix_rules) {
    fg_sock_key mark{};
    mark.kind = FG_SOCK_UNIX;
    mark.flags = FG_SOCK_F_PREFIX;
    out.sock.push_back(mark);
  }
  for (const auto& x : c.sockets()) {
    auto family = ParseFamily(x.family());
    auto type = ParseSocketType(x.type());
    if (!family || !type || x.protocol() > 0xffff)
      return absl::InvalidArgumentError(absl::StrCat("socket rule \"", x.family(), "/", x.type(),
                                                     "/", x.protocol(), "\" does not parse"));
    fg_sock_key k{};
    k.kind = FG_SOCK_KIND;
    k.family = static_cast<__u16>(*family);
    k.type = static_cast<__u16>(*type);
    k.proto = static_cast<__u16>(x.protocol());
    out.sock.push_back(k);
  }
  for (const auto& o : c.socket_options()) {
    auto id = ParseSockopt(o.option());
    if (!id)
      return absl::InvalidArgumentError(absl::StrCat("unknown socket option \"", o.option(), "\""));
    fg_sock_key k{};
    k.kind = FG_SOCK_OPT;
    k.proto = static_cast<__u16>(id->level);
    k.port = static_cast<__u16>(id->optname);
    out.sock.push_back(k);
  }
  for (const auto& n : c.inbound()) {
    if (n.protocol() != v1::PROTOCOL_TCP && n.protocol() != v1::PROTOCOL_UDP)
      return absl::InvalidArgumentError("inbound rule: protocol tcp or udp");
    if (n.port() > 65535 || !v1::PeerClass_IsValid(n.peer()))
      return absl::InvalidArgumentError(
          absl::StrCat("inbound rule: port ", n.port(), " class ", static_cast<int>(n.peer())));
    fg_sock_key k{};
    k.kind = FG_SOCK_INBOUND;
    k.proto = static_cast<__u16>(n.protocol());
    k.port = static_cast<__u16>(n.port());
    k.cls = static_cast<__u8>(n.peer());  // PEER_CLASS_* are FG_PEER_* (fg_sock.h)
    out.sock.push_back(k);
  }
  if (c.inbound_size() > 0) {
    // The mark: this section's peer classes are enforced (a section without inbound rules, as
    // one learned before them, has its receiving ports enforced only).
    fg_sock_key mark{};
    mark.kind = FG_SOCK_INBOUND;
    mark.port = FG_SOCK_INBOUND_MARK_PORT;
    out.sock.push_back(mark);
  }
  return absl::OkStatus();
}

// Name rules (fg_dns_allow): every queried name may be queried again, every named egress item
// reached on its protocol and port, and resolved. "*.x" rules match x's subdomains.
absl::Status CompileDns(const v1::ContainerProfile& c, uint64_t seed, CompiledPolicy& out) {
  std::set<std::tuple<uint8_t, uint8_t, uint16_t, uint64_t>> keys;  // kind, proto, port, hash
  auto add = [&](const std::string& name, uint8_t kind, uint8_t proto,
                 uint32_t port) -> absl::Status {
    auto rule = ParseDnsNameRule(name, seed);
    if (!rule.ok()) return rule.status();
    if (rule->wildcard) {
      kind |= FG_DNS_RULE_WILDCARD;
      out.cfg_flags |= FG_CFG_F_DNS_WILDCARD;
    }
    keys.insert({kind, proto, static_cast<uint16_t>(port), rule->hash});
    return absl::OkStatus();
  };
  for (const auto& n : c.named_egress()) {
    if (!v1::Protocol_IsValid(n.protocol()) || n.protocol() == v1::PROTOCOL_UNSPECIFIED)
      return absl::InvalidArgumentError(
          absl::StrCat("named egress rule with unknown protocol ", static_cast<int>(n.protocol())));
    if (n.port() > 65535)
      return absl::InvalidArgumentError(
          absl::StrCat("named egress rule: port ", n.port(), " > 65535"));
    FG_RETURN_IF_ERROR(
        add(n.name(), FG_DNS_RULE_EGRESS, static_cast<uint8_t>(n.protocol()), n.port()));
    FG_RETURN_IF_ERROR(add(n.name(), FG_DNS_RULE_QUERY, 0, 0));
  }
  for (const auto& q : c.dns_queries()) FG_RETURN_IF_ERROR(add(q.name(), FG_DNS_RULE_QUERY, 0, 0));
  for (const auto& [kind, proto, port, hash] : keys) {
    fg_dns_rule_key k{};
    k.kind = kind;
    k.proto = proto;
    k.port = port;
    k.hash = hash;
    out.dns.push_back(k);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::ContainerProfile& c, uint64_t seed,
                                             const PolicyLimits& limits) {
  CompiledPolicy out;
  absl::Status st = CompileSyscalls(c, out);
  if (st.ok()) st = CompileExecs(c, seed, out);
  if (st.ok()) st = CompileNet(c.egress(), FG_RULE_EGRESS, out);
  if (st.ok()) st = CompileNet(c.listen(), FG_RULE_LISTEN, out);
  if (st.ok() && limits.files) st = CompileFiles(c, seed, out);
  if (st.ok()) st = CompileSockets(c, seed, out);
  if (st.ok()) st = CompileDns(c, seed, out);
  if (!st.ok())
    return absl::InvalidArgumentError(absl::StrCat("container ", c.name(), ": ", st.message()));
  if (out.exec.size() > limits.max_exec_rules)
    return absl::ResourceExhaustedError(absl::StrCat(
        "container ", c.name(), ": ", out.exec.size(), " exec rules do not fit the kernel map (",
        limits.max_exec_rules, " entries; raise --max-exec-rules)"));
  if (out.sock.size() > limits.max_net_rules)
    return absl::ResourceExhaustedError(absl::StrCat(
        "container ", c.name(), ": ", out.sock.size(), " socket rules do not fit the kernel map (",
        limits.max_net_rules, " entries; raise --max-net-rules)"));
  if (out.net.size() > limits.max_net_rules)
    return absl::ResourceExhaustedError(absl::StrCat(
        "container ", c.name(), ": ", out.net.size(), " network rules do not fit the kernel map (",
        limits.max_net_rules, " entries; raise --max-net-rules)"));
  if (out.files.size() > limits.max_file_rules)
    return absl::ResourceExhaustedError(absl::StrCat("container ", c.name(), ": ", out.files.size(),
                                                     " file rules do not fit the kernel map (",
                                                     limits.max_file_rules, " entries)"));
  if (out.dns.size() > limits.max_dns_rules)
    return absl::ResourceExhaustedError(absl::StrCat(
        "container ", c.name(), ": ", out.dns.size(), " DNS name rules do not fit the kernel map (",
        limits.max_dns_rules, " entries; raise --max-dns-rules)"));
  return out;
}

void AddSyscallPolicy(const v1::Profile& p, absl::string_view container, CompiledPolicy& out) {
  // The kill set: the sensitive class, unless learned (or the function asks otherwise).
  if (EffectiveSensitiveAction(p.sensitive_syscall_action()) == v1::SYSCALL_ACTION_KILL) {
    for (const auto& s : SensitiveSyscalls()) {
      for (SyscallArch arch : {SyscallArch::kNative, SyscallArch::kCompat}) {
        auto nr = SyscallNumber(arch, s.name);
        if (!nr || *nr >= FG_SYS_MAX) continue;
        const bool compat = arch == SyscallArch::kCompat;
        const uint64_t bit = 1ull << (*nr % 64);
        if ((compat ? out.sys.sys_compat : out.sys.sys)[*nr / 64] & bit) continue;
        (compat ? out.sys.kill_compat : out.sys.kill)[*nr / 64] |= bit;
      }
    }
  }
  // The io_uring operations it submitted: the section's, or every section's (pod-wide).
  for (const auto& c : p.containers()) {
    if (container != kPodSection && c.name() != container) continue;
    for (const auto& op : c.io_uring())
      if (op.opcode() < 256) out.sys.uring_ops[op.opcode() / 64] |= 1ull << (op.opcode() % 64);
  }
}

absl::StatusOr<CompiledPolicy> CompileSection(const v1::Profile& p, absl::string_view container,
                                              uint64_t hash_seed, const PolicyLimits& limits) {
  auto out = CompileSectionItems(p, container, hash_seed, limits);
  if (out.ok()) AddSyscallPolicy(p, container, *out);
  return out;
}

absl::StatusOr<CompiledPolicy> CompileSectionItems(const v1::Profile& p,
                                                   absl::string_view container, uint64_t hash_seed,
                                                   const PolicyLimits& limits) {
  if (container != kPodSection) {
    if (const v1::ContainerProfile* c = FindContainer(p, container))
      return CompilePolicy(*c, hash_seed, limits);
    v1::ContainerProfile none;
    none.set_name(std::string(container));
    return CompilePolicy(none, hash_seed, limits);
  }
  v1::ContainerProfile all;
  all.set_name(std::string(container));
  for (const auto& c : p.containers()) {
    for (const auto& x : c.syscalls()) AddSyscall(all, x);
    for (const auto& x : c.execs()) AddExec(all, x);
    for (const auto& x : c.egress()) AddNet(all.mutable_egress(), x);
    for (const auto& x : c.listen()) AddNet(all.mutable_listen(), x);
    for (const auto& x : c.files()) AddFile(all, x);
    for (const auto& x : c.unix_peers()) AddUnix(all, x);
    for (const auto& x : c.sockets()) AddSocket(all, x);
    for (const auto& x : c.inbound()) AddInbound(all, x);
    for (const auto& x : c.socket_options()) AddSockopt(all, x);
    MergeDnsItems(all, c);
  }
  return CompilePolicy(all, hash_seed, limits);
}

}  // namespace faasguard
