// e2e (root): faasguard-agent on a "node" whose pods come from a real containerd through its
// CRI. A Knative-like pod (queue-proxy in front of the sample function in user-container) and
// an OpenFaaS-like pod are created the way the kubelet does; the agent must attribute each
// container to its function and section, learn, enforce, and cover a cold start (a new pod of
// an enforced function) from its first syscall.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "support/agent_process.h"
#include "support/containerd_harness.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentProcess;
using testing::ContainerdHarness;
using testing::ContainerSpec;
using ::testing::HasSubstr;
using testing::HostMount;
using ::testing::Not;
using testing::Pod;
using testing::PodSpec;

std::string SourceFile(const std::string& rel) {
  auto t = ReadFile(std::string(FG_SOURCE_DIR) + "/" + rel);
  return t.ok() ? *t : "";
}

int FreePort() {
  testing::LoopbackServer s(AF_INET, SOCK_STREAM);
  return s.port();
}

// One HTTP GET on loopback; "" on failure.
std::string HttpGet(int port, const std::string& path, int timeout_s = 10) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

bool WaitHttp(int port, const std::string& path, const std::string& want, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (HttpGet(port, path, 2).find(want) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string Quote(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.')
      o += static_cast<char>(c);
    else
      o += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
  }
  return o;
}

std::vector<pid_t> Pids(const std::string& cgroup_dir) {
  std::vector<pid_t> out;
  auto t = ReadFile(cgroup_dir + "/cgroup.procs");
  if (!t.ok()) return out;
  for (absl::string_view l : absl::StrSplit(*t, '\n', absl::SkipEmpty())) {
    int p;
    if (absl::SimpleAtoi(l, &p)) out.push_back(p);
  }
  return out;
}

v1::FunctionId Fn(const std::string& ns, const std::string& name) {
  v1::FunctionId id;
  id.set_namespace_(ns);
  id.set_name(name);
  return id;
}

class K8sE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    auto h = ContainerdHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    cd_ = std::move(*h);
    seccomp_root_ = dir_.path() + "/seccomp";
    auto a = AgentProcess::Start(
        FG_AGENT_PATH, dir_.path(),
        {"--cri-endpoint", cd_->socket(), "--cri-resync", "2", "--seccomp-root", seccomp_root_});
    ASSERT_TRUE(a.ok()) << a.status();
    agent_ = std::move(*a);
  }

  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "--- agent log (tail)\n" << Tail(agent_->Log());
    agent_.reset();
    if (cd_) (void)cd_->Shutdown();
  }

  static std::string Tail(const std::string& s) {
    return s.size() > 12000 ? s.substr(s.size() - 12000) : s;
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  }

  absl::StatusOr<v1::Profile> Profile(const v1::FunctionId& id) {
    v1::GetProfileRequest req;
    *req.mutable_function() = id;
    v1::GetProfileResponse r;
    auto ctx = Ctx();
    grpc::Status s = agent_->stub().GetProfile(ctx.get(), req, &r);
    if (!s.ok()) return absl::NotFoundError(s.error_message());
    return r.profile();
  }

  absl::StatusOr<v1::FunctionSummary> Function(const v1::FunctionId& id) {
    v1::GetFunctionRequest req;
    *req.mutable_function() = id;
    v1::FunctionSummary r;
    auto ctx = Ctx();
    grpc::Status s = agent_->stub().GetFunction(ctx.get(), req, &r);
    if (!s.ok()) return absl::NotFoundError(s.error_message());
    return r;
  }

  bool WaitReplicas(const v1::FunctionId& id, uint32_t n, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      auto f = Function(id);
      if (f.ok() && f->replicas() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::vector<v1::Violation> Violations(const v1::FunctionId& id) {
    v1::ListViolationsRequest req;
    *req.mutable_function() = id;
    req.set_limit(1000);
    v1::ListViolationsResponse r;
    auto ctx = Ctx();
    (void)agent_->stub().ListViolations(ctx.get(), req, &r);
    return {r.violations().begin(), r.violations().end()};
  }

  // Until the agent says sys_enter is (not) attached and `needing` cgroups need it.
  bool WaitSyscallHook(bool attached, uint32_t needing, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    v1::GetStatusResponse r;
    while (std::chrono::steady_clock::now() < end) {
      auto ctx = Ctx();
      if (agent_->stub().GetStatus(ctx.get(), v1::GetStatusRequest(), &r).ok() &&
          r.syscall_hook_attached() == attached && r.cgroups_needing_syscall_hook() == needing)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cerr << "sys_enter attached: " << r.syscall_hook_attached()
              << ", cgroups needing it: " << r.cgroups_needing_syscall_hook() << "\n";
    return false;
  }

  void SetMode(const v1::FunctionId& id, v1::Mode m) {
    v1::SetModeRequest req;
    *req.mutable_function() = id;
    req.set_mode(m);
    v1::SetModeResponse r;
    auto ctx = Ctx();
    grpc::Status s = agent_->stub().SetMode(ctx.get(), req, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A pod of function `function` (the faasguard.dev/function label), once the agent registered
  // its cgroup: containers then start the way the kubelet starts them, well after the sandbox.
  absl::StatusOr<Pod> RunFunctionPod(const std::string& name, const std::string& function) {
    PodSpec ps;
    ps.name = name;
    ps.labels = {{"faasguard.dev/function", function}};
    auto pod = cd_->RunPod(ps);
    if (!pod.ok()) return pod.status();
    if (!agent_->WaitForLog("pod" + pod->uid + "\",\"cgroup_id\"", 10))
      return absl::DeadlineExceededError("the agent never registered the pod's cgroup");
    return pod;
  }

  // The Knative-like pod: labels of a revision, queue-proxy in front of the sample function.
  struct KnativePod {
    Pod pod;
    std::string user_id, proxy_id;
    int user_port = 0, queue_port = 0;
  };

  // With `listed`, containers start only once the agent has registered the pod's cgroup (from
  // its CRI listing), as with the kubelet, which creates containers well after RunPodSandbox
  // returned (image pulls, volumes): the ordering behind "covered from its cgroup's creation"
  // (docs/architecture.md, "Kubernetes nodes"). Without an agent (it is being restarted) there
  // is nothing to wait for.
  absl::StatusOr<KnativePod> RunKnativePod(int user_port, int queue_port, bool listed = true) {
    KnativePod k;
    k.user_port = user_port;
    k.queue_port = queue_port;
    PodSpec ps;
    ps.name = "hello-00001-deployment-" + std::to_string(user_port);
    ps.namespace_ = "default";
    ps.labels = {{"serving.knative.dev/service", "hello"},
                 {"serving.knative.dev/revision", "hello-00001"},
                 {"serving.knative.dev/configuration", "hello"}};
    auto pod = cd_->RunPod(ps);
    if (!pod.ok()) return pod.status();
    k.pod = *pod;
    if (listed && !agent_->WaitForLog("pod" + k.pod.uid + "\",\"cgroup_id\"", 10))
      return absl::DeadlineExceededError("the agent never registered the pod's cgroup");
    ContainerSpec user;
    user.name = "user-container";
    user.command = {"/usr/bin/python3", "/app/handler.py"};
    user.env = {{"PORT", std::to_string(user_port)}, {"HOST", "127.0.0.1"}, {"HELLO_QUIET", "1"}};
    user.mounts = {HostMount{"/app", std::string(FG_SOURCE_DIR) + "/examples/hello-py", true}};
    auto uid = cd_->StartContainer(k.pod, user);
    if (!uid.ok()) return uid.status();
    k.user_id = *uid;
    ContainerSpec proxy;
    proxy.name = "queue-proxy";
    proxy.command = {"/usr/bin/python3", "-c", SourceFile("tests/e2e/k8s/queue_proxy.py")};
    proxy.env = {{"QUEUE_SERVING_PORT", std::to_string(queue_port)},
                 {"USER_PORT", std::to_string(user_port)}};
    auto pid = cd_->StartContainer(k.pod, proxy);
    if (!pid.ok()) return pid.status();
    k.proxy_id = *pid;
    return k;
  }

  // A container's exit code once it exited (-1: still running after `seconds`).
  int WaitExit(const std::string& id, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      auto st = cd_->cri().ContainerStatus(id);
      if (st.ok() && st->status().state() == runtime::v1::CONTAINER_EXITED)
        return st->status().exit_code();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }

  testing::TempDir dir_;
  std::string seccomp_root_;
  std::unique_ptr<ContainerdHarness> cd_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(K8sE2E, KnativeLearnEnforceAndColdStart) {
  const v1::FunctionId hello = Fn("default", "hello");
  auto k = RunKnativePod(FreePort(), FreePort());
  ASSERT_TRUE(k.ok()) << k.status() << "\n" << cd_->DaemonLogTail();
  ASSERT_TRUE(WaitHttp(k->queue_port, "/healthz", "ok", 30))
      << cd_->ContainerLog(k->pod, "user-container") << cd_->ContainerLog(k->pod, "queue-proxy");
  ASSERT_TRUE(WaitReplicas(hello, 2, 20)) << "both containers attributed";

  // Learn under benign traffic through the queue-proxy.
  for (int i = 0; i < 60; ++i) {
    ASSERT_THAT(HttpGet(k->queue_port, "/?name=user" + std::to_string(i) + "+and+friend"),
                HasSubstr("Hello, user"));
    ASSERT_FALSE(HttpGet(k->queue_port, "/calc?expr=" + std::to_string(i) + "*3").empty());
  }
  auto p = Profile(hello);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->function().platform(), "knative");
  const v1::ContainerProfile* user = nullptr;
  const v1::ContainerProfile* proxy = nullptr;
  for (const auto& c : p->containers()) {
    if (c.name() == "user-container") user = &c;
    if (c.name() == "queue-proxy") proxy = &c;
  }
  ASSERT_NE(user, nullptr);
  ASSERT_NE(proxy, nullptr);
  auto has_exec = [](const v1::ContainerProfile* c, const std::string& suffix) {
    for (const auto& x : c->execs())
      if (x.path().size() >= suffix.size() &&
          x.path().compare(x.path().size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    return false;
  };
  EXPECT_TRUE(has_exec(user, "/wc")) << "the function's own shell pipeline";
  EXPECT_FALSE(has_exec(proxy, "/wc")) << "sections are kept apart";
  bool proxy_egress = false;
  for (const auto& n : proxy->egress())
    proxy_egress |= n.port() == static_cast<uint32_t>(k->user_port);
  EXPECT_TRUE(proxy_egress) << "queue-proxy connects to the user container";
  bool user_listens = false;
  for (const auto& n : user->listen())
    user_listens |= n.port() == static_cast<uint32_t>(k->user_port);
  EXPECT_TRUE(user_listens);
  for (const auto& x : user->execs())
    EXPECT_NE(x.path(), "/usr/sbin/runc") << "runtime setup is not the function";

  // Enforce: the injected command dies, the function and queue-proxy keep serving.
  SetMode(hello, v1::MODE_ENFORCE);
  std::string r = HttpGet(k->queue_port, "/?name=" + Quote("x;touch /tmp/pwned"));
  EXPECT_THAT(r, HasSubstr("Hello, x"));
  auto pids = Pids(cd_->CgroupDir(k->pod, k->user_id));
  ASSERT_FALSE(pids.empty());
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat("/proc/", pids[0], "/root/tmp/pwned")));
  EXPECT_THAT(HttpGet(k->queue_port, "/?name=benign"), HasSubstr("Hello, benign"));
  bool killed = false;
  for (const auto& v : Violations(hello))
    killed |= v.kind() == "exec" && v.container() == "user-container" && v.action() == "killed" &&
              v.attempted().find("touch") != std::string::npos;
  EXPECT_TRUE(killed);

  // Cold start: the pod goes away and comes back with a new uid and new container ids (on the
  // same ports, as a revision's pods are).
  ASSERT_TRUE(cd_->RemovePod(k->pod).ok());
  auto k2 = RunKnativePod(k->user_port, k->queue_port);
  ASSERT_TRUE(k2.ok()) << k2.status();
  EXPECT_NE(k2->pod.uid, k->pod.uid);
  ASSERT_TRUE(WaitHttp(k2->queue_port, "/healthz", "ok", 30))
      << "the enforced function must start: " << cd_->ContainerLog(k2->pod, "user-container")
      << cd_->ContainerLog(k2->pod, "queue-proxy");
  r = HttpGet(k2->queue_port, "/?name=" + Quote("y;touch /tmp/pwned2"));
  EXPECT_THAT(r, HasSubstr("Hello, y"));
  pids = Pids(cd_->CgroupDir(k2->pod, k2->user_id));
  ASSERT_FALSE(pids.empty());
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat("/proc/", pids[0], "/root/tmp/pwned2")));
  // Same profile: still two sections (plus the pod-wide one), nothing relearned.
  auto p2 = Profile(hello);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->mode(), v1::MODE_ENFORCE);
  // Every new container was covered through its pod in the kernel, from its cgroup's creation,
  // before it was named: print how long naming took (docs/architecture.md reports it).
  for (const std::string& id : {k2->user_id, k2->proxy_id}) {
    EXPECT_TRUE(agent_->WaitForLog(id, 5));
    std::string log = agent_->Log();
    std::smatch covered, named;
    std::regex cov(R"re("ts":"[^"]*T([0-9:.]+)Z"[^\n]*cgroup covered through its pod[^\n]*)re" +
                   id);
    // Named: moved from the pod-wide section ("container identified"), or registered by name
    // directly when the CRI listing won the race with the mkdir event ("cgroup registered";
    // the coverage line then says already_named).
    std::regex nam(
        R"re("ts":"[^"]*T([0-9:.]+)Z"[^\n]*(container identified|cgroup registered)[^\n]*)re" + id);
    EXPECT_TRUE(std::regex_search(log, covered, cov)) << "not covered through its pod: " << id;
    EXPECT_TRUE(std::regex_search(log, named, nam)) << "never named: " << id;
    if (!covered.empty() && !named.empty())
      std::cout << "cold start: container " << id.substr(0, 12) << " covered at " << covered[1]
                << ", named at " << named[1] << "\n";
  }

  // A container that runs an attacker's command as its entrypoint in the enforced pod: killed
  // at its first exec, before it runs an instruction.
  ContainerSpec evil;
  evil.name = "sidecar";
  evil.command = {"/bin/sh", "-c", "touch /tmp/pwned3; sleep 30"};
  auto eid = cd_->StartContainer(k2->pod, evil);
  ASSERT_TRUE(eid.ok()) << eid.status();
  bool exited = false;
  for (int i = 0; i < 100 && !exited; ++i) {
    auto st = cd_->cri().ContainerStatus(*eid);
    exited = st.ok() && st->status().state() == runtime::v1::CONTAINER_EXITED;
    if (exited) {
      EXPECT_EQ(st->status().exit_code(), 137) << "SIGKILL";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(exited) << "the sidecar must die at once";
}

// The DaemonSet's case of docs/security.md "Agent restarts": the agent (pinned, as deployed) is
// SIGKILLed while a pod is enforced. The kernel goes on refusing; the pod is replaced while no
// agent runs (a cold start in the gap); the next agent takes the pinned state over and finds
// and enforces the new pod.
// The Kubernetes seccomp path: the agent writes an enforced function's OCI profile under the
// seccomp root; a container the CRI creates with it as its Localhost profile (what the
// admission webhook sets) has an unlearned syscall refused before it runs (EPERM, no side
// effect, the container goes on) and a sensitive one killed before it runs.
TEST_F(K8sE2E, LocalhostSeccompProfileRefusesBeforeTheSyscallRuns) {
  const v1::FunctionId fn = Fn("default", "secfn");
  const std::string shared = dir_.path() + "/shared";
  ASSERT_TRUE(std::filesystem::create_directories(shared));
  const std::string bin = std::filesystem::path(FG_WORKLOAD_PATH).parent_path();
  const std::vector<std::string> learn = {"syscalls", "say", "hello", "fork-noop", "getrusage"};
  auto spec = [&](std::vector<std::string> steps) {
    ContainerSpec c;
    c.name = "main";
    c.command = {"/fg/fg_workload"};
    std::vector<std::string> args = learn;
    args.insert(args.end(), steps.begin(), steps.end());
    c.args = args;
    c.mounts = {HostMount{"/fg", bin, true}, HostMount{"/shared", shared, false}};
    return c;
  };
  auto pod_of = [&](const std::string& name) { return RunFunctionPod(name, "secfn"); };

  // Learn: the container waits until it is tracked, then does what it always does.
  auto p1 = pod_of("secfn-learn");
  ASSERT_TRUE(p1.ok()) << p1.status();
  auto c1 = cd_->StartContainer(*p1, spec({"wait-file", "/shared/go", "say", "bye"}));
  ASSERT_TRUE(c1.ok()) << c1.status();
  ASSERT_TRUE(WaitReplicas(fn, 2, 20));
  ASSERT_TRUE(WriteFileAtomic(shared + "/go", "").ok());
  ASSERT_EQ(WaitExit(*c1, 30), 0) << cd_->ContainerLog(*p1, "main");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a sync: in the profile
  SetMode(fn, v1::MODE_ENFORCE);
  const std::string profile = seccomp_root_ + "/faasguard/default/secfn/main.json";
  ASSERT_TRUE(std::filesystem::exists(profile)) << Tail(agent_->Log());

  for (const char* v : {"a", "b", "c", "e"})
    ASSERT_TRUE(WriteFileAtomic(shared + "/" + v, "keep\n").ok());
  ASSERT_TRUE(WriteFileAtomic(shared + "/d", "other\n").ok());
  ::chmod((shared + "/b").c_str(), 0644);
  auto p2 = pod_of("secfn-enforced");
  ASSERT_TRUE(p2.ok()) << p2.status();
  ContainerSpec attack = spec({"wait-file", "/shared/attack", "try-unlink", "/shared/a",
                               "try-chmod", "/shared/b", "try-rename", "/shared/c", "/shared/d",
                               "child-unlink", "/shared/e", "say", "still-here"});
  attack.seccomp_profile = profile;
  attack.no_new_privs = true;
  auto c2 = cd_->StartContainer(*p2, attack);
  ASSERT_TRUE(c2.ok()) << c2.status();
  // The tracker read the container's filter from its runtime spec: the policy in force, so
  // sys_enter, which every syscall of the node would pass, is detached while it runs.
  EXPECT_TRUE(WaitSyscallHook(false, 0, 15))
      << "sys_enter stays attached for a container running its filter";
  auto fs = Function(fn);
  ASSERT_TRUE(fs.ok());
  bool shown = false;
  for (const auto& r : fs->replica_details())
    if (r.container() == "main") {
      shown = true;
      EXPECT_EQ(r.seccomp_revision().size(), 16u);
      EXPECT_THAT(fs->seccomp_revision(), HasSubstr("main=" + r.seccomp_revision()));
      EXPECT_FALSE(r.syscall_hook());
    }
  EXPECT_TRUE(shown) << fs->DebugString();
  ASSERT_TRUE(WriteFileAtomic(shared + "/attack", "").ok());
  EXPECT_EQ(WaitExit(*c2, 30), 0) << cd_->ContainerLog(*p2, "main");
  const std::string log = cd_->ContainerLog(*p2, "main");
  for (const char* line : {"try-unlink EPERM", "try-chmod EPERM", "try-rename EPERM",
                           "child-unlink EPERM", "still-here"})
    EXPECT_THAT(log, HasSubstr(line));
  for (const char* v : {"a", "c", "e"}) EXPECT_TRUE(std::filesystem::exists(shared + "/" + v)) << v;
  EXPECT_EQ(ReadFile(shared + "/d").value_or(""), "other\n");
  struct stat st {};
  ASSERT_EQ(::stat((shared + "/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  // Sensitive: killed before it runs (SIGSYS), in a pod of its own (its own log).
  auto p3 = pod_of("secfn-sensitive");
  ASSERT_TRUE(p3.ok()) << p3.status();
  ContainerSpec sensitive = spec({});
  sensitive.args = {"syscalls", "say", "hello", "ptrace"};
  sensitive.seccomp_profile = profile;
  sensitive.no_new_privs = true;
  auto c3 = cd_->StartContainer(*p3, sensitive);
  ASSERT_TRUE(c3.ok()) << c3.status();
  EXPECT_EQ(WaitExit(*c3, 30), 128 + SIGSYS) << cd_->ContainerLog(*p3, "main");
  const std::string log3 = cd_->ContainerLog(*p3, "main");
  EXPECT_THAT(log3, HasSubstr("hello"));
  EXPECT_THAT(log3, Not(HasSubstr("survived"))) << "ptrace returned";

  // A container of the function without its filter (a pod admitted before the webhook, or
  // without it): sys_enter checks it, attached while it runs, detached once it is gone.
  auto p4 = pod_of("secfn-unfiltered");
  ASSERT_TRUE(p4.ok()) << p4.status();
  auto c4 = cd_->StartContainer(*p4, spec({"wait-file", "/shared/stop", "say", "bye"}));
  ASSERT_TRUE(c4.ok()) << c4.status();
  EXPECT_TRUE(WaitSyscallHook(true, 1, 15)) << "a container without its filter is unchecked";
  ASSERT_TRUE(WriteFileAtomic(shared + "/stop", "").ok());
  EXPECT_EQ(WaitExit(*c4, 30), 0) << cd_->ContainerLog(*p4, "main");
  EXPECT_TRUE(WaitSyscallHook(false, 0, 15)) << "detached again once it is gone";

  // Leaving enforce removes the profile (a new container starts without it).
  SetMode(fn, v1::MODE_LEARN);
  EXPECT_FALSE(std::filesystem::exists(profile));
}

// Files in a pod: what the function opens is learned as its container sees it (the paths
// inside the container's mount namespace, never the host's), and in enforce an injected read of
// the service-account token, mounted where the kubelet mounts it, is stopped before the
// function gets the data: the process is killed in the open, the violation names the path.
TEST_F(K8sE2E, APodLearnsItsFilesAndAnInjectedTokenReadIsStopped) {
  const v1::FunctionId fn = Fn("default", "filesfn");
  const std::string secrets = dir_.path() + "/serviceaccount";
  ASSERT_TRUE(std::filesystem::create_directories(secrets));
  ASSERT_TRUE(WriteFileAtomic(secrets + "/token", "SECRET-TOKEN-4711\n").ok());
  const std::string token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  const int port = FreePort();
  auto pod = RunFunctionPod("filesfn-" + std::to_string(port), "filesfn");
  ASSERT_TRUE(pod.ok()) << pod.status();
  ContainerSpec c;
  c.name = "main";
  c.command = {"/usr/bin/python3", "/app/handler.py"};
  c.env = {{"PORT", std::to_string(port)}, {"HOST", "127.0.0.1"}, {"HELLO_QUIET", "1"}};
  c.mounts = {HostMount{"/app", std::string(FG_SOURCE_DIR) + "/examples/hello-py", true},
              HostMount{"/var/run/secrets/kubernetes.io/serviceaccount", secrets, true}};
  auto id = cd_->StartContainer(*pod, c);
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(WaitHttp(port, "/healthz", "ok", 30)) << cd_->ContainerLog(*pod, "main");
  ASSERT_TRUE(WaitReplicas(fn, 1, 20));

  // Learn under benign traffic only: the token is never read (the attack is shown to work at
  // the end, from a pod of another function, so that this one never learns it).
  for (int i = 0; i < 30; ++i) {
    ASSERT_THAT(HttpGet(port, "/?name=user" + std::to_string(i)), HasSubstr("Hello, user"));
    ASSERT_THAT(HttpGet(port, "/calc?expr=" + std::to_string(i) + "*3"),
                HasSubstr(std::to_string(i * 3)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a sync: in the profile
  auto p = Profile(fn);
  ASSERT_TRUE(p.ok()) << p.status();
  const v1::ContainerProfile* main = nullptr;
  for (const auto& x : p->containers())
    if (x.name() == "main") main = &x;
  ASSERT_NE(main, nullptr) << p->DebugString();
  bool handler = false;
  for (const auto& f : main->files()) {
    handler |= f.path() == "/app/handler.py";
    EXPECT_THAT(f.path(), Not(HasSubstr(FG_SOURCE_DIR))) << "a host path, not the container's";
    EXPECT_THAT(f.path(), Not(HasSubstr("/run/containerd"))) << "a host path";
    EXPECT_THAT(f.path(), Not(HasSubstr("serviceaccount"))) << "never read while learning";
  }
  EXPECT_TRUE(handler) << "the handler, at its path inside the container";

  SetMode(fn, v1::MODE_ENFORCE);
  EXPECT_THAT(HttpGet(port, "/?name=benign"), HasSubstr("Hello, benign"));
  EXPECT_THAT(HttpGet(port, "/calc?expr=6*7"), HasSubstr("42"));
  std::string r = HttpGet(port, "/calc?expr=" + Quote("open('" + token + "').read()"), 5);
  EXPECT_THAT(r, Not(HasSubstr("SECRET-TOKEN"))) << "the function got the token";
  EXPECT_EQ(WaitExit(*id, 15), 128 + SIGKILL) << cd_->ContainerLog(*pod, "main");
  bool named = false;
  for (const auto& v : Violations(fn))
    named |= v.kind() == "file" && v.container() == "main" && v.action() == "killed" &&
             v.attempted() == token + " (read)";
  EXPECT_TRUE(named) << "a violation naming the token's path inside the container";
  EXPECT_THAT(cd_->ContainerLog(*pod, "main"), Not(HasSubstr("SECRET-TOKEN")));

  // The same read from a pod whose function is not enforced works: the attack is real.
  auto pod2 = RunFunctionPod("otherfn-" + std::to_string(port), "otherfn");
  ASSERT_TRUE(pod2.ok()) << pod2.status();
  const int port2 = FreePort();
  c.env = {{"PORT", std::to_string(port2)}, {"HOST", "127.0.0.1"}, {"HELLO_QUIET", "1"}};
  auto id2 = cd_->StartContainer(*pod2, c);
  ASSERT_TRUE(id2.ok()) << id2.status();
  ASSERT_TRUE(WaitHttp(port2, "/healthz", "ok", 30)) << cd_->ContainerLog(*pod2, "main");
  EXPECT_THAT(HttpGet(port2, "/calc?expr=" + Quote("open('" + token + "').read()")),
              HasSubstr("SECRET-TOKEN-4711"));
}

TEST_F(K8sE2E, AgentKilledWhileEnforcingThePodStaysEnforced) {
  const std::string pins = absl::StrCat("/sys/fs/bpf/fg-k8s-", ::getpid());
  const std::vector<std::string> flags = {
      "--cri-endpoint", cd_->socket(), "--cri-resync",   "2",
      "--bpf-pin-dir",  pins,          "--seccomp-root", seccomp_root_};
  // However the test ends: the agent stops first (it holds the pin directory), then --cleanup.
  struct Cleanup {
    std::unique_ptr<AgentProcess>& agent;
    std::string pins;
    ~Cleanup() {
      if (agent && HasFailure()) std::cerr << "--- agent log (tail)\n" << Tail(agent->Log());
      agent.reset();
      std::string cmd = absl::StrCat(FG_AGENT_PATH, " --bpf-pin-dir ", pins, " --cleanup");
      if (std::system(cmd.c_str()) != 0) std::cerr << "cleanup of " << pins << " failed\n";
    }
  } cleanup{agent_, pins};
  agent_.reset();
  auto a = AgentProcess::Start(FG_AGENT_PATH, dir_.path(), flags);
  ASSERT_TRUE(a.ok()) << a.status();
  agent_ = std::move(*a);

  const v1::FunctionId hello = Fn("default", "hello");
  auto k = RunKnativePod(FreePort(), FreePort());
  ASSERT_TRUE(k.ok()) << k.status() << "\n" << cd_->DaemonLogTail();
  ASSERT_TRUE(WaitHttp(k->queue_port, "/healthz", "ok", 30));
  ASSERT_TRUE(WaitReplicas(hello, 2, 20));
  for (int i = 0; i < 40; ++i)
    ASSERT_THAT(HttpGet(k->queue_port, "/?name=user" + std::to_string(i)),
                HasSubstr("Hello, user"));
  SetMode(hello, v1::MODE_ENFORCE);

  agent_->Kill();
  // No agent: the injected command still dies before it runs.
  EXPECT_THAT(HttpGet(k->queue_port, "/?name=" + Quote("x;touch /tmp/pwned-gap")),
              HasSubstr("Hello, x"));
  auto pids = Pids(cd_->CgroupDir(k->pod, k->user_id));
  ASSERT_FALSE(pids.empty());
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat("/proc/", pids[0], "/root/tmp/pwned-gap")))
      << "enforcement stopped with the agent";
  // A cold start while no agent runs: the pod goes, a new one comes (same ports, as a
  // revision's pods are; new pod and container cgroups, not tracked until an agent finds them).
  ASSERT_TRUE(cd_->RemovePod(k->pod).ok());
  auto k2 = RunKnativePod(k->user_port, k->queue_port, /*listed=*/false);
  ASSERT_TRUE(k2.ok()) << k2.status();
  ASSERT_TRUE(WaitHttp(k2->queue_port, "/healthz", "ok", 30));

  auto b = AgentProcess::Start(FG_AGENT_PATH, dir_.path(), flags);
  ASSERT_TRUE(b.ok()) << b.status();
  agent_ = std::move(*b);
  EXPECT_TRUE(agent_->WaitForLog("took over from the earlier agent", 5)) << agent_->Log();
  EXPECT_EQ(agent_->Log().find("link=new"), std::string::npos);
  // The new pod's two containers, once the tracker has listed them (the old pod's cgroups
  // are gone: dropped).
  const std::string user_dir = cd_->CgroupDir(k2->pod, k2->user_id);
  auto named = [&] {
    return agent_->Log().find(k2->user_id) != std::string::npos &&
           agent_->Log().find(k2->proxy_id) != std::string::npos;
  };
  for (int i = 0; i < 200 && !named(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(named()) << Tail(agent_->Log());
  auto f = Function(hello);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->mode(), v1::MODE_ENFORCE);
  // The new pod-level cgroup and its two containers (and the old pod's cgroup while the
  // runtime has not removed its directory yet).
  EXPECT_GE(f->replicas(), 3u);
  EXPECT_THAT(HttpGet(k2->queue_port, "/?name=" + Quote("x;touch /tmp/pwned-after")),
              HasSubstr("Hello, x"));
  pids = Pids(user_dir);
  ASSERT_FALSE(pids.empty());
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat("/proc/", pids[0], "/root/tmp/pwned-after")))
      << "the pod started in the gap is not enforced after the restart";
  EXPECT_THAT(HttpGet(k2->queue_port, "/?name=benign"), HasSubstr("Hello, benign"));
  // The gap's violation was read from the pinned ring buffer.
  bool gap = false;
  for (const auto& v : Violations(hello))
    gap |= v.kind() == "exec" && v.attempted().find("touch") != std::string::npos;
  EXPECT_TRUE(gap);
}

TEST_F(K8sE2E, OpenFaasPodIsItsOwnFunction) {
  PodSpec ps;
  ps.name = "figlet-7d9f";
  ps.namespace_ = "openfaas-fn";
  ps.labels = {{"faas_function", "figlet"}};
  auto pod = cd_->RunPod(ps);
  ASSERT_TRUE(pod.ok()) << pod.status();
  int port = FreePort();
  ContainerSpec c;
  c.name = "figlet";
  c.command = {"/usr/bin/python3", "/app/handler.py"};
  c.env = {{"PORT", std::to_string(port)}, {"HELLO_QUIET", "1"}};
  c.mounts = {HostMount{"/app", std::string(FG_SOURCE_DIR) + "/examples/hello-py", true}};
  ASSERT_TRUE(cd_->StartContainer(*pod, c).ok());
  ASSERT_TRUE(WaitHttp(port, "/healthz", "ok", 30));
  const v1::FunctionId figlet = Fn("openfaas-fn", "figlet");
  ASSERT_TRUE(WaitReplicas(figlet, 1, 20));
  ASSERT_THAT(HttpGet(port, "/?name=figlet"), HasSubstr("Hello, figlet"));
  auto f = Function(figlet);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->function().platform(), "openfaas");
  EXPECT_THAT(std::vector<std::string>(f->containers().begin(), f->containers().end()),
              ::testing::Contains("figlet"));

  // A pod that is not a function is not tracked; a bad label value is refused with a warning.
  PodSpec plain;
  plain.name = "coredns";
  plain.namespace_ = "kube-system";
  plain.labels = {{"k8s-app", "kube-dns"}};
  auto pp = cd_->RunPod(plain);
  ASSERT_TRUE(pp.ok());
  ContainerSpec sleeper;
  sleeper.name = "dns";
  sleeper.command = {"/bin/sleep", "30"};
  ASSERT_TRUE(cd_->StartContainer(*pp, sleeper).ok());
  PodSpec bad;
  bad.name = "weird";
  bad.labels = {{"faas_function", "Not_A_Name"}};
  auto bp = cd_->RunPod(bad);
  ASSERT_TRUE(bp.ok());
  EXPECT_TRUE(agent_->WaitForLog("bad function label", 10));
  v1::ListFunctionsResponse all;
  auto ctx = Ctx();
  ASSERT_TRUE(agent_->stub().ListFunctions(ctx.get(), v1::ListFunctionsRequest(), &all).ok());
  for (const auto& fn : all.functions())
    EXPECT_EQ(fn.function().name(), "figlet") << "only the function pod is tracked";
  v1::GetStatusResponse st;
  auto ctx2 = Ctx();
  ASSERT_TRUE(agent_->stub().GetStatus(ctx2.get(), v1::GetStatusRequest(), &st).ok());
  EXPECT_TRUE(st.kubernetes().connected());
  EXPECT_THAT(st.kubernetes().runtime(), HasSubstr("containerd"));
  EXPECT_GE(st.kubernetes().pods(), 3u);
  EXPECT_EQ(st.kubernetes().function_pods(), 1u);

  // A container that vanishes between events: created and removed at once.
  ContainerSpec brief;
  brief.name = "figlet";
  brief.command = {"/bin/true"};
  auto bid = cd_->StartContainer(*pod, brief);
  if (bid.ok()) {
    (void)cd_->StopContainer(*bid);
    (void)cd_->RemoveContainer(*bid);
  }
  ASSERT_THAT(HttpGet(port, "/?name=again"), HasSubstr("Hello, again")) << "still fine";
}

// dnsmasq on a loopback address answering from a hosts file the test rewrites (SIGHUP).
class Dnsmasq {
 public:
  explicit Dnsmasq(const std::string& dir) : dir_(dir) {
    addr_ = absl::StrCat("127.53.", 1 + ::getpid() % 250, ".", 1 + (::getpid() / 250) % 250);
    const std::string conf = dir_ + "/dnsmasq.conf";
    (void)WriteFileAtomic(conf, absl::StrCat("port=53\nlisten-address=", addr_,
                                             "\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\n"
                                             "addn-hosts=",
                                             dir_,
                                             "/hosts\nlocal=/fg.test/\n"
                                             "local-ttl=5\nlog-queries\nlog-facility=",
                                             dir_, "/dnsmasq.log\nuser=root\npid-file=\n"));
  }
  ~Dnsmasq() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      testing::Wait(pid_);
    }
  }
  bool Start(const std::string& hosts) {
    (void)WriteFileAtomic(dir_ + "/hosts", hosts);
    pid_ = testing::Spawn("", {"/usr/sbin/dnsmasq", "-k", "-C", dir_ + "/dnsmasq.conf"});
    return WaitLog("read " + dir_ + "/hosts", 1);
  }
  bool SetHosts(const std::string& hosts) {
    const int before = Count("read " + dir_ + "/hosts");
    (void)WriteFileAtomic(dir_ + "/hosts", hosts);
    ::kill(pid_, SIGHUP);
    return WaitLog("read " + dir_ + "/hosts", before + 1);
  }
  std::string Log() const {
    auto t = ReadFile(dir_ + "/dnsmasq.log");
    return t.ok() ? *t : "";
  }
  const std::string& addr() const { return addr_; }

 private:
  int Count(const std::string& what) const {
    int n = 0;
    std::string log = Log();
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  }
  bool WaitLog(const std::string& what, int n) {
    for (int i = 0; i < 200; ++i) {
      if (Count(what) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string dir_, addr_;
  pid_t pid_ = -1;
};

// A TCP listener on 0.0.0.0 (every 127/8 address) that accepts and closes.
class AnyTarget {
 public:
  AnyTarget() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ::close(c);
      }
    });
  }
  ~AnyTarget() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1, port_ = 0;
  std::thread thread_;
};

// Egress by name on the Kubernetes path: the pod's dnsConfig (written by containerd into the
// sandbox's resolv.conf), glibc's resolver in the container, the kernel's bindings per function.
TEST_F(K8sE2E, PodReachesHostsByNameAndARotatedAnswerKeepsWorking) {
  Dnsmasq dns(dir_.path());
  auto hosts = [](const std::string& api) {
    return absl::StrCat(api, " api.fg.test\n127.0.1.20 other.fg.test\n127.0.1.40 db.svc.fg.test\n");
  };
  ASSERT_TRUE(dns.Start(hosts("127.0.1.10"))) << dns.Log();
  AnyTarget target;
  ASSERT_GT(target.port(), 0);
  const std::string P = std::to_string(target.port());

  PodSpec ps;
  ps.name = "resolver-5c8d";
  ps.namespace_ = "openfaas-fn";
  ps.labels = {{"faas_function", "resolver"}};
  ps.dns_servers = {dns.addr()};
  ps.dns_searches = {"svc.fg.test"};
  ps.dns_options = {"ndots:5", "attempts:1", "timeout:2"};
  auto pod = cd_->RunPod(ps);
  ASSERT_TRUE(pod.ok()) << pod.status();
  ASSERT_TRUE(agent_->WaitForLog("pod" + pod->uid + "\",\"cgroup_id\"", 10));
  const int port = FreePort();
  ContainerSpec c;
  c.name = "resolver";
  c.command = {"/usr/bin/python3", "/app/resolver.py"};
  c.env = {{"PORT", std::to_string(port)}};
  c.mounts = {HostMount{"/app", std::string(FG_SOURCE_DIR) + "/tests/e2e/k8s", true}};
  ASSERT_TRUE(cd_->StartContainer(*pod, c).ok()) << cd_->DaemonLogTail();
  ASSERT_TRUE(WaitHttp(port, "/healthz", "true", 30));
  const v1::FunctionId fn = Fn("openfaas-fn", "resolver");
  ASSERT_TRUE(WaitReplicas(fn, 1, 20));

  const std::string ok = "\"ok\": true";
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(HttpGet(port, "/connect?name=api.fg.test&port=" + P), HasSubstr(ok));
    ASSERT_THAT(HttpGet(port, "/connect?name=db&port=" + P), HasSubstr(ok));
  }
  auto learned = [&] {
    auto p = Profile(fn);
    if (!p.ok()) return false;
    bool api = false, db = false;
    for (const auto& s : p->containers())
      for (const auto& n : s.named_egress()) {
        api |= n.name() == "api.fg.test" && n.port() == static_cast<uint32_t>(target.port());
        db |= n.name() == "db.svc.fg.test";
      }
    return api && db;
  };
  for (int i = 0; i < 100 && !learned(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(learned()) << Tail(agent_->Log());
  {
    auto p = Profile(fn);
    ASSERT_TRUE(p.ok());
    for (const auto& s : p->containers())
      for (const auto& e : s.egress()) EXPECT_NE(e.address(), "127.0.1.10") << "an address item";
  }
  SetMode(fn, v1::MODE_ENFORCE);

  // The answer rotates: the first connect after the pod's first resolution of it works.
  ASSERT_TRUE(dns.SetHosts(hosts("127.0.1.11")));
  EXPECT_THAT(HttpGet(port, "/connectip?addr=127.0.1.11&port=" + P), HasSubstr("EPERM"));
  EXPECT_THAT(HttpGet(port, "/connect?name=api.fg.test&port=" + P),
              HasSubstr("\"ok\": true, \"addr\": \"127.0.1.11\""));
  EXPECT_THAT(HttpGet(port, "/connect?name=db&port=" + P), HasSubstr(ok));
  // Unlearned: a direct address, and a name (its query never reaches the server).
  EXPECT_THAT(HttpGet(port, "/connectip?addr=127.0.1.99&port=" + P), HasSubstr("EPERM"));
  EXPECT_THAT(HttpGet(port, "/connect?name=other.fg.test&port=" + P), HasSubstr("\"ok\": false"));
  EXPECT_THAT(dns.Log(), Not(HasSubstr("other.fg.test")));
  bool query = false;
  for (int i = 0; i < 50 && !query; ++i) {
    for (const auto& v : Violations(fn))
      query |= v.kind() == "dns" && v.dns_query().name().rfind("other.fg.test", 0) == 0;
    if (!query) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(query) << "the refused query is reported";
}

TEST(K8sAgentWithoutCri, StartsRetriesAndSaysSo) {
  FG_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string sock = dir.path() + "/cri.sock";  // nothing there yet
  auto a = AgentProcess::Start(FG_AGENT_PATH, dir.path(), {"--cri-endpoint", sock});
  ASSERT_TRUE(a.ok()) << a.status();
  v1::GetStatusResponse st;
  grpc::ClientContext ctx;
  ASSERT_TRUE((*a)->stub().GetStatus(&ctx, v1::GetStatusRequest(), &st).ok());
  EXPECT_FALSE(st.kubernetes().connected());
  EXPECT_THAT(st.kubernetes().last_error(), HasSubstr(sock));
  EXPECT_TRUE((*a)->WaitForLog("CRI unavailable", 5));
  // The runtime shows up later: the agent connects on its own.
  auto h = ContainerdHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(::symlink((*h)->socket().c_str(), sock.c_str()), 0);
  EXPECT_TRUE((*a)->WaitForLog("CRI connected", 15)) << (*a)->Log();
  grpc::ClientContext ctx2;
  ASSERT_TRUE((*a)->stub().GetStatus(&ctx2, v1::GetStatusRequest(), &st).ok());
  EXPECT_TRUE(st.kubernetes().connected());
}

}  // namespace
}  // namespace faasguard
