// A real containerd (Debian's 1.6) driven through its CRI, the way the kubelet drives it: Knative-
// and OpenFaaS-like pods, what the CRI reports about them, where their processes land in the
// cgroup v2 hierarchy, the event stream, and a harness that cleans up after itself (and after a
// crashed run).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cgroup/cgroup.h"
#include "common/files.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "k8s/cri_client.h"
#include "support/containerd_harness.h"
#include "support/root_harness.h"

namespace faasguard::testing {
namespace {

namespace cri = ::runtime::v1;

constexpr char kKnativeService[] = "serving.knative.dev/service";
constexpr char kKnativeRevision[] = "serving.knative.dev/revision";
constexpr char kKnativeConfiguration[] = "serving.knative.dev/configuration";
constexpr char kOpenFaasFunction[] = "faas_function";

std::string Source(const std::string& file) {
  auto s = ReadFile(absl::StrCat(FG_K8S_TEST_DIR, "/", file));
  if (!s.ok()) ADD_FAILURE() << s.status();
  return s.ok() ? *s : "";
}

// A loopback port nobody listens on now (bound to port 0, then released).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// GET http://127.0.0.1:port/path, retried until something answers or `timeout` passes.
// Returns the whole response (status line, headers, body), or "" on timeout.
std::string HttpGet(int port, const std::string& path, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
      std::string resp;
      if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
      if (!resp.empty()) return resp;
    } else {
      ::close(fd);
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return "";
}

// containerd's verbose `info` JSON ({"pid": N, "sandboxID": "...", ...}).
google::protobuf::Struct ParseInfo(const google::protobuf::Map<std::string, std::string>& info) {
  google::protobuf::Struct s;
  auto it = info.find("info");
  EXPECT_NE(it, info.end()) << "no verbose info";
  if (it != info.end()) {
    auto st = google::protobuf::util::JsonStringToMessage(it->second, &s);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return s;
}

pid_t InfoPid(const google::protobuf::Map<std::string, std::string>& info) {
  google::protobuf::Struct s = ParseInfo(info);
  auto it = s.fields().find("pid");
  return it == s.fields().end() ? -1 : static_cast<pid_t>(it->second.number_value());
}

std::vector<pid_t> CgroupProcs(const std::string& dir) {
  std::vector<pid_t> pids;
  auto procs = ReadFile(dir + "/cgroup.procs");
  if (!procs.ok()) return pids;
  for (absl::string_view l : absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
    int p;
    if (absl::SimpleAtoi(l, &p)) pids.push_back(p);
  }
  return pids;
}

// The "<controller>:<path>" lines of /proc/<pid>/cgroup (v1 hierarchies; "" is v2's "0::").
std::map<std::string, std::string> CgroupLines(pid_t pid) {
  std::map<std::string, std::string> out;
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/cgroup"));
  if (!text.ok()) return out;
  for (absl::string_view l : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(l, absl::MaxSplits(':', 2));
    if (f.size() == 3) out[f[1]] = f[2];
  }
  return out;
}

bool IsContainerId(const std::string& id) {
  static const std::regex kHex64("^[0-9a-f]{64}$");
  return std::regex_match(id, kHex64);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool DirExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// SIGSTOP stops a process's threads asynchronously: wait until each one is stopped ('T').
bool AllThreadsStopped(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    bool all = true;
    DIR* d = ::opendir(absl::StrCat("/proc/", pid, "/task").c_str());
    if (!d) return false;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string stat =
          ReadFile(absl::StrCat("/proc/", pid, "/task/", e->d_name, "/stat")).value_or("");
      size_t paren = stat.rfind(')');
      if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'T')
        all = false;
    }
    ::closedir(d);
    if (all) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

std::vector<std::string> CgroupHierarchyRoots() {
  std::vector<std::string> out;
  auto text = ReadFile("/proc/self/mountinfo");
  if (!text.ok()) return out;
  for (absl::string_view l : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(l, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || dash + 1 == f.end() || f.size() < 5) continue;
    if (*(dash + 1) == "cgroup" || *(dash + 1) == "cgroup2") out.push_back(f[4]);
  }
  return out;
}

// Nothing of a harness directory is left: no process, no mount, no directory, no pod cgroup
// in any hierarchy, no shim socket.
void ExpectNothingLeft(const std::string& dir, const std::vector<std::string>& cgroup_parents) {
  EXPECT_TRUE(ProcessesMentioning(dir + "/").empty()) << "containerd or shims of " << dir;
  EXPECT_TRUE(MountsBelow(dir).empty()) << "mounts below " << dir;
  EXPECT_FALSE(DirExists(dir)) << dir;
  for (const std::string& root : CgroupHierarchyRoots())
    for (const std::string& p : cgroup_parents)
      EXPECT_FALSE(DirExists(root + p)) << "cgroup left: " << root + p;
}

class ContainerdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    kubepods_before_ = DirExists(Cgroup2Mount() + "/kubepods");
    auto h = ContainerdHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    std::cout << "containerd started in " << absl::FormatDuration(h_->start_time())
              << " (snapshotter " << h_->snapshotter() << ", " << h_->dir() << ")\n";
  }

