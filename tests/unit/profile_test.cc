// Profiles: adding and merging learned items, stable order, validation and the JSON form;
// function references.
#include "profile/profile.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "profile/dns_items.h"
#include "profile/names.h"

namespace faasguard {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

google::protobuf::Timestamp Ts(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

v1::Seen MakeSeen(uint64_t count, int64_t first, int64_t last) {
  v1::Seen s;
  s.set_count(count);
  *s.mutable_first_seen() = Ts(first);
  *s.mutable_last_seen() = Ts(last);
  return s;
}

v1::FunctionId Fn(const std::string& ns, const std::string& name) {
  v1::FunctionId id;
  id.set_platform("local");
  id.set_namespace_(ns);
  id.set_name(name);
  return id;
}

v1::SyscallEntry Syscall(const std::string& name, uint32_t nr, int64_t first,
                         const std::string& arch = "x86_64") {
  v1::SyscallEntry e;
  e.set_name(name);
  e.set_arch(arch);
  e.set_nr(nr);
  *e.mutable_first_seen() = Ts(first);
  return e;
}

v1::ExecEntry Exec(const std::string& path, const std::string& parent, v1::Seen seen) {
  v1::ExecEntry e;
  e.set_path(path);
  e.set_parent(parent);
  *e.mutable_seen() = std::move(seen);
  return e;
}

v1::NetEntry Net(v1::Protocol proto, const std::string& addr, uint32_t port, v1::Seen seen) {
  v1::NetEntry e;
  e.set_protocol(proto);
  e.set_address(addr);
  e.set_port(port);
  *e.mutable_seen() = std::move(seen);
  return e;
}

// A profile with something in every field, in a deliberately unsorted order.
v1::Profile FullProfile() {
  v1::Profile p = NewProfile(Fn("team-a", "resize.images"), absl::FromUnixSeconds(1700000000));
  v1::ContainerProfile& c = ContainerSection(p, "worker");
  AddSyscall(c, Syscall("openat", 257, 1700000001));
  AddSyscall(c, Syscall("read", 0, 1700000002));
  AddSyscall(c, Syscall("execve", 11, 1700000003, "i386"));
  v1::ExecEntry x = Exec("/usr/bin/convert", "/usr/bin/python3.11", MakeSeen(3, 10, 20));
  x.add_uids(1000);
  x.add_sample_args("convert");
  x.add_sample_args("in.png");
  AddExec(c, x);
  v1::ExecEntry anon = Exec("memfd:payload", "/bin/sh", MakeSeen(1, 11, 11));
  anon.set_kind(v1::PATH_KIND_ANONYMOUS);
  anon.set_script("./run.sh");
  AddExec(c, anon);
  AddNet(c.mutable_egress(), Net(v1::PROTOCOL_TCP, "93.184.216.34", 443, MakeSeen(2, 5, 6)));
  AddNet(c.mutable_egress(), Net(v1::PROTOCOL_UDP, "2001:db8::1", 53, MakeSeen(1, 5, 5)));
  AddNet(c.mutable_listen(), Net(v1::PROTOCOL_TCP, "", 8080, MakeSeen(1, 7, 7)));
  AddNet(c.mutable_ingress(), Net(v1::PROTOCOL_TCP, "10.0.0.7", 8080, MakeSeen(4, 8, 9)));
  c.mutable_counters()->set_execs(3);
  c.mutable_counters()->set_forks(7);
  c.mutable_counters()->set_exits(6);
  ContainerSection(p, "main");
  p.set_mode(v1::MODE_MONITOR);
  return p;
}

// --- Adding items ------------------------------------------------------------------------

TEST(AddSyscallTest, NewOnlyOnceAndFirstSeenIsTheEarliest) {
  v1::ContainerProfile c;
  EXPECT_TRUE(AddSyscall(c, Syscall("openat", 257, 100)));
  EXPECT_FALSE(AddSyscall(c, Syscall("openat", 257, 200)));  // later: keeps 100
  ASSERT_EQ(c.syscalls_size(), 1);
  EXPECT_EQ(c.syscalls(0).first_seen().seconds(), 100);
  EXPECT_FALSE(AddSyscall(c, Syscall("openat", 257, 50)));  // earlier: takes 50
  ASSERT_EQ(c.syscalls_size(), 1);
  EXPECT_EQ(c.syscalls(0).first_seen().seconds(), 50);
}

TEST(AddSyscallTest, ArchIsPartOfTheKey) {
  v1::ContainerProfile c;
  EXPECT_TRUE(AddSyscall(c, Syscall("read", 0, 1)));
  EXPECT_TRUE(AddSyscall(c, Syscall("read", 3, 1, "i386")));
  EXPECT_TRUE(AddSyscall(c, Syscall("write", 1, 1)));
  EXPECT_EQ(c.syscalls_size(), 3);
}

TEST(AddExecTest, NewOnlyOnceAndSeenMerges) {
  v1::ContainerProfile c;
  v1::ExecEntry a = Exec("/usr/bin/curl", "/bin/sh", MakeSeen(2, 100, 150));
  a.add_uids(1000);
  a.add_sample_args("curl");
  EXPECT_TRUE(AddExec(c, a));
  v1::ExecEntry b = Exec("/usr/bin/curl", "/bin/sh", MakeSeen(3, 50, 120));
  b.add_uids(0);
  b.add_uids(1000);
  b.add_sample_args("other");
  EXPECT_FALSE(AddExec(c, b));
  v1::ExecEntry later = Exec("/usr/bin/curl", "/bin/sh", MakeSeen(1, 300, 400));
  EXPECT_FALSE(AddExec(c, later));

  ASSERT_EQ(c.execs_size(), 1);
  const v1::ExecEntry& x = c.execs(0);
  EXPECT_EQ(x.seen().count(), 6u);                 // counts add up
  EXPECT_EQ(x.seen().first_seen().seconds(), 50);  // min
  EXPECT_EQ(x.seen().last_seen().seconds(), 400);  // max
  EXPECT_THAT(x.uids(), ::testing::ElementsAre(1000, 0));
  EXPECT_THAT(x.sample_args(), ::testing::ElementsAre("curl"));  // from the first sighting
}

TEST(AddExecTest, ParentAndKindArePartOfTheKey) {
  v1::ContainerProfile c;
  EXPECT_TRUE(AddExec(c, Exec("/usr/bin/curl", "/bin/sh", MakeSeen(1, 1, 1))));
  EXPECT_TRUE(AddExec(c, Exec("/usr/bin/curl", "/bin/bash", MakeSeen(1, 1, 1))));
  v1::ExecEntry deleted = Exec("/usr/bin/curl", "/bin/sh", MakeSeen(1, 1, 1));
  deleted.set_kind(v1::PATH_KIND_DELETED);
  EXPECT_TRUE(AddExec(c, deleted));
  EXPECT_EQ(c.execs_size(), 3);
}

TEST(AddNetTest, NewOnlyOnceAndSeenMerges) {
  NetList l;
  EXPECT_TRUE(AddNet(&l, Net(v1::PROTOCOL_TCP, "10.0.0.1", 443, MakeSeen(5, 100, 200))));
  EXPECT_FALSE(AddNet(&l, Net(v1::PROTOCOL_TCP, "10.0.0.1", 443, MakeSeen(2, 90, 150))));
  EXPECT_FALSE(AddNet(&l, Net(v1::PROTOCOL_TCP, "10.0.0.1", 443, MakeSeen(1, 300, 250))));
  ASSERT_EQ(l.size(), 1);
  EXPECT_EQ(l[0].seen().count(), 8u);
  EXPECT_EQ(l[0].seen().first_seen().seconds(), 90);
  EXPECT_EQ(l[0].seen().last_seen().seconds(), 250);

  EXPECT_TRUE(AddNet(&l, Net(v1::PROTOCOL_UDP, "10.0.0.1", 443, MakeSeen(1, 1, 1))));
  EXPECT_TRUE(AddNet(&l, Net(v1::PROTOCOL_TCP, "10.0.0.2", 443, MakeSeen(1, 1, 1))));
  EXPECT_TRUE(AddNet(&l, Net(v1::PROTOCOL_TCP, "10.0.0.1", 444, MakeSeen(1, 1, 1))));
  EXPECT_EQ(l.size(), 4);
}

TEST(MergeSeenTest, UnsetOrZeroFirstSeenIsReplaced) {
  v1::Seen into;
  into.set_count(1);
  *into.mutable_first_seen() = Ts(0);
  MergeSeen(into, MakeSeen(2, 500, 600));
  EXPECT_EQ(into.count(), 3u);
  EXPECT_EQ(into.first_seen().seconds(), 500);
  EXPECT_EQ(into.last_seen().seconds(), 600);

  v1::Seen none;
  v1::Seen from;
  from.set_count(4);  // no times at all
  MergeSeen(none, from);
  EXPECT_EQ(none.count(), 4u);
  EXPECT_FALSE(none.has_first_seen());
  EXPECT_FALSE(none.has_last_seen());
}

// --- Merging and ordering ----------------------------------------------------------------

TEST(MergeProfileTest, CountsNewItemsAndAddsCounters) {
  v1::Profile into = NewProfile(Fn("ns", "fn"), absl::FromUnixSeconds(1000));
  v1::ContainerProfile& c = ContainerSection(into, "main");
  AddSyscall(c, Syscall("read", 0, 10));
  AddExec(c, Exec("/bin/ls", "/bin/sh", MakeSeen(1, 10, 10)));
  c.mutable_counters()->set_execs(1);
  c.mutable_counters()->set_forks(2);
  c.mutable_counters()->set_exits(3);

  v1::Profile from = NewProfile(Fn("ns", "fn"), absl::FromUnixSeconds(2000));
  v1::ContainerProfile& f = ContainerSection(from, "main");
  AddSyscall(f, Syscall("read", 0, 5));                                                 // known
  AddSyscall(f, Syscall("write", 1, 5));                                                // new
  AddExec(f, Exec("/bin/ls", "/bin/sh", MakeSeen(2, 20, 20)));                          // known
  AddNet(f.mutable_egress(), Net(v1::PROTOCOL_TCP, "1.2.3.4", 80, MakeSeen(1, 1, 1)));  // new
  AddNet(f.mutable_listen(), Net(v1::PROTOCOL_TCP, "", 8080, MakeSeen(1, 1, 1)));       // new
  AddNet(f.mutable_ingress(), Net(v1::PROTOCOL_TCP, "5.6.7.8", 8080, MakeSeen(1, 1, 1)));
  f.mutable_counters()->set_execs(10);
  f.mutable_counters()->set_forks(20);
  f.mutable_counters()->set_exits(30);
  v1::ContainerProfile& side = ContainerSection(from, "sidecar");
  AddSyscall(side, Syscall("read", 0, 5));  // new: another container

  EXPECT_EQ(MergeProfile(into, from), 5u);
  ProfileCounts n = CountItems(into);
  EXPECT_EQ(n.syscalls, 3u);
  EXPECT_EQ(n.execs, 1u);
  EXPECT_EQ(n.egress, 1u);
  EXPECT_EQ(n.listen, 1u);
  EXPECT_EQ(n.ingress, 1u);
  EXPECT_EQ(n.total(), 7u);
  const v1::ContainerProfile* m = FindContainer(into, "main");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->counters().execs(), 11u);
  EXPECT_EQ(m->counters().forks(), 22u);
  EXPECT_EQ(m->counters().exits(), 33u);
  EXPECT_EQ(m->syscalls(0).first_seen().seconds(), 5);
  EXPECT_EQ(m->execs(0).seen().count(), 3u);
  EXPECT_NE(FindContainer(into, "sidecar"), nullptr);
  EXPECT_EQ(into.updated().seconds(), 2000);  // the later of the two

  // Merging the same thing again learns nothing new.
  EXPECT_EQ(MergeProfile(into, from), 0u);
}

TEST(NormalizeProfileTest, GivesAStableOrder) {
  v1::Profile a = FullProfile();

  // The same items, added in the opposite order.
  v1::Profile b = NewProfile(a.function(), FromProtoTime(a.created()));
  b.set_mode(a.mode());
  ContainerSection(b, "main");
  const v1::ContainerProfile& src = *FindContainer(a, "worker");
  v1::ContainerProfile& dst = ContainerSection(b, "worker");
  for (int i = src.syscalls_size() - 1; i >= 0; --i) AddSyscall(dst, src.syscalls(i));
  for (int i = src.execs_size() - 1; i >= 0; --i) AddExec(dst, src.execs(i));
  for (int i = src.egress_size() - 1; i >= 0; --i) AddNet(dst.mutable_egress(), src.egress(i));
  *dst.mutable_listen() = src.listen();
  *dst.mutable_ingress() = src.ingress();
  *dst.mutable_counters() = src.counters();
  *b.mutable_updated() = a.updated();
  ASSERT_FALSE(MessageDifferencer::Equals(a, b));  // differently ordered before

  NormalizeProfile(a);
  NormalizeProfile(b);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b));
  EXPECT_EQ(ProfileToJson(a), ProfileToJson(b));

  ASSERT_EQ(a.containers_size(), 2);
  EXPECT_EQ(a.containers(0).name(), "main");
  EXPECT_EQ(a.containers(1).name(), "worker");
  const v1::ContainerProfile& w = a.containers(1);
  // Syscalls by (arch, name).
  ASSERT_EQ(w.syscalls_size(), 3);
  EXPECT_EQ(w.syscalls(0).arch(), "i386");
  EXPECT_EQ(w.syscalls(1).name(), "openat");
  EXPECT_EQ(w.syscalls(2).name(), "read");

  // Normalizing is idempotent.
  v1::Profile again = a;
  NormalizeProfile(again);
  EXPECT_TRUE(MessageDifferencer::Equals(a, again));
}

