// The engine over an in-memory kernel (tests/fakes/fake_kernel_maps.h) and a profile store
// in a temporary directory: registration, learning from events and from the kernel's sets,
// saving. The constants and builders are the engine tests' (engine_fixture.h).
#include "core/engine.h"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "fakes/fake_kernel_maps.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "profile/names.h"
#include "profile/profile.h"
#include "syscalls/syscall_table.h"
#include "unit/engine_fixture.h"
#include "unit/temp_dir.h"

namespace faasguard::engine_test {
namespace {

Engine::Options SlotOptions(uint32_t slots) {
  Engine::Options o;
  o.max_slots = slots;
  return o;
}

using google::protobuf::util::MessageDifferencer;

class EngineTest : public EngineFixture {
 protected:
  // Puts a path into the fake kernel's path map and returns its hash.
  uint64_t KernelPath(const std::string& path, uint32_t flags = 0) {
    uint64_t h = PathHash(path, flags, kSeed);
    kernel_.SetPath(h, path, flags);
    return h;
  }
};

ExecEvent MakeExec(uint32_t fn_id, const std::string& bin, uint32_t bin_flags,
                   const std::string& parent, uint32_t parent_flags = 0) {
  ExecEvent e;
  e.hdr = Hdr(fn_id, FG_EV_EXEC);
  e.bin = {bin, bin_flags, PathHash(bin, bin_flags, kSeed)};
  e.parent = {parent, parent_flags, PathHash(parent, parent_flags, kSeed)};
  e.uid = 1000;
  e.ppid = 1;
  return e;
}

// --- Registration ------------------------------------------------------------------------

TEST_F(EngineTest, RegisterCreatesFunctionSectionAndKernelSlot) {
  auto r = engine_->RegisterCgroup(Fn("fn"), "main", kCgroup, "/sys/fs/cgroup/a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cgroup_id(), kCgroup);
  EXPECT_EQ(r->mode(), v1::MODE_LEARN);

  ASSERT_EQ(kernel_.tracked.count(kCgroup), 1u);
  uint32_t slot = kernel_.tracked[kCgroup];
  EXPECT_LT(slot, kSlots);
  EXPECT_THAT(kernel_.resets, ElementsAre(slot));  // a slot starts clean
  ASSERT_EQ(kernel_.fn_cfg.count(slot), 1u);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, static_cast<uint32_t>(FG_MODE_LEARN));

  EXPECT_EQ(engine_->function_count(), 1u);
  EXPECT_EQ(engine_->tracked_cgroups(), 1u);
  EXPECT_EQ(engine_->CgroupIdForPath("/sys/fs/cgroup/a"), kCgroup);
  EXPECT_EQ(engine_->CgroupIdForPath("/sys/fs/cgroup/b"), std::nullopt);

  v1::Profile p = Profile();
  EXPECT_EQ(p.function().namespace_(), "ns");
  EXPECT_EQ(p.function().name(), "fn");
  EXPECT_EQ(p.function().platform(), "local");  // defaulted
  EXPECT_EQ(p.schema_version(), kProfileSchemaVersion);
  EXPECT_EQ(p.mode(), v1::MODE_LEARN);
  ASSERT_EQ(p.containers_size(), 1);
  EXPECT_EQ(p.containers(0).name(), "main");
}

TEST_F(EngineTest, RegisterTwiceIsIdempotent) {
  uint32_t slot = Register();
  auto again = engine_->RegisterCgroup(Fn("fn"), "main", kCgroup, "/sys/fs/cgroup/test");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->cgroup_id(), kCgroup);
  EXPECT_EQ(kernel_.tracked.size(), 1u);
  EXPECT_EQ(kernel_.tracked[kCgroup], slot);
  EXPECT_EQ(kernel_.resets.size(), 1u);
  EXPECT_EQ(engine_->tracked_cgroups(), 1u);
  EXPECT_EQ(engine_->function_count(), 1u);
}

TEST_F(EngineTest, ReplicasShareASlotContainersDoNot) {
  uint32_t a = Register(1);
  uint32_t b = Register(2);
  uint32_t c = Register(3, "sidecar");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(engine_->tracked_cgroups(), 3u);
  std::vector<v1::FunctionSummary> fns = engine_->ListFunctions();
  ASSERT_EQ(fns.size(), 1u);
  EXPECT_EQ(fns[0].replicas(), 3u);
  EXPECT_THAT(fns[0].containers(), ElementsAre("main", "sidecar"));
}

TEST_F(EngineTest, RegisterForAnotherOwnerIsFailedPrecondition) {
  Register();
  auto other = engine_->RegisterCgroup(Fn("other"), "main", kCgroup, "/sys/fs/cgroup/x");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("ns/fn"));

