// faasguardctl's rendering (ctl/format.h): tables for people, the parse of mode and event
// kind words, the import and version lines.
#include "ctl/format.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::FunctionId Fn(const std::string& ref) { return *ParseFunctionRef(ref); }

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(absl::StripSuffix(text, "\n"), '\n');
}

// The cells of a table line (columns are separated by two spaces or more).
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> out;
  for (absl::string_view c : absl::StrSplit(line, "  ", absl::SkipWhitespace()))
    out.emplace_back(absl::StripAsciiWhitespace(c));
  return out;
}

TEST(FormatTest, ModeNamesBothWays) {
  for (v1::Mode m : {v1::MODE_LEARN, v1::MODE_MONITOR, v1::MODE_ENFORCE})
    EXPECT_EQ(*ParseModeName(ModeName(m)), m);
  EXPECT_EQ(ModeName(v1::MODE_ENFORCE), "enforce");
  auto bad = ParseModeName("strict");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown mode \"strict\" (learn, monitor or enforce)");
  EXPECT_FALSE(ParseModeName("Enforce").ok());
  EXPECT_FALSE(ParseModeName("").ok());
}

TEST(FormatTest, EventKinds) {
  EXPECT_EQ(*ParseEventKind("new"), v1::EVENT_KIND_NEW_BEHAVIOUR);
  EXPECT_EQ(*ParseEventKind("violation"), v1::EVENT_KIND_VIOLATION);
  EXPECT_EQ(*ParseEventKind("lifecycle"), v1::EVENT_KIND_LIFECYCLE);
  EXPECT_THAT(std::string(ParseEventKind("noise").status().message()),
              HasSubstr("unknown event kind \"noise\" (new, violation, lifecycle)"));
}

TEST(FormatTest, Ago) {
  EXPECT_EQ(Ago(google::protobuf::Timestamp(), kNow), "-");
  EXPECT_EQ(Ago(ToProtoTime(kNow - absl::Seconds(12)), kNow), "12s ago");
  EXPECT_EQ(Ago(ToProtoTime(kNow - absl::Minutes(3)), kNow), "3m ago");
  EXPECT_EQ(Ago(ToProtoTime(kNow - absl::Hours(5)), kNow), "5h ago");
  EXPECT_EQ(Ago(ToProtoTime(kNow - absl::Hours(50)), kNow), "2d ago");
  EXPECT_EQ(Ago(ToProtoTime(kNow + absl::Seconds(5)), kNow), "0s ago");  // clocks differ
}

TEST(FormatTest, TableColumnsArePaddedToTheWidestCell) {
  std::string t = RenderTable({{"A", "BB", "C"}, {"long", "x", ""}, {"y"}});
  EXPECT_THAT(Lines(t), ElementsAre("A     BB  C", "long  x", "y"));
}

TEST(FormatTest, Functions) {
  v1::ListFunctionsResponse r;
  EXPECT_EQ(RenderFunctions(r, kNow), "No functions on this node.\n");
  EXPECT_EQ(RenderFunctions(r, kNow, "shop"), "No functions in namespace shop on this node.\n");
  v1::FunctionSummary* f = r.add_functions();
  *f->mutable_function() = Fn("shop/cart");
  f->set_mode(v1::MODE_ENFORCE);
  f->add_containers("user-container");
  f->add_containers("queue-proxy");
  f->set_replicas(2);
  f->set_syscalls(61);
  auto lines = Lines(RenderFunctions(r, kNow));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Cells(lines[0]).size(), Cells(lines[1]).size());
  EXPECT_THAT(Cells(lines[1]),
              ElementsAre("shop", "cart", "local", "enforce", "user-container,queue-proxy", "2",
                          "61", "0", "0", "0", "0", "-"));
}

v1::Violation ExecViolation() {
  v1::Violation v;
  v.set_id(7);
  *v.mutable_function() = Fn("default/hello");
  v.set_container("main");
  v.set_pid(4242);
  v.set_uid(1000);
  v.set_comm("sh");
  v.set_kind("exec");
  v.set_binary("/usr/bin/touch");
  v.set_attempted("/usr/bin/touch");
  v.set_parent("/usr/lib/a-rather-long-directory-name/of/the/interpreter/bin/dash");
  v.set_action("killed");
  *v.mutable_time() = ToProtoTime(kNow - absl::Seconds(30));
  return v;
}

