// Monitor and enforce mode in the engine (fixture: engine_fixture.h): mode switches (two
// generations, all or nothing), allow-lists written before a new container is tracked, learned
// paths that look like rules.
#include "unit/engine_fixture.h"

namespace faasguard::engine_test {
namespace {

// --- SetMode -----------------------------------------------------------------------------

TEST_F(EnforceTest, EnforceWritesTheInactiveGenerationThenFlips) {
  uint32_t slot = Register();
  Learn(slot);
  kernel_.policies[{slot, 0}] = AllowList{};  // stale: must be gone after the switch
  kernel_.ops.clear();
  const size_t writes = kernel_.policy_writes;

  auto r = SetMode(v1::MODE_ENFORCE);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->previous(), v1::MODE_LEARN);
  EXPECT_EQ(r->mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(r->rules(), 3u);  // 1 exec + 1 egress + the syscall bitmap

  // Generation 1 holds the allow-list; generation 0 is gone.
  EXPECT_EQ(Policy(slot, 0), nullptr);
  const AllowList* a = Policy(slot, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(HasExecRule(*a, "/usr/bin/curl", "/bin/sh"));
  EXPECT_TRUE(HasEgressRule(*a, kTcp, "10.0.0.1", 443));
  EXPECT_TRUE(SysAllowed(*a, SyscallNumber(SyscallArch::kNative, "openat").value_or(0)));
  EXPECT_TRUE(SysAllowed(*a, SyscallNumber(SyscallArch::kNative, "exit_group").value_or(0)));
  EXPECT_FALSE(SysAllowed(*a, Ptrace()));
  EXPECT_EQ(kernel_.policy_writes, writes + 1);

  ASSERT_EQ(kernel_.fn_cfg.count(slot), 1u);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 1);
  // The defaults: a harmless syscall is only reported where sys_enter acts (it ran already),
  // the sensitive class (ptrace) is in the kill set; a learned one never is.
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_ALERT);
  EXPECT_TRUE(a->sys.kill[Ptrace() / 64] & (1ull << (Ptrace() % 64)));
  const uint32_t openat = SyscallNumber(SyscallArch::kNative, "openat").value_or(0);
  EXPECT_FALSE(a->sys.kill[openat / 64] & (1ull << (openat % 64)));
  EXPECT_EQ(kernel_.fn_cfg[slot].flags, 0);

  // Written, then flipped, then the old generation dropped.
  size_t write = OpIndex(kernel_.ops, absl::StrCat("write ", slot, " 1"));
  size_t flip = OpIndex(kernel_.ops, Cfg(slot, FG_MODE_ENFORCE, 1));
  size_t drop = OpIndex(kernel_.ops, absl::StrCat("clear ", slot, " 0"));
  ASSERT_NE(write, std::string::npos) << testing::PrintToString(kernel_.ops);
  ASSERT_NE(flip, std::string::npos) << testing::PrintToString(kernel_.ops);
  ASSERT_NE(drop, std::string::npos) << testing::PrintToString(kernel_.ops);
  EXPECT_LT(write, flip);
  EXPECT_LT(flip, drop);

  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(Profile().syscall_action(), v1::SYSCALL_ACTION_DEFAULT);
  EXPECT_EQ(engine_->counters().policy_writes, 1u);
  EXPECT_EQ(engine_->counters().policy_errors, 0u);
}

TEST_F(EnforceTest, EachSwitchAlternatesTheGeneration) {
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 1);

  auto r = SetMode(v1::MODE_MONITOR);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->previous(), v1::MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_MONITOR);
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 0);
  ASSERT_NE(Policy(slot, 0), nullptr);
  EXPECT_TRUE(HasExecRule(*Policy(slot, 0), "/usr/bin/curl", "/bin/sh"));
  EXPECT_EQ(Policy(slot, 1), nullptr);

  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 1);
  EXPECT_NE(Policy(slot, 1), nullptr);
  EXPECT_EQ(Policy(slot, 0), nullptr);

  // The same mode again still rewrites (the profile may have grown) and flips.
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 0);
  EXPECT_NE(Policy(slot, 0), nullptr);
  EXPECT_EQ(Policy(slot, 1), nullptr);
  EXPECT_EQ(engine_->counters().policy_writes, 4u);  // enforce, monitor, enforce, enforce
}