  void TearDown() override {
    if (!h_) return;
    if (HasFailure()) std::cout << "containerd log tail:\n" << h_->DaemonLogTail() << "\n";
    std::string dir = h_->dir();
    absl::Time t0 = absl::Now();
    absl::Status s = h_->Shutdown();
    EXPECT_TRUE(s.ok()) << s;
    std::cout << "cleanup took " << absl::FormatDuration(absl::Now() - t0) << "\n";
    h_.reset();
    ExpectNothingLeft(dir, cgroup_parents_);
    // The last harness out removes /kubepods when a harness made it (tests in parallel
    // leave it to the last one).
    if (!kubepods_before_ && !OtherHarnessRuns()) {
      EXPECT_FALSE(DirExists(Cgroup2Mount() + "/kubepods"));
    }
  }

  static bool OtherHarnessRuns() {
    DIR* d = ::opendir("/tmp");
    bool found = false;
    while (dirent* e = d ? ::readdir(d) : nullptr)
      found = found || absl::StartsWith(e->d_name, "fg-containerd-");
    if (d) ::closedir(d);
    return found;
  }

  absl::StatusOr<Pod> RunPod(const PodSpec& spec) {
    auto pod = h_->RunPod(spec);
    if (pod.ok()) cgroup_parents_.push_back(pod->cgroup_parent);
    return pod;
  }

  std::unique_ptr<ContainerdHarness> h_;
  std::vector<std::string> cgroup_parents_;
  bool kubepods_before_ = false;
};

TEST_F(ContainerdTest, VersionAndErrorsNameCallAndEndpoint) {
  auto v = h_->cri().Version();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->runtime_name(), "containerd");
  EXPECT_EQ(v->runtime_api_version(), "v1");
  EXPECT_FALSE(v->runtime_version().empty());
  std::cout << "Version: runtime " << v->runtime_name() << " " << v->runtime_version() << ", api "
            << v->runtime_api_version() << ", version " << v->version() << "\n";

  // DefaultEndpoint: the first candidate that is a socket.
  std::string missing = h_->dir() + "/no-such.sock";
  auto ep = CriClient::DefaultEndpoint({missing, h_->dir() + "/config.toml", h_->endpoint()});
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(*ep, h_->socket());
  auto none = CriClient::DefaultEndpoint({missing});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(none.status().message(), missing)) << none.status();
  EXPECT_EQ(CriClient::DefaultEndpoints().front(), "/run/containerd/containerd.sock");

  auto no_socket = CriClient::Connect(missing, absl::Seconds(1));
  EXPECT_EQ(no_socket.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(no_socket.status().message(), missing)) << no_socket.status();

  // A call's error names the call and the endpoint.
  auto unknown = h_->cri().ContainerStatus("0123456789abcdef");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_TRUE(absl::StrContains(unknown.status().message(),
                                absl::StrCat("CRI ContainerStatus on ", h_->endpoint())))
      << unknown.status();

  // Every call has a deadline: a socket that accepts connections and never answers.
  auto client = CriClient::Connect(h_->socket());
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->call_timeout(), absl::Seconds(5));
  const std::string silent = h_->dir() + "/silent.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", silent.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  // A server that never speaks HTTP/2: the channel never gets ready (gRPC waits for the
  // server's SETTINGS), so Connect fails within its timeout.
  absl::Time t0 = absl::Now();
  auto mute = CriClient::Connect(silent, absl::Milliseconds(500));
  EXPECT_EQ(mute.status().code(), absl::StatusCode::kUnavailable) << mute.status();
  EXPECT_TRUE(absl::StrContains(mute.status().message(), silent)) << mute.status();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(2));
  // A runtime that stops answering after the connection: the call's deadline ends it.
  (*client)->set_call_timeout(absl::Milliseconds(300));
  ASSERT_EQ(::kill(h_->containerd_pid(), SIGSTOP), 0);
  ASSERT_TRUE(AllThreadsStopped(h_->containerd_pid(), absl::Seconds(2)));
  t0 = absl::Now();
  auto late = (*client)->Version();
  absl::Duration took = absl::Now() - t0;
  ::kill(h_->containerd_pid(), SIGCONT);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_TRUE(absl::StrContains(late.status().message(), "CRI Version on " + h_->endpoint()))
      << late.status();
  EXPECT_TRUE(absl::StrContains(late.status().message(), "no answer within 300ms"))
      << late.status();
  EXPECT_LT(took, absl::Seconds(2));
  std::cout << "a stopped containerd: " << late.status() << " after " << absl::FormatDuration(took)
            << "\n";
  (*client)->set_call_timeout(absl::Seconds(5));
  EXPECT_TRUE((*client)->Version().ok());
  ::close(fd);
}

