// Monitor and enforce mode in the engine, over the in-memory kernel of
// tests/fakes/fake_kernel_maps.h: mode switches (two generations, all or nothing), allow-lists
// written before a new container is tracked, violation records, accepting a violation.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "core/engine.h"
#include "fakes/fake_kernel_maps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/profile.h"
#include "syscalls/syscall_table.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

using fakes::FakeKernelMaps;
using fakes::MakeNetKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr uint32_t kSlots = 8;
constexpr uint64_t kCgroup = 1001;
constexpr uint64_t kSeed = 0x5eed;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

v1::FunctionId Fn(const std::string& name, const std::string& ns = "ns") {
  v1::FunctionId id;
  id.set_namespace_(ns);
  id.set_name(name);
  return id;
}

EventHeader Hdr(uint32_t fn_id, uint16_t type, uint64_t cgroup = kCgroup) {
  EventHeader h;
  h.type = type;
  h.fn_id = fn_id;
  h.ts_ns = BootNsNow();
  h.cgroup_id = cgroup;
  h.pid = 4321;
  h.tid = 4321;
  return h;
}

KernelPath Path(const std::string& p, uint32_t flags = 0) {
  return KernelPath{p, flags, PathHash(p, flags, kSeed)};
}

ExecEvent MakeExec(uint32_t fn_id, const std::string& bin, const std::string& parent) {
  ExecEvent e;
  e.hdr = Hdr(fn_id, FG_EV_EXEC);
  e.bin = Path(bin);
  e.parent = Path(parent);
  e.uid = 1000;
  e.ppid = 1;
  return e;
}

// A violation record of `kind` by python3 (child of /bin/sh) in slot `fn_id`.
ViolationEvent Violation(uint32_t fn_id, uint8_t kind, uint8_t action,
                         uint8_t mode = FG_MODE_ENFORCE, uint64_t cgroup = kCgroup) {
  ViolationEvent v;
  v.hdr = Hdr(fn_id, FG_EV_VIOLATION, cgroup);
  v.kind = kind;
  v.action = action;
  v.mode = mode;
  v.uid = 1000;
  v.ppid = 77;
  v.comm = "python3";
  v.bin = Path("/usr/bin/python3");
  v.parent = Path("/bin/sh");
  return v;
}

uint32_t Ptrace() { return SyscallNumber(SyscallArch::kNative, "ptrace").value_or(0); }

ViolationEvent SyscallViolation(uint32_t fn_id, uint32_t nr, uint8_t action = FG_ACT_KILLED) {
  ViolationEvent v = Violation(fn_id, FG_VIOL_SYSCALL, action);
  v.nr = nr;
  v.arch = FG_ARCH_NATIVE;
  return v;
}

// An exec attempted by python3: bin/parent name the attempted binary and its parent.
ViolationEvent ExecViolation(uint32_t fn_id, const std::string& bin,
                             uint8_t action = FG_ACT_KILLED) {
  ViolationEvent v = Violation(fn_id, FG_VIOL_EXEC, action);
  v.bin = Path(bin);
  v.parent = Path("/usr/bin/python3");
  return v;
}

ViolationEvent NetViolation(uint32_t fn_id, uint8_t kind, uint8_t net_kind, uint8_t proto,
                            const std::string& addr, uint16_t port,
                            uint8_t action = FG_ACT_DENIED) {
  ViolationEvent v = Violation(fn_id, kind, action);
  v.net = MakeNetKey(fn_id, net_kind, proto, addr, port);
  return v;
}

bool SysAllowed(const AllowList& a, uint32_t nr) { return (a.sys.sys[nr / 64] >> (nr % 64)) & 1; }

bool HasExecRule(const AllowList& a, const std::string& bin, const std::string& parent) {
  uint64_t b = PathHash(bin, 0, kSeed), p = PathHash(parent, 0, kSeed);
  return std::any_of(a.exec.begin(), a.exec.end(), [&](const fg_exec_rule_key& k) {
    return k.bin_hash == b && k.parent_hash == p && k.kind == 0;
  });
}

bool HasEgressRule(const AllowList& a, uint8_t proto, const std::string& addr4, uint16_t port) {
  fg_net_key want = MakeNetKey(0, FG_NET_CONNECT, proto, addr4, port);
  return std::any_of(a.net.begin(), a.net.end(), [&](const fg_net_rule_key& k) {
    return k.cls == FG_RULE_EGRESS && k.proto == proto && k.family == want.family &&
           k.port == port && k.prefixlen == FG_NET_RULE_FIXED_BITS + 32u &&
           std::memcmp(k.addr, want.addr, 16) == 0;
  });
}