TEST_F(EnforceTest, BackToLearnClearsThePolicy) {
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  auto r = SetMode(v1::MODE_LEARN);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->previous(), v1::MODE_ENFORCE);
  EXPECT_EQ(r->mode(), v1::MODE_LEARN);
  EXPECT_EQ(r->rules(), 0u);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_LEARN);
  EXPECT_EQ(kernel_.fn_cfg[slot].flags, 0);
  EXPECT_EQ(Policy(slot, 0), nullptr);
  EXPECT_EQ(Policy(slot, 1), nullptr);
  EXPECT_EQ(Profile().mode(), v1::MODE_LEARN);
  // What was learned stays.
  EXPECT_EQ(Section().execs_size(), 1);
}

TEST_F(EnforceTest, EveryContainerOfTheFunctionSwitches) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  uint32_t a2 = Register(3, "main");  // a replica: same slot
  ASSERT_NE(a, b);
  ASSERT_EQ(a, a2);
  engine_->HandleEvent(MakeExec(a, "/usr/bin/curl", "/bin/sh"));
  engine_->HandleEvent(MakeExec(b, "/usr/bin/envoy", "/bin/sh"));
  uint32_t other = Register(4, "main", "other");

  auto r = SetMode(v1::MODE_MONITOR);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rules(), 4u);  // (1 exec + bitmap) per container
  for (uint32_t slot : {a, b}) {
    EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_MONITOR) << slot;
    EXPECT_EQ(kernel_.fn_cfg[slot].gen, 1) << slot;
    ASSERT_NE(Policy(slot, 1), nullptr) << slot;
    EXPECT_EQ(Policy(slot, 1)->exec.size(), 1u) << slot;
  }
  // Each container gets its own section's rules.
  EXPECT_TRUE(HasExecRule(*Policy(a, 1), "/usr/bin/curl", "/bin/sh"));
  EXPECT_TRUE(HasExecRule(*Policy(b, 1), "/usr/bin/envoy", "/bin/sh"));
  // Another function is untouched.
  EXPECT_EQ(kernel_.fn_cfg[other].mode, FG_MODE_LEARN);
  EXPECT_EQ(Policy(other, 0), nullptr);
  EXPECT_EQ(Policy(other, 1), nullptr);
}

// Bad names and values never reach the engine: ServiceTest.SetModeRejectsBadRequests.
TEST_F(EnforceTest, SetModeOfAnUnknownFunctionIsNotFound) {
  Register();
  auto r = SetMode(v1::MODE_ENFORCE, std::nullopt, "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("ns/nope"));
  EXPECT_EQ(Profile().mode(), v1::MODE_LEARN);
  EXPECT_THAT(kernel_.policies, IsEmpty());
}

TEST_F(EnforceTest, SyscallActionAlert) {
  uint32_t slot = Register();
  auto r = SetMode(v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_ALERT);
  EXPECT_EQ(Profile().syscall_action(), v1::SYSCALL_ACTION_ALERT);

  // Kept when a later switch does not name one.
  ASSERT_TRUE(SetMode(v1::MODE_MONITOR).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_ALERT);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_ALERT);
  EXPECT_EQ(Profile().syscall_action(), v1::SYSCALL_ACTION_ALERT);

  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE, v1::SYSCALL_ACTION_KILL).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_KILL);
  EXPECT_EQ(Profile().syscall_action(), v1::SYSCALL_ACTION_KILL);

  std::vector<v1::FunctionSummary> fns = engine_->ListFunctions();
  ASSERT_EQ(fns.size(), 1u);
  EXPECT_EQ(fns[0].mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(fns[0].syscall_action(), v1::SYSCALL_ACTION_KILL);
}

TEST_F(EnforceTest, PrefixRulesSetTheConfigFlag) {
  v1::Profile p = NewProfile(Fn("fn"), absl::Now());
  v1::ContainerProfile& c = ContainerSection(p, "main");
  v1::ExecEntry* x = c.add_execs();
  x->set_path("/usr/lib/python3/*");
  x->set_parent("*");
  StoreProfile(p);
  Start(Options());
  uint32_t slot = Register();
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].flags & FG_CFG_F_EXEC_PREFIX, FG_CFG_F_EXEC_PREFIX);
  ASSERT_NE(Policy(slot, 1), nullptr);
  ASSERT_EQ(Policy(slot, 1)->exec.size(), 1u);
  EXPECT_EQ(Policy(slot, 1)->exec[0].kind, FG_EXEC_RULE_PREFIX | FG_EXEC_RULE_ANY_PARENT);
  ASSERT_TRUE(SetMode(v1::MODE_LEARN).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].flags, 0);
}