  auto container = engine_->RegisterCgroup(Fn("fn"), "sidecar", kCgroup, "/x");
  ASSERT_FALSE(container.ok());
  EXPECT_EQ(container.status().code(), absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(kernel_.tracked.size(), 1u);
  EXPECT_EQ(engine_->function_count(), 1u);
}

// --- Kubernetes pods: the pod-wide section ------------------------------------------------

TEST_F(EngineTest, PodAndPendingCgroupsCarryTheirKernelFlags) {
  RegisterOptions pod;
  pod.pod_level = true;
  auto r = engine_->RegisterCgroup(Fn("fn"), "ignored", 10, "/kubepods/pod1", pod);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(kernel_.tracked_flags[10], static_cast<uint32_t>(FG_CG_F_POD));
  ASSERT_TRUE(engine_->CgroupOwner(10).has_value());
  EXPECT_EQ(engine_->CgroupOwner(10)->second, kPodSection);
  RegisterOptions pending;
  pending.pending = true;
  ASSERT_TRUE(engine_->RegisterCgroup(Fn("fn"), "main", 11, "/kubepods/pod1/c", pending).ok());
  EXPECT_EQ(kernel_.tracked_flags[11], static_cast<uint32_t>(FG_CG_F_PENDING));
  EXPECT_NE(kernel_.tracked[10], kernel_.tracked[11]) << "one slot per section";
  EXPECT_THAT(Profile().containers(), ::testing::SizeIs(2));
}

TEST_F(EngineTest, InheritedCgroupMovesToItsContainerKeepingItsFlags) {
  RegisterOptions pod;
  pod.pod_level = true;
  ASSERT_TRUE(engine_->RegisterCgroup(Fn("fn"), "", 10, "/kubepods/pod1", pod).ok());
  const uint32_t pod_slot = kernel_.tracked[10];
  // The kernel covered a new container cgroup through its pod at mkdir (cgroups.bpf.c).
  kernel_.tracked[11] = pod_slot;
  kernel_.tracked_flags[11] = FG_CG_F_INHERITED | FG_CG_F_PENDING;
  engine_->AdoptInheritedCgroup(11, 10, "/kubepods/pod1/c1");
  engine_->AdoptInheritedCgroup(12, 999, "/elsewhere");  // under nothing tracked: ignored
  ASSERT_TRUE(engine_->CgroupOwner(11).has_value());
  EXPECT_EQ(engine_->CgroupOwner(11)->second, kPodSection);
  EXPECT_EQ(engine_->CgroupOwner(12), std::nullopt);
  EXPECT_EQ(engine_->tracked_cgroups(), 2u);
  // What the pod-wide slot learned before the container was named stays the function's.
  kernel_.State(pod_slot).execs = 3;

  // Named through the CRI: it moves to its container's own slot, its kernel flags kept.
  auto r = engine_->RegisterCgroup(Fn("fn"), "user-container", 11, "/kubepods/pod1/c1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(engine_->CgroupOwner(11)->second, "user-container");
  EXPECT_NE(kernel_.tracked[11], pod_slot);
  EXPECT_EQ(kernel_.tracked_flags[11], static_cast<uint32_t>(FG_CG_F_INHERITED | FG_CG_F_PENDING));
  EXPECT_EQ(engine_->tracked_cgroups(), 2u);
  const v1::ContainerProfile* pod_section = FindContainer(Profile(), kPodSection);
  ASSERT_NE(pod_section, nullptr);
  EXPECT_EQ(pod_section->counters().execs(), 3u);
  // A pod-level registration of it again does not move it back; another function cannot take it.
  auto other = engine_->RegisterCgroup(Fn("other"), "main", 11, "/kubepods/pod1/c1");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EngineTest, SlotsRunOut) {
  for (uint32_t i = 0; i < kSlots; ++i) {
    auto r = engine_->RegisterCgroup(Fn("fn-" + std::to_string(i)), "main", 100 + i, "/x");
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
  }
  auto r = engine_->RegisterCgroup(Fn("one-too-many"), "main", 999, "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(engine_->function_count(), kSlots);  // the refused function was not kept
  EXPECT_EQ(kernel_.tracked.count(999), 0u);
}

TEST_F(EngineTest, TrackFailureIsReported) {
  kernel_.track_error = absl::ResourceExhaustedError("fg_tracked is full");
  auto r = engine_->RegisterCgroup(Fn("fn"), "main", kCgroup, "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(engine_->tracked_cgroups(), 0u);
  EXPECT_EQ(engine_->CgroupIdForPath("/x"), std::nullopt);
}

TEST_F(EngineTest, ASlotIsResetBeforeUse) {
  // Left over by a previous agent in the slot the engine will pick.
  kernel_.State(0).sys[0] = 1;  // read
  kernel_.SetExec(0, KernelPath("/bin/sh"), KernelPath("/bin/stale"), 3);
  uint32_t slot = Register();
  ASSERT_EQ(slot, 0u);
  v1::ContainerProfile c = Section();
  EXPECT_THAT(c.syscalls(), IsEmpty());
  EXPECT_THAT(c.execs(), IsEmpty());
}

TEST_F(EngineTest, ModeOfAStoredProfileGoesToTheKernel) {
  v1::Profile p = NewProfile(Fn("fn"), absl::Now());
  p.set_mode(v1::MODE_MONITOR);
  ASSERT_TRUE(store_.Save(p).ok());
  Engine e(&kernel_, &store_, SlotOptions(kSlots));
  e.LoadProfiles();
  EXPECT_EQ(e.function_count(), 1u);
  auto r = e.RegisterCgroup(Fn("fn"), "main", kCgroup, "/x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode(), v1::MODE_MONITOR);
  EXPECT_EQ(kernel_.fn_cfg[kernel_.tracked[kCgroup]].mode, static_cast<uint32_t>(FG_MODE_MONITOR));
}

TEST_F(EngineTest, CountsAccumulateAcrossAgentRestarts) {
  // What an earlier agent learned and stored...
  v1::Profile p = NewProfile(Fn("fn"), absl::Now());
  v1::ContainerProfile& c = ContainerSection(p, "main");
  v1::ExecEntry x;
  x.set_path("/usr/bin/curl");
  x.set_parent("/bin/sh");
  x.mutable_seen()->set_count(10);
  AddExec(c, x);
  v1::NetEntry n;
  n.set_protocol(v1::PROTOCOL_TCP);
  n.set_address("10.0.0.1");
  n.set_port(443);
  n.mutable_seen()->set_count(4);
  AddNet(c.mutable_egress(), n);
  c.mutable_counters()->set_execs(10);
  c.mutable_counters()->set_forks(20);
  c.mutable_counters()->set_exits(19);
  ASSERT_TRUE(store_.Save(p).ok());

  // ...and a new agent whose kernel starts from zero.
  Engine e(&kernel_, &store_, SlotOptions(kSlots));
  e.LoadProfiles();
  auto r = e.RegisterCgroup(Fn("fn"), "main", kCgroup, "/x");
  ASSERT_TRUE(r.ok()) << r.status();
  uint32_t slot = kernel_.tracked[kCgroup];
  kernel_.SetExec(slot, KernelPath("/bin/sh"), KernelPath("/usr/bin/curl"), 3);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 443), 2);
  kernel_.State(slot).execs = 3;
  kernel_.State(slot).forks = 1;
  kernel_.State(slot).exits = 1;
  e.SyncFromKernel();
  e.SyncFromKernel();

  absl::StatusOr<v1::Profile> got = e.GetProfile(Fn("fn"));
  ASSERT_TRUE(got.ok()) << got.status();
  const v1::ContainerProfile* m = FindContainer(*got, "main");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->execs_size(), 1);
  EXPECT_EQ(m->execs(0).seen().count(), 13u);
  ASSERT_EQ(m->egress_size(), 1);
  EXPECT_EQ(m->egress(0).seen().count(), 6u);
  EXPECT_EQ(m->counters().execs(), 13u);
  EXPECT_EQ(m->counters().forks(), 21u);
  EXPECT_EQ(m->counters().exits(), 20u);
  EXPECT_EQ(e.counters().new_items, 0u);  // nothing new: all of it was known
}

TEST_F(EngineTest, UnregisterUnknownIsNotFound) {
  absl::Status s = engine_->UnregisterCgroup(12345);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("12345"));
}

TEST_F(EngineTest, UnregisterUntracksAndKeepsWhatWasLearned) {
  uint32_t slot = Register();
  // Learned by the kernel, the event lost: the unregister must still fold it in.
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 443), 1);
  ASSERT_TRUE(engine_->UnregisterCgroup(kCgroup).ok());
  EXPECT_EQ(kernel_.tracked.count(kCgroup), 0u);
  EXPECT_EQ(engine_->tracked_cgroups(), 0u);
  EXPECT_EQ(engine_->CgroupIdForPath("/sys/fs/cgroup/test/1001"), std::nullopt);
  EXPECT_EQ(engine_->UnregisterCgroup(kCgroup).code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(engine_->function_count(), 1u);  // the function and its profile stay
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.egress_size(), 1);
  EXPECT_EQ(c.egress(0).address(), "10.0.0.1");
}