size_t ListenRules(const AllowList& a, uint8_t proto, uint16_t port) {
  return std::count_if(a.net.begin(), a.net.end(), [&](const fg_net_rule_key& k) {
    return k.cls == FG_RULE_LISTEN && k.proto == proto && k.port == port;
  });
}

// Position of `op` in the fake's operation log (npos when missing).
size_t OpIndex(const std::vector<std::string>& ops, const std::string& op) {
  auto it = std::find(ops.begin(), ops.end(), op);
  return it == ops.end() ? std::string::npos : static_cast<size_t>(it - ops.begin());
}

std::string Cfg(uint32_t slot, int mode, int gen) {
  return absl::StrCat("cfg ", slot, " mode=", mode, " gen=", gen);
}

bool SameCfg(const fg_fn_cfg& a, const fg_fn_cfg& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

class EnforceTest : public ::testing::Test {
 protected:
  EnforceTest() : store_(dir_.path()) {}

  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    ASSERT_TRUE(store_.Init().ok());
    Start(Options());
  }
  void TearDown() override { SetLogLevel(LogLevel::kInfo); }

  static Engine::Options Options() {
    Engine::Options o;
    o.max_slots = kSlots;
    o.hash_seed = kSeed;
    return o;
  }

  void Start(const Engine::Options& o) {
    engine_ = std::make_unique<Engine>(&kernel_, &store_, o);
    events_.clear();
    engine_->SetEventSink([this](v1::AgentEvent e) { events_.push_back(std::move(e)); });
    engine_->LoadProfiles();
  }

  // Registers `cgroup` as container `container` of ns/`name`; returns its kernel slot.
  uint32_t Register(uint64_t cgroup = kCgroup, const std::string& container = "main",
                    const std::string& name = "fn") {
    auto r = engine_->RegisterCgroup(Fn(name), container, cgroup,
                                     "/sys/fs/cgroup/test/" + std::to_string(cgroup));
    EXPECT_TRUE(r.ok()) << r.status();
    auto it = kernel_.tracked.find(cgroup);
    EXPECT_NE(it, kernel_.tracked.end()) << cgroup;
    return it == kernel_.tracked.end() ? 0 : it->second;
  }

  // A learned exec (curl from sh), egress (tcp 10.0.0.1:443) and syscall (openat).
  void Learn(uint32_t slot) {
    engine_->HandleEvent(MakeExec(slot, "/usr/bin/curl", "/bin/sh"));
    NetEvent n;
    n.hdr = Hdr(slot, FG_EV_NET);
    n.key = MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 443);
    engine_->HandleEvent(n);
    uint32_t openat = SyscallNumber(SyscallArch::kNative, "openat").value_or(0);
    engine_->HandleEvent(SyscallEvent{Hdr(slot, FG_EV_SYSCALL), openat, FG_ARCH_NATIVE});
  }

  absl::StatusOr<v1::SetModeResponse> SetMode(
      v1::Mode mode, std::optional<v1::SyscallAction> action = std::nullopt,
      const std::string& name = "fn") {
    return engine_->SetMode(Fn(name), mode, action);
  }

  v1::Profile Profile(const std::string& name = "fn") {
    absl::StatusOr<v1::Profile> p = engine_->GetProfile(Fn(name));
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : v1::Profile{};
  }

  v1::ContainerProfile Section(const std::string& container = "main") {
    v1::Profile p = Profile();
    const v1::ContainerProfile* c = FindContainer(p, container);
    EXPECT_NE(c, nullptr) << container;
    return c ? *c : v1::ContainerProfile{};
  }

  const AllowList* Policy(uint32_t slot, uint8_t gen) {
    auto it = kernel_.policies.find({slot, gen});
    return it == kernel_.policies.end() ? nullptr : &it->second;
  }

  std::vector<v1::Violation> Violations(size_t limit = 100, const v1::FunctionId* id = nullptr) {
    v1::ListViolationsResponse r = engine_->ListViolations(id, limit);
    return {r.violations().begin(), r.violations().end()};
  }

  // A profile stored before the engine starts (as a previous agent left it).
  void StoreProfile(const v1::Profile& p) { ASSERT_TRUE(store_.Save(p).ok()); }

  TempDir dir_;
  FakeKernelMaps kernel_;
  ProfileStore store_;
  std::unique_ptr<Engine> engine_;
  std::vector<v1::AgentEvent> events_;  // what the engine emitted since Start
};

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
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_KILL);
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
  EXPECT_EQ(Profile().syscall_action(), v1::SYSCALL_ACTION_KILL);
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
  auto r = SetMode(v1::MODE_ENFORCE);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Profile().mode(), v1::MODE_LEARN);
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