// --- JSON --------------------------------------------------------------------------------

TEST(ProfileJsonTest, RoundTrip) {
  v1::Profile p = FullProfile();
  ASSERT_TRUE(ValidateProfile(p).ok()) << ValidateProfile(p);
  std::string json = ProfileToJson(p);
  absl::StatusOr<v1::Profile> back = ProfileFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << json;
  std::string diff;
  MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(p, *back)) << diff;
}

TEST(ProfileJsonTest, UsesTheProtobufJsonNames) {
  std::string json = ProfileToJson(FullProfile());
  EXPECT_THAT(json, HasSubstr("\"schemaVersion\": 2"));
  EXPECT_THAT(json, HasSubstr("\"MODE_MONITOR\""));
  EXPECT_THAT(json, HasSubstr("\"PATH_KIND_ANONYMOUS\""));
  EXPECT_THAT(json, HasSubstr("\"firstSeen\""));
}

// A profile turned into JSON without validation, for the rejection tests.
std::string JsonOf(const v1::Profile& p) { return MessageToJson(p, false); }

v1::Profile Minimal() { return NewProfile(Fn("ns", "fn"), absl::FromUnixSeconds(1000)); }

TEST(ProfileJsonTest, MinimalProfileIsAccepted) {
  EXPECT_TRUE(ProfileFromJson(JsonOf(Minimal())).ok());
  EXPECT_TRUE(ProfileFromJson(R"({"function": {"namespace": "ns", "name": "fn"}})").ok());
}