TEST_F(EngineTest, GetProfileOfUnknownFunctionIsNotFound) {
  absl::StatusOr<v1::Profile> p = engine_->GetProfile(Fn("nope"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("ns/nope"));

  Register();
  p = engine_->GetProfile(Fn("nope"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("ns/nope"));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("ns/fn"));  // what is known
}

// --- Events ------------------------------------------------------------------------------

TEST_F(EngineTest, SyscallEvents) {
  uint32_t slot = Register();
  SyscallEvent e{Hdr(slot, FG_EV_SYSCALL), 257, FG_ARCH_NATIVE};
  engine_->HandleEvent(e);
  engine_->HandleEvent(e);  // a repeat learns nothing
  SyscallEvent compat{Hdr(slot, FG_EV_SYSCALL), 11, FG_ARCH_COMPAT};
  engine_->HandleEvent(compat);

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.syscalls_size(), 2);
  // Normalized: ordered by (arch, name).
  const v1::SyscallEntry& n = c.syscalls(0).nr() == 257 ? c.syscalls(0) : c.syscalls(1);
  const v1::SyscallEntry& i = c.syscalls(0).nr() == 257 ? c.syscalls(1) : c.syscalls(0);
  EXPECT_EQ(n.name(), SyscallName(SyscallArch::kNative, 257));
  EXPECT_EQ(n.arch(), ArchName(SyscallArch::kNative));
  EXPECT_TRUE(n.has_first_seen());
  EXPECT_EQ(i.nr(), 11u);
  EXPECT_EQ(i.name(), SyscallName(SyscallArch::kCompat, 11));
  EXPECT_EQ(i.arch(), ArchName(SyscallArch::kCompat));
#if defined(__x86_64__)
  EXPECT_EQ(n.name(), "openat");
  EXPECT_EQ(i.name(), "execve");
  EXPECT_EQ(i.arch(), "i386");
#endif

  EngineCounters k = engine_->counters();
  EXPECT_EQ(k.events_syscall, 3u);
  EXPECT_EQ(k.new_items, 2u);
  EXPECT_EQ(k.events_orphan, 0u);
}

