// Integration (root): the ways in and out beyond TCP/UDP destinations (issue 21), with the real
// programs attached and real processes. Each attack is first shown to work untracked; then a
// function learns its benign counterpart (a Unix socket it uses, its socket kinds, its
// listening and receiving ports, its own script), and the attack is refused under enforce,
// reported under monitor and learned under learn, while the learned counterpart still works.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cgroup/cgroup.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentCore;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::TestCgroup;

constexpr char kWorkload[] = FG_SOCK_WORKLOAD_PATH;

v1::FunctionId Fn(const std::string& name) {
  return testing::FunctionIdOf("local", "sockets", name);
}

// A Unix socket server of `type` at `name` ("@x": abstract) that takes what comes.
class UnixServer {
 public:
  UnixServer(const std::string& name, int type) {
    fd_ = ::socket(AF_UNIX, type, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@')
      a.sun_path[0] = 0;
    else
      len += 1;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0) << name;
    if (type == SOCK_STREAM) {
      EXPECT_EQ(::listen(fd_, 64), 0);
    }
  }
  ~UnixServer() { ::close(fd_); }

 private:
  int fd_ = -1;
};

// One line of the child's output (without its newline), "" at its end.
std::string Line(int fd) {
  std::string o;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') o += c;
  return o;
}

std::string Rest(int fd) {
  std::string o;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) o.append(buf, static_cast<size_t>(n));
  return o;
}

// A TCP connection from here (the test, untracked) to addr:port; true when it was accepted
// within `ms` (a dropped SYN is retried by the kernel after a second: well beyond it).
bool ConnectFrom(const char* addr, int port, int ms = 700) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, addr, &a.sin_addr);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  bool ok = r == 0;
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int e = 0;
    socklen_t el = sizeof e;
    ok = ::poll(&p, 1, ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0;
  }
  ::close(fd);
  return ok;
}

void SendUdp(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 3; ++i) ::sendto(fd, "cmd", 3, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::close(fd);
}

// net.ipv4.ping_group_range opened to every group for the test's lifetime (off by default).
class PingGroups {
 public:
  PingGroups() {
    std::ifstream in(kPath);
    std::getline(in, old_);
    std::ofstream(kPath) << "0 2147483647\n";
  }
  ~PingGroups() { std::ofstream(kPath) << old_ << "\n"; }

 private:
  static constexpr const char* kPath = "/proc/sys/net/ipv4/ping_group_range";
  std::string old_;
};

class SocketsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    core_ = std::make_unique<AgentCore>();
    if (!core_->programs->unix_active())
      GTEST_SKIP() << "this kernel has no cgroup/connect_unix (6.7+): Unix peers not enforced";
    const std::string d = tmp_.path();
    learned_stream_ = d + "/learned.sock";
    other_stream_ = d + "/docker.sock";
    learned_dgram_ = d + "/learned.dgram";
    other_dgram_ = d + "/other.dgram";
    learned_abstract_ = absl::StrCat("@fg-learned-", ::getpid());
    other_abstract_ = absl::StrCat("@fg-other-", ::getpid());
    servers_.push_back(std::make_unique<UnixServer>(learned_stream_, SOCK_STREAM));
    servers_.push_back(std::make_unique<UnixServer>(other_stream_, SOCK_STREAM));
    servers_.push_back(std::make_unique<UnixServer>(learned_dgram_, SOCK_DGRAM));
    servers_.push_back(std::make_unique<UnixServer>(other_dgram_, SOCK_DGRAM));
    servers_.push_back(std::make_unique<UnixServer>(learned_abstract_, SOCK_STREAM));
    servers_.push_back(std::make_unique<UnixServer>(other_abstract_, SOCK_STREAM));
    for (const char* sub : {"/a", "/b"}) {
      std::filesystem::create_directory(d + sub);
      std::ofstream(d + sub + "/tool.sh") << "#!/bin/true\n";
      ::chmod((d + sub + "/tool.sh").c_str(), 0755);
    }
    {
      testing::LoopbackServer probe(AF_INET, SOCK_STREAM);
      serve_port_ = probe.port();
    }
    {
      testing::LoopbackServer probe(AF_INET, SOCK_DGRAM);
      udp_port_ = probe.port();
    }
  }

  // The benign counterparts, in the cgroup `cg`: a learning run (or their check in enforce).
  std::string Benign(const std::string& cg) {
    auto r =
        testing::RunCapture(cg, {kWorkload, "unix", learned_stream_, "unix-dgram", learned_dgram_,
                                 "unix", learned_abstract_, "socket", "2", "1", "0", "socket", "2",
                                 "2", "0", "chdir", tmp_.path() + "/a", "try-exec", "./tool.sh"});
    EXPECT_EQ(r.status, 0) << r.out;
    return r.out;
  }

  // A server on the learned port, reached from loopback; a datagram to the learned UDP port.
  std::string Receive(const std::string& cg) {
    int out = -1;
    pid_t pid = testing::Spawn(cg,
                               {kWorkload, "serve", "127.0.0.1", std::to_string(serve_port_), "1",
                                "udp-recv", std::to_string(udp_port_), "2"},
                               &out);
    std::string o = Line(out);
    EXPECT_EQ(o, "serving " + std::to_string(serve_port_));
    EXPECT_TRUE(ConnectFrom("127.0.0.1", serve_port_)) << "the learned listening port";
    std::string l;
    while (!(l = Line(out)).empty() && l.rfind("udp-recv", 0) != 0) o += "\n" + l;
    o += "\n" + l;
    SendUdp(udp_port_);
    o += "\n" + Rest(out);
    ::close(out);
    EXPECT_EQ(testing::Wait(pid), 0) << o;
    return o;
  }

  // The attacks, each printing its outcome.
  std::string Attacks(const std::string& cg) {
    PingGroups ping;
    auto r = testing::RunCapture(cg, {kWorkload,
                                      "unix",
                                      other_stream_,
                                      "unix-dgram",
                                      other_dgram_,
                                      "unix",
                                      other_abstract_,
                                      "ping",
                                      "socket",
                                      "2",
                                      "3",
                                      "1",
                                      "socket",
                                      "17",
                                      "3",
                                      "768",
                                      "srcroute",
                                      std::to_string(udp_port_),
                                      "chdir",
                                      tmp_.path() + "/b",
                                      "try-exec",
                                      "./tool.sh"});
    EXPECT_EQ(r.status, 0) << r.out;
    return r.out;
  }

  // bind(0) + listen in a forked child, a UDP socket on an ephemeral port: commands from
  // anyone. "accept: ..." and "recv: ..." say whether they got through.
  std::string Inbound(const std::string& cg, bool expect_through) {
    int out = -1;
    pid_t pid = testing::Spawn(cg, {kWorkload, "listen0-fork", "2", "udp-recv", "0", "2"}, &out);
    std::string first = Line(out);
    int port = 0;
    EXPECT_EQ(std::sscanf(first.c_str(), "listen0-fork %d", &port), 1) << first;
    EXPECT_EQ(ConnectFrom("127.0.0.1", port), expect_through) << first;
    std::string o = first + "\n" + Line(out);  // accept: ...
    std::string udp = Line(out);
    int uport = 0;
    EXPECT_EQ(std::sscanf(udp.c_str(), "udp-recv %d", &uport), 1) << udp;
    SendUdp(uport);
    o += "\n" + udp + "\n" + Rest(out);
    ::close(out);
    EXPECT_EQ(testing::Wait(pid), 0) << o;
    return o;
  }

  void Learn() {
    ASSERT_TRUE(core_->engine->RegisterCgroup(Fn(name_), "main", cg_.id(), cg_.path()).ok());
    Benign(cg_.path());
    Receive(cg_.path());
    core_->Settle();
  }

  void Mode(v1::Mode m) {
    auto r = core_->engine->SetMode(Fn(name_), ModeRequest{m, std::nullopt, {}, std::nullopt},
                                    ModeSource::kApi);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::vector<v1::Violation> Violations() {
    core_->Settle();
    v1::FunctionId id = Fn(name_);
    auto r = core_->engine->ListViolations(&id, 10000);
    return {r.violations().begin(), r.violations().end()};
  }

  static int Count(const std::vector<v1::Violation>& vs, const std::string& kind,
                   const std::string& part, const std::string& action) {
    int n = 0;
    for (const auto& v : vs)
      if (v.kind() == kind && v.attempted().find(part) != std::string::npos && v.action() == action)
        ++n;
    return n;
  }

  v1::ContainerProfile Section() {
    core_->Settle();
    auto p = core_->engine->GetProfile(Fn(name_));
    EXPECT_TRUE(p.ok()) << p.status();
    for (const auto& c : p->containers())
      if (c.name() == "main") return c;
    return {};
  }

  std::string name_ = "fn";
  std::unique_ptr<AgentCore> core_;
  TempDir tmp_;
  TestCgroup cg_{"sockets"};
  std::vector<std::unique_ptr<UnixServer>> servers_;
  std::string learned_stream_, other_stream_, learned_dgram_, other_dgram_, learned_abstract_,
      other_abstract_;
  int serve_port_ = 0, udp_port_ = 0;
};