TEST_F(ContainerdTest, GetContainerEventsIsUnimplementedInContainerd16) {
  auto v = h_->cri().Version();
  ASSERT_TRUE(v.ok()) << v.status();
  absl::Time t0 = absl::Now();
  auto stream = h_->cri().GetContainerEvents(absl::Seconds(5));
  cri::ContainerEventResponse ev;
  bool got = stream->Read(&ev);
  absl::Status s = stream->Finish();
  std::cout << "GetContainerEvents on containerd " << v->runtime_version() << ": "
            << (got ? "an event" : "no event") << ", status " << s << " after "
            << absl::FormatDuration(absl::Now() - t0) << "\n";
  if (absl::StartsWith(v->runtime_version(), "1.6")) {
    EXPECT_FALSE(got);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "GetContainerEvents")) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), h_->endpoint())) << s;
    EXPECT_LT(absl::Now() - t0, absl::Seconds(2));
  } else {
    ADD_FAILURE() << "expected Debian's containerd 1.6; this is " << v->runtime_version()
                  << ": check what GetContainerEvents does now and update this test";
  }
}

TEST_F(ContainerdTest, KnativePodServesThroughQueueProxyAndLandsInKubeletCgroups) {
  const std::map<std::string, std::string> knative = {
      {kKnativeService, "hello"},
      {kKnativeRevision, "hello-00001"},
      {kKnativeConfiguration, "hello"},
      {"app", "hello-00001"},
  };
  auto pod = RunPod({.name = "hello-00001-deployment-7d9f8b6c5-x2x7q",
                     .namespace_ = "default",
                     .labels = knative,
                     .annotations = {{"serving.knative.dev/creator", "faasguard-test"}}});
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_TRUE(IsContainerId(pod->id)) << pod->id;
  EXPECT_EQ(pod->cgroup_parent, "/kubepods/besteffort/pod" + pod->uid);

  const int user_port = FreePort(), queue_port = FreePort();
  ASSERT_GT(user_port, 0);
  ASSERT_GT(queue_port, 0);
  auto user = h_->StartContainer(*pod, {.name = "user-container",
                                        .command = {"/usr/bin/python3"},
                                        .args = {"-c", Source("user_container.py")},
                                        .env = {{"PORT", std::to_string(user_port)},
                                                {"FUNCTION", "hello"},
                                                {"CONTAINER", "user-container"}},
                                        .annotations = {{"faasguard.dev/test", "user"}}});
  ASSERT_TRUE(user.ok()) << user.status();
  auto queue = h_->StartContainer(*pod, {.name = "queue-proxy",
                                         .command = {"/usr/bin/python3"},
                                         .args = {"-c", Source("queue_proxy.py")},
                                         .env = {{"QUEUE_SERVING_PORT", std::to_string(queue_port)},
                                                 {"USER_PORT", std::to_string(user_port)}}});
  ASSERT_TRUE(queue.ok()) << queue.status();

  // An HTTP request through the queue-proxy gets the user container's answer (once the user
  // container listens: until then the proxy answers 502, as Knative's does before readiness).
  EXPECT_TRUE(absl::StartsWith(HttpGet(user_port, "/ready", absl::Seconds(15)), "HTTP/1.0 200"));
  std::string resp = HttpGet(queue_port, "/knative", absl::Seconds(15));
  EXPECT_TRUE(absl::StartsWith(resp, "HTTP/1.0 200")) << resp;
  EXPECT_TRUE(absl::StrContains(resp, "X-Queue-Proxy: faasguard-test")) << resp;
  EXPECT_TRUE(absl::StrContains(resp, "hello from hello (user-container, pid ")) << resp;
  EXPECT_TRUE(absl::StrContains(resp, "path /knative")) << resp;
  if (resp.empty())
    ADD_FAILURE() << "user-container log:\n"
                  << h_->ContainerLog(*pod, "user-container") << "\nqueue-proxy log:\n"
                  << h_->ContainerLog(*pod, "queue-proxy");

  // ListPodSandbox, by label.
  cri::PodSandboxFilter by_service;
  (*by_service.mutable_label_selector())[kKnativeService] = "hello";
  auto pods = h_->cri().ListPodSandbox(by_service);
  ASSERT_TRUE(pods.ok()) << pods.status();
  ASSERT_EQ(pods->size(), 1u);
  const cri::PodSandbox& listed = pods->front();
  EXPECT_EQ(listed.id(), pod->id);
  EXPECT_EQ(listed.metadata().name(), pod->name);
  EXPECT_EQ(listed.metadata().uid(), pod->uid);
  EXPECT_EQ(listed.metadata().namespace_(), "default");
  EXPECT_EQ(listed.state(), cri::SANDBOX_READY);
  EXPECT_GT(listed.created_at(), 0);
  for (const auto& [k, v] : knative) EXPECT_EQ(listed.labels().at(k), v) << k;
  EXPECT_EQ(listed.labels().at("io.kubernetes.pod.uid"), pod->uid);
  EXPECT_EQ(listed.annotations().at("serving.knative.dev/creator"), "faasguard-test");

  // ListContainers of the pod.
  cri::ContainerFilter of_pod;
  of_pod.set_pod_sandbox_id(pod->id);
  auto ctrs = h_->cri().ListContainers(of_pod);
  ASSERT_TRUE(ctrs.ok()) << ctrs.status();
  ASSERT_EQ(ctrs->size(), 2u);
  std::map<std::string, cri::Container> by_name;
  for (const cri::Container& c : *ctrs) by_name[c.metadata().name()] = c;
  ASSERT_EQ(by_name.count("user-container"), 1u);
  ASSERT_EQ(by_name.count("queue-proxy"), 1u);
  EXPECT_EQ(by_name["user-container"].id(), *user);
  EXPECT_EQ(by_name["queue-proxy"].id(), *queue);
  for (const auto& [name, c] : by_name) {
    EXPECT_TRUE(IsContainerId(c.id())) << c.id();
    EXPECT_EQ(c.pod_sandbox_id(), pod->id) << name;
    EXPECT_EQ(c.state(), cri::CONTAINER_RUNNING) << name;
    EXPECT_EQ(c.labels().at("io.kubernetes.container.name"), name);
    EXPECT_EQ(c.labels().at("io.kubernetes.pod.uid"), pod->uid);
    EXPECT_EQ(c.labels().at("io.kubernetes.pod.namespace"), "default");
    EXPECT_FALSE(c.image().image().empty());
  }
  cri::ContainerFilter by_container_name;
  (*by_container_name.mutable_label_selector())["io.kubernetes.container.name"] = "queue-proxy";
  auto only_queue = h_->cri().ListContainers(by_container_name);
  ASSERT_TRUE(only_queue.ok()) << only_queue.status();
  ASSERT_EQ(only_queue->size(), 1u);
  EXPECT_EQ(only_queue->front().id(), *queue);

  // PodSandboxStatus (verbose: containerd adds the pause process's pid).
  auto ps = h_->cri().PodSandboxStatus(pod->id, /*verbose=*/true);
  ASSERT_TRUE(ps.ok()) << ps.status();
  EXPECT_EQ(ps->status().id(), pod->id);
  EXPECT_EQ(ps->status().metadata().uid(), pod->uid);
  EXPECT_EQ(ps->status().metadata().name(), pod->name);
  EXPECT_EQ(ps->status().metadata().namespace_(), "default");
  EXPECT_EQ(ps->status().state(), cri::SANDBOX_READY);
  EXPECT_EQ(ps->status().labels().at(kKnativeRevision), "hello-00001");
  EXPECT_EQ(ps->status().linux().namespaces().options().network(), cri::NODE);
  EXPECT_EQ(ps->status().annotations().at("serving.knative.dev/creator"), "faasguard-test");
  const pid_t pause_pid = InfoPid(ps->info());
  ASSERT_GT(pause_pid, 0);
  const std::string shim_socket = ShimSocketPath(h_->socket(), pod->id);
  EXPECT_TRUE(Exists(shim_socket)) << shim_socket;

  // The sandbox (pause) process: /kubepods/besteffort/pod<uid>/<sandbox id>.
  const std::string sandbox_cgroup = absl::StrCat(pod->cgroup_parent, "/", pod->id);
  auto pause_cg = CgroupOfPid(pause_pid);
  ASSERT_TRUE(pause_cg.ok()) << pause_cg.status();
  EXPECT_EQ(*pause_cg, sandbox_cgroup);
  EXPECT_EQ(
      absl::StripSuffix(ReadFile(absl::StrCat("/proc/", pause_pid, "/comm")).value_or(""), "\n"),
      "pause");
  EXPECT_EQ(CgroupProcs(h_->CgroupDir(*pod, pod->id)), std::vector<pid_t>{pause_pid});
  std::cout << "cgroup v2 of the sandbox (pause, pid " << pause_pid << "): 0::" << *pause_cg
            << "\n";
  for (const auto& [ctl, path] : CgroupLines(pause_pid)) {
    if (!ctl.empty()) {
      EXPECT_EQ(path, sandbox_cgroup) << "v1 " << ctl;
    }
  }

  // Each container: ContainerStatus, and its processes in /kubepods/besteffort/pod<uid>/<id>.
  for (const auto& [name, id] : {std::pair{"user-container", *user}, {"queue-proxy", *queue}}) {
    SCOPED_TRACE(name);
    auto cs = h_->cri().ContainerStatus(id, /*verbose=*/true);
    ASSERT_TRUE(cs.ok()) << cs.status();
    EXPECT_EQ(cs->status().id(), id);
    EXPECT_EQ(cs->status().metadata().name(), name);
    EXPECT_EQ(cs->status().state(), cri::CONTAINER_RUNNING);
    EXPECT_GT(cs->status().created_at(), 0);
    EXPECT_GT(cs->status().started_at(), 0);
    EXPECT_EQ(cs->status().image().image(), ContainerdHarness::kFunctionImage);
    EXPECT_EQ(cs->status().labels().at("io.kubernetes.pod.uid"), pod->uid);
    EXPECT_EQ(cs->status().labels().at("io.kubernetes.container.name"), name);
    google::protobuf::Struct info = ParseInfo(cs->info());
    EXPECT_EQ(info.fields().at("sandboxID").string_value(), pod->id);
    const pid_t pid = InfoPid(cs->info());
    ASSERT_GT(pid, 0);

    const std::string expected = absl::StrCat("/kubepods/besteffort/pod", pod->uid, "/", id);
    std::vector<pid_t> procs = CgroupProcs(h_->CgroupDir(*pod, id));
    ASSERT_FALSE(procs.empty()) << h_->CgroupDir(*pod, id);
    EXPECT_NE(std::find(procs.begin(), procs.end(), pid), procs.end()) << pid;
    for (pid_t p : procs) {
      auto cg = CgroupOfPid(p);
      ASSERT_TRUE(cg.ok()) << cg.status();
      EXPECT_EQ(*cg, expected) << "pid " << p;
      for (const auto& [ctl, path] : CgroupLines(p)) {
        if (!ctl.empty()) {
          EXPECT_EQ(path, expected) << "v1 " << ctl;
        }
      }
    }
    EXPECT_TRUE(absl::StrContains(ReadFile(absl::StrCat("/proc/", pid, "/cmdline")).value_or(""),
                                  "python3"));
    std::cout << "cgroup v2 of " << name << " (pid " << pid << "): 0::" << expected << "\n";
  }

  // Stop and remove the queue-proxy: EXITED, then gone (its cgroup too).
  ASSERT_TRUE(h_->StopContainer(*queue, absl::Seconds(5)).ok());
  auto stopped = h_->cri().ContainerStatus(*queue);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status().state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(stopped->status().exit_code(), 0);  // its SIGTERM handler exits 0
  EXPECT_GT(stopped->status().finished_at(), 0);
  EXPECT_FALSE(DirExists(h_->CgroupDir(*pod, *queue)));
  ASSERT_TRUE(h_->RemoveContainer(*queue).ok());
  EXPECT_EQ(h_->cri().ContainerStatus(*queue).status().code(), absl::StatusCode::kNotFound);
  auto left = h_->cri().ListContainers(of_pod);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().id(), *user);
  EXPECT_TRUE(HttpGet(queue_port, "/", absl::Milliseconds(200)).empty());

  // Stop and remove the pod: NOTREADY with its container EXITED, then nothing listed. The
  // container and sandbox cgroups are gone; pod<uid> stays (the kubelet removes it; the
  // harness does at shutdown).
  ASSERT_TRUE(h_->StopPod(*pod).ok());
  auto nr = h_->cri().PodSandboxStatus(pod->id);
  ASSERT_TRUE(nr.ok()) << nr.status();
  EXPECT_EQ(nr->status().state(), cri::SANDBOX_NOTREADY);
  auto user_after = h_->cri().ContainerStatus(*user);
  ASSERT_TRUE(user_after.ok());
  EXPECT_EQ(user_after->status().state(), cri::CONTAINER_EXITED);
  ASSERT_TRUE(h_->RemovePod(*pod).ok());
  auto after = h_->cri().ListPodSandbox();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  auto ctrs_after = h_->cri().ListContainers();
  ASSERT_TRUE(ctrs_after.ok());
  EXPECT_TRUE(ctrs_after->empty());
  EXPECT_FALSE(DirExists(h_->CgroupDir(*pod, pod->id)));
  EXPECT_FALSE(DirExists(h_->CgroupDir(*pod, *user)));
  EXPECT_TRUE(DirExists(h_->CgroupDir(*pod, "")));
  EXPECT_TRUE(MountsBelow(h_->dir() + "/state/io.containerd.runtime.v2.task").empty());
  EXPECT_FALSE(Exists(shim_socket)) << shim_socket;
}