// Two containers, so the failure can come after one slot was already written.
TEST_F(EnforceTest, FailedPolicyWriteChangesNothing) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  Learn(a);
  const fg_fn_cfg cfg_a = kernel_.fn_cfg[a], cfg_b = kernel_.fn_cfg[b];

  for (size_t ok_writes : {0u, 1u}) {
    SCOPED_TRACE(ok_writes);
    kernel_.write_error = absl::UnavailableError("injected write failure");
    kernel_.write_error_after = ok_writes;
    auto r = SetMode(v1::MODE_ENFORCE);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("injected"));
    EXPECT_EQ(Profile().mode(), v1::MODE_LEARN);
    EXPECT_TRUE(SameCfg(kernel_.fn_cfg[a], cfg_a));
    EXPECT_TRUE(SameCfg(kernel_.fn_cfg[b], cfg_b));
    EXPECT_THAT(kernel_.policies, IsEmpty());  // no generation of either slot left behind
  }
  EXPECT_EQ(engine_->counters().policy_errors, 2u);
  EXPECT_EQ(engine_->counters().policy_writes, 0u);

  // Once the kernel takes writes again the switch works.
  kernel_.write_error = absl::OkStatus();
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[a].mode, FG_MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[b].mode, FG_MODE_ENFORCE);
}

TEST_F(EnforceTest, FailedPolicyWriteKeepsTheAllowListInForce) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  Learn(a);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  const fg_fn_cfg cfg_a = kernel_.fn_cfg[a], cfg_b = kernel_.fn_cfg[b];
  const AllowList in_force_a = *Policy(a, 1);

  kernel_.write_error = absl::UnavailableError("injected write failure");
  kernel_.write_error_after = 1;  // the first slot's write works, the second fails
  auto r = SetMode(v1::MODE_MONITOR);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[a], cfg_a));
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[b], cfg_b));
  // The generation in force is intact, the inactive one empty, for both slots.
  ASSERT_NE(Policy(a, 1), nullptr);
  ASSERT_NE(Policy(b, 1), nullptr);
  EXPECT_EQ(Policy(a, 1)->exec.size(), in_force_a.exec.size());
  EXPECT_EQ(Policy(a, 1)->net.size(), in_force_a.net.size());
  EXPECT_EQ(Policy(a, 0), nullptr);
  EXPECT_EQ(Policy(b, 0), nullptr);
}

TEST_F(EnforceTest, FailedFlipPutsBackTheSlotsAlreadyFlipped) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  Learn(a);
  const fg_fn_cfg cfg_a = kernel_.fn_cfg[a], cfg_b = kernel_.fn_cfg[b];

  kernel_.cfg_error = absl::InternalError("injected config failure");
  kernel_.cfg_error_after = 1;  // the first slot flips, the second does not
  auto r = engine_->SetMode(Fn("fn"), v1::MODE_ENFORCE, std::nullopt, v1::AGENT_ABSENCE_FAIL_OPEN);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Profile().mode(), v1::MODE_LEARN);
  EXPECT_EQ(Profile().when_agent_absent(), v1::AGENT_ABSENCE_FAIL_CLOSED);
  // Put back as they were: fail closed too, not the requested fail open.
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[a], cfg_a));
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[b], cfg_b));
  EXPECT_THAT(kernel_.policies, IsEmpty());
  EXPECT_EQ(engine_->counters().policy_errors, 1u);

  // The generations are still right: the next switch writes 1 and flips to it.
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_EQ(kernel_.fn_cfg[a].gen, 1);
  EXPECT_EQ(kernel_.fn_cfg[b].gen, 1);
  EXPECT_NE(Policy(a, 1), nullptr);
  EXPECT_NE(Policy(b, 1), nullptr);
}

