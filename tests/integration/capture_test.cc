// Integration (root): the real programs attached, a real workload in a fresh cgroup, and the
// learned profile compared with exactly what the workload did.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/names.h"
#include "profile/profile.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentCore;
using ::testing::Contains;
using testing::LoopbackServer;
using ::testing::Not;
using testing::TempDir;
using testing::TestCgroup;

constexpr char kWorkload[] = FG_WORKLOAD_PATH;

v1::FunctionId Fn(const std::string& name) {
  return testing::FunctionIdOf("local", "integration", name);
}

std::set<std::string> SyscallNames(const v1::ContainerProfile& c) {
  std::set<std::string> s;
  for (const auto& e : c.syscalls()) s.insert(e.name());
  return s;
}

using ExecItem = std::tuple<std::string, std::string, uint64_t>;  // path, parent, count
std::set<ExecItem> Execs(const v1::ContainerProfile& c) {
  std::set<ExecItem> s;
  for (const auto& e : c.execs()) s.emplace(e.path(), e.parent(), e.seen().count());
  return s;
}

using NetItem = std::tuple<std::string, std::string, uint32_t>;  // proto, address, port
std::set<NetItem> Net(const NetList& l) {
  std::set<NetItem> s;
  for (const auto& e : l) s.emplace(v1::Protocol_Name(e.protocol()), e.address(), e.port());
  return s;
}

std::string RealPath(const std::string& p) { return std::filesystem::canonical(p).string(); }

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override { FG_REQUIRE_ROOT(); }
};

TEST_F(CaptureTest, LearnsExactlyWhatTheWorkloadDid) {
  AgentCore core;
  TestCgroup cg("capture");
  ASSERT_TRUE(core.engine->RegisterCgroup(Fn("capture"), "main", cg.id(), cg.path()).ok());

  TempDir tmp;
  const std::string link = tmp.path() + "/true-link";
  const std::string true_bin = RealPath("/bin/true");
  ASSERT_EQ(::symlink("/bin/true", link.c_str()), 0);

  LoopbackServer tcp4(AF_INET, SOCK_STREAM), tcp6(AF_INET6, SOCK_STREAM),
      mapped(AF_INET, SOCK_STREAM), udp4(AF_INET, SOCK_DGRAM), udp6(AF_INET6, SOCK_DGRAM);
  // A port for the workload's own (TCP) listener: take a free TCP one and free it (a UDP
  // probe's number can be a TCP port in use).
  int serve_port;
  {
    LoopbackServer probe(AF_INET, SOCK_STREAM);
    serve_port = probe.port();
  }

  int out_fd = -1;
  pid_t pid =
      testing::Spawn(cg.path(),
                     {kWorkload, "syscalls", "exec", link, "execs", "1000", "/bin/true", "tcp4",
                      std::to_string(tcp4.port()), "tcp6", std::to_string(tcp6.port()), "mapped",
                      std::to_string(mapped.port()), "udp4", std::to_string(udp4.port()), "udp6",
                      std::to_string(udp6.port()), "serve", std::to_string(serve_port)},
                     &out_fd);
  // Connect to the workload's listener once it says so: an inbound peer for the profile.
  char buf[16] = {};
  ASSERT_GT(::read(out_fd, buf, sizeof buf - 1), 0);
  ASSERT_STREQ(buf, "listening\n");
  ::close(out_fd);
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(serve_port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  ASSERT_EQ(testing::Wait(pid), 0);

  auto p = core.engine->GetProfile(Fn("capture"));
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->containers_size(), 1);
  const v1::ContainerProfile& c = p->containers(0);
  EXPECT_EQ(c.name(), "main");

  // Programs: the workload (started by this test binary), and /bin/true resolved through
  // the symlink to its target, 1 + 1000 times, started by the workload. Nothing else.
  const std::string workload = RealPath(kWorkload);
  EXPECT_EQ(Execs(c),
            (std::set<ExecItem>{{workload, testing::SelfExe(), 1}, {true_bin, workload, 1001}}));
  EXPECT_EQ(c.counters().execs(), 1002u) << "every exec is counted in the kernel";

  // Network: exactly the destinations used; the IPv4-mapped one is shown as IPv4.
  EXPECT_EQ(Net(c.egress()), (std::set<NetItem>{
                                 {"PROTOCOL_TCP", "127.0.0.1", tcp4.port()},
                                 {"PROTOCOL_TCP", "::1", tcp6.port()},
                                 {"PROTOCOL_TCP", "127.0.0.1", mapped.port()},
                                 {"PROTOCOL_UDP", "127.0.0.1", udp4.port()},
                                 {"PROTOCOL_UDP", "::1", udp6.port()},
                             }));
  EXPECT_EQ(Net(c.listen()),
            (std::set<NetItem>{{"PROTOCOL_TCP", "", static_cast<uint32_t>(serve_port)}}));
  EXPECT_EQ(Net(c.ingress()),
            (std::set<NetItem>{{"PROTOCOL_TCP", "127.0.0.1", static_cast<uint32_t>(serve_port)}}));

  // Syscalls: the ones the workload makes on purpose are there; ones it never makes are not.
  std::set<std::string> sys = SyscallNames(c);
  for (const char* want :
       {"getppid", "sched_yield", "getpriority", "sysinfo", "times", "execve", "connect", "sendto",
        "bind", "listen", "accept4", "wait4", "clone", "exit_group"})
    EXPECT_THAT(sys, Contains(want));
  for (const char* never : {"ptrace", "mount", "reboot", "init_module", "unshare", "setns", "bpf",
                            "perf_event_open", "kexec_load", "chroot"})
    EXPECT_THAT(sys, Not(Contains(never)));
  for (const auto& s : c.syscalls()) EXPECT_EQ(s.arch(), "x86_64");
}