TEST_F(EnforceTest, FailedFlipPutsBackTheAbsenceSettingInForce) {
  uint32_t a = Register(1, "main");
  uint32_t b = Register(2, "sidecar");
  Learn(a);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  const fg_fn_cfg cfg_a = kernel_.fn_cfg[a], cfg_b = kernel_.fn_cfg[b];
  kernel_.cfg_error = absl::InternalError("injected config failure");
  kernel_.cfg_error_after = 1;
  auto r = engine_->SetMode(Fn("fn"), v1::MODE_ENFORCE, std::nullopt, v1::AGENT_ABSENCE_FAIL_OPEN);
  ASSERT_FALSE(r.ok());
  // The slot already flipped is put back as it was: fail closed, not the requested fail open.
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[a], cfg_a));
  EXPECT_FALSE(kernel_.fn_cfg[a].flags & FG_CFG_F_FAIL_OPEN);
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[b], cfg_b));
  EXPECT_EQ(Profile().when_agent_absent(), v1::AGENT_ABSENCE_FAIL_CLOSED);
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

  std::vector<v1::FunctionSummary> fns = engine_->ListFunctions();
  ASSERT_EQ(fns.size(), 2u);
  const v1::FunctionSummary& s = fns[0].function().name() == "fn" ? fns[0] : fns[1];
  const v1::FunctionSummary& o = fns[0].function().name() == "fn" ? fns[1] : fns[0];
  std::map<std::string, uint64_t> by_kind;
  for (const auto& c : s.violations_by_kind()) by_kind[c.name()] = c.value();
  EXPECT_EQ(by_kind, (std::map<std::string, uint64_t>{
                         {"egress", 7}, {"exec", 11}, {"listen", 6}, {"syscall", 2}}));
  EXPECT_EQ(s.violations(), 26u);
  EXPECT_EQ(o.violations(), 0u);

  // The kernel keeps running totals: a later sync replaces, never adds.
  sa.viol[FG_VIOL_SYSCALL] = 3;
  engine_->SyncFromKernel();
  fns = engine_->ListFunctions();
  const v1::FunctionSummary& s2 = fns[0].function().name() == "fn" ? fns[0] : fns[1];
  EXPECT_EQ(s2.violations(), 27u);
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

// --- Restart over pinned maps (RestoreKernelState) -----------------------------------------

class RestoreTest : public EnforceTest {
 protected:
  Engine::Options PinnedOptions() {
    Engine::Options o = Options();
    o.kernel_state_path = dir_.path() + "/kernel-state.pb";
    return o;
  }
  // The record the running engine left, as the next agent reads it.
  v1::KernelState Record() {
    v1::KernelState st;
    auto bytes = ReadFile(dir_.path() + "/kernel-state.pb");
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_TRUE(bytes.ok() && st.ParseFromString(*bytes));
    return st;
  }
  // A new engine over the same kernel maps (the old one was SIGKILLed: nothing of it runs).
  Engine::RestoreReport Restart(const v1::KernelState& record, std::set<uint64_t> alive = {}) {
    engine_.reset();  // the engine never cleans the kernel up: as good as a SIGKILL here
    Start(PinnedOptions());
    return engine_->RestoreKernelState(record, [alive](uint64_t id) -> std::optional<std::string> {
      if (!alive.empty() && !alive.count(id)) return std::nullopt;
      return "/sys/fs/cgroup/test/" + std::to_string(id);
    });
  }
};

