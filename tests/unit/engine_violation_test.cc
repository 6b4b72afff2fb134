// Violations in the engine (fixture: engine_fixture.h): the records of each kind, the
// counts, the log across restarts, and accepting a violation into the profile and the
// allow-list in force.
#include "unit/engine_fixture.h"

namespace faasguard::engine_test {
namespace {

// --- Violations --------------------------------------------------------------------------

TEST_F(EnforceTest, ViolationsOfEachKind) {
  uint32_t slot = Register();
  engine_->HandleEvent(SyscallViolation(slot, Ptrace(), FG_ACT_KILLED));
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget", FG_ACT_DENIED));
  engine_->HandleEvent(
      NetViolation(slot, FG_VIOL_CONNECT, FG_NET_CONNECT, kTcp, "10.0.0.1", 443, FG_ACT_ALERT));
  ViolationEvent bind =
      NetViolation(slot, FG_VIOL_BIND, FG_NET_BIND, kTcp, "", 8081, FG_ACT_REPORTED);
  bind.mode = FG_MODE_MONITOR;
  engine_->HandleEvent(bind);

  std::vector<v1::Violation> v = Violations();
  ASSERT_EQ(v.size(), 4u);
  for (size_t i = 0; i < v.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(v[i].id(), i + 1);
    EXPECT_EQ(v[i].function().namespace_(), "ns");
    EXPECT_EQ(v[i].function().name(), "fn");
    EXPECT_EQ(v[i].container(), "main");
    EXPECT_EQ(v[i].cgroup_id(), kCgroup);
    EXPECT_EQ(v[i].pid(), 4321u);
    EXPECT_EQ(v[i].uid(), 1000u);
    EXPECT_EQ(v[i].comm(), "python3");
    EXPECT_TRUE(v[i].has_time());
    EXPECT_FALSE(v[i].accepted());
  }

  EXPECT_EQ(v[0].kind(), "syscall");
  EXPECT_EQ(v[0].attempted(), "ptrace");
  EXPECT_EQ(v[0].action(), "killed");
  EXPECT_EQ(v[0].mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(v[0].binary(), "/usr/bin/python3");
  EXPECT_EQ(v[0].parent(), "/bin/sh");
  ASSERT_TRUE(v[0].has_syscall());
  EXPECT_EQ(v[0].syscall().name(), "ptrace");
  EXPECT_EQ(v[0].syscall().nr(), Ptrace());
  EXPECT_EQ(v[0].syscall().arch(), ArchName(SyscallArch::kNative));
#if defined(__x86_64__)
  EXPECT_EQ(Ptrace(), 101u);
#endif

  EXPECT_EQ(v[1].kind(), "exec");
  EXPECT_EQ(v[1].attempted(), "/usr/bin/wget");
  EXPECT_EQ(v[1].action(), "denied");
  EXPECT_EQ(v[1].binary(), "/usr/bin/wget");
  EXPECT_EQ(v[1].parent(), "/usr/bin/python3");
  ASSERT_TRUE(v[1].has_exec());
  EXPECT_EQ(v[1].exec().path(), "/usr/bin/wget");
  EXPECT_EQ(v[1].exec().kind(), v1::PATH_KIND_FILE);
  EXPECT_EQ(v[1].exec().parent(), "/usr/bin/python3");
  EXPECT_EQ(v[1].exec().script(), "");

  EXPECT_EQ(v[2].kind(), "egress");
  EXPECT_EQ(v[2].attempted(), "tcp 10.0.0.1:443");
  EXPECT_EQ(v[2].action(), "alert");
  ASSERT_TRUE(v[2].has_egress());
  EXPECT_EQ(v[2].egress().protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(v[2].egress().address(), "10.0.0.1");
  EXPECT_EQ(v[2].egress().port(), 443u);

  EXPECT_EQ(v[3].kind(), "listen");
  EXPECT_EQ(v[3].attempted(), "tcp port 8081");
  EXPECT_EQ(v[3].action(), "reported");
  EXPECT_EQ(v[3].mode(), v1::MODE_MONITOR);
  ASSERT_TRUE(v[3].has_listen());
  EXPECT_EQ(v[3].listen().protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(v[3].listen().address(), "");
  EXPECT_EQ(v[3].listen().port(), 8081u);

  EngineCounters k = engine_->counters();
  EXPECT_EQ(k.events_violation, 4u);
  EXPECT_EQ(k.events_orphan, 0u);
  EXPECT_EQ(k.new_items, 0u);  // a violation is not learned
  EXPECT_THAT(Section().execs(), IsEmpty());
  EXPECT_THAT(Section().egress(), IsEmpty());
}

TEST_F(EnforceTest, MoreViolationShapes) {
  uint32_t slot = Register();
  engine_->HandleEvent(
      NetViolation(slot, FG_VIOL_CONNECT, FG_NET_CONNECT, kTcp, "2001:db8::1", 443));
  engine_->HandleEvent(NetViolation(slot, FG_VIOL_SEND, FG_NET_SEND, kUdp, "8.8.8.8", 53));
  engine_->HandleEvent(
      NetViolation(slot, FG_VIOL_LISTEN, FG_NET_LISTEN, kTcp, "", 9090, FG_ACT_KILLED));
  ViolationEvent script = ExecViolation(slot, "/usr/bin/bash");
  script.exec_flags = FG_EXEC_F_SCRIPT;
  script.script = "./run.sh";
  engine_->HandleEvent(script);
  ViolationEvent no_script = ExecViolation(slot, "/usr/bin/ls");
  no_script.script = "ls";  // the name given to exec, but no interpreter involved
  engine_->HandleEvent(no_script);
  ViolationEvent memfd = ExecViolation(slot, "");
  memfd.bin = Path("/memfd:payload", FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED);
  engine_->HandleEvent(memfd);
#if defined(__x86_64__)
  ViolationEvent compat = SyscallViolation(slot, 26);  // i386 ptrace
  compat.arch = FG_ARCH_COMPAT;
  engine_->HandleEvent(compat);
#endif

  std::vector<v1::Violation> v = Violations();
  ASSERT_GE(v.size(), 6u);
  EXPECT_EQ(v[0].kind(), "egress");
  EXPECT_EQ(v[0].attempted(), "tcp [2001:db8::1]:443");
  EXPECT_EQ(v[0].egress().address(), "2001:db8::1");
  EXPECT_EQ(v[1].kind(), "egress");
  EXPECT_EQ(v[1].attempted(), "udp 8.8.8.8:53");
  EXPECT_EQ(v[1].egress().protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(v[2].kind(), "listen");
  EXPECT_EQ(v[2].attempted(), "tcp port 9090");
  EXPECT_EQ(v[2].action(), "killed");
  EXPECT_EQ(v[3].attempted(), "/usr/bin/bash (script ./run.sh)");
  EXPECT_EQ(v[3].exec().script(), "./run.sh");
  EXPECT_EQ(v[4].attempted(), "/usr/bin/ls");
  EXPECT_EQ(v[4].exec().script(), "");
  EXPECT_EQ(v[5].binary(), "memfd:payload");
  EXPECT_EQ(v[5].exec().path(), "memfd:payload");
  EXPECT_EQ(v[5].exec().kind(), v1::PATH_KIND_ANONYMOUS);
#if defined(__x86_64__)
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(v[6].attempted(), "ptrace (i386)");
  EXPECT_EQ(v[6].syscall().arch(), "i386");
  EXPECT_EQ(v[6].syscall().nr(), 26u);
#endif
}

TEST_F(EnforceTest, ViolationsFilteredByFunctionAndLimited) {
  uint32_t fn = Register(1);
  uint32_t other = Register(2, "main", "other");
  engine_->HandleEvent(SyscallViolation(fn, Ptrace()));        // 1
  engine_->HandleEvent(SyscallViolation(other, Ptrace()));     // 2
  engine_->HandleEvent(ExecViolation(fn, "/usr/bin/wget"));    // 3
  engine_->HandleEvent(ExecViolation(other, "/usr/bin/nc"));   // 4
  engine_->HandleEvent(ExecViolation(fn, "/usr/bin/telnet"));  // 5

  auto ids = [](const std::vector<v1::Violation>& v) {
    std::vector<uint64_t> out;
    for (const auto& x : v) out.push_back(x.id());
    return out;
  };
  EXPECT_THAT(ids(Violations()), ElementsAre(1, 2, 3, 4, 5));
  v1::FunctionId f = Fn("fn");
  v1::FunctionId o = Fn("other");
  EXPECT_THAT(ids(Violations(100, &f)), ElementsAre(1, 3, 5));
  EXPECT_THAT(ids(Violations(100, &o)), ElementsAre(2, 4));
  // The newest N, oldest first.
  EXPECT_THAT(ids(Violations(2)), ElementsAre(4, 5));
  EXPECT_THAT(ids(Violations(2, &f)), ElementsAre(3, 5));
  EXPECT_THAT(ids(Violations(1, &o)), ElementsAre(4));
  EXPECT_THAT(ids(Violations(0)), IsEmpty());
  v1::FunctionId none = Fn("none");
  EXPECT_THAT(ids(Violations(100, &none)), IsEmpty());
  for (const auto& x : Violations(100, &o)) EXPECT_EQ(x.function().name(), "other");
}

TEST_F(EnforceTest, ViolationsForAnUnownedSlotAreOrphans) {
  uint32_t slot = Register();
  engine_->HandleEvent(SyscallViolation(slot + 1, Ptrace()));
  engine_->HandleEvent(ExecViolation(1u << 30, "/usr/bin/wget"));
  EngineCounters k = engine_->counters();
  EXPECT_EQ(k.events_orphan, 2u);
  EXPECT_EQ(k.events_violation, 2u);
  EXPECT_THAT(Violations(), IsEmpty());
  // Ids are not spent on orphans.
  engine_->HandleEvent(SyscallViolation(slot, Ptrace()));
  ASSERT_EQ(Violations().size(), 1u);
  EXPECT_EQ(Violations()[0].id(), 1u);
}

TEST_F(EnforceTest, OnlyTheNewestViolationsAreKept) {
  Engine::Options o = Options();
  o.max_violations = 3;
  Start(o);
  uint32_t slot = Register();
  for (int i = 0; i < 5; ++i) engine_->HandleEvent(SyscallViolation(slot, Ptrace()));
  std::vector<v1::Violation> v = Violations();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].id(), 3u);
  EXPECT_EQ(v[2].id(), 5u);
  auto r = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EnforceTest, DroppedRecordsComeFromTheKernelCounters) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  kernel_.State(a).viol_suppressed = 7;
  kernel_.State(b).viol_suppressed = 2;
  uint32_t other = Register(3, "main", "other");
  kernel_.State(other).viol_suppressed = 5;
  EXPECT_EQ(engine_->ListViolations(nullptr, 100).dropped(), 14u);
  // Asked for one function: its own.
  v1::FunctionId fn = Fn("fn");
  EXPECT_EQ(engine_->ListViolations(&fn, 100).dropped(), 9u);
}

TEST_F(EnforceTest, ListFunctionsCountsViolationsByKind) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  Register(3, "main", "other");
  fg_fn_state& sa = kernel_.State(a);
  sa.viol[FG_VIOL_SYSCALL] = 2;
  sa.viol[FG_VIOL_EXEC] = 1;
  sa.viol[FG_VIOL_CONNECT] = 3;
  sa.viol[FG_VIOL_BIND] = 1;
  fg_fn_state& sb = kernel_.State(b);
  sb.viol[FG_VIOL_SEND] = 4;
  sb.viol[FG_VIOL_LISTEN] = 5;
  sb.viol[FG_VIOL_EXEC] = 10;
  sb.viol[FG_VIOL_FILE] = 3;

  std::vector<v1::FunctionSummary> fns = engine_->ListFunctions();
  ASSERT_EQ(fns.size(), 2u);
  const v1::FunctionSummary& s = fns[0].function().name() == "fn" ? fns[0] : fns[1];
  const v1::FunctionSummary& o = fns[0].function().name() == "fn" ? fns[1] : fns[0];
  std::map<std::string, uint64_t> by_kind;
  for (const auto& c : s.violations_by_kind()) by_kind[c.name()] = c.value();
  EXPECT_EQ(by_kind, (std::map<std::string, uint64_t>{
                         {"egress", 7}, {"exec", 11}, {"file", 3}, {"listen", 6}, {"syscall", 2}}));
  EXPECT_EQ(s.violations(), 29u);
  EXPECT_EQ(o.violations(), 0u);

  // The kernel keeps running totals: a later sync replaces, never adds.
  sa.viol[FG_VIOL_SYSCALL] = 3;
  engine_->SyncFromKernel();
  fns = engine_->ListFunctions();
  const v1::FunctionSummary& s2 = fns[0].function().name() == "fn" ? fns[0] : fns[1];
  EXPECT_EQ(s2.violations(), 30u);
}

// Issue 17: "functions" counted 9 violations while "violations" listed 1. The summary says
// both, and why they can differ: what the kernel counted, what is recorded and listed, and what
// the kernel counted without sending a record.
TEST_F(EnforceTest, CountedRecordedAndUnrecordedViolationsAreEachReported) {
  uint32_t slot = Register();
  Register(2, "main", "other");
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/nc"));
  fg_fn_state& st = kernel_.State(slot);
  st.viol[FG_VIOL_EXEC] = 9;  // 7 over the budget: counted, never sent
  st.viol_suppressed = 7;
  auto fn = engine_->GetFunction(Fn("fn"));
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->violations(), 9u);
  EXPECT_EQ(fn->violations_recorded(), 2u);
  EXPECT_EQ(fn->violations_unrecorded(), 7u);
  auto other = engine_->GetFunction(Fn("other"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->violations_recorded(), 0u);
  v1::FunctionId id = Fn("fn");
  v1::ListViolationsResponse r = engine_->ListViolations(&id, 1);
  EXPECT_EQ(r.violations_size(), 1);
  EXPECT_EQ(r.total(), 2u) << "how many there are beyond the page";
  EXPECT_EQ(r.dropped(), 7u);
}

// Issue 17: violations vanished with an agent restart and ids started again at 1, so an id a
// user had read could accept another violation.
TEST_F(EnforceTest, ViolationsAndTheirIdsSurviveARestart) {
  Engine::Options o = Options();
  o.violation_log_path = dir_.path() + "/violations.log";
  Start(o);
  uint32_t slot = Register();
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));  // 1
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/nc"));    // 2
  ASSERT_TRUE(engine_->AcceptViolation(Fn("fn"), 1).ok());
  engine_->SaveDirty();