TEST_F(CaptureTest, ProcessOutsideTheTrackedCgroupLeavesNoTrace) {
  AgentCore core;
  TestCgroup cg("tracked");
  ASSERT_TRUE(core.engine->RegisterCgroup(Fn("tracked"), "main", cg.id(), cg.path()).ok());
  LoopbackServer tcp(AF_INET, SOCK_STREAM), udp(AF_INET, SOCK_DGRAM);

  // The tracked function does one small thing; an untracked process does a lot.
  ASSERT_EQ(testing::RunIn(cg.path(), {kWorkload, "syscalls"}), 0);
  ASSERT_EQ(testing::RunIn("", {kWorkload, "syscalls", "execs", "5", "/bin/false", "tcp4",
                                std::to_string(tcp.port()), "udp4", std::to_string(udp.port())}),
            0);

  auto p = core.engine->GetProfile(Fn("tracked"));
  ASSERT_TRUE(p.ok()) << p.status();
  const v1::ContainerProfile& c = p->containers(0);
  EXPECT_EQ(Execs(c), (std::set<ExecItem>{{RealPath(kWorkload), testing::SelfExe(), 1}}));
  EXPECT_EQ(c.egress_size(), 0);
  EXPECT_EQ(c.listen_size(), 0);
  EXPECT_EQ(c.counters().execs(), 1u);
  EXPECT_THAT(SyscallNames(c), Not(Contains("connect")));

  // And the kernel holds nothing for anyone else: every set entry belongs to this slot.
  auto fns = core.engine->ListFunctions();
  ASSERT_EQ(fns.size(), 1u);
  int exec_entries = 0, net_entries = 0;
  ASSERT_TRUE(
      core.kernel->ForEachExec([&](const fg_exec_key&, const fg_seen_val&) { ++exec_entries; })
          .ok());
  ASSERT_TRUE(
      core.kernel->ForEachNet([&](const fg_net_key&, const fg_seen_val&) { ++net_entries; }).ok());
  EXPECT_EQ(exec_entries, 1);
  EXPECT_EQ(net_entries, 0);
  EXPECT_EQ(core.kernel->TrackedCount(), 1u);
}