TEST_F(RestoreTest, TakesOverSlotsCgroupsAndTheGapsLearning) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  kernel_.SetPath(PathHash("/usr/bin/curl", 0, kSeed), "/usr/bin/curl");
  kernel_.SetPath(PathHash("/bin/sh", 0, kSeed), "/bin/sh");
  kernel_.SetExec(slot, PathHash("/bin/sh", 0, kSeed), PathHash("/usr/bin/curl", 0, kSeed), 5);
  kernel_.State(slot).execs = 5;
  engine_->SyncFromKernel();
  engine_->SaveDirty();
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  engine_->SaveDirty();
  const fg_fn_cfg in_force = kernel_.fn_cfg[slot];
  v1::KernelState record = Record();
  ASSERT_EQ(record.slots_size(), 1);
  EXPECT_EQ(record.hash_seed(), kSeed);

  // While no agent runs: 3 more of the known exec, a new exec, and a cgroup made under the
  // tracked one (inherited by the kernel at mkdir).
  kernel_.SetExec(slot, PathHash("/bin/sh", 0, kSeed), PathHash("/usr/bin/curl", 0, kSeed), 8);
  kernel_.SetPath(PathHash("/usr/bin/wget", 0, kSeed), "/usr/bin/wget");
  kernel_.SetExec(slot, PathHash("/bin/sh", 0, kSeed), PathHash("/usr/bin/wget", 0, kSeed), 1);
  kernel_.State(slot).execs = 9;
  kernel_.tracked[kCgroup + 1] = slot;
  kernel_.ops.clear();

  Engine::RestoreReport r = Restart(record);
  EXPECT_EQ(r.slots, 1u);
  EXPECT_EQ(r.cgroups, 2u);
  EXPECT_EQ(r.dropped, 0u);
  EXPECT_EQ(r.modes_reapplied, 0u);
  // The allow-list in force was left alone: no reset, no rewrite, no flip.
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[slot], in_force));
  EXPECT_THAT(kernel_.ops, IsEmpty());
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  // Counted once: 5 before the kill, 3 + 1 in the gap.
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 2);
  uint64_t curl = 0, wget = 0;
  for (const auto& e : c.execs()) (e.path() == "/usr/bin/curl" ? curl : wget) = e.seen().count();
  EXPECT_EQ(curl, 8u);
  EXPECT_EQ(wget, 1u);
  EXPECT_EQ(c.counters().execs(), 9u);
  auto fn = engine_->GetFunction(Fn("fn"));
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->replicas(), 2u);
  // The same cgroup registered again (the tracker's resync, faasguardctl) is nothing new...
  auto again = engine_->RegisterCgroup(Fn("fn"), "main", kCgroup, "/sys/fs/cgroup/test/1001");
  EXPECT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(kernel_.tracked[kCgroup], slot);
  // ...and the new engine drives the slot: back to learn flips it.
  ASSERT_TRUE(SetMode(v1::MODE_LEARN).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_LEARN);
}

TEST_F(RestoreTest, CgroupsOfUnknownSlotsOrGoneAreDropped) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  v1::KernelState record = Record();
  kernel_.tracked[kCgroup + 1] = slot;  // gone by the time the agent is back
  kernel_.tracked[kCgroup + 2] = 7;     // a slot the record does not know
  Engine::RestoreReport r = Restart(record, {kCgroup});
  EXPECT_EQ(r.cgroups, 1u);
  EXPECT_EQ(r.dropped, 2u);
  EXPECT_EQ(kernel_.tracked.size(), 1u);
  EXPECT_EQ(kernel_.tracked.count(kCgroup), 1u);
}

TEST_F(RestoreTest, AKernelConfigThatDiffersFromTheProfileIsAppliedAgain) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  engine_->SaveDirty();
  v1::KernelState record = Record();
  // As if the agent died between a flip back to learn and writing the profile.
  kernel_.fn_cfg[slot].mode = FG_MODE_LEARN;
  Engine::RestoreReport r = Restart(record);
  EXPECT_EQ(r.modes_reapplied, 1u);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  // A mode change like any other: from what the kernel had to what the profile says.
  std::vector<std::string> modes;
  for (const auto& e : events_)
    if (e.what() == "mode") modes.push_back(e.detail());
  EXPECT_THAT(modes, ElementsAre("learn -> enforce (restore)"));
}

TEST_F(RestoreTest, FailOpenIsAFlagOfTheSlotConfig) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(
      engine_->SetMode(Fn("fn"), v1::MODE_ENFORCE, std::nullopt, v1::AGENT_ABSENCE_FAIL_OPEN).ok());
  EXPECT_TRUE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
  EXPECT_EQ(Profile().when_agent_absent(), v1::AGENT_ABSENCE_FAIL_OPEN);
  // Unset keeps it; closed clears it.
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_TRUE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
  ASSERT_TRUE(
      engine_->SetMode(Fn("fn"), v1::MODE_ENFORCE, std::nullopt, v1::AGENT_ABSENCE_FAIL_CLOSED)
          .ok());
  EXPECT_FALSE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
}

TEST_F(RestoreTest, WithoutARecordEveryTrackedCgroupIsDropped) {
  Start(PinnedOptions());
  Register();
  Engine::RestoreReport r = Restart(v1::KernelState{});
  EXPECT_EQ(r.slots, 0u);
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_TRUE(kernel_.tracked.empty());
}

}  // namespace
}  // namespace faasguard