TEST_F(EngineTest, ExecEvent) {
  uint32_t slot = Register();
  ExecEvent e = MakeExec(slot, "/usr/bin/curl", 0, "/bin/sh");
  e.args = {"curl", "-s", "https://example.com"};
  engine_->HandleEvent(e);

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  const v1::ExecEntry& x = c.execs(0);
  EXPECT_EQ(x.path(), "/usr/bin/curl");
  EXPECT_EQ(x.kind(), v1::PATH_KIND_FILE);
  EXPECT_EQ(x.parent(), "/bin/sh");
  EXPECT_EQ(x.parent_kind(), v1::PATH_KIND_FILE);
  EXPECT_THAT(x.uids(), ElementsAre(1000u));
  EXPECT_THAT(x.sample_args(), ElementsAre("curl", "-s", "https://example.com"));
  EXPECT_EQ(x.script(), "");
  EXPECT_TRUE(x.seen().has_first_seen());
  EXPECT_EQ(engine_->counters().events_exec, 1u);
}

TEST_F(EngineTest, ExecEventOfAScript) {
  uint32_t slot = Register();
  ExecEvent e = MakeExec(slot, "/usr/bin/bash", 0, "/usr/bin/python3");
  e.flags = FG_EXEC_F_SCRIPT;
  e.filename = "./entrypoint.sh";
  engine_->HandleEvent(e);
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).script(), "./entrypoint.sh");
}

TEST_F(EngineTest, ExecEventPathKinds) {
  uint32_t slot = Register();
  engine_->HandleEvent(
      MakeExec(slot, "/memfd:payload", FG_PATH_F_DETACHED | FG_PATH_F_UNLINKED, "/bin/sh"));
  engine_->HandleEvent(MakeExec(slot, "/tmp/dropper", FG_PATH_F_UNLINKED, "/bin/sh"));
  engine_->HandleEvent(
      MakeExec(slot, "/very/long/pa", FG_PATH_F_TRUNCATED, "/tmp/gone", FG_PATH_F_UNLINKED));

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 3);
  std::map<std::string, v1::ExecEntry> by_path;
  for (const auto& x : c.execs()) by_path[x.path()] = x;
  ASSERT_EQ(by_path.count("memfd:payload"), 1u) << c.ShortDebugString();
  EXPECT_EQ(by_path["memfd:payload"].kind(), v1::PATH_KIND_ANONYMOUS);
  ASSERT_EQ(by_path.count("/tmp/dropper"), 1u) << c.ShortDebugString();
  EXPECT_EQ(by_path["/tmp/dropper"].kind(), v1::PATH_KIND_DELETED);
  ASSERT_EQ(by_path.count("/very/long/pa"), 1u) << c.ShortDebugString();
  EXPECT_EQ(by_path["/very/long/pa"].kind(), v1::PATH_KIND_TRUNCATED);
  EXPECT_EQ(by_path["/very/long/pa"].parent(), "/tmp/gone");
  EXPECT_EQ(by_path["/very/long/pa"].parent_kind(), v1::PATH_KIND_DELETED);
}