TEST(FormatTest, ViolationsTableIsNarrowAndEveryColumnHasAHeader) {
  v1::ListViolationsResponse r;
  *r.add_violations() = ExecViolation();
  v1::Violation net = ExecViolation();
  net.set_id(8);
  net.set_kind("egress");
  net.set_binary("/opt/runtime/python3.11");
  net.set_parent("/usr/bin/dash");
  net.set_attempted("tcp [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443");
  net.set_action("denied");
  net.set_accepted(true);
  *r.add_violations() = net;
  auto lines = Lines(RenderViolations(r, kNow));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(Cells(lines[0]), ElementsAre("ID", "WHEN", "FUNCTION", "CONTAINER", "PID", "KIND",
                                           "ATTEMPTED", "BY", "ACTION"));
  // BY: who did it. For an exec, the binary is what was attempted: its parent did it.
  EXPECT_THAT(Cells(lines[1]), ElementsAre("7", "30s ago", "default/hello", "main", "4242", "exec",
                                           "/usr/bin/touch", "dash", "killed"));
  // A long cell keeps its end, cut to 40 columns.
  EXPECT_THAT(Cells(lines[2]), ElementsAre("8", "30s ago", "default/hello", "main", "4242",
                                           "egress", "...b8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443",
                                           "python3.11", "denied (accepted)"));
}

TEST(FormatTest, ViolationsTableOfUsualRowsFitsIn100Columns) {
  v1::ListViolationsResponse r;
  *r.add_violations() = ExecViolation();
  v1::Violation net = ExecViolation();
  net.set_id(1234);
  net.set_kind("egress");
  net.set_binary("/usr/local/bin/python3.11");
  net.set_attempted("tcp 203.0.113.200:5432");
  net.set_action("denied");
  *r.add_violations() = net;
  for (const auto& line : Lines(RenderViolations(r, kNow))) EXPECT_LE(line.size(), 100u) << line;
}

TEST(FormatTest, ViolationsWideShowsFullPaths) {
  v1::ListViolationsResponse r;
  *r.add_violations() = ExecViolation();
  auto lines = Lines(RenderViolations(r, kNow, /*wide=*/true));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(Cells(lines[0]),
              ElementsAre("ID", "WHEN", "FUNCTION", "CONTAINER", "PID", "UID", "KIND", "ATTEMPTED",
                          "BINARY", "PARENT", "ACTION", "ACCEPTED"));
  EXPECT_THAT(lines[1], HasSubstr(ExecViolation().parent()));
  EXPECT_THAT(Cells(lines[1])[5], "1000");
}

TEST(FormatTest, ViolationsByFallsBackToTheCommand) {
  v1::ListViolationsResponse r;
  v1::Violation v = ExecViolation();
  v.set_kind("syscall");
  v.set_attempted("ptrace");
  v.clear_binary();
  *r.add_violations() = v;
  EXPECT_EQ(Cells(Lines(RenderViolations(r, kNow))[1])[7], "sh");
}

TEST(FormatTest, NoViolationsAndDropped) {
  v1::ListViolationsResponse r;
  EXPECT_EQ(RenderViolations(r, kNow), "No violations.\n");
  r.set_dropped(3);
  EXPECT_THAT(RenderViolations(r, kNow), HasSubstr("No violations kept (3 were over"));
  *r.add_violations() = ExecViolation();
  EXPECT_THAT(RenderViolations(r, kNow), HasSubstr("3 more were over the per-function budget"));
}

