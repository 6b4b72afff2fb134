// fg_workload: a program that does specific things, in order, so tests can check that
// faasguard learned exactly them. Each argument group is one step:
//   syscalls                 getppid, sched_yield, getpriority, sysinfo, times
//   exec PATH                fork + execv(PATH) + wait
//   execs N PATH             N times fork + execv(PATH) + wait
//   tcp4 PORT | tcp6 PORT    connect to 127.0.0.1 / ::1, then close
//   mapped PORT              connect an AF_INET6 socket to ::ffff:127.0.0.1
//   udp4 PORT | udp6 PORT    one unconnected sendto
//   serve PORT               listen on 127.0.0.1:PORT, print "listening", accept one peer
// Exits 0 when every step worked, 1 with a message otherwise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fg_workload: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void RunExec(const char* path) {
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    char* const argv[] = {const_cast<char*>(path), nullptr};
    execv(path, argv);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) Die("waitpid");
  if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1)) {
    errno = 0;
    Die(std::string("exec of ") + path + " failed");
  }
}

sockaddr_storage Addr(int family, const char* ip, int port, socklen_t* len) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip, &a->sin_addr);
    *len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    *len = sizeof(*a);
  }
  return ss;
}

void Connect(int family, const char* ip, int port) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  socklen_t len;
  sockaddr_storage ss = Addr(family, ip, port, &len);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) Die(std::string("connect ") + ip);
  close(fd);
}

void SendUdp(int family, const char* ip, int port) {
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) Die("socket");
  socklen_t len;
  sockaddr_storage ss = Addr(family, ip, port, &len);
  if (sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&ss), len) != 1)
    Die(std::string("sendto ") + ip);
  close(fd);
}

void Serve(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len;
  sockaddr_storage ss = Addr(AF_INET, "127.0.0.1", port, &len);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) Die("bind");
  if (listen(fd, 4) != 0) Die("listen");
  std::printf("listening\n");
  std::fflush(stdout);
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 20000) != 1) Die("no peer within 20 s");
  int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) Die("accept4");
  close(c);
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string step = argv[i];
    auto arg = [&]() -> const char* {
      if (i + 1 >= argc) {
        errno = EINVAL;
        Die("missing argument for " + step);
      }
      return argv[++i];
    };
    if (step == "syscalls") {
      (void)getppid();
      sched_yield();
      errno = 0;
      (void)getpriority(PRIO_PROCESS, 0);
      struct sysinfo si;
      sysinfo(&si);
      struct tms t;
      times(&t);
    } else if (step == "exec") {
      RunExec(arg());
    } else if (step == "execs") {
      int n = std::atoi(arg());
      const char* path = arg();
      for (int k = 0; k < n; ++k) RunExec(path);
    } else if (step == "tcp4") {
      Connect(AF_INET, "127.0.0.1", std::atoi(arg()));
    } else if (step == "tcp6") {
      Connect(AF_INET6, "::1", std::atoi(arg()));
    } else if (step == "mapped") {
      Connect(AF_INET6, "::ffff:127.0.0.1", std::atoi(arg()));
    } else if (step == "udp4") {
      SendUdp(AF_INET, "127.0.0.1", std::atoi(arg()));
    } else if (step == "udp6") {
      SendUdp(AF_INET6, "::1", std::atoi(arg()));
    } else if (step == "serve") {
      Serve(std::atoi(arg()));
    } else {
      errno = EINVAL;
      Die("unknown step " + step);
    }
  }
  return 0;
}