  kernel_ = FakeKernelMaps();  // a restart without pinned maps: the kernel starts empty
  Start(o);
  std::vector<v1::Violation> v = Violations();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].id(), 1u);
  EXPECT_EQ(v[0].attempted(), "/usr/bin/wget");
  EXPECT_TRUE(v[0].accepted());
  EXPECT_EQ(v[1].id(), 2u);
  EXPECT_FALSE(v[1].accepted());
  auto fn = engine_->GetFunction(Fn("fn"));
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->violations_recorded(), 2u);
  EXPECT_EQ(fn->violations(), 0u) << "the new kernel counted none yet";

  // A new violation gets a new id; accepting the old one by its id takes what it named.
  slot = Register();
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/telnet"));
  v = Violations();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[2].id(), 3u);
  auto accepted = engine_->AcceptViolation(Fn("fn"), 2);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->violation().attempted(), "/usr/bin/nc");
  EXPECT_TRUE(accepted->added());
}

// --- AcceptViolation ---------------------------------------------------------------------

TEST_F(EnforceTest, AcceptInLearnModeOnlyChangesTheProfile) {
  uint32_t slot = Register();
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));
  const size_t writes = kernel_.policy_writes;
  auto r = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->added());
  EXPECT_TRUE(r->violation().accepted());
  EXPECT_EQ(r->violation().id(), 1u);
  EXPECT_EQ(kernel_.policy_writes, writes);
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).path(), "/usr/bin/wget");
  EXPECT_EQ(c.execs(0).parent(), "/usr/bin/python3");
  ASSERT_EQ(Violations().size(), 1u);
  EXPECT_TRUE(Violations()[0].accepted());
}