TEST_F(EnforceTest, FailedSwitchToLearnChangesNothing) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  Learn(a);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  const fg_fn_cfg cfg_a = kernel_.fn_cfg[a], cfg_b = kernel_.fn_cfg[b];

  kernel_.cfg_error = absl::InternalError("injected config failure");
  kernel_.cfg_error_after = 1;  // the first slot's config write works, the second fails
  auto r = SetMode(v1::MODE_LEARN);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  // The refused switch must not leave one container enforced and the other not.
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[a], cfg_a))
      << "slot " << a << " mode " << int{kernel_.fn_cfg[a].mode};
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[b], cfg_b));
  EXPECT_NE(Policy(a, 1), nullptr);
  EXPECT_NE(Policy(b, 1), nullptr);
}

TEST_F(EnforceTest, AProfileThatDoesNotCompileIsRefused) {
  Engine::Options o = Options();
  o.limits.max_net_rules = 1;
  Start(o);
  uint32_t slot = Register();
  // Learned by the kernel (SetMode syncs before it compiles).
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 443), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.2", 443), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_SEND, kUdp, "10.0.0.3", 53), 1);
  const fg_fn_cfg before = kernel_.fn_cfg[slot];

  auto r = SetMode(v1::MODE_ENFORCE);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("do not fit"));
  EXPECT_EQ(Profile().mode(), v1::MODE_LEARN);
  EXPECT_EQ(Section().egress_size(), 3);  // the sync happened; only the switch was refused
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[slot], before));
  EXPECT_EQ(kernel_.policy_writes, 0u);
  EXPECT_THAT(kernel_.policies, IsEmpty());
  EXPECT_EQ(engine_->counters().policy_errors, 1u);
}

// --- Registration of a function in monitor / enforce mode --------------------------------

TEST_F(EnforceTest, NewContainerIsCoveredBeforeItIsTracked) {
  uint32_t a = Register(1, "main");
  Learn(a);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  kernel_.ops.clear();

  auto r = engine_->RegisterCgroup(Fn("fn"), "sidecar", 2, "/sys/fs/cgroup/test/2");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode(), v1::MODE_ENFORCE);
  ASSERT_EQ(kernel_.tracked.count(2), 1u);
  uint32_t b = kernel_.tracked[2];
  ASSERT_NE(a, b);

  size_t reset = OpIndex(kernel_.ops, absl::StrCat("reset ", b));
  size_t write = OpIndex(kernel_.ops, absl::StrCat("write ", b, " 0"));
  size_t cfg = OpIndex(kernel_.ops, Cfg(b, FG_MODE_ENFORCE, 0));
  size_t track = OpIndex(kernel_.ops, absl::StrCat("track 2 ", b));
  const std::string log = testing::PrintToString(kernel_.ops);
  ASSERT_NE(reset, std::string::npos) << log;
  ASSERT_NE(write, std::string::npos) << log;
  ASSERT_NE(cfg, std::string::npos) << log;
  ASSERT_NE(track, std::string::npos) << log;
  EXPECT_LT(reset, write) << log;
  EXPECT_LT(write, cfg) << log;
  EXPECT_LT(cfg, track) << log;

  ASSERT_NE(Policy(b, 0), nullptr);
  EXPECT_EQ(Policy(b, 1), nullptr);
  EXPECT_TRUE(Policy(b, 0)->exec.empty());  // the sidecar learned nothing: only the basics
  EXPECT_TRUE(SysAllowed(*Policy(b, 0), SyscallNumber(SyscallArch::kNative, "exit").value_or(0)));
  EXPECT_EQ(kernel_.fn_cfg[b].mode, FG_MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[b].gen, 0);
  // The first container kept its generation.
  EXPECT_EQ(kernel_.fn_cfg[a].gen, 1);
  EXPECT_NE(Policy(a, 1), nullptr);

  // A later switch flips the new slot from 0 to 1 and the old one from 1 to 0.
  ASSERT_TRUE(SetMode(v1::MODE_MONITOR).ok());
  EXPECT_EQ(kernel_.fn_cfg[a].gen, 0);
  EXPECT_EQ(kernel_.fn_cfg[b].gen, 1);
  EXPECT_NE(Policy(a, 0), nullptr);
  EXPECT_NE(Policy(b, 1), nullptr);
  EXPECT_EQ(Policy(a, 1), nullptr);
  EXPECT_EQ(Policy(b, 0), nullptr);
}

