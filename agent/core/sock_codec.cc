#include "core/sock_codec.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "core/abi_codec.h"
#include "profile/path_rule.h"
#include "profile/profile.h"
#include "profile/socket_items.h"

namespace faasguard {

constexpr bool SameClass(v1::PeerClass p, fg_peer_class k) {
  return static_cast<int>(p) == static_cast<int>(k);
}
static_assert(SameClass(v1::PEER_CLASS_ANY, FG_PEER_ANY) &&
                  SameClass(v1::PEER_CLASS_LOOPBACK, FG_PEER_LOOPBACK) &&
                  SameClass(v1::PEER_CLASS_NAMESPACE, FG_PEER_LOCAL) &&
                  SameClass(v1::PEER_CLASS_CLUSTER, FG_PEER_CLUSTER) &&
                  SameClass(v1::PEER_CLASS_OUTSIDE, FG_PEER_OUTSIDE),
              "profile peer classes are the kernel's");

namespace {

std::string ProtocolName(v1::Protocol p) {
  return p == v1::PROTOCOL_TCP ? "tcp" : p == v1::PROTOCOL_UDP ? "udp" : v1::Protocol_Name(p);
}

}  // namespace

std::optional<SockEntry> SockKeyToEntry(const fg_sock_key& k, absl::string_view name,
                                        uint32_t name_flags) {
  switch (k.kind) {
    case FG_SOCK_UNIX: {
      v1::UnixEntry u;
      u.set_path(UnixNameToProfile(
          name, (name_flags & FG_PATH_F_ABSTRACT) || (k.flags & FG_SOCK_F_ABSTRACT)));
      u.set_type(SocketTypeWord(k.type));
      return u;
    }
    case FG_SOCK_KIND: {
      v1::SocketEntry s;
      s.set_family(FamilyWord(k.family));
      s.set_type(SocketTypeWord(k.type));
      s.set_protocol(k.proto);
      return s;
    }
    case FG_SOCK_OPT: {
      auto opt = SockoptName(k.proto, k.port);
      if (!opt) return std::nullopt;
      v1::SockoptEntry o;
      o.set_option(*opt);
      return o;
    }
    case FG_SOCK_INBOUND: {
      if (!v1::Protocol_IsValid(k.proto) || k.proto == 0 || !v1::PeerClass_IsValid(k.cls) ||
          k.cls == v1::PEER_CLASS_ANY)
        return std::nullopt;
      v1::InboundEntry n;
      n.set_protocol(static_cast<v1::Protocol>(k.proto));
      n.set_port(k.port);
      n.set_peer(static_cast<v1::PeerClass>(k.cls));
      return n;
    }
    default:
      return std::nullopt;
  }
}

bool AddSockEntry(v1::ContainerProfile& c, const SockEntry& e) {
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, v1::UnixEntry>) return AddUnix(c, x);
        if constexpr (std::is_same_v<T, v1::SocketEntry>) return AddSocket(c, x);
        if constexpr (std::is_same_v<T, v1::InboundEntry>) return AddInbound(c, x);
        if constexpr (std::is_same_v<T, v1::SockoptEntry>) return AddSockopt(c, x);
      },
      e);
}

std::string SockEntryKind(const SockEntry& e) {
  static const char* const kKinds[] = {"unix", "socket", "inbound", "sockopt"};
  return kKinds[e.index()];
}

std::string SockEntryWords(const SockEntry& e) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, v1::UnixEntry>)
          return absl::StrCat(x.type().empty() ? "any" : x.type(), " ", x.path());
        if constexpr (std::is_same_v<T, v1::SocketEntry>)
          return absl::StrCat(x.family(), " ", x.type(), " ", x.protocol());
        if constexpr (std::is_same_v<T, v1::InboundEntry>)
          return absl::StrCat(ProtocolName(x.protocol()), "/",
                              x.port() ? absl::StrCat(x.port()) : std::string("*"), " from ",
                              PeerClassWord(x.peer()));
        if constexpr (std::is_same_v<T, v1::SockoptEntry>) return x.option();
      },
      e);
}

void SetSockEntrySeen(SockEntry& e, const v1::Seen& seen) {
  std::visit([&](auto& x) { *x.mutable_seen() = seen; }, e);
}

void SockViolationFromKernel(const ViolationEvent& e, v1::Violation* v) {
  fg_sock_key k{};
  std::string name;
  uint32_t name_flags = 0;
  switch (e.kind) {
    case FG_VIOL_UNIX:
      k.kind = FG_SOCK_UNIX;
      k.type = static_cast<__u16>(e.item_flags & 0xffff);
      name = e.item;
      name_flags = e.item_flags >> 16;
      break;
    case FG_VIOL_SOCKET:
      k.kind = FG_SOCK_KIND;
      k.family = static_cast<__u16>(e.item_hash & 0xffff);
      k.type = static_cast<__u16>((e.item_hash >> 16) & 0xffff);
      k.proto = static_cast<__u16>((e.item_hash >> 32) & 0xffff);
      break;
    case FG_VIOL_SOCKOPT:
      k.kind = FG_SOCK_OPT;
      k.port = static_cast<__u16>(e.item_hash & 0xffff);
      k.proto = static_cast<__u16>((e.item_hash >> 32) & 0xffff);
      break;
    case FG_VIOL_INBOUND:
      if (e.net.kind == FG_NET_SEND) {
        // a datagram to a port the kernel picked, from a sender that is no destination
        auto entry = NetKeyToEntry(e.net);
        if (!entry) break;
        v->set_attempted(
            absl::StrCat("udp reply from ",
                         e.net.family == 6 ? absl::StrCat("[", entry->second.address(), "]")
                                           : entry->second.address(),
                         ":", e.net.port, " to port ", e.item_hash, " (not a destination)"));
        *v->mutable_egress() = std::move(entry->second);
        return;
      }
      k.kind = FG_SOCK_INBOUND;
      k.proto = e.net.proto;
      k.port = e.net.port;
      k.cls = static_cast<__u8>(e.item_flags);
      break;
    default:
      return;
  }
  auto entry = SockKeyToEntry(k, name, name_flags);
  if (!entry) {
    v->set_attempted(absl::StrCat(ViolationKindWord(e.kind), " item ", e.item_hash));
    return;
  }
  std::string attempted = SockEntryWords(*entry);
  if (e.kind == FG_VIOL_INBOUND) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(e.net.family == 6 ? AF_INET6 : AF_INET, e.net.addr, buf, sizeof buf);
    absl::StrAppend(&attempted, " (", buf, ")");
  }
  v->set_attempted(attempted);
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, v1::UnixEntry>) *v->mutable_unix_peer() = x;
        if constexpr (std::is_same_v<T, v1::SocketEntry>) *v->mutable_socket() = x;
        if constexpr (std::is_same_v<T, v1::InboundEntry>) *v->mutable_inbound() = x;
        if constexpr (std::is_same_v<T, v1::SockoptEntry>) *v->mutable_socket_option() = x;
      },
      *entry);
}

}  // namespace faasguard