// sys_enter can be taken off the node (nothing needs it) and put back: while it is detached no
// syscall is seen, the other programs go on (the exec is still learned).
TEST_F(CaptureTest, SyscallHookDetachesAndAttachesAgain) {
  AgentCore core;
  ASSERT_TRUE(core.programs->syscall_hook_attached());
  ASSERT_TRUE(core.programs->SetSyscallHook(false).ok());
  EXPECT_FALSE(core.programs->syscall_hook_attached());
  TestCgroup off("hook-off");
  ASSERT_TRUE(core.engine->RegisterCgroup(Fn("hook-off"), "main", off.id(), off.path()).ok());
  ASSERT_EQ(testing::RunIn(off.path(), {kWorkload, "syscalls"}), 0);
  core.Settle();
  auto p = core.engine->GetProfile(Fn("hook-off"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->containers(0).syscalls_size(), 0);
  EXPECT_EQ(p->containers(0).execs_size(), 1);

  ASSERT_TRUE(core.programs->SetSyscallHook(true).ok());
  ASSERT_TRUE(core.programs->SetSyscallHook(true).ok());  // twice: no second link
  EXPECT_TRUE(core.programs->syscall_hook_attached());
  ASSERT_EQ(testing::RunIn(off.path(), {kWorkload, "syscalls"}), 0);
  core.Settle();
  p = core.engine->GetProfile(Fn("hook-off"));
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(SyscallNames(p->containers(0)), Contains("getppid"));
  EXPECT_THAT(SyscallNames(p->containers(0)), Contains("sysinfo"));
}

TEST_F(CaptureTest, LostEventsDoNotLoseLearning) {
  // A ring buffer that holds one exec record, and nobody reading it: nearly every event is
  // lost, yet the kernel-side sets still give the complete profile.
  AgentCore core(/*ringbuf_bytes=*/4096, /*read_events=*/false);
  TestCgroup cg("lossy");
  ASSERT_TRUE(core.engine->RegisterCgroup(Fn("lossy"), "main", cg.id(), cg.path()).ok());
  std::vector<std::string> argv = {kWorkload, "syscalls"};
  const std::vector<std::string> bins = {"/bin/true", "/bin/false", "/bin/ls",       "/bin/pwd",
                                         "/bin/date", "/bin/uname", "/bin/hostname", "/bin/sync"};
  for (const auto& b : bins) {
    argv.push_back("exec");
    argv.push_back(b);
  }
  ASSERT_EQ(testing::RunIn(cg.path(), argv), 0);

  auto stats = core.kernel->ReadStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT((*stats)[FG_STAT_RB_RESERVE_FAIL], 0u) << "the test must actually lose events";

  auto p = core.engine->GetProfile(Fn("lossy"));
  ASSERT_TRUE(p.ok()) << p.status();
  std::set<std::string> paths;
  for (const auto& e : p->containers(0).execs()) paths.insert(e.path());
  for (const auto& b : bins) EXPECT_THAT(paths, Contains(RealPath(b)));
  EXPECT_EQ(paths.size(), bins.size() + 1);
  EXPECT_THAT(SyscallNames(p->containers(0)), Contains("getpriority"));
}

TEST_F(CaptureTest, ReplicasFeedOneProfile) {
  AgentCore core;
  TestCgroup a("replica"), b("replica");
  {
    auto r = core.engine->RegisterCgroup(Fn("replicated"), "main", a.id(), a.path());
    ASSERT_TRUE(r.ok()) << r.status();
  }
  ASSERT_TRUE(core.engine->RegisterCgroup(Fn("replicated"), "main", b.id(), b.path()).ok());
  LoopbackServer t1(AF_INET, SOCK_STREAM), t2(AF_INET, SOCK_STREAM);
  ASSERT_EQ(testing::RunIn(a.path(), {kWorkload, "tcp4", std::to_string(t1.port())}), 0);
  ASSERT_EQ(testing::RunIn(b.path(), {kWorkload, "tcp4", std::to_string(t2.port())}), 0);
  auto p = core.engine->GetProfile(Fn("replicated"));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->containers_size(), 1);
  EXPECT_EQ(Net(p->containers(0).egress()),
            (std::set<NetItem>{{"PROTOCOL_TCP", "127.0.0.1", t1.port()},
                               {"PROTOCOL_TCP", "127.0.0.1", t2.port()}}));
  EXPECT_EQ(p->containers(0).counters().execs(), 2u);
}

}  // namespace
}  // namespace faasguard
