// Integration (root): monitor and enforce mode with the real programs attached. A function
// learns a small benign behaviour, is switched to enforce (or monitor), and then tries
// things outside its profile; the kernel must refuse them in the offending syscall.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cgroup/cgroup.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/profile.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentCore;
using testing::AgentCoreOptions;
using ::testing::HasSubstr;
using testing::LoopbackServer;
using ::testing::Not;
using testing::RunCapture;
using testing::TempDir;
using testing::TestCgroup;

constexpr char kWorkload[] = FG_WORKLOAD_PATH;

v1::FunctionId Fn(const std::string& name) {
  return testing::FunctionIdOf("local", "enforce", name);
}

std::string Real(const std::string& p) { return std::filesystem::canonical(p).string(); }

std::string Port(const LoopbackServer& s) { return std::to_string(s.port()); }

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

void CopyFile(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to);
  ::chmod(to.c_str(), 0755);
}

// Read from fd until `marker` has been seen ("" : until end of file).
std::string ReadUntil(int fd, const std::string& marker) {
  std::string o;
  char c;
  while (::read(fd, &c, 1) == 1) {
    o += c;
    if (!marker.empty() && o.size() >= marker.size() &&
        o.compare(o.size() - marker.size(), marker.size(), marker) == 0)
      break;
  }
  return o;
}

// A function that learned: its own start, /bin/true run by it (through execve and execveat),
// one TCP destination (also through io_uring), one UDP destination, one listening port, a
// memfd, and the syscalls all that takes. Syscalls are enforced too: what a test tries must
// fail for the reason it tests, not for a syscall it never learned.
class EnforceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    core_ = std::make_unique<AgentCore>(opts_);
    cg_ = std::make_unique<TestCgroup>("enforce");
    tcp_ = std::make_unique<LoopbackServer>(AF_INET, SOCK_STREAM);
    other_tcp_ = std::make_unique<LoopbackServer>(AF_INET, SOCK_STREAM);
    tcp6_ = std::make_unique<LoopbackServer>(AF_INET6, SOCK_STREAM);
    udp_ = std::make_unique<LoopbackServer>(AF_INET, SOCK_DGRAM);
    other_udp_ = std::make_unique<LoopbackServer>(AF_INET, SOCK_DGRAM);
    udp6_ = std::make_unique<LoopbackServer>(AF_INET6, SOCK_DGRAM);
    {
      // A free TCP port for "serve" (a UDP probe's number can be a TCP port in use: "bind:
      // Address already in use" in one CI run).
      LoopbackServer probe(AF_INET, SOCK_STREAM);
      listen_port_ = probe.port();
    }
    auto r = core_->engine->RegisterCgroup(Fn(name_), "main", cg_->id(), cg_->path());
    ASSERT_TRUE(r.ok()) << r.status();
    // Learning: what the function normally does.
    int out = -1;
    pid_t pid = testing::Spawn(cg_->path(),
                               {kWorkload,
                                "syscalls",
                                "exec",
                                "/bin/true",
                                "tcp4",
                                Port(*tcp_),
                                "udp4",
                                Port(*udp_),
                                "try-exec",
                                "/bin/true",
                                "x",
                                "try-execveat",
                                "/bin/true",
                                "x",
                                "memfd",
                                "read",       // the memfd evasion copies /bin/true: files are
                                "/bin/true",  // checked too, the copy is not what is refused
                                "try-tcp4",
                                Port(*tcp_),
                                "try-udp4",
                                Port(*udp_),
                                "try-sendmmsg4",
                                Port(*udp_),
                                "try-uring-tcp4",
                                Port(*tcp_),
                                "try-bind",
                                "0",
                                "try-escape",                 // its child cgroup's cgroup.procs is
                                cg_->path() + "/sub-escape",  // a file it learned to write
                                "/bin/true",
                                "x",
                                "serve",
                                std::to_string(listen_port_)},
                               &out);
    std::string o = ReadUntil(out, "listening\n");
    ASSERT_THAT(o, HasSubstr("listening")) << o;
    Poke(listen_port_);
    o += ReadUntil(out, "");
    ::close(out);
    ASSERT_EQ(testing::Wait(pid), 0) << o;
    ::rmdir((cg_->path() + "/sub-escape").c_str());
    core_->Settle();
  }

  static void Poke(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 200 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0; ++i)
      ::usleep(10000);
    ::close(fd);
  }

  void Mode(v1::Mode m, std::optional<v1::SyscallAction> action = std::nullopt,
            std::optional<v1::SyscallAction> sensitive = std::nullopt) {
    auto r =
        core_->engine->SetMode(Fn(name_), ModeRequest{m, action, {}, sensitive}, ModeSource::kApi);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  testing::RunResult Run(const std::vector<std::string>& steps) {
    std::vector<std::string> argv = {kWorkload};
    argv.insert(argv.end(), steps.begin(), steps.end());
    return RunCapture(cg_->path(), argv);
  }

  std::vector<v1::Violation> Violations() {
    core_->Settle();
    v1::FunctionId id = Fn(name_);
    auto r = core_->engine->ListViolations(&id, 10000);
    return {r.violations().begin(), r.violations().end()};
  }

  const v1::Violation* Find(const std::vector<v1::Violation>& vs, const std::string& kind,
                            const std::string& attempted) {
    for (const auto& v : vs)
      if (v.kind() == kind && v.attempted() == attempted) return &v;
    return nullptr;
  }

  AgentCoreOptions opts_;
  std::string name_ = "fn";
  std::unique_ptr<AgentCore> core_;
  std::unique_ptr<TestCgroup> cg_;
  std::unique_ptr<LoopbackServer> tcp_, other_tcp_, tcp6_, udp_, other_udp_, udp6_;
  int listen_port_ = 0;
  TempDir tmp_;
};

