// The exec storm (fork + exec of /bin/true as fast as the machine goes) and the connect storm
// (loopback TCP connects), each run inside the cgroup of the configuration measured.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench.h"

namespace faasguard::bench {
namespace {

// The calling process on `cpu` (< 0: where the scheduler likes).
void PinTo(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

// Enter the cgroup named by --cgroup (none: stay where we are). False after printing why.
bool EnterFlagCgroup(const ParsedArgs& a, const char* who) {
  std::string dir = a.Get("cgroup");
  if (dir.empty() || dir == "-") return true;
  int fd = OpenProcs(dir);
  if (fd < 0 || !EnterCgroup(fd)) {
    std::cerr << "fg-bench " << who << ": cannot enter " << dir << ": " << std::strerror(errno)
              << "\n";
    return false;
  }
  ::close(fd);
  return true;
}

struct StormCounts {
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> failed{0};
};

}  // namespace

int RunExecStorm(const ParsedArgs& a) {
  double seconds = NumFlag(a, "seconds", 2);
  int workers = static_cast<int>(NumFlag(a, "workers", 2));
  std::string binary = a.Get("binary", "/bin/true");
  if (workers < 1 || workers > 256 || seconds <= 0) {
    std::cerr << "fg-bench exec-storm: bad --workers or --seconds\n";
    return 2;
  }
  // Counters shared with the workers (they are processes: each waits for its own children).
  void* mem = ::mmap(nullptr, sizeof(StormCounts), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::cerr << "fg-bench exec-storm: mmap: " << std::strerror(errno) << "\n";
    return 1;
  }
  auto* counts = new (mem) StormCounts;
  if (!EnterFlagCgroup(a, "exec-storm")) return 1;
  char* const child_argv[] = {const_cast<char*>(binary.c_str()), nullptr};
  char* const child_env[] = {nullptr};
  double t0 = NowNs();
  double deadline = t0 + seconds * 1e9;
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    pid_t p = ::fork();
    if (p == 0) {
      uint64_t ok = 0, failed = 0;
      while (NowNs() < deadline) {
        pid_t c = ::fork();
        if (c == 0) {
          ::execve(child_argv[0], child_argv, child_env);
          ::_exit(127);
        }
        if (c < 0) {
          ++failed;
          continue;
        }
        int st = 0;
        while (::waitpid(c, &st, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
          ++ok;
        else
          ++failed;
      }
      counts->ok += ok;
      counts->failed += failed;
      ::_exit(0);
    }
    if (p > 0) pids.push_back(p);
  }
  for (pid_t p : pids) {
    int st;
    while (::waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
  }
  double elapsed = (NowNs() - t0) / 1e9;
  uint64_t ok = counts->ok, failed = counts->failed;
  std::cout << "{\"execs\":" << ok << ",\"failed\":" << failed << ",\"workers\":" << workers
            << ",\"seconds\":" << elapsed << ",\"per_second\":" << static_cast<double>(ok) / elapsed
            << "}" << std::endl;
  return 0;
}

int RunConnectStorm(const ParsedArgs& a) {
  double seconds = NumFlag(a, "seconds", 2);
  int port = static_cast<int>(NumFlag(a, "port", 47011));
  int server_cpu = static_cast<int>(NumFlag(a, "server-cpu", -1));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  // The server stays in the caller's (untracked) cgroup: the function measured is the client.
  int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ls < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(ls, 4096) != 0) {
    std::cerr << "fg-bench connect-storm: listen on 127.0.0.1:" << port << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  pid_t server = ::fork();
  if (server == 0) {
    PinTo(server_cpu);
    for (;;) {
      int c = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) ::close(c);
    }
  }
  ::close(ls);
  if (server < 0 || !EnterFlagCgroup(a, "connect-storm")) {
    if (server > 0) ::kill(server, SIGKILL);
    return 1;
  }
  // Each connection is closed with an RST (linger 0): no TIME_WAIT, so the ephemeral ports
  // never run out however long the storm.
  linger lg{1, 0};
  uint64_t ok = 0, failed = 0;
  double t0 = NowNs();
  double deadline = t0 + seconds * 1e9;
  while (NowNs() < deadline) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      ++failed;
      continue;
    }
    ::setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
      ++ok;
    else
      ++failed;
    ::close(s);
  }
  double elapsed = (NowNs() - t0) / 1e9;
  ::kill(server, SIGKILL);
  int st;
  ::waitpid(server, &st, 0);
  std::cout << "{\"connects\":" << ok << ",\"failed\":" << failed << ",\"seconds\":" << elapsed
            << ",\"per_second\":" << static_cast<double>(ok) / elapsed << "}" << std::endl;
  return 0;
}

// The Unix socket storm: stream connects to an abstract name (the untracked server accepts and
// closes), then one datagram to another: every new Unix-socket hook (sock.bpf.c) on each.
int RunUnixStorm(const ParsedArgs& a) {
  double seconds = NumFlag(a, "seconds", 2);
  int server_cpu = static_cast<int>(NumFlag(a, "server-cpu", -1));
  auto name = [](const char* n, sockaddr_un* u) {
    *u = {};
    u->sun_family = AF_UNIX;
    std::memcpy(u->sun_path + 1, n, std::strlen(n));  // abstract: a leading NUL
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(n));
  };
  sockaddr_un st{}, dg{};
  socklen_t st_len = name("fg-bench-unix-stream", &st);
  socklen_t dg_len = name("fg-bench-unix-dgram", &dg);
  int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ds = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ls < 0 || ds < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&st), st_len) != 0 ||
      ::listen(ls, 4096) != 0 || ::bind(ds, reinterpret_cast<sockaddr*>(&dg), dg_len) != 0) {
    std::cerr << "fg-bench unix-storm: bind: " << std::strerror(errno) << "\n";
    return 1;
  }
  pid_t server = ::fork();
  if (server == 0) {
    PinTo(server_cpu);
    char buf[8];
    for (;;) {
      pollfd p[2] = {{ls, POLLIN, 0}, {ds, POLLIN, 0}};
      if (::poll(p, 2, -1) <= 0) continue;
      if (p[0].revents & POLLIN) {
        int c = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) ::close(c);
      }
      if (p[1].revents & POLLIN) (void)::recv(ds, buf, sizeof buf, MSG_DONTWAIT);
    }
  }
  ::close(ls);
  ::close(ds);
  if (server < 0 || !EnterFlagCgroup(a, "unix-storm")) {
    if (server > 0) ::kill(server, SIGKILL);
    return 1;
  }
  uint64_t ok = 0, failed = 0;
  double t0 = NowNs();
  double deadline = t0 + seconds * 1e9;
  while (NowNs() < deadline) {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int d = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && d >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&st), st_len) == 0 &&
        ::sendto(d, "x", 1, 0, reinterpret_cast<sockaddr*>(&dg), dg_len) >= 0)
      ++ok;
    else
      ++failed;
    if (s >= 0) ::close(s);
    if (d >= 0) ::close(d);
  }
  double elapsed = (NowNs() - t0) / 1e9;
  ::kill(server, SIGKILL);
  int status;
  ::waitpid(server, &status, 0);
  std::cout << "{\"connects\":" << ok << ",\"failed\":" << failed << ",\"seconds\":" << elapsed
            << ",\"per_second\":" << static_cast<double>(ok) / elapsed << "}" << std::endl;
  return 0;
}

}  // namespace faasguard::bench