TEST_F(ContainerdTest, OpenFaasPodIsListedAndCleanedUpByTheHarness) {
  auto pod = RunPod({.name = "figlet-6d8b8b4c9f-abcde",
                     .namespace_ = "openfaas-fn",
                     .labels = {{kOpenFaasFunction, "figlet"}, {"faas_function_version", "1"}},
                     .qos = "burstable"});
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->cgroup_parent, "/kubepods/burstable/pod" + pod->uid);
  const int port = FreePort();
  auto figlet = h_->StartContainer(
      *pod,
      {.name = "figlet",
       .command = {"/usr/bin/python3"},
       .args = {"-c", Source("user_container.py")},
       .env = {{"PORT", std::to_string(port)}, {"FUNCTION", "figlet"}, {"CONTAINER", "figlet"}}});
  ASSERT_TRUE(figlet.ok()) << figlet.status();
  std::string resp = HttpGet(port, "/", absl::Seconds(15));
  EXPECT_TRUE(absl::StrContains(resp, "hello from figlet (figlet, pid "))
      << resp << h_->ContainerLog(*pod, "figlet");

  cri::PodSandboxFilter by_function;
  (*by_function.mutable_label_selector())[kOpenFaasFunction] = "figlet";
  auto pods = h_->cri().ListPodSandbox(by_function);
  ASSERT_TRUE(pods.ok()) << pods.status();
  ASSERT_EQ(pods->size(), 1u);
  EXPECT_EQ(pods->front().metadata().namespace_(), "openfaas-fn");
  EXPECT_EQ(pods->front().metadata().uid(), pod->uid);

  auto ctrs = h_->cri().ListContainers();
  ASSERT_TRUE(ctrs.ok());
  ASSERT_EQ(ctrs->size(), 1u);
  EXPECT_EQ(ctrs->front().metadata().name(), "figlet");
  EXPECT_EQ(ctrs->front().pod_sandbox_id(), pod->id);

  auto cs = h_->cri().ContainerStatus(*figlet, true);
  ASSERT_TRUE(cs.ok());
  const pid_t pid = InfoPid(cs->info());
  auto cg = CgroupOfPid(pid);
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ(*cg, absl::StrCat("/kubepods/burstable/pod", pod->uid, "/", *figlet));
  std::cout << "cgroup v2 of figlet (pid " << pid << "): 0::" << *cg << "\n";
  // Left running: TearDown's Shutdown must stop and remove it and leave nothing behind.
}

