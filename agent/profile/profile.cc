#include "profile/profile.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "profile/address.h"
#include "profile/dns_items.h"
#include "profile/files.h"
#include "profile/names.h"
#include "profile/path_rule.h"
#include "profile/socket_items.h"
#include "syscalls/syscall_table.h"

namespace faasguard {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

namespace {

constexpr size_t kMaxItemsPerList = 100000;
constexpr size_t kMaxContainers = 64;
constexpr size_t kMaxPath = 4096;

auto SyscallKey(const v1::SyscallEntry& e) { return std::tie(e.arch(), e.name()); }
auto ExecKey(const v1::ExecEntry& e) {
  return std::make_tuple(e.path(), static_cast<int>(e.kind()), e.parent(),
                         static_cast<int>(e.parent_kind()), e.script());
}
auto NetKey(const v1::NetEntry& e) {
  return std::make_tuple(static_cast<int>(e.protocol()), e.address(), e.port());
}
// Files differ by their access too: a diff shows an access added or taken away.
auto FileDiffKey(const v1::FileEntry& e) {
  return std::tuple_cat(FileKey(e), std::make_tuple(FileAccessMask(e)));
}

auto UnixKey(const v1::UnixEntry& e) { return std::tie(e.path(), e.type()); }
auto SocketKey(const v1::SocketEntry& e) {
  return std::make_tuple(e.family(), e.type(), e.protocol());
}
auto InboundKey(const v1::InboundEntry& e) {
  return std::make_tuple(static_cast<int>(e.protocol()), e.port(), static_cast<int>(e.peer()));
}
auto SockoptKey(const v1::SockoptEntry& e) { return e.option(); }

// Add an item with a Seen to a list unless an item of the same identity is there.
template <typename Item, typename Key>
bool AddSeenItem(google::protobuf::RepeatedPtrField<Item>* list, const Item& e, Key key) {
  for (auto& x : *list) {
    if (key(x) == key(e)) {
      MergeSeen(*x.mutable_seen(), e.seen());
      return false;
    }
  }
  *list->Add() = e;
  return true;
}

template <typename Item, typename Key>
void SortBy(google::protobuf::RepeatedPtrField<Item>* list, Key key) {
  std::sort(list->begin(), list->end(),
            [&](const auto& a, const auto& b) { return key(a) < key(b); });
}

bool Before(const Timestamp& a, const Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}
bool IsZero(const Timestamp& t) { return t.seconds() == 0 && t.nanos() == 0; }

}  // namespace

Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Time FromProtoTime(const Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

v1::Profile NewProfile(const v1::FunctionId& id, absl::Time now) {
  v1::Profile p;
  p.set_schema_version(kProfileSchemaVersion);
  *p.mutable_function() = id;
  p.set_mode(v1::MODE_LEARN);
  *p.mutable_created() = ToProtoTime(now);
  *p.mutable_updated() = ToProtoTime(now);
  *p.mutable_learning_started() = ToProtoTime(now);
  return p;
}

v1::ContainerProfile& ContainerSection(v1::Profile& p, absl::string_view container) {
  for (auto& c : *p.mutable_containers())
    if (c.name() == container) return c;
  auto* c = p.add_containers();
  c->set_name(std::string(container));
  return *c;
}

const v1::ContainerProfile* FindContainer(const v1::Profile& p, absl::string_view container) {
  for (const auto& c : p.containers())
    if (c.name() == container) return &c;
  return nullptr;
}

void MergeSeen(v1::Seen& into, const v1::Seen& from) {
  into.set_count(into.count() + from.count());
  if (from.has_first_seen() && !IsZero(from.first_seen()) &&
      (!into.has_first_seen() || IsZero(into.first_seen()) ||
       Before(from.first_seen(), into.first_seen())))
    *into.mutable_first_seen() = from.first_seen();
  if (from.has_last_seen() && (!into.has_last_seen() || Before(into.last_seen(), from.last_seen())))
    *into.mutable_last_seen() = from.last_seen();
}

bool AddSyscall(v1::ContainerProfile& c, const v1::SyscallEntry& e) {
  for (auto& s : *c.mutable_syscalls()) {
    if (SyscallKey(s) == SyscallKey(e)) {
      if (e.has_first_seen() && (!s.has_first_seen() || Before(e.first_seen(), s.first_seen())))
        *s.mutable_first_seen() = e.first_seen();
      return false;
    }
  }
  *c.add_syscalls() = e;
  return true;
}

bool AddIoUring(v1::ContainerProfile& c, const v1::IoUringOp& e) {
  for (auto& o : *c.mutable_io_uring()) {
    if (o.opcode() == e.opcode()) {
      if (e.has_first_seen() && (!o.has_first_seen() || Before(e.first_seen(), o.first_seen())))
        *o.mutable_first_seen() = e.first_seen();
      return false;
    }
  }
  *c.add_io_uring() = e;
  return true;
}

bool AddExec(v1::ContainerProfile& c, const v1::ExecEntry& e) {
  for (auto& x : *c.mutable_execs()) {
    if (ExecKey(x) != ExecKey(e)) continue;
    MergeSeen(*x.mutable_seen(), e.seen());
    for (uint32_t uid : e.uids()) {
      if (std::find(x.uids().begin(), x.uids().end(), uid) == x.uids().end() && x.uids_size() < 16)
        x.add_uids(uid);
    }
    if (x.sample_args().empty()) *x.mutable_sample_args() = e.sample_args();
    return false;
  }
  *c.add_execs() = e;
  return true;
}

bool AddNet(NetList* list, const v1::NetEntry& e) {
  for (auto& n : *list) {
    if (NetKey(n) == NetKey(e)) {
      MergeSeen(*n.mutable_seen(), e.seen());
      return false;
    }
  }
  *list->Add() = e;
  return true;
}

bool AddUnix(v1::ContainerProfile& c, const v1::UnixEntry& e) {
  return AddSeenItem(c.mutable_unix_peers(), e, UnixKey);
}
bool AddSocket(v1::ContainerProfile& c, const v1::SocketEntry& e) {
  return AddSeenItem(c.mutable_sockets(), e, SocketKey);
}
bool AddInbound(v1::ContainerProfile& c, const v1::InboundEntry& e) {
  return AddSeenItem(c.mutable_inbound(), e, InboundKey);
}
bool AddSockopt(v1::ContainerProfile& c, const v1::SockoptEntry& e) {
  return AddSeenItem(c.mutable_socket_options(), e, SockoptKey);
}

size_t MergeProfile(v1::Profile& into, const v1::Profile& from) {
  size_t added = 0;
  for (const auto& fc : from.containers()) {
    auto& c = ContainerSection(into, fc.name());
    for (const auto& s : fc.syscalls()) added += AddSyscall(c, s);
    for (const auto& x : fc.execs()) added += AddExec(c, x);
    for (const auto& n : fc.egress()) added += AddNet(c.mutable_egress(), n);
    for (const auto& n : fc.listen()) added += AddNet(c.mutable_listen(), n);
    for (const auto& n : fc.ingress()) added += AddNet(c.mutable_ingress(), n);
    for (const auto& f : fc.files()) added += AddFile(c, f);
    for (const auto& x : fc.unix_peers()) added += AddUnix(c, x);
    for (const auto& x : fc.sockets()) added += AddSocket(c, x);
    for (const auto& x : fc.inbound()) added += AddInbound(c, x);
    for (const auto& x : fc.socket_options()) added += AddSockopt(c, x);
    added += MergeDnsItems(c, fc);
    for (const auto& o : fc.io_uring()) added += AddIoUring(c, o);
    auto* k = c.mutable_counters();
    k->set_execs(k->execs() + fc.counters().execs());
    k->set_forks(k->forks() + fc.counters().forks());
    k->set_exits(k->exits() + fc.counters().exits());
    k->set_busy_seconds(k->busy_seconds() + fc.counters().busy_seconds());
  }
  if (from.has_updated() && (!into.has_updated() || Before(into.updated(), from.updated())))
    *into.mutable_updated() = from.updated();
  return added;
}

namespace {

// The items of `from` whose identity `in` lacks, appended to `out` (in their order).
template <typename Item, typename Key>
void AddMissing(const google::protobuf::RepeatedPtrField<Item>& from,
                const google::protobuf::RepeatedPtrField<Item>* in, Key key,
                google::protobuf::RepeatedPtrField<Item>* out) {
  std::set<decltype(key(std::declval<const Item&>()))> have;
  if (in)
    for (const auto& x : *in) have.insert(key(x));
  for (const auto& x : from)
    if (!have.count(key(x))) *out->Add() = x;
}

// Items of `a` that `b` lacks, as a container section (empty name when nothing).
v1::ContainerProfile Missing(const v1::ContainerProfile& a, const v1::ContainerProfile* b) {
  v1::ContainerProfile out;
  AddMissing(a.syscalls(), b ? &b->syscalls() : nullptr, SyscallKey, out.mutable_syscalls());
  AddMissing(a.execs(), b ? &b->execs() : nullptr, ExecKey, out.mutable_execs());
  AddMissing(a.egress(), b ? &b->egress() : nullptr, NetKey, out.mutable_egress());
  AddMissing(a.listen(), b ? &b->listen() : nullptr, NetKey, out.mutable_listen());
  AddMissing(a.ingress(), b ? &b->ingress() : nullptr, NetKey, out.mutable_ingress());
  AddMissing(a.unix_peers(), b ? &b->unix_peers() : nullptr, UnixKey, out.mutable_unix_peers());
  AddMissing(a.sockets(), b ? &b->sockets() : nullptr, SocketKey, out.mutable_sockets());
  AddMissing(a.inbound(), b ? &b->inbound() : nullptr, InboundKey, out.mutable_inbound());
  AddMissing(a.socket_options(), b ? &b->socket_options() : nullptr, SockoptKey,
             out.mutable_socket_options());
  MissingDnsItems(a, b, &out);
  AddMissing(
      a.io_uring(), b ? &b->io_uring() : nullptr, [](const v1::IoUringOp& o) { return o.opcode(); },
      out.mutable_io_uring());
  AddMissing(a.files(), b ? &b->files() : nullptr, FileDiffKey, out.mutable_files());
  if (out.syscalls_size() + out.execs_size() + out.egress_size() + out.listen_size() +
      out.ingress_size() + out.io_uring_size() + out.named_egress_size() + out.dns_queries_size() +
      out.files_size() + out.unix_peers_size() + out.sockets_size() + out.inbound_size() +
      out.socket_options_size())
    out.set_name(a.name());
  return out;
}

}  // namespace

ProfileDiff DiffProfiles(const v1::Profile& base, const v1::Profile& other) {
  ProfileDiff d;
  for (const auto& c : other.containers()) {
    v1::ContainerProfile m = Missing(c, FindContainer(base, c.name()));
    if (!m.name().empty()) d.added.push_back(std::move(m));
  }
  for (const auto& c : base.containers()) {
    v1::ContainerProfile m = Missing(c, FindContainer(other, c.name()));
    if (!m.name().empty()) d.removed.push_back(std::move(m));
  }
  return d;
}

bool RelativeScript(const v1::ExecEntry& e) { return !e.script().empty() && e.script()[0] != '/'; }

namespace {

// The name a relative script was given, without its leading "./": what an absolute script path
// ends with once the function learned it again.
absl::string_view RelativeTail(absl::string_view script) {
  while (absl::ConsumePrefix(&script, "./")) {
  }
  return script;
}

void DropSupersededScripts(v1::ContainerProfile& c) {
  auto superseded = [&](const v1::ExecEntry& old) {
    if (!RelativeScript(old)) return false;
    const std::string tail = absl::StrCat("/", RelativeTail(old.script()));
    for (const auto& x : c.execs()) {
      if (RelativeScript(x) || x.script().empty() || x.path() != old.path() ||
          x.parent() != old.parent() || x.kind() != old.kind() ||
          x.parent_kind() != old.parent_kind())
        continue;
      if (absl::EndsWith(x.script(), tail)) return true;
    }
    return false;
  };
  auto* x = c.mutable_execs();
  x->erase(std::remove_if(x->begin(), x->end(), superseded), x->end());
}

}  // namespace

void NormalizeProfile(v1::Profile& p) {
  auto* cs = p.mutable_containers();
  std::sort(cs->begin(), cs->end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  for (auto& c : *cs) {
    auto* s = c.mutable_syscalls();
    std::sort(s->begin(), s->end(),
              [](const auto& a, const auto& b) { return SyscallKey(a) < SyscallKey(b); });
    auto* x = c.mutable_execs();
    std::sort(x->begin(), x->end(),
              [](const auto& a, const auto& b) { return ExecKey(a) < ExecKey(b); });
    for (auto* l : {c.mutable_egress(), c.mutable_listen(), c.mutable_ingress()})
      std::sort(l->begin(), l->end(),
                [](const auto& a, const auto& b) { return NetKey(a) < NetKey(b); });
    std::sort(c.mutable_files()->begin(), c.mutable_files()->end(),
              [](const auto& a, const auto& b) { return FileKey(a) < FileKey(b); });
    DropSupersededScripts(c);
    SortBy(c.mutable_unix_peers(), UnixKey);
    SortBy(c.mutable_sockets(), SocketKey);
    SortBy(c.mutable_inbound(), InboundKey);
    SortBy(c.mutable_socket_options(), SockoptKey);
    NormalizeDnsItems(c);
    auto* u = c.mutable_io_uring();
    std::sort(u->begin(), u->end(),
              [](const auto& a, const auto& b) { return a.opcode() < b.opcode(); });
  }
}

ProfileCounts CountItems(const v1::Profile& p) {
  ProfileCounts n;
  for (const auto& c : p.containers()) {
    n.syscalls += c.syscalls_size();
    n.execs += c.execs_size();
    n.egress += c.egress_size();
    n.listen += c.listen_size();
    n.ingress += c.ingress_size();
    n.files += c.files_size();
    n.sockets +=
        c.unix_peers_size() + c.sockets_size() + c.inbound_size() + c.socket_options_size();
    n.named_egress += c.named_egress_size();
    n.dns_queries += c.dns_queries_size();
  }
  return n;
}

namespace {

absl::Status ValidateAddress(absl::string_view a, absl::string_view where) {
  if (a.empty()) return absl::OkStatus();
  if (a.size() > 64) return absl::InvalidArgumentError(absl::StrCat(where, ": address too long"));
  auto parsed = ParseAddressOrCidr(a);
  if (parsed.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", parsed.status().message()));
}

absl::Status ValidateNetList(const NetList& l, absl::string_view where) {
  if (l.size() > static_cast<int>(kMaxItemsPerList))
    return absl::InvalidArgumentError(absl::StrCat(where, ": too many entries"));
  for (const auto& n : l) {
    if (!v1::Protocol_IsValid(n.protocol()) || n.protocol() == v1::PROTOCOL_UNSPECIFIED)
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown protocol ", static_cast<int>(n.protocol())));
    if (n.port() > 65535)
      return absl::InvalidArgumentError(absl::StrCat(where, ": port ", n.port(), " > 65535"));
    FG_RETURN_IF_ERROR(ValidateAddress(n.address(), where));
  }
  return absl::OkStatus();
}

absl::Status ValidateSocketItems(const v1::ContainerProfile& c, absl::string_view where) {
  if (c.unix_peers_size() > static_cast<int>(kMaxItemsPerList) ||
      c.sockets_size() > static_cast<int>(kMaxItemsPerList) ||
      c.inbound_size() > static_cast<int>(kMaxItemsPerList) ||
      c.socket_options_size() > static_cast<int>(kMaxItemsPerList))
    return absl::InvalidArgumentError(absl::StrCat(where, ": too many entries"));
  for (const auto& u : c.unix_peers()) {
    auto r = ParseUnixName(u.path());
    if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", r.status().message()));
    if (!u.type().empty() && !ParseSocketType(u.type()))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": Unix socket type \"", u.type().substr(0, 32), "\""));
  }
  for (const auto& k : c.sockets()) {
    if (!ParseFamily(k.family()) || !ParseSocketType(k.type()) || k.protocol() > 0xffff)
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": socket kind \"", k.family().substr(0, 32), "/",
                       k.type().substr(0, 32), "/", k.protocol(), "\""));
  }
  for (const auto& n : c.inbound()) {
    if (n.protocol() != v1::PROTOCOL_TCP && n.protocol() != v1::PROTOCOL_UDP)
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": inbound protocol ", static_cast<int>(n.protocol()), " (tcp or udp)"));
    if (n.port() > 65535)
      return absl::InvalidArgumentError(absl::StrCat(where, ": inbound port ", n.port()));
    if (!v1::PeerClass_IsValid(n.peer()))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown peer class ", static_cast<int>(n.peer())));
  }
  for (const auto& o : c.socket_options()) {
    if (!ParseSockopt(o.option()))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown socket option \"", o.option().substr(0, 32), "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateProfile(const v1::Profile& p) {
  if (p.schema_version() > kProfileSchemaVersion)
    return absl::InvalidArgumentError(absl::StrCat("profile schema version ", p.schema_version(),
                                                   " is newer than this agent understands (",
                                                   kProfileSchemaVersion, ")"));
  FG_RETURN_IF_ERROR(ValidateFunctionId(p.function()));
  if (!v1::Mode_IsValid(p.mode()))
    return absl::InvalidArgumentError(absl::StrCat("unknown mode ", static_cast<int>(p.mode())));
  if (!v1::SyscallAction_IsValid(p.syscall_action()) ||
      !v1::SyscallAction_IsValid(p.sensitive_syscall_action()))
    return absl::InvalidArgumentError(absl::StrCat("unknown syscall action ",
                                                   static_cast<int>(p.syscall_action()), " / ",
                                                   static_cast<int>(p.sensitive_syscall_action())));
  if (!v1::AgentAbsence_IsValid(p.when_agent_absent()))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown whenAgentAbsent value ", static_cast<int>(p.when_agent_absent())));
  if (p.containers_size() > static_cast<int>(kMaxContainers))
    return absl::InvalidArgumentError("too many containers in profile");
  for (const auto& c : p.containers()) {
    FG_RETURN_IF_ERROR(ValidateContainerName(c.name()));
    std::string where = absl::StrCat("container ", c.name());
    if (c.syscalls_size() > static_cast<int>(kMaxItemsPerList) ||
        c.execs_size() > static_cast<int>(kMaxItemsPerList))
      return absl::InvalidArgumentError(where + ": too many entries");
    for (const auto& s : c.syscalls()) {
      auto arch = ParseArch(s.arch());
      if (!arch)
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": unknown syscall arch \"", s.arch().substr(0, 32), "\""));
      if (s.name().empty() || !SyscallNumber(*arch, s.name()))
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": unknown syscall \"", s.name().substr(0, 64), "\""));
    }
    for (const auto& x : c.execs()) {
      if (x.path().empty()) return absl::InvalidArgumentError(where + ": exec with empty path");
      if (x.path().size() > kMaxPath || x.parent().size() > kMaxPath ||
          x.script().size() > kMaxPath)
        return absl::InvalidArgumentError(where + ": exec path too long");
      if (!v1::PathKind_IsValid(x.kind()) || !v1::PathKind_IsValid(x.parent_kind()))
        return absl::InvalidArgumentError(where + ": unknown path kind");
      auto rule = ParseRulePath(x.path());
      if (!rule.ok())
        return absl::InvalidArgumentError(absl::StrCat(where, ": exec ", rule.status().message()));
      if (rule->prefix && (rule->text.empty() || rule->text[0] != '/'))
        return absl::InvalidArgumentError(absl::StrCat(where, ": exec rule \"",
                                                       x.path().substr(0, 64),
                                                       "\": a '*' rule needs an absolute path"));
      if (x.parent() != "*") {
        auto parent = ParseRulePath(x.parent());
        if (!parent.ok() || parent->prefix)
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": exec parent \"", x.parent().substr(0, 64), "\" must be a path or \"*\""));
      }
    }
    for (auto [list, name] : {std::pair{&c.egress(), "egress"}, std::pair{&c.listen(), "listen"},
                              std::pair{&c.ingress(), "ingress"}}) {
      FG_RETURN_IF_ERROR(ValidateNetList(*list, absl::StrCat(where, " ", name)));
    }
    FG_RETURN_IF_ERROR(ValidateFiles(c, where));
    FG_RETURN_IF_ERROR(ValidateSocketItems(c, where));
    FG_RETURN_IF_ERROR(ValidateDnsItems(c, where));
  }
  return absl::OkStatus();
}

std::string MessageToJson(const google::protobuf::Message& m, bool indent) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = indent;
  o.always_print_primitive_fields = false;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string ProfileToJson(const v1::Profile& p) { return MessageToJson(p, true); }

absl::StatusOr<v1::Profile> ProfileFromJson(absl::string_view json) {
  v1::Profile p;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &p, o);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("profile JSON: ", st.ToString()));
  MigrateProfile(&p);
  FG_RETURN_IF_ERROR(ValidateProfile(p));
  return p;
}

void MigrateProfile(v1::Profile* p) {
  if (p->schema_version() == 0) p->set_schema_version(1);
  if (p->schema_version() == 1) {
    if (p->syscall_action() == v1::SYSCALL_ACTION_ALERT) {
      p->set_sensitive_syscall_action(v1::SYSCALL_ACTION_ALERT);
    } else {
      p->set_syscall_action(v1::SYSCALL_ACTION_DEFAULT);
      p->set_sensitive_syscall_action(v1::SYSCALL_ACTION_DEFAULT);
    }
    p->set_schema_version(2);
  }
}

}  // namespace faasguard