TEST_F(SocketsTest, EveryAttackWorksUntracked) {
  TestCgroup free("sockets-untracked");
  std::string o = Attacks(free.path());
  EXPECT_THAT(o, HasSubstr("unix " + other_stream_ + ": ok"));
  EXPECT_THAT(o, HasSubstr("unix-dgram " + other_dgram_ + ": ok"));
  EXPECT_THAT(o, HasSubstr("unix " + other_abstract_ + ": ok"));
  EXPECT_THAT(o, HasSubstr("ping: ok"));
  EXPECT_THAT(o, HasSubstr("socket 2 3 1: ok"));
  EXPECT_THAT(o, HasSubstr("socket 17 3 768: ok"));
  EXPECT_THAT(o, HasSubstr("srcroute: ok"));
  EXPECT_THAT(o, HasSubstr("exec ./tool.sh: exit 0"));
  o = Inbound(free.path(), true);
  EXPECT_THAT(o, HasSubstr("accept: ok"));
  EXPECT_THAT(o, HasSubstr("recv: ok"));
}

TEST_F(SocketsTest, LearnedAsTheFunctionUsesThem) {
  Learn();
  v1::ContainerProfile c = Section();
  auto has_unix = [&](const std::string& path, const std::string& type) {
    for (const auto& u : c.unix_peers())
      if (u.path() == path && u.type() == type) return true;
    return false;
  };
  EXPECT_TRUE(has_unix(learned_stream_, "stream")) << c.DebugString();
  EXPECT_TRUE(has_unix(learned_dgram_, "dgram")) << c.DebugString();
  EXPECT_TRUE(has_unix(learned_abstract_, "stream")) << c.DebugString();
  bool tcp = false, udp = false;
  for (const auto& s : c.sockets()) {
    tcp |= s.family() == "inet" && s.type() == "stream" && s.protocol() == 6;
    udp |= s.family() == "inet" && s.type() == "dgram" && s.protocol() == 17;
  }
  EXPECT_TRUE(tcp && udp) << c.DebugString();
  bool served = false, received = false;
  for (const auto& in : c.inbound()) {
    served |= in.protocol() == v1::PROTOCOL_TCP &&
              in.port() == static_cast<uint32_t>(serve_port_) &&
              in.peer() == v1::PEER_CLASS_LOOPBACK;
    received |= in.protocol() == v1::PROTOCOL_UDP &&
                in.port() == static_cast<uint32_t>(udp_port_) &&
                in.peer() == v1::PEER_CLASS_LOOPBACK;
  }
  EXPECT_TRUE(served) << c.DebugString();
  EXPECT_TRUE(received) << c.DebugString();
  bool script = false;
  for (const auto& e : c.execs()) script |= e.script() == tmp_.path() + "/a/tool.sh";
  EXPECT_TRUE(script) << "the script by its resolved absolute path\n" << c.DebugString();

  // The attacks, still in learn mode, are learned too (and nothing is refused).
  std::string o = Attacks(cg_.path());
  EXPECT_THAT(o, Not(HasSubstr("EPERM")));
  EXPECT_THAT(o, Not(HasSubstr("signal")));
  c = Section();
  EXPECT_TRUE(has_unix(other_stream_, "stream")) << c.DebugString();
  bool raw = false, packet = false, ping = false;
  for (const auto& s : c.sockets()) {
    raw |= s.family() == "inet" && s.type() == "raw" && s.protocol() == 1;
    packet |= s.family() == "packet" && s.type() == "raw" && s.protocol() == 768;
    ping |= s.family() == "inet" && s.type() == "dgram" && s.protocol() == 1;
  }
  EXPECT_TRUE(raw && packet && ping) << c.DebugString();
  EXPECT_EQ(c.socket_options_size(), 1) << c.DebugString();
  if (c.socket_options_size()) {
    EXPECT_EQ(c.socket_options(0).option(), "IP_OPTIONS");
  }
}

