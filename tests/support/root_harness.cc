#include "support/root_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "bpf/features.h"
#include "cgroup/cgroup.h"

namespace faasguard::testing {

bool IsRoot() { return ::geteuid() == 0; }

TempDir::TempDir() {
  char tmpl[] = "/tmp/fgtest.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::string cmd = "rm -rf '" + path_ + "'";
  (void)!::system(cmd.c_str());
}

std::string Cgroup2Mount() {
  auto m = DiscoverCgroup2Mount();
  if (!m.ok()) throw std::runtime_error(m.status().ToString());
  return *m;
}

TestCgroup::TestCgroup(const std::string& name) {
  static std::atomic<int> seq{0};
  path_ = absl::StrCat(Cgroup2Mount(), "/faasguard-test/", name, "-", ::getpid(), "-", seq++);
  if (auto s = CreateCgroup(path_); !s.ok()) throw std::runtime_error(s.ToString());
  auto id = CgroupIdOf(path_);
  if (!id.ok()) throw std::runtime_error(id.status().ToString());
  id_ = *id;
}

TestCgroup::~TestCgroup() { (void)RemoveCgroup(path_); }

LoopbackServer::LoopbackServer(int family, int type) {
  fd_ = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    throw std::runtime_error("getsockname failed");
  port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  if (type == SOCK_STREAM) {
    if (::listen(fd_, 128) != 0) throw std::runtime_error("listen failed");
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
          int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) ::close(c);
        }
      }
    });
  }
}

LoopbackServer::~LoopbackServer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

pid_t Spawn(const std::string& cgroup_dir, const std::vector<std::string>& argv, int* stdout_fd) {
  int pfd[2] = {-1, -1};
  if (stdout_fd && ::pipe2(pfd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::string procs = cgroup_dir.empty() ? "" : cgroup_dir + "/cgroup.procs";
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Everything but the exec happens before the move: inside the cgroup the child makes no
    // syscall the workload itself would not (an enforced function would refuse others).
    if (stdout_fd) ::dup2(pfd[1], STDOUT_FILENO);
    if (!procs.empty()) {
      int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(125);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (stdout_fd) {
    ::close(pfd[1]);
    *stdout_fd = pfd[0];
  }
  return pid;
}

int Wait(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

int RunIn(const std::string& cgroup_dir, const std::vector<std::string>& argv) {
  return Wait(Spawn(cgroup_dir, argv));
}

RunResult RunCapture(const std::string& cgroup_dir, const std::vector<std::string>& argv) {
  int fd = -1;
  pid_t pid = Spawn(cgroup_dir, argv, &fd);
  RunResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  r.status = Wait(pid);
  return r;
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) throw std::runtime_error("readlink /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

namespace {
AgentCoreOptions RingOptions(uint32_t ringbuf_bytes, bool read_events) {
  AgentCoreOptions o;
  o.ringbuf_bytes = ringbuf_bytes;
  o.read_events = read_events;
  return o;
}
}  // namespace

AgentCore::AgentCore(uint32_t ringbuf_bytes, bool read_events)
    : AgentCore(RingOptions(ringbuf_bytes, read_events)) {}

AgentCore::AgentCore(const AgentCoreOptions& opts) {
  LoaderOptions o;
  o.cgroup2_mount = Cgroup2Mount();
  o.ringbuf_bytes = opts.ringbuf_bytes;
  o.hash_seed = 0x5eed;
  o.max_net_rules = opts.max_net_rules;
  o.features = ProbeKernelFeatures("");
  auto p = BpfPrograms::LoadAndAttach(o);
  if (!p.ok()) throw std::runtime_error(p.status().ToString());
  programs = std::move(*p);
  kernel = std::make_unique<BpfKernelMaps>(programs->map_fds());
  store = std::make_unique<ProfileStore>(state.path());
  if (auto s = store->Init(); !s.ok()) throw std::runtime_error(s.ToString());
  Engine::Options eo;
  eo.hash_seed = o.hash_seed;
  eo.limits = opts.limits;
  engine = std::make_unique<Engine>(kernel.get(), store.get(), eo);
  engine->SetFileHook([p = programs.get()](bool on) { return p->SetFileHook(on); },
                      programs->file_hook_attached());
  if (opts.read_events) {
    auto r = EventReader::Create(programs->ringbuf_fd(),
                                 [this](const Event& ev) { engine->HandleEvent(ev); });
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    reader = std::move(*r);
    reader_thread = std::thread([this] { reader->Run(stop, 20); });
  }
}

void AgentCore::Settle() {
  // The reader thread polls every 20 ms: give it a few rounds, then fold the kernel sets.
  ::usleep(100 * 1000);
  engine->SyncFromKernel();
}

AgentCore::~AgentCore() {
  stop.store(true);
  if (reader_thread.joinable()) reader_thread.join();
}

v1::FunctionId FunctionIdOf(const std::string& platform, const std::string& ns,
                            const std::string& name) {
  v1::FunctionId id;
  if (!platform.empty()) id.set_platform(platform);
  id.set_namespace_(ns);
  id.set_name(name);
  return id;
}

}  // namespace faasguard::testing