TEST(FormatTest, ProfileShowsEveryKindOfItem) {
  v1::Profile p;
  *p.mutable_function() = Fn("default/hello");
  p.set_mode(v1::MODE_ENFORCE);
  p.set_syscall_action(v1::SYSCALL_ACTION_ALERT);
  v1::ContainerProfile* c = p.add_containers();
  c->set_name("main");
  for (int i = 0; i < 40; ++i) {
    v1::SyscallEntry* s = c->add_syscalls();
    s->set_name("syscall_number_" + std::to_string(i));
    s->set_arch("x86_64");
  }
  v1::ExecEntry* x = c->add_execs();
  x->set_path("/usr/bin/python3.11");
  x->set_kind(v1::PATH_KIND_DELETED);
  x->add_uids(1000);
  x->mutable_seen()->set_count(3);
  v1::NetEntry* e = c->add_egress();
  e->set_protocol(v1::PROTOCOL_TCP);
  e->set_address("2001:db8::1");
  e->set_port(443);
  v1::NetEntry* l = c->add_listen();
  l->set_protocol(v1::PROTOCOL_UDP);
  std::string o = RenderProfile(p);
  EXPECT_THAT(o, HasSubstr("Mode:      enforce (syscalls: alert, sensitive: kill)"));
  EXPECT_THAT(o, HasSubstr("Syscalls (x86_64, 40):"));
  EXPECT_THAT(o, HasSubstr("/usr/bin/python3.11 (deleted)  <- (kernel)  x3  uid 1000"));
  EXPECT_THAT(o, HasSubstr("tcp [2001:db8::1]:443"));
  EXPECT_THAT(o, HasSubstr("udp/*"));
  for (const auto& line : Lines(o)) EXPECT_LE(line.size(), 100u) << line;
}

TEST(FormatTest, FunctionDetailSaysWhetherItIsStable) {
  v1::FunctionSummary f;
  *f.mutable_function() = Fn("default/hello");
  f.set_mode(v1::MODE_LEARN);
  f.mutable_lifecycle()->set_stable(true);
  EXPECT_THAT(RenderFunction(f, kNow), HasSubstr("Stable:      yes"));
  f.set_mode(v1::MODE_ENFORCE);
  EXPECT_THAT(RenderFunction(f, kNow), HasSubstr("Stable:      - (not learning)"));
  f.set_violations(3);
  v1::Counter* c = f.add_violations_by_kind();
  c->set_name("exec");
  c->set_value(3);
  f.set_violations_recorded(1);
  f.set_violations_unrecorded(2);
  EXPECT_THAT(RenderFunction(f, kNow),
              HasSubstr("Violations:  3 (exec 3); 1 recorded (faasguardctl violations), 2 only "
                        "counted (over the budget of records)"));
}

TEST(FormatTest, StatusNamesTheMetricsAddressOrOff) {
  v1::GetStatusResponse s;
  s.set_version("1.2.3");
  s.set_node("n1");
  EXPECT_THAT(RenderStatus(s), HasSubstr("Agent:      faasguard 1.2.3 on n1"));
  EXPECT_THAT(RenderStatus(s), HasSubstr("Metrics:    off"));
  s.set_metrics_addr("127.0.0.1:9464");
  EXPECT_THAT(RenderStatus(s), HasSubstr("Metrics:    127.0.0.1:9464"));
}

TEST(FormatTest, Diff) {
  v1::DiffProfileResponse d;
  d.set_identical(true);
  EXPECT_EQ(RenderDiff(d, "default/hello", "f.json"),
            "identical: default/hello and f.json hold the same items\n");
  d.set_identical(false);
  v1::ContainerProfile* add = d.add_added();
  add->set_name("main");
  v1::SyscallEntry* s = add->add_syscalls();
  s->set_name("ptrace");
  s->set_arch("x86_64");
  v1::ContainerProfile* rm = d.add_removed();
  rm->set_name("main");
  rm->add_execs()->set_path("/bin/id");
  std::string o = RenderDiff(d, "default/hello", "f.json");
  EXPECT_THAT(o, HasSubstr("+ only in f.json\n- only in default/hello\n"));
  EXPECT_THAT(o, HasSubstr("Container main\n  + syscall ptrace (x86_64)\n  - exec    /bin/id"));
}

TEST(FormatTest, EventLines) {
  v1::AgentEvent e;
  e.set_kind(v1::EVENT_KIND_VIOLATION);
  *e.mutable_function() = Fn("default/hello");
  e.set_container("main");
  e.set_what("exec");
  *e.mutable_violation() = ExecViolation();
  e.set_dropped(2);
  std::string o = RenderEvent(e);
  EXPECT_THAT(o, HasSubstr("... 2 events lost"));
  EXPECT_THAT(o, HasSubstr("VIOLATION  default/hello/main  exec  /usr/bin/touch by /usr/bin/touch "
                           "pid 4242: killed (id 7)"));
}