constexpr char kCrashReportEnv[] = "FG_CONTAINERD_CRASH_REPORT";

// The child half of StaleRunIsCleanedByTheNextStart: with FG_CONTAINERD_CRASH_REPORT set, this
// binary starts a harness and a pod before any test runs, writes where they are, and dies by
// SIGKILL (no destructor, no cleanup: what a crash leaves).
class CrashingChild : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* report = std::getenv(kCrashReportEnv);
    if (report == nullptr) return;
    auto h = ContainerdHarness::Start();
    if (!h.ok()) Die(h.status());
    auto pod = (*h)->RunPod({.name = "crash", .labels = {{kOpenFaasFunction, "crash"}}});
    if (!pod.ok()) Die(pod.status());
    auto id = (*h)->StartContainer(
        *pod,
        {.name = "sleeper", .command = {"/usr/bin/python3", "-c", "import time; time.sleep(600)"}});
    if (!id.ok()) Die(id.status());
    std::ofstream(report) << (*h)->dir() << "\n"
                          << pod->cgroup_parent << "\n"
                          << pod->id << "\n"
                          << *id << "\n";
    ::raise(SIGKILL);
  }

 private:
  [[noreturn]] static void Die(const absl::Status& s) {
    std::cout << "crashing child: " << s << std::endl;
    std::_Exit(3);
  }
};
[[maybe_unused]] ::testing::Environment* const kCrashingChild =
    ::testing::AddGlobalTestEnvironment(new CrashingChild);