TEST_F(EnforceTest, AcceptInEnforceModeRewritesTheAllowList) {
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  ASSERT_EQ(kernel_.fn_cfg[slot].gen, 1);
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));  // 1
  engine_->HandleEvent(
      NetViolation(slot, FG_VIOL_CONNECT, FG_NET_CONNECT, kTcp, "10.9.9.9", 8443));     // 2
  engine_->HandleEvent(NetViolation(slot, FG_VIOL_BIND, FG_NET_BIND, kUdp, "", 5353));  // 3
  engine_->HandleEvent(SyscallViolation(slot, Ptrace()));                               // 4

  size_t writes = kernel_.policy_writes;
  auto r = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->added());
  EXPECT_EQ(kernel_.policy_writes, writes + 1);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 0);
  ASSERT_NE(Policy(slot, 0), nullptr);
  EXPECT_EQ(Policy(slot, 1), nullptr);
  EXPECT_TRUE(HasExecRule(*Policy(slot, 0), "/usr/bin/wget", "/usr/bin/python3"));
  EXPECT_TRUE(HasExecRule(*Policy(slot, 0), "/usr/bin/curl", "/bin/sh"));  // still there

  writes = kernel_.policy_writes;
  ASSERT_TRUE(engine_->AcceptViolation(Fn("fn"), 2).ok());
  EXPECT_EQ(kernel_.policy_writes, writes + 1);
  ASSERT_NE(Policy(slot, 1), nullptr);
  EXPECT_TRUE(HasEgressRule(*Policy(slot, 1), kTcp, "10.9.9.9", 8443));
  EXPECT_TRUE(HasEgressRule(*Policy(slot, 1), kTcp, "10.0.0.1", 443));

  ASSERT_TRUE(engine_->AcceptViolation(Fn("fn"), 3).ok());
  ASSERT_NE(Policy(slot, 0), nullptr);
  EXPECT_EQ(ListenRules(*Policy(slot, 0), kUdp, 5353), 2u);  // both families

  ASSERT_TRUE(engine_->AcceptViolation(Fn("fn"), 4).ok());
  ASSERT_NE(Policy(slot, 1), nullptr);
  EXPECT_TRUE(SysAllowed(*Policy(slot, 1), Ptrace()));
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 1);

  v1::ContainerProfile c = Section();
  EXPECT_EQ(c.execs_size(), 2);
  EXPECT_EQ(c.egress_size(), 2);
  ASSERT_EQ(c.listen_size(), 1);
  EXPECT_EQ(c.listen(0).port(), 5353u);
  bool has_ptrace = false;
  for (const auto& s : c.syscalls()) has_ptrace |= s.name() == "ptrace";
  EXPECT_TRUE(has_ptrace);
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
}