TEST_F(EngineTest, NetEvents) {
  uint32_t slot = Register();
  auto net = [&](uint8_t kind, uint8_t proto, const std::string& addr, uint16_t port) {
    NetEvent e;
    e.hdr = Hdr(slot, FG_EV_NET);
    e.key = MakeNetKey(slot, kind, proto, addr, port);
    engine_->HandleEvent(e);
  };
  net(FG_NET_CONNECT, kTcp, "93.184.216.34", 443);
  net(FG_NET_CONNECT, kTcp, "93.184.216.34", 443);  // repeat
  net(FG_NET_SEND, kUdp, "2001:db8::53", 53);
  net(FG_NET_LISTEN, kTcp, "", 8080);
  net(FG_NET_BIND, kUdp, "", 0);  // ephemeral: not kept
  net(FG_NET_ACCEPT, kTcp, "10.1.2.3", 8080);

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.egress_size(), 2);
  EXPECT_EQ(c.egress(0).protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(c.egress(0).address(), "93.184.216.34");
  EXPECT_EQ(c.egress(0).port(), 443u);
  EXPECT_EQ(c.egress(1).protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(c.egress(1).address(), "2001:db8::53");
  EXPECT_EQ(c.egress(1).port(), 53u);
  ASSERT_EQ(c.listen_size(), 1);
  EXPECT_EQ(c.listen(0).address(), "");
  EXPECT_EQ(c.listen(0).port(), 8080u);
  ASSERT_EQ(c.ingress_size(), 1);
  EXPECT_EQ(c.ingress(0).address(), "10.1.2.3");
  EXPECT_EQ(c.ingress(0).port(), 8080u);
  EngineCounters k = engine_->counters();
  EXPECT_EQ(k.events_net, 6u);
  EXPECT_EQ(k.new_items, 4u);
}

TEST_F(EngineTest, EventsForAnUnownedSlotAreOrphans) {
  uint32_t slot = Register();
  uint32_t unowned = slot + 1;
  engine_->HandleEvent(SyscallEvent{Hdr(unowned, FG_EV_SYSCALL), 0, FG_ARCH_NATIVE});
  engine_->HandleEvent(MakeExec(unowned, "/bin/ls", 0, "/bin/sh"));
  NetEvent n;
  n.hdr = Hdr(unowned, FG_EV_NET);
  n.key = MakeNetKey(unowned, FG_NET_CONNECT, kTcp, "1.1.1.1", 53);
  engine_->HandleEvent(n);
  engine_->HandleEvent(SyscallEvent{Hdr(1u << 30, FG_EV_SYSCALL), 0, FG_ARCH_NATIVE});

  EngineCounters k = engine_->counters();
  EXPECT_EQ(k.events_orphan, 4u);
  EXPECT_EQ(k.new_items, 0u);
  v1::ContainerProfile c = Section();
  EXPECT_THAT(c.syscalls(), IsEmpty());
  EXPECT_THAT(c.execs(), IsEmpty());
  EXPECT_THAT(c.egress(), IsEmpty());
}

// --- Kernel sync -------------------------------------------------------------------------

TEST_F(EngineTest, SyncLearnsExecsOnlyInTheKernel) {
  uint32_t slot = Register();
  uint64_t sh = KernelPath("/bin/sh");
  uint64_t curl = KernelPath("/usr/bin/curl");
  uint64_t anon = KernelPath("/memfd:x", FG_PATH_F_DETACHED | FG_PATH_F_UNLINKED);
  uint64_t t0 = BootNsNow();
  kernel_.SetExec(slot, sh, curl, 5, t0, t0 + 1000);
  kernel_.SetExec(slot, sh, anon, 1, t0, t0);
  engine_->SyncFromKernel();

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 2);
  std::map<std::string, v1::ExecEntry> by_path;
  for (const auto& x : c.execs()) by_path[x.path()] = x;
  ASSERT_EQ(by_path.count("/usr/bin/curl"), 1u);
  EXPECT_EQ(by_path["/usr/bin/curl"].parent(), "/bin/sh");
  EXPECT_EQ(by_path["/usr/bin/curl"].seen().count(), 5u);
  EXPECT_TRUE(by_path["/usr/bin/curl"].seen().has_first_seen());
  EXPECT_TRUE(by_path["/usr/bin/curl"].seen().has_last_seen());
  ASSERT_EQ(by_path.count("memfd:x"), 1u);
  EXPECT_EQ(by_path["memfd:x"].kind(), v1::PATH_KIND_ANONYMOUS);
}