TEST_F(EnforceTest, ThePodWideSectionAllowsWhatAnyContainerDoes) {
  uint32_t main_slot = Register(1, "main");
  uint32_t side_slot = Register(2, "sidecar");
  engine_->HandleEvent(MakeExec(main_slot, "/usr/bin/curl", "/bin/sh"));
  engine_->HandleEvent(MakeExec(side_slot, "/usr/bin/envoy", "/bin/sh"));
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  // A pod's own cgroup (its containers' cgroups inherit its slot until they are named).
  RegisterOptions pod;
  pod.pod_level = true;
  ASSERT_TRUE(engine_->RegisterCgroup(Fn("fn"), "", 3, "/kubepods/pod1", pod).ok());
  uint32_t pod_slot = kernel_.tracked[3];
  const AllowList* a = Policy(pod_slot, 0);
  ASSERT_NE(a, nullptr) << "covered before it is tracked";
  EXPECT_TRUE(HasExecRule(*a, "/usr/bin/curl", "/bin/sh"));
  EXPECT_TRUE(HasExecRule(*a, "/usr/bin/envoy", "/bin/sh"));
  EXPECT_EQ(kernel_.fn_cfg[pod_slot].mode, FG_MODE_ENFORCE);
  // Each container keeps its own.
  EXPECT_FALSE(HasExecRule(*Policy(main_slot, 1), "/usr/bin/envoy", "/bin/sh"));
}

TEST_F(EnforceTest, NewReplicaSharesTheSlotAndItsAllowList) {
  uint32_t slot = Register(1);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  const size_t writes = kernel_.policy_writes;
  EXPECT_EQ(Register(2), slot);
  EXPECT_EQ(kernel_.policy_writes, writes);
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 1);
  EXPECT_NE(Policy(slot, 1), nullptr);
}

TEST_F(EnforceTest, FailedPolicyWriteLeavesTheNewContainerUntracked) {
  Register(1, "main");
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  kernel_.ops.clear();
  kernel_.write_error = absl::ResourceExhaustedError("fg_exec_allow is full");
  auto r = engine_->RegisterCgroup(Fn("fn"), "sidecar", 2, "/sys/fs/cgroup/test/2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(kernel_.tracked.count(2), 0u);
  for (const std::string& op : kernel_.ops) EXPECT_THAT(op, Not(HasSubstr("track 2")));
  EXPECT_EQ(engine_->tracked_cgroups(), 1u);
  EXPECT_EQ(engine_->CgroupIdForPath("/sys/fs/cgroup/test/2"), std::nullopt);

  kernel_.write_error = absl::OkStatus();
  uint32_t b = Register(2, "sidecar");
  EXPECT_EQ(kernel_.fn_cfg[b].mode, FG_MODE_ENFORCE);
  EXPECT_NE(Policy(b, 0), nullptr);
}

TEST_F(EnforceTest, StoredEnforceProfileIsInForceFromTheFirstCgroup) {
  v1::Profile p = NewProfile(Fn("fn"), absl::Now());
  p.set_mode(v1::MODE_ENFORCE);
  p.set_syscall_action(v1::SYSCALL_ACTION_ALERT);
  v1::ContainerProfile& c = ContainerSection(p, "main");
  v1::ExecEntry x;
  x.set_path("/usr/bin/curl");
  x.set_parent("/bin/sh");
  AddExec(c, x);
  v1::ExecEntry prefix;
  prefix.set_path("/opt/app/bin/*");
  prefix.set_parent("/bin/sh");
  AddExec(c, prefix);
  StoreProfile(p);
  Start(Options());
  kernel_.ops.clear();

  uint32_t slot = Register();
  EXPECT_LT(OpIndex(kernel_.ops, absl::StrCat("write ", slot, " 0")),
            OpIndex(kernel_.ops, absl::StrCat("track ", kCgroup, " ", slot)));
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_ALERT);
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 0);
  EXPECT_EQ(kernel_.fn_cfg[slot].flags & FG_CFG_F_EXEC_PREFIX, FG_CFG_F_EXEC_PREFIX);
  ASSERT_NE(Policy(slot, 0), nullptr);
  EXPECT_TRUE(HasExecRule(*Policy(slot, 0), "/usr/bin/curl", "/bin/sh"));
  EXPECT_EQ(Policy(slot, 0)->exec.size(), 2u);
}