TEST_F(SocketsTest, EnforceRefusesEachAttackAndKeepsWhatWasLearned) {
  Learn();
  Mode(v1::MODE_ENFORCE);
  std::string o = Benign(cg_.path());
  EXPECT_THAT(o, HasSubstr("unix " + learned_stream_ + ": ok"));
  EXPECT_THAT(o, HasSubstr("unix-dgram " + learned_dgram_ + ": ok"));
  EXPECT_THAT(o, HasSubstr("unix " + learned_abstract_ + ": ok"));
  EXPECT_THAT(o, HasSubstr("socket 2 1 0: ok"));
  EXPECT_THAT(o, HasSubstr("socket 2 2 0: ok"));
  EXPECT_THAT(o, HasSubstr("exec ./tool.sh: exit 0"));
  o = Receive(cg_.path());
  EXPECT_THAT(o, HasSubstr("accept: ok"));
  EXPECT_THAT(o, HasSubstr("recv: ok"));

  o = Attacks(cg_.path());
  EXPECT_THAT(o, HasSubstr("unix " + other_stream_ + ": EPERM"));
  EXPECT_THAT(o, HasSubstr("unix-dgram " + other_dgram_ + ": EPERM"));
  EXPECT_THAT(o, HasSubstr("unix " + other_abstract_ + ": EPERM"));
  EXPECT_THAT(o, HasSubstr("ping: EPERM"));
  EXPECT_THAT(o, HasSubstr("socket 2 3 1: EPERM"));
  EXPECT_THAT(o, HasSubstr("socket 17 3 768: signal 9"));
  EXPECT_THAT(o, HasSubstr("srcroute: EPERM"));
  EXPECT_THAT(o, HasSubstr("exec ./tool.sh: signal 9"));
  o = Inbound(cg_.path(), false);
  EXPECT_THAT(o, HasSubstr("accept: timeout"));
  EXPECT_THAT(o, HasSubstr("recv: timeout"));

  auto vs = Violations();
  EXPECT_GE(Count(vs, "unix", other_stream_, "denied"), 1);
  EXPECT_GE(Count(vs, "unix", other_dgram_, "denied"), 1);
  EXPECT_GE(Count(vs, "unix", other_abstract_, "denied"), 1);
  EXPECT_GE(Count(vs, "socket", "inet raw 1", "denied"), 1);
  EXPECT_GE(Count(vs, "socket", "inet dgram 1", "denied"), 1);
  EXPECT_GE(Count(vs, "socket", "packet raw 768", "killed"), 1);
  EXPECT_GE(Count(vs, "sockopt", "IP_OPTIONS", "denied"), 1);
  EXPECT_GE(Count(vs, "inbound", "tcp", "denied"), 1);
  EXPECT_GE(Count(vs, "inbound", "udp", "denied"), 1);
  int scripts = 0;
  for (const auto& v : vs)
    if (v.kind() == "exec" && v.exec().script() == tmp_.path() + "/b/tool.sh") ++scripts;
  EXPECT_GE(scripts, 1) << "the other tool.sh, by its resolved path";
}

TEST_F(SocketsTest, MonitorReportsEachAttackAndRefusesNothing) {
  Learn();
  Mode(v1::MODE_MONITOR);
  std::string o = Attacks(cg_.path());
  EXPECT_THAT(o, Not(HasSubstr("EPERM")));
  EXPECT_THAT(o, Not(HasSubstr("signal")));
  o = Inbound(cg_.path(), true);
  EXPECT_THAT(o, HasSubstr("accept: ok"));
  EXPECT_THAT(o, HasSubstr("recv: ok"));
  auto vs = Violations();
  EXPECT_GE(Count(vs, "unix", other_stream_, "reported"), 1);
  EXPECT_GE(Count(vs, "unix", other_dgram_, "reported"), 1);
  EXPECT_GE(Count(vs, "unix", other_abstract_, "reported"), 1);
  EXPECT_GE(Count(vs, "socket", "inet raw 1", "reported"), 1);
  EXPECT_GE(Count(vs, "socket", "packet raw 768", "reported"), 1);
  EXPECT_GE(Count(vs, "sockopt", "IP_OPTIONS", "reported"), 1);
  EXPECT_GE(Count(vs, "inbound", "tcp", "reported"), 1);
  EXPECT_GE(Count(vs, "inbound", "udp", "reported"), 1);
}