TEST_F(EngineTest, SyncDoesNotDoubleCount) {
  uint32_t slot = Register();
  uint64_t sh = KernelPath("/bin/sh");
  uint64_t curl = KernelPath("/usr/bin/curl");
  fg_net_key key = MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 443);

  kernel_.SetExec(slot, sh, curl, 5);
  kernel_.SetNet(key, 5);
  kernel_.State(slot).execs = 5;
  kernel_.State(slot).forks = 6;
  kernel_.State(slot).exits = 4;
  engine_->SyncFromKernel();
  engine_->SyncFromKernel();  // nothing changed: nothing added
  {
    v1::ContainerProfile c = Section();  // GetProfile syncs too
    ASSERT_EQ(c.execs_size(), 1);
    EXPECT_EQ(c.execs(0).seen().count(), 5u);
    ASSERT_EQ(c.egress_size(), 1);
    EXPECT_EQ(c.egress(0).seen().count(), 5u);
    EXPECT_EQ(c.counters().execs(), 5u);
    EXPECT_EQ(c.counters().forks(), 6u);
    EXPECT_EQ(c.counters().exits(), 4u);
  }

  kernel_.SetExec(slot, sh, curl, 7);
  kernel_.SetNet(key, 7);
  kernel_.State(slot).execs = 7;
  kernel_.State(slot).forks = 9;
  kernel_.State(slot).exits = 8;
  engine_->SyncFromKernel();
  engine_->SyncFromKernel();
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).seen().count(), 7u);
  ASSERT_EQ(c.egress_size(), 1);
  EXPECT_EQ(c.egress(0).seen().count(), 7u);
  EXPECT_EQ(c.counters().execs(), 7u);
  EXPECT_EQ(c.counters().forks(), 9u);
  EXPECT_EQ(c.counters().exits(), 8u);
}

TEST_F(EngineTest, EventThenKernelCountsAreNotDoubled) {
  uint32_t slot = Register();
  ExecEvent e = MakeExec(slot, "/usr/bin/curl", 0, "/bin/sh");
  engine_->HandleEvent(e);
  NetEvent n;
  n.hdr = Hdr(slot, FG_EV_NET);
  n.key = MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 443);
  engine_->HandleEvent(n);

  // The kernel's sets hold the same items; its path map does not (the event named them).
  kernel_.SetExec(slot, e.parent.hash, e.bin.hash, 1);
  kernel_.SetNet(n.key, 1);
  engine_->SyncFromKernel();
  kernel_.SetExec(slot, e.parent.hash, e.bin.hash, 5);
  kernel_.SetNet(n.key, 5);
  engine_->SyncFromKernel();

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).seen().count(), 5u);
  EXPECT_THAT(c.execs(0).uids(), ElementsAre(1000u));  // the event's details stay
  ASSERT_EQ(c.egress_size(), 1);
  EXPECT_EQ(c.egress(0).seen().count(), 5u);
  EXPECT_EQ(engine_->counters().unresolved_paths, 0u);
  EXPECT_EQ(engine_->counters().new_items, 2u);
}

TEST_F(EngineTest, SyncCountsUnresolvedPaths) {
  uint32_t slot = Register();
  uint64_t sh = KernelPath("/bin/sh");
  kernel_.SetExec(slot, sh, 0xabcdef, 2);  // the kernel could not store that path
  engine_->SyncFromKernel();
  EXPECT_EQ(engine_->counters().unresolved_paths, 1u);
  EXPECT_THAT(Section().execs(), IsEmpty());

  // Once the path is known, the item is learned with the kernel's full count.
  kernel_.SetPath(0xabcdef, "/usr/bin/late");
  engine_->SyncFromKernel();
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).path(), "/usr/bin/late");
  EXPECT_EQ(c.execs(0).seen().count(), 2u);
}