TEST_F(EnforceTest, ModeSetBeforeAnyContainerAppliesWhenOneRegisters) {
  v1::Profile p = NewProfile(Fn("fn"), absl::Now());
  StoreProfile(p);
  Start(Options());
  auto r = SetMode(v1::MODE_MONITOR);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rules(), 0u);
  EXPECT_THAT(kernel_.policies, IsEmpty());
  uint32_t slot = Register();
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_MONITOR);
  EXPECT_NE(Policy(slot, 0), nullptr);
}

TEST_F(EnforceTest, StoredProfileThatDoesNotCompileRefusesRegistration) {
  v1::Profile p = NewProfile(Fn("fn"), absl::Now());
  p.set_mode(v1::MODE_ENFORCE);
  v1::ContainerProfile& c = ContainerSection(p, "main");
  for (const char* addr : {"10.0.0.1", "10.0.0.2"}) {
    v1::NetEntry n;
    n.set_protocol(v1::PROTOCOL_TCP);
    n.set_address(addr);
    n.set_port(443);
    AddNet(c.mutable_egress(), n);
  }
  StoreProfile(p);
  Engine::Options o = Options();
  o.limits.max_net_rules = 1;
  Start(o);

  auto r = engine_->RegisterCgroup(Fn("fn"), "main", kCgroup, "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(kernel_.tracked, IsEmpty());
  EXPECT_EQ(engine_->tracked_cgroups(), 0u);
  EXPECT_EQ(engine_->function_count(), 1u);  // the stored function stays known
}

// --- Learned paths that contain '*' ----------------------------------------------------

// A '*' is a wildcard only in rules people write; a binary a function really ran may have one
// in its name (or a memfd name, chosen by the program). What was learned stays an exact item.
TEST_F(EnforceTest, LearnedPathEndingInAStarIsNotAPrefixRule) {
  uint32_t slot = Register();
  engine_->HandleEvent(MakeExec(slot, "/tmp/run*", "/bin/sh"));
  auto r = SetMode(v1::MODE_ENFORCE);
  ASSERT_TRUE(r.ok()) << r.status();
  const AllowList* a = Policy(slot, 1);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->exec.size(), 1u);
  // Exactly the file that ran, not everything whose path starts with "/tmp/run".
  EXPECT_EQ(a->exec[0].kind & FG_EXEC_RULE_PREFIX, 0)
      << "learned \"/tmp/run*\" became a prefix rule for \"/tmp/run\"";
  EXPECT_TRUE(HasExecRule(*a, "/tmp/run*", "/bin/sh"));
  EXPECT_EQ(kernel_.fn_cfg[slot].flags & FG_CFG_F_EXEC_PREFIX, 0);
}

TEST_F(EnforceTest, LearnedPathWithAStarInsideDoesNotBlockEnforce) {
  uint32_t slot = Register();
  engine_->HandleEvent(MakeExec(slot, "/tmp/a*b", "/bin/sh"));
  ExecEvent memfd = MakeExec(slot, "", "/bin/sh");
  memfd.bin = Path("/memfd:x*", FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED);  // named by the program
  engine_->HandleEvent(memfd);
  ASSERT_EQ(Section().execs_size(), 2);
  auto r = SetMode(v1::MODE_ENFORCE);
  ASSERT_TRUE(r.ok()) << r.status();
  const AllowList* a = Policy(slot, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(HasExecRule(*a, "/tmp/a*b", "/bin/sh"));
  EXPECT_EQ(a->exec.size(), 2u);
}

TEST_F(EnforceTest, LearnedPathsWithAStarSurviveARestart) {
  uint32_t slot = Register();
  engine_->HandleEvent(MakeExec(slot, "/tmp/a*b", "/bin/sh"));
  engine_->HandleEvent(MakeExec(slot, "/usr/bin/curl", "/bin/sh"));
  engine_->SaveDirty();
  ASSERT_EQ(engine_->counters().save_errors, 0u);

  ProfileStore::LoadResult loaded = store_.LoadAll();
  EXPECT_THAT(loaded.quarantined, IsEmpty());
  ASSERT_EQ(loaded.profiles.size(), 1u);
  const v1::ContainerProfile* c = FindContainer(loaded.profiles[0], "main");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->execs_size(), 2);
}

}  // namespace
}  // namespace faasguard::engine_test