TEST(ProfileJsonTest, RejectsMalformedJson) {
  for (const char* bad : {"", "{", "not json", "[]", R"({"schemaVersion": "one"})"}) {
    absl::StatusOr<v1::Profile> p = ProfileFromJson(bad);
    EXPECT_FALSE(p.ok()) << "accepted: " << bad;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(std::string(ProfileFromJson("{").status().message()), HasSubstr("profile JSON"));
}

TEST(ProfileJsonTest, RejectsUnknownField) {
  absl::StatusOr<v1::Profile> p = ProfileFromJson(
      R"({"schemaVersion": 1, "function": {"namespace": "ns", "name": "fn"}, "colour": "red"})");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("colour"));
}

TEST(ProfileJsonTest, RejectsNewerSchemaVersion) {
  v1::Profile p = Minimal();
  p.set_schema_version(kProfileSchemaVersion + 1);
  absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("newer"));
}

TEST(ProfileJsonTest, OlderSchemaVersionZeroIsUpgraded) {
  v1::Profile p = Minimal();
  p.set_schema_version(0);
  std::string json = JsonOf(p);
  ASSERT_THAT(json, ::testing::Not(HasSubstr("schemaVersion")));
  absl::StatusOr<v1::Profile> r = ProfileFromJson(json);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->schema_version(), kProfileSchemaVersion);
  EXPECT_EQ(r->schema_version(), 2u);
}