TEST(FormatTest, ImportResult) {
  v1::PutProfileResponse r;
  r.set_created(true);
  r.set_items(12);
  r.set_mode(v1::MODE_LEARN);
  EXPECT_EQ(RenderImportResult(r, false), "created, 12 items, mode learn");
  r.set_created(false);
  r.set_previous_mode(v1::MODE_ENFORCE);
  r.set_mode(v1::MODE_ENFORCE);
  EXPECT_EQ(RenderImportResult(r, false), "replaced, 12 items, mode enforce");
  EXPECT_EQ(RenderImportResult(r, true), "merged, 12 items, mode enforce");
  r.set_mode(v1::MODE_LEARN);
  EXPECT_EQ(RenderImportResult(r, false), "replaced, 12 items, mode: enforce -> learn");
  r.set_dry_run(true);
  EXPECT_EQ(RenderImportResult(r, true), "would merge, 12 items, mode: enforce -> learn");
  // An agent that does not say what the mode was: only what it is.
  r.set_dry_run(false);
  r.clear_previous_mode();
  EXPECT_EQ(RenderImportResult(r, false), "replaced, 12 items, mode learn");
}

TEST(FormatTest, ImportPreviewIsTheDiffAndTheMode) {
  v1::PutProfileResponse r;
  r.set_dry_run(true);
  r.set_previous_mode(v1::MODE_ENFORCE);
  r.set_mode(v1::MODE_LEARN);
  r.mutable_diff()->set_identical(true);
  EXPECT_EQ(RenderImportPreview(r, "default/hello", "f.json"),
            "identical: default/hello and f.json hold the same items\nmode: enforce -> learn\n");
  r.set_mode(v1::MODE_ENFORCE);
  EXPECT_THAT(RenderImportPreview(r, "a", "b"), HasSubstr("mode: enforce (unchanged)\n"));
  r.set_created(true);
  r.clear_previous_mode();
  EXPECT_THAT(RenderImportPreview(r, "a", "b"), HasSubstr("mode: enforce (a new function)\n"));
}

TEST(FormatTest, Version) {
  EXPECT_EQ(RenderVersion("1.0.0", nullptr, "/run/x.sock", false), "Client: faasguardctl 1.0.0\n");
  v1::GetStatusResponse s;
  s.set_version("0.9.0");
  s.set_node("node-1");
  EXPECT_EQ(RenderVersion("1.0.0", &s, "/run/x.sock", false),
            "Client: faasguardctl 1.0.0\nAgent:  faasguard-agent 0.9.0 on node-1 (/run/x.sock)\n");
  std::string json = RenderVersion("1.0.0", &s, "/run/x.sock", true);
  EXPECT_THAT(json, HasSubstr("\"client\": {\n  \"version\": \"1.0.0\""));
  EXPECT_THAT(json, HasSubstr("\"node\": \"node-1\""));
  EXPECT_THAT(RenderVersion("1.0.0", nullptr, "", true), Not(HasSubstr("agent")));
}

}  // namespace
}  // namespace faasguard

namespace faasguard {
namespace {

// Files: path, kind and access on one line, in profile show and in profile diff.
TEST(FormatTest, FilesShowTheirPathKindAndAccess) {
  v1::Profile p;
  *p.mutable_function() = Fn("default/hello");
  v1::ContainerProfile* c = p.add_containers();
  c->set_name("main");
  v1::FileEntry* rule = c->add_files();
  rule->set_path("/usr/lib/python3.11/*");
  rule->add_access(v1::FILE_ACCESS_READ);
  rule->mutable_seen()->set_count(312);
  v1::FileEntry* tmp = c->add_files();
  tmp->set_path("/tmp/x");
  tmp->set_kind(v1::PATH_KIND_DELETED);
  tmp->add_access(v1::FILE_ACCESS_WRITE);
  tmp->add_access(v1::FILE_ACCESS_CREATE);
  tmp->set_hard_linked(true);
  std::string o = RenderProfile(p);
  EXPECT_THAT(o, HasSubstr("  Files (2):\n    /usr/lib/python3.11/*  read  x312\n"
                           "    /tmp/x (deleted) (hard-linked)  write,create  x0\n"));

  v1::DiffProfileResponse d;
  v1::ContainerProfile* add = d.add_added();
  add->set_name("main");
  *add->add_files() = *rule;
  EXPECT_THAT(RenderDiff(d, "default/hello", "f.json"),
              HasSubstr("  + file    /usr/lib/python3.11/*  read\n"));
}

}  // namespace
}  // namespace faasguard