TEST_F(EngineTest, SyncLearnsNetItemsOfEachKind) {
  uint32_t slot = Register();
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "93.184.216.34", 443), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_SEND, kUdp, "8.8.8.8", 53), 2);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "::1", 5432), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_BIND, kUdp, "", 5353), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_BIND, kTcp, "", 0), 9);  // ignored
  kernel_.SetNet(MakeNetKey(slot, FG_NET_LISTEN, kTcp, "", 8080), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_ACCEPT, kTcp, "10.1.2.3", 8080), 3);
  // Another slot's items are not this function's.
  kernel_.SetNet(MakeNetKey(slot + 1, FG_NET_CONNECT, kTcp, "6.6.6.6", 66), 1);
  engine_->SyncFromKernel();

  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.egress_size(), 3) << c.ShortDebugString();
  std::map<std::string, v1::NetEntry> egress;
  for (const auto& e : c.egress()) egress[e.address()] = e;
  EXPECT_EQ(egress["93.184.216.34"].protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(egress["93.184.216.34"].port(), 443u);
  EXPECT_EQ(egress["8.8.8.8"].protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(egress["8.8.8.8"].port(), 53u);
  EXPECT_EQ(egress["8.8.8.8"].seen().count(), 2u);
  EXPECT_EQ(egress["::1"].port(), 5432u);

  ASSERT_EQ(c.listen_size(), 2) << c.ShortDebugString();
  std::map<uint32_t, v1::NetEntry> listen;
  for (const auto& e : c.listen()) listen[e.port()] = e;
  EXPECT_EQ(listen[5353].protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(listen[5353].address(), "");
  EXPECT_EQ(listen[8080].protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(listen.count(0), 0u);

  ASSERT_EQ(c.ingress_size(), 1);
  EXPECT_EQ(c.ingress(0).address(), "10.1.2.3");
  EXPECT_EQ(c.ingress(0).port(), 8080u);
  EXPECT_EQ(c.ingress(0).seen().count(), 3u);
}

TEST_F(EngineTest, SyncLearnsSyscallsFromTheFunctionState) {
  uint32_t slot = Register();
  fg_fn_state& st = kernel_.State(slot);
  st.sys[0] = (1ull << 0) | (1ull << 59);  // read, execve on x86_64
  st.sys[257 / 64] |= 1ull << (257 % 64);
  st.sys[FG_SYS_WORDS - 1] |= 1ull << 63;  // the last number of the table
  st.sys_compat[0] = 1ull << 11;
  engine_->SyncFromKernel();
  engine_->SyncFromKernel();

  v1::ContainerProfile c = Section();
  std::set<std::pair<std::string, uint32_t>> got;
  for (const auto& s : c.syscalls()) {
    got.insert({s.arch(), s.nr()});
    EXPECT_EQ(s.name(),
              SyscallName(s.arch() == ArchName(SyscallArch::kCompat) ? SyscallArch::kCompat
                                                                     : SyscallArch::kNative,
                          s.nr()));
  }
  const std::string native(ArchName(SyscallArch::kNative));
  const std::string compat(ArchName(SyscallArch::kCompat));
  EXPECT_EQ(got,
            (std::set<std::pair<std::string, uint32_t>>{
                {native, 0}, {native, 59}, {native, 257}, {native, FG_SYS_MAX - 1}, {compat, 11}}));
  EXPECT_EQ(engine_->counters().new_items, 5u);
}

// --- Persistence and cgroup housekeeping ---------------------------------------------------

TEST_F(EngineTest, SaveDirtyWritesWhatTheStoreLoads) {
  uint32_t slot = Register();
  engine_->HandleEvent(SyscallEvent{Hdr(slot, FG_EV_SYSCALL), 1, FG_ARCH_NATIVE});
  engine_->HandleEvent(MakeExec(slot, "/usr/bin/curl", 0, "/bin/sh"));
  kernel_.SetNet(MakeNetKey(slot, FG_NET_LISTEN, kTcp, "", 8080), 1);
  v1::Profile expected = Profile();  // syncs, then normalizes
  engine_->SaveDirty();
  EXPECT_EQ(engine_->counters().save_errors, 0u);

  ProfileStore::LoadResult loaded = store_.LoadAll();
  EXPECT_THAT(loaded.quarantined, IsEmpty());
  ASSERT_EQ(loaded.profiles.size(), 1u);
  std::string diff;
  MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(expected, loaded.profiles[0])) << diff;

  // A new engine over the same store knows the function and what it learned.
  FakeKernelMaps kernel2;
  Engine e2(&kernel2, &store_, SlotOptions(kSlots));
  e2.LoadProfiles();
  absl::StatusOr<v1::Profile> p = e2.GetProfile(Fn("fn"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(MessageDifferencer::Equals(expected, *p));
}

TEST_F(EngineTest, SaveErrorsAreCountedAndRetried) {
  Register();
  // The profiles directory is replaced by a file: saving cannot work.
  ASSERT_EQ(::rename(store_.profiles_dir().c_str(), dir_.Sub("moved").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(store_.profiles_dir(), "x").ok());
  engine_->SaveDirty();
  EXPECT_EQ(engine_->counters().save_errors, 1u);
  // Still dirty: written once the directory is back.
  ASSERT_EQ(::unlink(store_.profiles_dir().c_str()), 0);
  ASSERT_EQ(::rename(dir_.Sub("moved").c_str(), store_.profiles_dir().c_str()), 0);
  engine_->SaveDirty();
  EXPECT_EQ(engine_->counters().save_errors, 1u);
  EXPECT_EQ(store_.LoadAll().profiles.size(), 1u);
}

TEST_F(EngineTest, DropVanishedCgroupsUntracksThemOnly) {
  Register(1);
  Register(2);
  Register(3, "sidecar");
  std::vector<uint64_t> asked;
  engine_->DropVanishedCgroups([&](uint64_t id, const std::string& path) {
    asked.push_back(id);
    EXPECT_EQ(path, "/sys/fs/cgroup/test/" + std::to_string(id));
    return id != 2;
  });
  EXPECT_EQ(asked.size(), 3u);
  EXPECT_EQ(kernel_.tracked.count(1), 1u);
  EXPECT_EQ(kernel_.tracked.count(2), 0u);
  EXPECT_EQ(kernel_.tracked.count(3), 1u);
  EXPECT_EQ(engine_->tracked_cgroups(), 2u);
  EXPECT_EQ(engine_->CgroupIdForPath("/sys/fs/cgroup/test/2"), std::nullopt);
  EXPECT_EQ(engine_->UnregisterCgroup(2).code(), absl::StatusCode::kNotFound);

  engine_->DropVanishedCgroups([](uint64_t, const std::string&) { return true; });
  EXPECT_EQ(engine_->tracked_cgroups(), 2u);
}

// The daemon's handling of an rmdir event: UnregisterCgroup(id, "removed") for every removed
// cgroup of the node, tracked or not.
TEST_F(EngineTest, RemovedCgroupIsUntrackedAndOthersAreIgnored) {
  uint32_t slot = Register(1);
  Register(2);
  engine_->HandleEvent(SyscallEvent{Hdr(slot, FG_EV_SYSCALL), 0, FG_ARCH_NATIVE});
  EXPECT_TRUE(engine_->UnregisterCgroup(1, "removed").ok());
  EXPECT_EQ(kernel_.tracked.count(1), 0u);
  EXPECT_EQ(kernel_.tracked.count(2), 1u);
  EXPECT_EQ(engine_->tracked_cgroups(), 1u);
  // already gone (faasguardctl run unregistered it first)
  EXPECT_EQ(engine_->UnregisterCgroup(1, "removed").code(), absl::StatusCode::kNotFound);
  // never tracked: any other cgroup of the node
  EXPECT_EQ(engine_->UnregisterCgroup(4242, "removed").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->tracked_cgroups(), 1u);
  std::vector<v1::FunctionSummary> fns = engine_->ListFunctions();
  ASSERT_EQ(fns.size(), 1u);
  EXPECT_EQ(fns[0].syscalls(), 1u);  // the learning is kept
}

TEST_F(EngineTest, ListFunctionsCountsItems) {
  uint32_t slot = Register();
  engine_->HandleEvent(SyscallEvent{Hdr(slot, FG_EV_SYSCALL), 0, FG_ARCH_NATIVE});
  engine_->HandleEvent(MakeExec(slot, "/bin/ls", 0, "/bin/sh"));
  kernel_.SetNet(MakeNetKey(slot, FG_NET_CONNECT, kTcp, "10.0.0.1", 80), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_LISTEN, kTcp, "", 80), 1);
  kernel_.SetNet(MakeNetKey(slot, FG_NET_ACCEPT, kTcp, "10.0.0.2", 80), 1);
  auto r = engine_->RegisterCgroup(Fn("fn", "other"), "main", 2002, "/y");
  ASSERT_TRUE(r.ok());

  std::vector<v1::FunctionSummary> fns = engine_->ListFunctions();
  ASSERT_EQ(fns.size(), 2u);
  const v1::FunctionSummary& s = fns[0].function().namespace_() == "ns" ? fns[0] : fns[1];
  EXPECT_EQ(s.function().name(), "fn");
  EXPECT_EQ(s.mode(), v1::MODE_LEARN);
  EXPECT_EQ(s.replicas(), 1u);
  EXPECT_EQ(s.syscalls(), 1u);
  EXPECT_EQ(s.execs(), 1u);
  EXPECT_EQ(s.egress(), 1u);
  EXPECT_EQ(s.listen(), 1u);
  EXPECT_EQ(s.ingress(), 1u);
  EXPECT_TRUE(s.has_last_new_behaviour());
}

}  // namespace
}  // namespace faasguard::engine_test