// Schema 1 had one syscall action for every syscall, kill by default: it becomes the defaults
// (refuse with EPERM, kill for the sensitive class); alert stays alert for both.
TEST(ProfileJsonTest, SchemaOneSyscallActionsAreMigrated) {
  for (const char* action : {"SYSCALL_ACTION_KILL", "SYSCALL_ACTION_ALERT", ""}) {
    v1::Profile p = Minimal();
    p.set_schema_version(0);
    std::string json = JsonOf(p);
    json.insert(json.rfind('}'),
                absl::StrCat(R"(, "schemaVersion": 1)",
                             *action ? absl::StrCat(R"(, "syscallAction": ")", action, "\"")
                                     : std::string()));
    absl::StatusOr<v1::Profile> r = ProfileFromJson(json);
    ASSERT_TRUE(r.ok()) << r.status() << json;
    EXPECT_EQ(r->schema_version(), 2u);
    const bool alert = std::string(action) == "SYSCALL_ACTION_ALERT";
    EXPECT_EQ(r->syscall_action(), alert ? v1::SYSCALL_ACTION_ALERT : v1::SYSCALL_ACTION_DEFAULT)
        << action;
    EXPECT_EQ(r->sensitive_syscall_action(),
              alert ? v1::SYSCALL_ACTION_ALERT : v1::SYSCALL_ACTION_DEFAULT)
        << action;
  }
  // Schema 2's kill is kill.
  v1::Profile p = Minimal();
  p.set_syscall_action(v1::SYSCALL_ACTION_KILL);
  absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->syscall_action(), v1::SYSCALL_ACTION_KILL);
}