TEST_F(EnforceTest, AcceptingTwiceAddsNothing) {
  uint32_t slot = Register();
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));  // the same exec again
  ASSERT_TRUE(engine_->AcceptViolation(Fn("fn"), 1).ok());
  const size_t writes = kernel_.policy_writes;
  const uint8_t gen = kernel_.fn_cfg[slot].gen;

  auto again = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->added());
  auto same = engine_->AcceptViolation(Fn("fn"), 2);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(same->added());
  EXPECT_TRUE(same->violation().accepted());
  EXPECT_EQ(kernel_.policy_writes, writes);  // nothing new: the allow-list stays
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, gen);
  EXPECT_EQ(Section().execs_size(), 1);
}

// Bad names never reach the engine: ServiceTest.AcceptRejectsBadRequests.
TEST_F(EnforceTest, AcceptRejectsBadRequests) {
  uint32_t fn = Register(1);
  uint32_t other = Register(2, "main", "other");
  engine_->HandleEvent(ExecViolation(fn, "/usr/bin/wget"));     // 1
  engine_->HandleEvent(ExecViolation(other, "/usr/bin/wget"));  // 2

  auto r = engine_->AcceptViolation(Fn("fn"), 99);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("99"));

  r = engine_->AcceptViolation(Fn("fn"), 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("ns/other"));

  EXPECT_THAT(Section().execs(), IsEmpty());
  for (const auto& v : Violations()) EXPECT_FALSE(v.accepted()) << v.id();
}

