// fg_sock_workload: the ways in and out beyond TCP/UDP destinations, one step per argument
// group, each printing one line with its outcome (errno names as strerrorname_np spells them):
//   unix NAME                connect a stream Unix socket to NAME ("@x": abstract)
//                                                          -> "unix NAME: ok|EPERM|..."
//   unix-dgram NAME          an unconnected sendto from a datagram Unix socket to NAME
//   socket FAMILY TYPE PROTO socket(2) in a forked child (numbers) -> "socket F T P: ok|EPERM|
//                            signal N" (the child exits 0 when the call worked)
//   ping PORT                a ping socket (SOCK_DGRAM, IPPROTO_ICMP) sends an echo with data
//                            to 127.0.0.1                -> "ping: ok|EPERM|..." (the socket's)
//   srcroute PORT            a UDP socket sets a loose source route through 127.0.0.1
//                            (IP_OPTIONS) and sends to PORT -> "srcroute: ok|EPERM" (the option)
//   listen0-fork SECONDS     the socket is made here; a forked child binds it to 127.0.0.1:0 and
//                            listens, then exits; "listen0-fork PORT" is printed and the parent
//                            accepts for SECONDS       -> "accept: ok|timeout"
//   udp-recv PORT SECONDS    bind a UDP socket to 0.0.0.0:PORT (0: any), print "udp-recv PORT",
//                            wait SECONDS for a datagram -> "recv: ok|timeout"
//   serve ADDR PORT SECONDS  listen on ADDR:PORT, print "serving PORT", accept every
//                            connection for SECONDS, one "accept: ok" each, then "served"
//   chdir DIR                chdir(DIR)
//   try-exec PATH            fork + execv(PATH)           -> "exec PATH: exit N|signal N"
//   daemon SECONDS PORT      double fork + setsid: the grandchild sleeps SECONDS, then connects
//                            to 127.0.0.1:PORT; the step returns at once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fg_sock_workload: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

const char* Err(int r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

socklen_t UnixAddr(const std::string& name, sockaddr_un* a) {
  *a = {};
  a->sun_family = AF_UNIX;
  if (name.size() >= sizeof a->sun_path) {
    errno = ENAMETOOLONG;
    Die("unix name " + name);
  }
  std::memcpy(a->sun_path, name.data(), name.size());
  if (!name.empty() && name[0] == '@') a->sun_path[0] = 0;  // abstract: no NUL at the end
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                (name[0] == '@' ? 0 : 1));
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void Unix(const std::string& name, int type) {
  int fd = socket(AF_UNIX, type, 0);
  if (fd < 0) Die("socket(AF_UNIX)");
  sockaddr_un a;
  socklen_t len = UnixAddr(name, &a);
  int r = type == SOCK_STREAM
              ? connect(fd, reinterpret_cast<sockaddr*>(&a), len)
              : static_cast<int>(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), len));
  Say(std::string(type == SOCK_STREAM ? "unix " : "unix-dgram ") + name + ": " + Err(r));
  close(fd);
}

std::string Status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st) == 0 ? "ok" : std::strerror(WEXITSTATUS(st));
  return "signal " + std::to_string(WTERMSIG(st));
}

void Socket(int family, int type, int proto) {
  int p[2];
  if (pipe(p) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    int fd = socket(family, type, proto);
    int e = fd < 0 ? errno : 0;
    (void)!write(p[1], &e, sizeof e);
    _exit(0);
  }
  close(p[1]);
  int e = -1;
  ssize_t n = read(p[0], &e, sizeof e);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  std::string out = "socket " + std::to_string(family) + " " + std::to_string(type) + " " +
                    std::to_string(proto) + ": ";
  if (WIFSIGNALED(st))
    out += "signal " + std::to_string(WTERMSIG(st));
  else if (n != sizeof e)
    out += "no answer";
  else
    out += e ? strerrorname_np(e) : "ok";
  Say(out);
}