// Inbound peers are enforced by class: to a port learned from loopback, a connection from
// another network namespace over a veth ("outside"; "cluster" once its CIDR is the cluster's)
// and one to the function's own non-loopback address ("namespace") are refused, while
// loopback still gets through; each violation names its class.
TEST_F(SocketsTest, InboundPeersAreEnforcedByClass) {
  const std::string ns = absl::StrCat("fgsock", ::getpid());
  const std::string veth = absl::StrCat("fgv", ::getpid() % 100000);
  auto sh = [](const std::string& c) { return std::system(c.c_str()); };
  ASSERT_EQ(sh("ip netns add " + ns), 0);
  ASSERT_EQ(
      sh(absl::StrCat("ip link add ", veth, "a type veth peer name ", veth, "b netns ", ns,
                      " && ip addr add 10.213.0.1/24 dev ", veth, "a && ip link set ", veth,
                      "a up && ip -n ", ns, " addr add 10.213.0.2/24 dev ", veth, "b && ip -n ", ns,
                      " link set ", veth, "b up && ip -n ", ns, " link set lo up")),
      0);
  // From the other namespace: fork, join it, connect; true when accepted.
  auto from_other = [&] {
    pid_t c = ::fork();
    if (c == 0) {
      int nsfd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY);
      if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) ::_exit(2);
      ::_exit(ConnectFrom("10.213.0.1", serve_port_, 1500) ? 0 : 1);
    }
    int st = 0;
    ::waitpid(c, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 2) << "setns " << st;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
  };
  // Untracked, every class gets through.
  {
    TestCgroup free("sockets-class-untracked");
    int out = -1;
    pid_t pid = testing::Spawn(
        free.path(), {kWorkload, "serve", "0.0.0.0", std::to_string(serve_port_), "2"}, &out);
    Line(out);
    EXPECT_TRUE(from_other()) << "outside, untracked";
    EXPECT_TRUE(ConnectFrom("10.213.0.1", serve_port_)) << "namespace, untracked";
    Rest(out);
    ::close(out);
    testing::Wait(pid);
  }
  Learn();
  Mode(v1::MODE_ENFORCE);
  int out = -1;
  pid_t pid = testing::Spawn(
      cg_.path(), {kWorkload, "serve", "0.0.0.0", std::to_string(serve_port_), "30"}, &out);
  std::string o = Line(out);
  EXPECT_TRUE(ConnectFrom("127.0.0.1", serve_port_)) << "loopback, learned";
  EXPECT_FALSE(from_other()) << "outside: refused";
  EXPECT_FALSE(ConnectFrom("10.213.0.1", serve_port_)) << "namespace: refused";
  fg_cidr_key cluster{};
  cluster.prefixlen = FG_CIDR_FIXED_BITS + 24;
  cluster.family = 4;
  cluster.addr[0] = 10;
  cluster.addr[1] = 213;
  ASSERT_TRUE(core_->programs->SetClusterCidrs({cluster}).ok());
  EXPECT_FALSE(from_other()) << "cluster: refused (never learned)";
  EXPECT_TRUE(ConnectFrom("127.0.0.1", serve_port_)) << "loopback, still";
  ::kill(pid, SIGKILL);
  o += "\n" + Rest(out);
  ::close(out);
  testing::Wait(pid);
  sh("ip link del " + veth + "a 2>/dev/null; ip netns del " + ns);
  std::set<v1::PeerClass> refused;
  for (const auto& v : Violations())
    if (v.kind() == "inbound" && v.action() == "denied") refused.insert(v.inbound().peer());
  EXPECT_TRUE(refused.count(v1::PEER_CLASS_OUTSIDE)) << o;
  EXPECT_TRUE(refused.count(v1::PEER_CLASS_NAMESPACE)) << o;
  EXPECT_TRUE(refused.count(v1::PEER_CLASS_CLUSTER)) << o;
  EXPECT_FALSE(refused.count(v1::PEER_CLASS_LOOPBACK)) << o;
  EXPECT_THAT(o, HasSubstr("accept: ok"));
}

// faasguardctl run's end: a daemon the command double-forked is killed while its cgroup is
// still tracked (EmptyCgroup), and never runs untracked.
TEST_F(SocketsTest, WhatACommandLeavesInItsCgroupIsKilled) {
  TestCgroup left("sockets-left");
  auto r = testing::RunCapture(left.path(), {kWorkload, "daemon", "30", "9"});
  EXPECT_THAT(r.out, HasSubstr("daemon started"));
  auto procs = [&] {
    std::ifstream in(left.path() + "/cgroup.procs");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return s;
  };
  EXPECT_FALSE(procs().empty()) << "the daemon outlived its command";
  auto s = EmptyCgroup(left.path());
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(procs(), "");
}

}  // namespace
}  // namespace faasguard
