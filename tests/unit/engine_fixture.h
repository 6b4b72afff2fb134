// The fixture of the engine's monitor / enforce tests (engine_enforce_test.cc,
// engine_violation_test.cc, engine_restore_test.cc): an engine over the in-memory kernel of
// tests/fakes/fake_kernel_maps.h and a store in a temporary directory, and builders for the
// kernel's events and the allow-lists it is given.
#pragma once

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

namespace faasguard::engine_test {

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

inline v1::FunctionId Fn(const std::string& name, const std::string& ns = "ns") {
  v1::FunctionId id;
  id.set_namespace_(ns);
  id.set_name(name);
  return id;
}

inline EventHeader Hdr(uint32_t fn_id, uint16_t type, uint64_t cgroup = kCgroup) {
  EventHeader h;
  h.type = type;
  h.fn_id = fn_id;
  h.ts_ns = BootNsNow();
  h.cgroup_id = cgroup;
  h.pid = 4321;
  h.tid = 4321;
  return h;
}

inline KernelPath Path(const std::string& p, uint32_t flags = 0) {
  return KernelPath{p, flags, PathHash(p, flags, kSeed)};
}

inline ExecEvent MakeExec(uint32_t fn_id, const std::string& bin, const std::string& parent) {
  ExecEvent e;
  e.hdr = Hdr(fn_id, FG_EV_EXEC);
  e.bin = Path(bin);
  e.parent = Path(parent);
  e.uid = 1000;
  e.ppid = 1;
  return e;
}

// A violation record of `kind` by python3 (child of /bin/sh) in slot `fn_id`.
inline ViolationEvent Violation(uint32_t fn_id, uint8_t kind, uint8_t action,
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

inline uint32_t Ptrace() { return SyscallNumber(SyscallArch::kNative, "ptrace").value_or(0); }

inline ViolationEvent SyscallViolation(uint32_t fn_id, uint32_t nr,
                                       uint8_t action = FG_ACT_KILLED) {
  ViolationEvent v = Violation(fn_id, FG_VIOL_SYSCALL, action);
  v.nr = nr;
  v.arch = FG_ARCH_NATIVE;
  return v;
}

// An exec attempted by python3: bin/parent name the attempted binary and its parent.
inline ViolationEvent ExecViolation(uint32_t fn_id, const std::string& bin,
                                    uint8_t action = FG_ACT_KILLED) {
  ViolationEvent v = Violation(fn_id, FG_VIOL_EXEC, action);
  v.bin = Path(bin);
  v.parent = Path("/usr/bin/python3");
  return v;
}

inline ViolationEvent NetViolation(uint32_t fn_id, uint8_t kind, uint8_t net_kind, uint8_t proto,
                                   const std::string& addr, uint16_t port,
                                   uint8_t action = FG_ACT_DENIED) {
  ViolationEvent v = Violation(fn_id, kind, action);
  v.net = MakeNetKey(fn_id, net_kind, proto, addr, port);
  return v;
}

inline bool SysAllowed(const AllowList& a, uint32_t nr) {
  return (a.sys.sys[nr / 64] >> (nr % 64)) & 1;
}

inline bool HasExecRule(const AllowList& a, const std::string& bin, const std::string& parent) {
  uint64_t b = PathHash(bin, 0, kSeed), p = PathHash(parent, 0, kSeed);
  return std::any_of(a.exec.begin(), a.exec.end(), [&](const fg_exec_rule_key& k) {
    return k.bin_hash == b && k.parent_hash == p && k.kind == 0;
  });
}

inline bool HasEgressRule(const AllowList& a, uint8_t proto, const std::string& addr4,
                          uint16_t port) {
  fg_net_key want = MakeNetKey(0, FG_NET_CONNECT, proto, addr4, port);
  return std::any_of(a.net.begin(), a.net.end(), [&](const fg_net_rule_key& k) {
    return k.cls == FG_RULE_EGRESS && k.proto == proto && k.family == want.family &&
           k.port == port && k.prefixlen == FG_NET_RULE_FIXED_BITS + 32u &&
           std::memcmp(k.addr, want.addr, 16) == 0;
  });
}

inline size_t ListenRules(const AllowList& a, uint8_t proto, uint16_t port) {
  return std::count_if(a.net.begin(), a.net.end(), [&](const fg_net_rule_key& k) {
    return k.cls == FG_RULE_LISTEN && k.proto == proto && k.port == port;
  });
}

// Position of `op` in the fake's operation log (npos when missing).
inline size_t OpIndex(const std::vector<std::string>& ops, const std::string& op) {
  auto it = std::find(ops.begin(), ops.end(), op);
  return it == ops.end() ? std::string::npos : static_cast<size_t>(it - ops.begin());
}

inline std::string Cfg(uint32_t slot, int mode, int gen) {
  return absl::StrCat("cfg ", slot, " mode=", mode, " gen=", gen);
}

inline bool SameCfg(const fg_fn_cfg& a, const fg_fn_cfg& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

class EngineFixture : public ::testing::Test {
 protected:
  EngineFixture() : store_(dir_.path()) {}

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

  v1::Profile Profile(const std::string& name = "fn", const std::string& ns = "ns") {
    absl::StatusOr<v1::Profile> p = engine_->GetProfile(Fn(name, ns));
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : v1::Profile{};
  }

  // Container `container` of ns/fn's profile.
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

// The monitor / enforce tests.
class EnforceTest : public EngineFixture {};

}  // namespace faasguard::engine_test