TEST(ProfileJsonTest, RejectsUnknownSyscallName) {
  v1::Profile p = Minimal();
  AddSyscall(ContainerSection(p, "main"), Syscall("frobnicate", 999, 1));
  absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("unknown syscall \"frobnicate\""));

  v1::Profile empty = Minimal();
  AddSyscall(ContainerSection(empty, "main"), Syscall("", 0, 1));
  EXPECT_FALSE(ProfileFromJson(JsonOf(empty)).ok());
}

TEST(ProfileJsonTest, AcceptsNumberedSyscallName) {
  v1::Profile p = Minimal();
  AddSyscall(ContainerSection(p, "main"), Syscall("syscall_499", 499, 1));
  EXPECT_TRUE(ProfileFromJson(JsonOf(p)).ok());
}

TEST(ProfileJsonTest, RejectsUnknownArch) {
  v1::Profile p = Minimal();
  AddSyscall(ContainerSection(p, "main"), Syscall("read", 0, 1, "sparc64"));
  absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("unknown syscall arch \"sparc64\""));
}

TEST(ProfileJsonTest, RejectsPortAbove65535) {
  for (const std::string list : {"egress", "listen", "ingress"}) {
    v1::Profile p = Minimal();
    v1::ContainerProfile& c = ContainerSection(p, "main");
    NetList* l = list == "egress"   ? c.mutable_egress()
                 : list == "listen" ? c.mutable_listen()
                                    : c.mutable_ingress();
    AddNet(l, Net(v1::PROTOCOL_TCP, "10.0.0.1", 65536, MakeSeen(1, 1, 1)));
    absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
    ASSERT_FALSE(r.ok()) << list;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("65536"));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(list));
  }
  v1::Profile ok = Minimal();
  AddNet(ContainerSection(ok, "main").mutable_listen(),
         Net(v1::PROTOCOL_TCP, "", 65535, MakeSeen(1, 1, 1)));
  EXPECT_TRUE(ProfileFromJson(JsonOf(ok)).ok());
}