void Ping() {
  int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (fd < 0) {
    Say(std::string("ping: ") + strerrorname_np(errno));
    return;
  }
  struct {
    icmphdr h;
    char data[16];
  } m{};
  m.h.type = ICMP_ECHO;
  std::memcpy(m.data, "exfiltrated-data", 16);
  sockaddr_in a = Loopback(0);
  int r = static_cast<int>(sendto(fd, &m, sizeof m, 0, reinterpret_cast<sockaddr*>(&a), sizeof a));
  Say(std::string("ping: ") + Err(r));
  close(fd);
}

void SourceRoute(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) Die("socket");
  // NOP, LSRR (131) of length 7, pointer 4, one hop: 127.0.0.1.
  unsigned char opt[8] = {1, 131, 7, 4, 127, 0, 0, 1};
  int r = setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof opt);
  Say(std::string("srcroute: ") + Err(r));
  sockaddr_in a = Loopback(port);
  (void)sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

// Waits up to `seconds` for fd to be readable.
bool Readable(int fd, int seconds) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, seconds * 1000) == 1;
}

void Listen0Fork(int seconds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  pid_t pid = fork();
  if (pid == 0) {
    sockaddr_in a = Loopback(0);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 8) != 0) _exit(1);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) Die("getsockname");
  Say("listen0-fork " + std::to_string(ntohs(a.sin_port)) + " child " + Status(st));
  if (!Readable(fd, seconds)) {
    Say("accept: timeout");
  } else {
    int c = accept(fd, nullptr, nullptr);
    Say(std::string("accept: ") + Err(c));
    if (c >= 0) close(c);
  }
  close(fd);
}

void UdpRecv(int port, int seconds) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) Die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("bind");
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) Die("getsockname");
  Say("udp-recv " + std::to_string(ntohs(a.sin_port)));
  Say(Readable(fd, seconds) ? "recv: ok" : "recv: timeout");
  close(fd);
}

void Serve(const char* addr, int port, int seconds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) Die(std::string("address ") + addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0)
    Die("bind/listen");
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) Die("getsockname");
  Say("serving " + std::to_string(ntohs(a.sin_port)));
  while (Readable(fd, seconds)) {
    int c = accept(fd, nullptr, nullptr);
    Say(std::string("accept: ") + Err(c));
    if (c >= 0) close(c);
  }
  Say("served");
  close(fd);
}

void TryExec(const char* path) {
  pid_t pid = fork();
  if (pid == 0) {
    char* const av[] = {const_cast<char*>(path), nullptr};
    execv(path, av);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  Say(std::string("exec ") + path + ": " +
      (WIFEXITED(st) ? "exit " + std::to_string(WEXITSTATUS(st))
                     : "signal " + std::to_string(WTERMSIG(st))));
}

void Daemon(int seconds, int port) {
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    for (int fd = 0; fd < 3; ++fd) close(fd);
    sleep(static_cast<unsigned>(seconds));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = Loopback(port);
    (void)connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    _exit(0);
  }
  waitpid(pid, nullptr, 0);
  Say("daemon started");
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
    auto num = [&]() { return std::atoi(arg()); };
    if (step == "unix") {
      Unix(arg(), SOCK_STREAM);
    } else if (step == "unix-dgram") {
      Unix(arg(), SOCK_DGRAM);
    } else if (step == "socket") {
      int f = num(), t = num();
      Socket(f, t, num());
    } else if (step == "ping") {
      Ping();
    } else if (step == "srcroute") {
      SourceRoute(num());
    } else if (step == "listen0-fork") {
      Listen0Fork(num());
    } else if (step == "udp-recv") {
      int port = num();
      UdpRecv(port, num());
    } else if (step == "serve") {
      const char* addr = arg();
      int port = num();
      Serve(addr, port, num());
    } else if (step == "chdir") {
      if (chdir(arg()) != 0) Die("chdir");
    } else if (step == "try-exec") {
      TryExec(arg());
    } else if (step == "daemon") {
      int s = num();
      Daemon(s, num());
    } else {
      errno = EINVAL;
      Die("unknown step " + step);
    }
  }
  return 0;
}