TEST_F(EnforceTest, ViolationWithoutAProfileItemCannotBeAccepted) {
  uint32_t slot = Register();
  engine_->HandleEvent(SyscallViolation(slot, FG_SYS_MAX + 10));  // outside the table
  ASSERT_EQ(Violations().size(), 1u);
  EXPECT_FALSE(Violations()[0].has_syscall());
  auto r = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EnforceTest, FailedRewriteRestoresTheProfile) {
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  engine_->HandleEvent(ExecViolation(slot, "/usr/bin/wget"));
  const fg_fn_cfg cfg = kernel_.fn_cfg[slot];

  kernel_.write_error = absl::UnavailableError("injected write failure");
  auto r = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).path(), "/usr/bin/curl");  // wget is not in the profile
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[slot], cfg));
  ASSERT_NE(Policy(slot, 1), nullptr);
  EXPECT_FALSE(HasExecRule(*Policy(slot, 1), "/usr/bin/wget", "/usr/bin/python3"));
  EXPECT_EQ(Policy(slot, 0), nullptr);
  ASSERT_EQ(Violations().size(), 1u);
  EXPECT_FALSE(Violations()[0].accepted());

  // Accepting again once the kernel takes writes works, and adds it.
  kernel_.write_error = absl::OkStatus();
  auto ok = engine_->AcceptViolation(Fn("fn"), 1);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->added());
  ASSERT_NE(Policy(slot, 0), nullptr);
  EXPECT_TRUE(HasExecRule(*Policy(slot, 0), "/usr/bin/wget", "/usr/bin/python3"));
}

}  // namespace
}  // namespace faasguard::engine_test