TEST(ProfileJsonTest, RejectsInvalidAddress) {
  for (const char* bad : {"999.1.1.1", "10.0.0", "example.com", "::g", "10.0.0.1:80"}) {
    v1::Profile p = Minimal();
    AddNet(ContainerSection(p, "main").mutable_egress(),
           Net(v1::PROTOCOL_TCP, bad, 80, MakeSeen(1, 1, 1)));
    absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
    ASSERT_FALSE(r.ok()) << "accepted address " << bad;
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("is not an IPv4/IPv6 address or CIDR prefix"));
  }
}

TEST(ProfileJsonTest, RejectsUnknownProtocol) {
  v1::Profile p = Minimal();
  AddNet(ContainerSection(p, "main").mutable_egress(),
         Net(v1::PROTOCOL_UNSPECIFIED, "10.0.0.1", 80, MakeSeen(1, 1, 1)));
  EXPECT_FALSE(ProfileFromJson(JsonOf(p)).ok());
}

TEST(ProfileJsonTest, RejectsBadFunctionName) {
  for (const std::string& bad :
       {std::string("Resize"), std::string("resize_images"), std::string(254, 'a'), std::string(""),
        std::string("-a"), std::string("a..b")}) {
    v1::Profile p = NewProfile(Fn("ns", bad), absl::FromUnixSeconds(1));
    absl::StatusOr<v1::Profile> r = ProfileFromJson(JsonOf(p));
    ASSERT_FALSE(r.ok()) << "accepted name \"" << bad << "\"";
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("function name"));
  }
  // The longest legal name is accepted.
  v1::Profile ok = NewProfile(Fn("ns", std::string(253, 'a')), absl::FromUnixSeconds(1));
  EXPECT_TRUE(ProfileFromJson(JsonOf(ok)).ok());
}

TEST(ProfileJsonTest, RejectsBadNamespaceAndContainer) {
  EXPECT_FALSE(
      ProfileFromJson(JsonOf(NewProfile(Fn("Team", "fn"), absl::FromUnixSeconds(1)))).ok());
  v1::Profile p = Minimal();
  ContainerSection(p, "Main");
  EXPECT_FALSE(ProfileFromJson(JsonOf(p)).ok());
}

// --- Function references -----------------------------------------------------------------

TEST(ParseFunctionRefTest, NamespaceAndName) {
  absl::StatusOr<v1::FunctionId> id = ParseFunctionRef("team-a/resize.images");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->namespace_(), "team-a");
  EXPECT_EQ(id->name(), "resize.images");
  EXPECT_EQ(id->platform(), "local");
  EXPECT_EQ(FunctionRef(*id), "team-a/resize.images");
}

TEST(ParseFunctionRefTest, NameOnlyUsesTheDefaultNamespace) {
  absl::StatusOr<v1::FunctionId> id = ParseFunctionRef("hello");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->namespace_(), "default");
  EXPECT_EQ(id->name(), "hello");
  EXPECT_EQ(id->platform(), "local");
}