TEST(ContainerdCrash, StaleRunIsCleanedByTheNextStart) {
  FG_REQUIRE_ROOT();
  TempDir tmp;
  std::string report = tmp.path() + "/report";
  // (The filter must select a test: gtest sets environments up only when one will run.)
  RunResult child = RunCapture("", {"/usr/bin/env", absl::StrCat(kCrashReportEnv, "=", report),
                                    SelfExe(), "--gtest_filter=ContainerdCrash.*"});
  ASSERT_EQ(child.status, 128 + SIGKILL) << child.out;
  auto text = ReadFile(report);
  ASSERT_TRUE(text.ok()) << text.status() << "\n" << child.out;
  std::vector<std::string> f = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  ASSERT_EQ(f.size(), 4u);
  const std::string dir = f[0], cgroup_parent = f[1], sandbox = f[2], container = f[3];

  // What the crash left: the directory, the shim (containerd died with its parent), the
  // container's processes, the rootfs mounts, the cgroups.
  EXPECT_TRUE(DirExists(dir));
  std::vector<pid_t> leftovers = ProcessesMentioning(dir + "/");
  EXPECT_FALSE(leftovers.empty());
  EXPECT_FALSE(MountsBelow(dir).empty());
  const std::string cg2 = Cgroup2Mount();
  EXPECT_FALSE(CgroupProcs(absl::StrCat(cg2, cgroup_parent, "/", container)).empty());
  EXPECT_FALSE(CgroupProcs(absl::StrCat(cg2, cgroup_parent, "/", sandbox)).empty());
  EXPECT_TRUE(Exists(ShimSocketPath(dir + "/containerd.sock", sandbox)));
  std::cout << "a crashed run left " << leftovers.size() << " processes naming " << dir << ", "
            << MountsBelow(dir).size() << " mounts\n";

  // The next Start() cleans it all, and works.
  absl::Time t0 = absl::Now();
  auto h = ContainerdHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  std::cout << "Start with stale cleanup took " << absl::FormatDuration(absl::Now() - t0) << "\n";
  ExpectNothingLeft(dir, {cgroup_parent});
  EXPECT_FALSE(Exists(ShimSocketPath(dir + "/containerd.sock", sandbox)));
  auto v = (*h)->cri().Version();
  EXPECT_TRUE(v.ok()) << v.status();
  std::string new_dir = (*h)->dir();
  EXPECT_TRUE((*h)->Shutdown().ok());
  ExpectNothingLeft(new_dir, {});
}

}  // namespace
}  // namespace faasguard::testing