TEST_F(EnforceTest, ExecOutsideTheProfileIsKilledBeforeItRuns) {
  Mode(v1::MODE_ENFORCE);
  const std::string pwned = tmp_.path() + "/pwned";
  auto r = Run({"try-exec", "/bin/true", "x", "try-exec", "/usr/bin/touch", pwned});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("exec /bin/true: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/touch: signal 9"));
  EXPECT_FALSE(Exists(pwned)) << "touch ran an instruction of its own";

  auto vs = Violations();
  const v1::Violation* v = Find(vs, "exec", Real("/usr/bin/touch"));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "killed");
  EXPECT_EQ(v->mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(v->container(), "main");
  EXPECT_EQ(v->parent(), Real(kWorkload));
  EXPECT_EQ(v->exec().path(), Real("/usr/bin/touch"));
  EXPECT_GT(v->pid(), 0u);
}

TEST_F(EnforceTest, ExecEvasionsAreRefused) {
  Mode(v1::MODE_ENFORCE);
  const std::string d = tmp_.path();
  ASSERT_EQ(::symlink("/usr/bin/touch", (d + "/link-to-touch").c_str()), 0);
  ASSERT_EQ(::symlink("/bin/true", (d + "/link-to-true").c_str()), 0);
  ASSERT_EQ(::link(Real("/usr/bin/touch").c_str(), (d + "/hardlink-touch").c_str()), 0)
      << "hard link (needs /tmp on the same filesystem as /usr)";
  CopyFile(Real("/bin/true"), d + "/copy-of-true");
  {
    std::ofstream script(d + "/script.sh");
    script << "#!/bin/true\n";
  }
  ::chmod((d + "/script.sh").c_str(), 0755);

  auto r =
      Run({"try-exec",     d + "/link-to-true",   "x",        // a symlink to an allowed binary
           "try-exec",     d + "/link-to-touch",  d + "/p1",  // a symlink to a refused one
           "try-exec",     d + "/hardlink-touch", d + "/p2",  // a hard link
           "try-exec",     d + "/copy-of-true",   "x",        // a renamed copy of allowed code
           "try-execveat", "/bin/true",           "x",        // execveat(AT_EMPTY_PATH), allowed
           "try-execveat", "/usr/bin/touch",      d + "/p3",  // execveat of a refused binary
           "try-memfd",    "/bin/true",           "x",        // memfd + fexecve of allowed code
           "try-exec",     d + "/script.sh",      "x",  // "#!" script of an allowed interpreter
           "try-self"});                                // /proc/self/exe
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("exec " + d + "/link-to-true: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("exec " + d + "/link-to-touch: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("exec " + d + "/hardlink-touch: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("exec " + d + "/copy-of-true: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("execveat /bin/true: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("execveat /usr/bin/touch: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("memfd /bin/true: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("exec " + d + "/script.sh: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("exec /proc/self/exe: signal 9"));
  for (const char* p : {"/p1", "/p2", "/p3"}) EXPECT_FALSE(Exists(d + p)) << p;

  auto vs = Violations();
  ASSERT_NE(Find(vs, "exec", d + "/hardlink-touch"), nullptr);
  ASSERT_NE(Find(vs, "exec", d + "/copy-of-true"), nullptr);
  const v1::Violation* memfd = Find(vs, "exec", "memfd:payload (deleted)");
  if (!memfd) memfd = Find(vs, "exec", "memfd:payload");
  ASSERT_NE(memfd, nullptr) << "the memfd shows as an anonymous file";
  EXPECT_EQ(memfd->exec().kind(), v1::PATH_KIND_ANONYMOUS);
  const v1::Violation* script = nullptr;
  for (const auto& v : vs)
    if (v.kind() == "exec" && v.exec().script() == d + "/script.sh") script = &v;
  ASSERT_NE(script, nullptr) << "the script's name is part of the exec identity";
  EXPECT_EQ(script->exec().path(), Real("/bin/true"));
}

// A process that makes a cgroup under its function's and moves into it is still the function:
// the new cgroup inherits the slot at mkdir (cgroups.bpf.c), so its exec is refused there too.
TEST_F(EnforceTest, MovingToANewChildCgroupDoesNotEscape) {
  Mode(v1::MODE_ENFORCE);
  const std::string sub = cg_->path() + "/sub-escape";
  const std::string proof = tmp_.path() + "/escaped";
  auto r = Run({"try-escape", sub, "/bin/true", "x", "try-escape", sub, "/usr/bin/touch", proof});
  ::rmdir(sub.c_str());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("escape /bin/true: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("escape /usr/bin/touch: signal 9"));
  EXPECT_FALSE(Exists(proof)) << "the refused program ran in the child cgroup";
}

TEST_F(EnforceTest, RelativePathsResolveToTheFileExecuted) {
  Mode(v1::MODE_ENFORCE);
  // The workload runs from /usr/bin: "./true" is /usr/bin/true, which is allowed.
  int out = -1;
  std::vector<std::string> argv = {kWorkload, "try-exec",          "./true", "x", "try-exec",
                                   "./touch", tmp_.path() + "/rel"};
  std::string cwd = std::filesystem::current_path();
  ASSERT_EQ(::chdir("/usr/bin"), 0);
  pid_t pid = testing::Spawn(cg_->path(), argv, &out);
  ASSERT_EQ(::chdir(cwd.c_str()), 0);
  std::string o;
  char buf[512];
  ssize_t n;
  while ((n = ::read(out, buf, sizeof buf)) > 0) o.append(buf, static_cast<size_t>(n));
  ::close(out);
  EXPECT_EQ(testing::Wait(pid), 0);
  EXPECT_THAT(o, HasSubstr("exec ./true: exit 0"));
  EXPECT_THAT(o, HasSubstr("exec ./touch: signal 9"));
}

TEST_F(EnforceTest, NetworkOutsideTheProfileFailsWithEperm) {
  Mode(v1::MODE_ENFORCE);
  auto r = Run({"try-tcp4",       Port(*tcp_),        // learned
                "try-tcp4",       Port(*other_tcp_),  // another port
                "try-tcp6",       Port(*tcp6_),       // IPv6
                "try-mapped",     Port(*tcp_),        // IPv4-mapped form of the learned one
                "try-mapped",     Port(*other_tcp_),  // IPv4-mapped form of a refused one
                "try-udp4",       Port(*udp_),        // learned
                "try-udp4",       Port(*other_udp_),  // UDP sendto elsewhere
                "try-udp6",       Port(*udp6_),       // UDP over IPv6
                "try-sendmmsg4",  Port(*udp_),        // several datagrams in one call
                "try-sendmmsg4",  Port(*other_udp_),
                "try-uring-tcp4", Port(*other_tcp_),  // io_uring does not bypass the hook
                "try-uring-tcp4", Port(*tcp_),
                "try-bind",       std::to_string(listen_port_),  // learned listening port
                "try-bind",       Port(*other_udp_)});           // a TCP port nobody learned
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("tcp6 " + Port(*tcp6_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("mapped " + Port(*tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("mapped " + Port(*other_tcp_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("udp4 " + Port(*udp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("udp4 " + Port(*other_udp_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("udp6 " + Port(*udp6_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("sendmmsg " + Port(*udp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("sendmmsg " + Port(*other_udp_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("uring-tcp4 " + Port(*other_tcp_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("uring-tcp4 " + Port(*tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("bind " + std::to_string(listen_port_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("bind " + Port(*other_udp_) + ": EPERM"));

  auto vs = Violations();
  const v1::Violation* v = Find(vs, "egress", "tcp 127.0.0.1:" + Port(*other_tcp_));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "denied");
  EXPECT_EQ(v->binary(), Real(kWorkload));
  EXPECT_NE(Find(vs, "egress", "tcp [::1]:" + Port(*tcp6_)), nullptr);
  EXPECT_NE(Find(vs, "egress", "udp [::1]:" + Port(*udp6_)), nullptr);
  EXPECT_NE(Find(vs, "listen", "tcp port " + Port(*other_udp_)), nullptr);
}

TEST_F(EnforceTest, ListenOnAnUnlearnedEphemeralPortKillsTheProcess) {
  Mode(v1::MODE_ENFORCE);
  auto r = Run({"try-listen0"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("listen0: signal 9"));
  bool found = false;
  for (const auto& v : Violations())
    if (v.kind() == "listen" && v.action() == "killed") found = true;
  EXPECT_TRUE(found);
}

// Where only sys_enter acts (no seccomp filter on these processes): under the defaults an
// unlearned sensitive syscall kills, a harmless one is only reported and the process goes on;
// "kill" kills for the harmless one too, "alert" for both reports only.
TEST_F(EnforceTest, UnexpectedSyscallKillsUnderKillAndIsReportedUnderAlert) {
  Mode(v1::MODE_ENFORCE);
  for (const char* sys : {"ptrace", "unshare"}) {
    auto r = Run({"syscalls", sys});
    EXPECT_EQ(r.status, 128 + 9) << sys << ": " << r.out;
    EXPECT_THAT(r.out, Not(HasSubstr("survived"))) << sys;
  }
  auto harmless = Run({"syscalls", "getrusage"});
  EXPECT_EQ(harmless.status, 0) << harmless.out;
  EXPECT_THAT(harmless.out, HasSubstr("survived"));
  auto vs = Violations();
  const v1::Violation* p = Find(vs, "syscall", "ptrace");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->action(), "killed");
  ASSERT_NE(Find(vs, "syscall", "unshare"), nullptr);
  const v1::Violation* g = Find(vs, "syscall", "getrusage");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->action(), "alert");

  Mode(v1::MODE_ENFORCE, v1::SYSCALL_ACTION_KILL);
  auto killed = Run({"syscalls", "getrusage"});
  EXPECT_EQ(killed.status, 128 + 9) << killed.out;

  Mode(v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT, v1::SYSCALL_ACTION_ALERT);
  auto r = Run({"syscalls", "ptrace"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("survived"));
  bool alert = false;
  for (const auto& v : Violations())
    if (v.attempted() == "ptrace" && v.action() == "alert") alert = true;
  EXPECT_TRUE(alert);
}

// The signal calls are sensitive when they reach another process only: a runtime signalling
// its own threads (Go's preemption, abort()) is never killed for it; signalling another
// process is (where only sys_enter acts the signal was sent: the seccomp filter refuses it).
TEST_F(EnforceTest, SignallingItselfIsHarmlessSignallingAnotherProcessKills) {
  Mode(v1::MODE_ENFORCE);
  auto self = Run({"signal-self"});
  EXPECT_EQ(self.status, 0) << self.out;
  EXPECT_THAT(self.out, HasSubstr("survived"));
  pid_t other = fork();
  if (other == 0) {
    pause();
    _exit(0);
  }
  auto r = Run({"signal-other", std::to_string(other)});
  EXPECT_EQ(r.status, 128 + 9) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("survived")));
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
  // Reported all the same: the ones that stayed home as alerts, the other one as killed.
  std::set<std::string> seen;
  for (const auto& v : Violations())
    if (v.kind() == "syscall") seen.insert(v.attempted() + " " + v.action());
  EXPECT_TRUE(seen.count("tgkill alert")) << ::testing::PrintToString(seen);
  EXPECT_TRUE(seen.count("kill alert")) << ::testing::PrintToString(seen);
  EXPECT_TRUE(seen.count("kill killed")) << ::testing::PrintToString(seen);
}

// io_uring: the operations a function submits are learned; in enforce an operation it never
// submitted is reported (nothing can refuse it there: docs/security.md), and accepting the
// violation adds the operation.
TEST_F(EnforceTest, IoUringOperationsAreLearnedAndAnUnlearnedOneIsReported) {
  auto p = core_->engine->GetProfile(Fn(name_));
  ASSERT_TRUE(p.ok());
  std::set<std::string> ops;
  for (const auto& c : p->containers())
    for (const auto& op : c.io_uring()) ops.insert(op.name());
  EXPECT_TRUE(ops.count("connect")) << ::testing::PrintToString(ops);
  EXPECT_FALSE(ops.count("nop"));

  Mode(v1::MODE_ENFORCE);
  auto r = Run({"uring-nop"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("uring-nop: 0"));
  auto vs = Violations();
  const v1::Violation* v = Find(vs, "io_uring", "io_uring nop");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "alert");
  ASSERT_TRUE(core_->engine->AcceptViolation(Fn(name_), v->id()).ok());
  p = core_->engine->GetProfile(Fn(name_));
  ASSERT_TRUE(p.ok());
  bool nop = false;
  for (const auto& c : p->containers())
    for (const auto& op : c.io_uring()) nop |= op.name() == "nop";
  EXPECT_TRUE(nop);
}

TEST_F(EnforceTest, MonitorModeReportsWithoutBlocking) {
  Mode(v1::MODE_MONITOR);
  const std::string pwned = tmp_.path() + "/monitored";
  auto r = Run(
      {"try-exec", "/usr/bin/touch", pwned, "try-tcp4", Port(*other_tcp_), "syscalls", "ptrace"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/touch: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("survived"));
  EXPECT_TRUE(Exists(pwned));
  auto vs = Violations();
  for (const auto& [kind, what] : std::vector<std::pair<std::string, std::string>>{
           {"exec", Real("/usr/bin/touch")},
           {"egress", "tcp 127.0.0.1:" + Port(*other_tcp_)},
           {"syscall", "ptrace"}}) {
    const v1::Violation* v = Find(vs, kind, what);
    ASSERT_NE(v, nullptr) << kind << " " << what;
    EXPECT_EQ(v->action(), "reported");
    EXPECT_EQ(v->mode(), v1::MODE_MONITOR);
  }
  // Monitor mode learns nothing new.
  auto p = core_->engine->GetProfile(Fn(name_));
  ASSERT_TRUE(p.ok());
  for (const auto& x : p->containers(0).execs()) EXPECT_NE(x.path(), Real("/usr/bin/touch"));
}

TEST_F(EnforceTest, OtherCgroupsAreNeverAffected) {
  Mode(v1::MODE_ENFORCE);
  const std::string f = tmp_.path() + "/outside";
  auto r = RunCapture("", {kWorkload, "try-exec", "/usr/bin/touch", f, "try-tcp4",
                           Port(*other_tcp_), "syscalls", "ptrace"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/touch: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("survived"));
  EXPECT_TRUE(Exists(f));
  EXPECT_TRUE(Violations().empty());
}

TEST_F(EnforceTest, NewReplicaOfAnEnforcedFunctionIsCoveredFromItsFirstSyscall) {
  Mode(v1::MODE_ENFORCE);
  TestCgroup replica("enforce-replica");
  auto reg = core_->engine->RegisterCgroup(Fn(name_), "main", replica.id(), replica.path());
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->mode(), v1::MODE_ENFORCE);
  auto r = RunCapture(replica.path(), {kWorkload, "try-exec", "/bin/true", "x", "try-exec",
                                       "/usr/bin/touch", tmp_.path() + "/replica"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("exec /bin/true: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/touch: signal 9"));
  // A new container name has learned nothing: everything but leaving is refused.
  TestCgroup sidecar("enforce-sidecar");
  ASSERT_TRUE(
      core_->engine->RegisterCgroup(Fn(name_), "sidecar", sidecar.id(), sidecar.path()).ok());
  EXPECT_EQ(testing::RunIn(sidecar.path(), {kWorkload}), 128 + 9);
}

// fg_workload thread-wait, started in `cgroup_dir`: its second thread makes a syscall outside
// the profile once `go` exists.
class ThreadWaiting {
 public:
  ThreadWaiting(const std::string& cgroup_dir, std::string go) : go_(std::move(go)) {
    pid_ = testing::Spawn(cgroup_dir, {kWorkload, "thread-wait", go_}, &fd_);
    out_ = ReadUntil(fd_, "waiting\n");
  }
  ~ThreadWaiting() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool started() const { return out_.find("waiting") != std::string::npos; }
  const std::string& out() const { return out_; }
  pid_t pid() const { return pid_; }
  // Let the thread go: it must be killed before its syscall returns ("survived").
  void ExpectKilledAfterGo() {
    { std::ofstream(go_) << "go"; }
    out_ += ReadUntil(fd_, "");
    EXPECT_EQ(testing::Wait(pid_), 128 + 9) << out_;
    EXPECT_THAT(out_, Not(HasSubstr("survived")));
  }

 private:
  std::string go_;
  int fd_ = -1;
  pid_t pid_ = -1;
  std::string out_;
};

// A process already running when its cgroup is registered (a container found after it
// started, an agent restart): its threads are checked from the registration on. The second
// thread existed before; the main thread waits in a join it entered before, so only the
// second thread's syscalls can be refused here.
TEST_F(EnforceTest, ThreadsRunningBeforeTheirCgroupIsRegisteredAreEnforced) {
  Mode(v1::MODE_ENFORCE);
  TestCgroup late("enforce-late");
  ThreadWaiting w(late.path(), tmp_.path() + "/go-late");
  ASSERT_TRUE(w.started()) << w.out();
  auto reg = core_->engine->RegisterCgroup(Fn(name_), "main", late.id(), late.path());
  ASSERT_TRUE(reg.ok()) << reg.status();
  ASSERT_EQ(reg->mode(), v1::MODE_ENFORCE);
  w.ExpectKilledAfterGo();
}

// A running process moved into an enforced function's cgroup by someone else (a write to
// cgroup.procs moves all its threads): checked from the move on, every thread.
TEST_F(EnforceTest, ProcessMovedIntoAnEnforcedCgroupIsEnforcedInEveryThread) {
  Mode(v1::MODE_ENFORCE);
  TestCgroup outside("enforce-outside");
  ThreadWaiting w(outside.path(), tmp_.path() + "/go-moved");
  ASSERT_TRUE(w.started()) << w.out();
  ASSERT_TRUE(MoveToCgroup(cg_->path(), w.pid()).ok());
  w.ExpectKilledAfterGo();
}

TEST_F(EnforceTest, AcceptedViolationsAreAllowedAfterwards) {
  Mode(v1::MODE_ENFORCE);
  const std::string f = tmp_.path() + "/accepted";
  const std::vector<std::string> steps = {"try-exec", "/usr/bin/touch", f, "try-tcp4",
                                          Port(*other_tcp_)};
  auto r = Run(steps);
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/touch: signal 9"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": EPERM"));
  // The operator's loop: accept what was refused, try again. touch first needs its exec, then
  // the syscalls it makes that the function never made (utimensat...).
  std::set<uint64_t> accepted;
  for (int round = 0; round < 6; ++round) {
    int added = 0;
    for (const auto& v : Violations()) {
      if (accepted.count(v.id())) continue;
      auto a = core_->engine->AcceptViolation(Fn(name_), v.id());
      ASSERT_TRUE(a.ok()) << a.status();
      accepted.insert(v.id());
      ++added;
    }
    if (added == 0) break;
    r = Run(steps);
  }
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/touch: exit 0"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": ok"));
  EXPECT_TRUE(Exists(f));
  auto p = core_->engine->GetProfile(Fn(name_));
  ASSERT_TRUE(p.ok());
  bool has_touch = false;
  for (const auto& x : p->containers(0).execs()) has_touch |= x.path() == Real("/usr/bin/touch");
  EXPECT_TRUE(has_touch);
}

TEST_F(EnforceTest, ForkPerRequestWatchdogSurvivesItsKilledHandler) {
  // Learn the server with benign requests, then send it one bad one in enforce mode.
  TestCgroup srv("forkserve");
  ASSERT_TRUE(core_->engine->RegisterCgroup(Fn("forkserve"), "main", srv.id(), srv.path()).ok());
  int port;
  {
    // A free TCP port (the server binds it with SO_REUSEADDR). A UDP probe's number could be
    // a TCP port in use: bind failed, and the test died of SIGPIPE writing to no one.
    LoopbackServer probe(AF_INET, SOCK_STREAM);
    port = probe.port();
  }
  auto serve = [&](const std::vector<std::string>& requests) {
    int out = -1;
    pid_t pid = testing::Spawn(
        srv.path(), {kWorkload, "forkserve", std::to_string(port), std::to_string(requests.size())},
        &out);
    EXPECT_THAT(ReadUntil(out, "listening\n"), HasSubstr("listening"));
    std::vector<std::string> replies;
    for (const auto& req : requests) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0)
          << "connect to the server: " << std::strerror(errno);
      std::string line = req + "\n";
      EXPECT_EQ(::send(fd, line.data(), line.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(line.size()))
          << std::strerror(errno);
      char rb[16] = {};
      ssize_t n = ::read(fd, rb, sizeof rb - 1);
      replies.push_back(n > 0 ? std::string(rb, static_cast<size_t>(n)) : "");
      ::close(fd);
    }
    std::string o = ReadUntil(out, "");
    ::close(out);
    return std::make_tuple(testing::Wait(pid), o, replies);
  };
  auto [st1, out1, rep1] = serve({"ok", "ok"});
  ASSERT_EQ(st1, 0) << out1;
  core_->Settle();
  ASSERT_TRUE(core_->engine->SetMode(Fn("forkserve"), v1::MODE_ENFORCE, std::nullopt).ok());

  auto [st, out, replies] = serve({"ok", "ptrace", "ok"});
  EXPECT_EQ(st, 0) << "the watchdog must survive: " << out;
  EXPECT_THAT(out, HasSubstr("child 0: exit 0"));
  EXPECT_THAT(out, HasSubstr("child 1: signal 9"));
  EXPECT_THAT(out, HasSubstr("child 2: exit 0"));
  EXPECT_THAT(out, HasSubstr("watchdog done"));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0], "ok\n");
  EXPECT_EQ(replies[1], "") << "the offending handler died before answering";
  EXPECT_EQ(replies[2], "ok\n");
}

class EnforceLimitsTest : public EnforceTest {
 protected:
  EnforceLimitsTest() {
    // The kernel's network allow-list holds 4 entries in all; the engine does not know.
    opts_.max_net_rules = 4;
  }
};

TEST_F(EnforceLimitsTest, AllowListThatDoesNotFitChangesNothing) {
  // The learned profile needs 4 network entries (tcp, udp, listen x2): it fits, exactly.
  Mode(v1::MODE_ENFORCE);
  auto r = Run({"try-tcp4", Port(*tcp_), "try-tcp4", Port(*other_tcp_)});
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": EPERM"));
  auto vs = Violations();
  const v1::Violation* n = Find(vs, "egress", "tcp 127.0.0.1:" + Port(*other_tcp_));
  ASSERT_NE(n, nullptr);
  // Accepting one more destination needs a 5th entry in the new generation: refused, and
  // the allow-list in force is still the old one, whole.
  auto a = core_->engine->AcceptViolation(Fn(name_), n->id());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kResourceExhausted) << a.status();
  r = Run({"try-tcp4", Port(*tcp_), "try-tcp4", Port(*other_tcp_), "try-udp4", Port(*udp_)});
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*tcp_) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": EPERM"));
  EXPECT_THAT(r.out, HasSubstr("udp4 " + Port(*udp_) + ": ok"));
  auto p = core_->engine->GetProfile(Fn(name_));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->containers(0).egress_size(), 2) << "the profile did not change either";
}

class EnforceCompileLimitTest : public EnforceTest {
 protected:
  EnforceCompileLimitTest() { opts_.limits.max_net_rules = 3; }
};

TEST_F(EnforceCompileLimitTest, ModeChangeThatCannotCompileLeavesTheFunctionAsItWas) {
  auto r = core_->engine->SetMode(Fn(name_), v1::MODE_ENFORCE, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("do not fit"));
  auto fns = core_->engine->ListFunctions();
  ASSERT_EQ(fns.size(), 1u);
  EXPECT_EQ(fns[0].mode(), v1::MODE_LEARN);
  // Still learning: nothing is refused.
  auto run = Run({"try-tcp4", Port(*other_tcp_), "try-exec", "/usr/bin/touch",
                  tmp_.path() + "/still-learning"});
  EXPECT_THAT(run.out, HasSubstr("tcp4 " + Port(*other_tcp_) + ": ok"));
  EXPECT_THAT(run.out, HasSubstr("exec /usr/bin/touch: exit 0"));
}

}  // namespace
}  // namespace faasguard

namespace faasguard {
namespace {

// Rules a person wrote in the profile file (CIDR, any port, a path prefix, any parent) are
// compiled into the kernel like learned items.
// A TrackCgroup that fails after fg_tracked was written (here: the task-mark iterator cannot
// run) takes its entries back out, so the kernel never tracks a cgroup the engine forgot.
TEST(KernelMapsTest, FailedTrackLeavesNothingInTheKernel) {
  FG_REQUIRE_ROOT();
  AgentCore core;
  ASSERT_TRUE(core.programs->task_mark_active()) << "this kernel has the task mark (6.7+)";
  BpfKernelMaps::Fds fds = core.programs->map_fds();
  int not_a_program = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  fds.mark_iter = not_a_program;
  BpfKernelMaps broken(fds);
  TestCgroup cg("track-fails");
  absl::Status s = broken.TrackCgroup(cg.id(), 1, 0);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.ToString(), HasSubstr("task-mark iterator"));
  uint64_t id = cg.id();
  fg_cgroup_val v{};
  EXPECT_NE(bpf_map_lookup_elem(fds.tracked, &id, &v), 0) << "fg_tracked entry left behind";
  int fd = ::open(cg.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_NE(bpf_map_lookup_elem(fds.cg_local, &fd, &v), 0) << "fg_cg_local entry left behind";
  ::close(fd);
  ::close(not_a_program);
  // The real one works, and marks.
  EXPECT_TRUE(core.kernel->TrackCgroup(cg.id(), 1, 0).ok());
  EXPECT_EQ(bpf_map_lookup_elem(fds.tracked, &id, &v), 0);
}

TEST(EnforceRulesTest, HandWrittenRulesAreEnforced) {
  FG_REQUIRE_ROOT();
  testing::AgentCore core;
  LoopbackServer a(AF_INET, SOCK_STREAM), b(AF_INET, SOCK_STREAM), v6(AF_INET6, SOCK_STREAM);
  // Learn the workload's own start and its syscalls (it needs them to run at all).
  TestCgroup cg("rules");
  v1::FunctionId id = Fn("rules");
  ASSERT_TRUE(core.engine->RegisterCgroup(id, "main", cg.id(), cg.path()).ok());
  ASSERT_EQ(testing::RunIn(cg.path(), {kWorkload, "try-exec", "/bin/true", "x", "try-tcp4", Port(a),
                                       "try-tcp6", Port(v6), "try-bind", "0"}),
            0);
  core.Settle();
  auto learned = core.engine->GetProfile(id);
  ASSERT_TRUE(learned.ok());
  // Replace what it learned about the network and execs by rules.
  v1::Profile p = *learned;
  v1::ContainerProfile* c = p.mutable_containers(0);
  c->clear_egress();
  auto* any_local = c->add_egress();
  any_local->set_protocol(v1::PROTOCOL_TCP);
  any_local->set_address("127.0.0.0/8");  // any loopback address...
  any_local->set_port(0);                 // ...any port
  std::vector<v1::ExecEntry> keep;
  for (const auto& x : c->execs())
    if (x.path() != Real("/bin/true")) keep.push_back(x);
  c->clear_execs();
  for (const auto& x : keep) *c->add_execs() = x;
  auto* bins = c->add_execs();
  bins->set_path("/usr/bin/t*");  // /usr/bin/true, /usr/bin/touch, ... from any parent
  bins->set_parent("*");
  ASSERT_TRUE(ValidateProfile(p).ok()) << ValidateProfile(p);
  ASSERT_TRUE(core.store->Save(p).ok());

  // A new agent core reads the file: the function starts in enforce mode from its profile.
  testing::AgentCore core2;
  p.set_mode(v1::MODE_ENFORCE);
  {
    ProfileStore store(core2.state.path());
    ASSERT_TRUE(store.Init().ok());
    ASSERT_TRUE(store.Save(p).ok());
  }
  core2.engine->LoadProfiles();
  TestCgroup cg2("rules2");
  auto reg = core2.engine->RegisterCgroup(id, "main", cg2.id(), cg2.path());
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->mode(), v1::MODE_ENFORCE);
  TempDir tmp;
  auto r = RunCapture(cg2.path(), {kWorkload, "try-tcp4", Port(a), "try-tcp4", Port(b), "try-tcp6",
                                   Port(v6), "try-exec", "/bin/true", "x", "try-exec",
                                   "/usr/bin/tty", "x", "try-exec", "/bin/ls", "x"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(a) + ": ok"));
  EXPECT_THAT(r.out, HasSubstr("tcp4 " + Port(b) + ": ok")) << "127.0.0.0/8, any port";
  EXPECT_THAT(r.out, HasSubstr("tcp6 " + Port(v6) + ": EPERM")) << "the rule is IPv4 only";
  EXPECT_THAT(r.out, HasSubstr("exec /bin/true: exit 0")) << "/usr/bin/t* matches";
  EXPECT_THAT(r.out, HasSubstr("exec /usr/bin/tty: exit")) << "/usr/bin/t* matches";
  EXPECT_THAT(r.out, HasSubstr("exec /bin/ls: signal 9")) << "/usr/bin/ls does not";
}

}  // namespace
}  // namespace faasguard