TEST(ParseFunctionRefTest, RejectsInvalidReferences) {
  for (const char* bad :
       {"", "/", "/fn", "ns/", "Ns/fn", "ns/Fn", "ns/f_n", "ns/a/b", "ns fn", "ns/fn.", "-ns/fn"}) {
    absl::StatusOr<v1::FunctionId> id = ParseFunctionRef(bad);
    EXPECT_FALSE(id.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<v1::FunctionId> id = ParseFunctionRef(absl::StrCat(std::string(64, 'n'), "/fn"));
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("namespace"));
}

// --- Egress by DNS name ------------------------------------------------------------------

v1::NamedEgress Named(const std::string& name, uint32_t port, const std::string& addr,
                      v1::Seen seen) {
  v1::NamedEgress n;
  n.set_name(name);
  n.set_protocol(v1::PROTOCOL_TCP);
  n.set_port(port);
  if (!addr.empty()) n.add_addresses(addr);
  *n.mutable_seen() = std::move(seen);
  return n;
}

TEST(AddNamedEgressTest, TheNameIsTheItemAndAddressesOnlyItsNewestEvidence) {
  v1::ContainerProfile c;
  EXPECT_TRUE(AddNamedEgress(c, Named("api.example.com", 443, "192.0.2.1", MakeSeen(1, 5, 5))));
  for (int i = 2; i <= 10; ++i)
    EXPECT_FALSE(AddNamedEgress(
        c, Named("api.example.com", 443, "192.0.2." + std::to_string(i), MakeSeen(1, 6, 6 + i))));
  EXPECT_FALSE(AddNamedEgress(c, Named("api.example.com", 443, "192.0.2.5", MakeSeen(1, 7, 7))));
  ASSERT_EQ(c.named_egress_size(), 1);
  const auto& n = c.named_egress(0);
  EXPECT_EQ(n.seen().count(), 11u);
  ASSERT_EQ(n.addresses_size(), kNamedEgressEvidence);
  EXPECT_EQ(n.addresses(kNamedEgressEvidence - 1), "192.0.2.5");  // the last reached
  EXPECT_EQ(n.addresses(0), "192.0.2.3");                         // the oldest kept
  // Another port or protocol is another item.
  EXPECT_TRUE(AddNamedEgress(c, Named("api.example.com", 80, "", MakeSeen(1, 5, 5))));
}

TEST(AddDnsQueryTest, TypesJoinAndNxdomainSticks) {
  v1::ContainerProfile c;
  v1::DnsQuery q;
  q.set_name("db.svc.cluster.local");
  q.add_types("A");
  *q.mutable_seen() = MakeSeen(1, 5, 5);
  EXPECT_TRUE(AddDnsQuery(c, q));
  q.set_types(0, "AAAA");
  q.set_nxdomain(true);
  EXPECT_FALSE(AddDnsQuery(c, q));
  q.set_nxdomain(false);
  q.set_types(0, "A");
  EXPECT_FALSE(AddDnsQuery(c, q));
  ASSERT_EQ(c.dns_queries_size(), 1);
  EXPECT_THAT(c.dns_queries(0).types(), ::testing::ElementsAre("A", "AAAA"));
  EXPECT_TRUE(c.dns_queries(0).nxdomain());
  EXPECT_EQ(c.dns_queries(0).seen().count(), 3u);
}

TEST(DnsItemsTest, DiffJsonAndValidation) {
  v1::Profile a = NewProfile(Fn("default", "f"), absl::FromUnixSeconds(1700000000));
  v1::Profile b = a;
  AddNamedEgress(ContainerSection(a, "main"),
                 Named("api.example.com", 443, "192.0.2.1", MakeSeen(1, 5, 5)));
  AddNamedEgress(ContainerSection(b, "main"),
                 Named("api.example.com", 443, "192.0.2.9", MakeSeen(3, 5, 9)));
  v1::DnsQuery q;
  q.set_name("*.example.org");
  AddDnsQuery(ContainerSection(b, "main"), q);
  ProfileDiff d = DiffProfiles(a, b);  // evidence and counts are not items
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].named_egress_size(), 0);
  ASSERT_EQ(d.added[0].dns_queries_size(), 1);
  EXPECT_TRUE(d.removed.empty());
  EXPECT_TRUE(ValidateProfile(b).ok());

  const std::string json = ProfileToJson(b);
  EXPECT_THAT(json, HasSubstr("\"namedEgress\""));
  EXPECT_THAT(json, HasSubstr("\"dnsQueries\""));
  EXPECT_THAT(json, HasSubstr("\"addresses\""));

  for (const std::string bad : {"a.*.example.com", "x..y", "*"}) {
    v1::Profile p = b;
    p.mutable_containers(0)->mutable_named_egress(0)->set_name(bad);
    absl::Status st = ValidateProfile(p);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_THAT(std::string(st.message()), HasSubstr("named egress")) << bad;
  }
  v1::Profile p = b;
  p.mutable_containers(0)->mutable_named_egress(0)->add_addresses("10.0.0.0/8");
  EXPECT_THAT(std::string(ValidateProfile(p).message()), HasSubstr("is not an address"));
  p = b;
  p.mutable_containers(0)->mutable_dns_queries(0)->add_types("BOGUS");
  EXPECT_THAT(std::string(ValidateProfile(p).message()), HasSubstr("unknown query type"));
}

}  // namespace
}  // namespace faasguard
