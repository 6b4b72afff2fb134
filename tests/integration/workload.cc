// fg_workload: a program that does specific things, in order, so tests can check that
// faasguard learned exactly them. Each argument group is one step:
//   syscalls                 getppid, sched_yield, getpriority, sysinfo, times
//   exec PATH                fork + execv(PATH) + wait
//   execs N PATH             N times fork + execv(PATH) + wait
//   tcp4 PORT | tcp6 PORT    connect to 127.0.0.1 / ::1, then close
//   mapped PORT              connect an AF_INET6 socket to ::ffff:127.0.0.1
//   udp4 PORT | udp6 PORT    one unconnected sendto
//   serve PORT               listen on 127.0.0.1:PORT, print "listening", accept one peer
// Steps that may be refused (enforce mode) print one line with the outcome and go on:
//   try-exec PATH ARG        fork + execv(PATH, {PATH, ARG})      -> "exec PATH: exit N|signal N"
//   try-execveat PATH ARG    fork + execveat(open(PATH, O_PATH), "", AT_EMPTY_PATH)
//   try-memfd PATH ARG       fork + copy PATH into a memfd + fexecve
//   try-self                 fork + execv("/proc/self/exe")
//   memfd                    create and fill a memfd, without executing it
//   try-tcp4|try-tcp6|try-mapped|try-udp4|try-udp6 PORT          -> "tcp4 PORT: ok|errno"
//   try-uring-tcp4 PORT      connect through io_uring (IORING_OP_CONNECT)
//   uring-nop                an IORING_OP_NOP through io_uring, then "uring-nop: RES"
//   try-bind PORT            bind a TCP socket to 127.0.0.1:PORT
//   try-listen0              bind to port 0 and listen
//   ptrace | unshare         PTRACE_TRACEME / unshare(CLONE_NEWUTS), then print "survived"
//   getrusage                getrusage(RUSAGE_SELF) (harmless, rarely learned), "survived"
//   signal-self              tgkill(self, SIGURG) and kill(self, 0), then "survived"
//   signal-other PID         kill(PID, SIGCONT), then "survived"
//   thread-wait PATH         a second thread waits for PATH to exist (10 ms polls), then makes
//                            unshare(CLONE_NEWUTS) and prints "survived"; the main thread prints
//                            "waiting" once the thread runs, and joins it
//   forkserve PORT N         a fork-per-request server: N connections, one child each; a
//                            child reads one line: "ok" answers, "ptrace" makes the syscall,
//                            "exec PATH" execs PATH; the parent prints each child's status
// Files (each try- step forks a child that opens, then uses the file, and prints what it got;
// the parent prints "<what> PATH: exit N|signal N"):
//   read PATH | write PATH   open O_RDONLY and read / open O_WRONLY|O_CREAT|O_TRUNC and write
//   try-read PATH            open O_RDONLY, print "got PATH: <first bytes>"
//   try-open PATH FLAGS      open with FLAGS (words joined by ',': rdonly wronly rdwr creat
//                            trunc excl append tmpfile directory), print "opened PATH"
//   try-write PATH TEXT      open O_WRONLY|O_CREAT|O_TRUNC, write TEXT, print "wrote PATH"
//   try-openat2 PATH         openat2(O_RDONLY) then read
//   try-uring-open PATH      io_uring IORING_OP_OPENAT (O_RDONLY), then read the descriptor
//   try-uring-direct PATH    the same into the ring's fixed-file table, read with IORING_OP_READ
//   try-procfd PATH          open(PATH, O_PATH), then open /proc/self/fd/N O_RDONLY and read
//   try-by-handle PATH       name_to_handle_at + open_by_handle_at(O_RDONLY), then read
//   try-proc-self            read /proc/self/status and /proc/<own pid>/status
//   try-deleted PATH         open PATH (create it if missing), unlink it, reopen it through
//                            /proc/self/fd
//   try-reopen memfd|pipe|eventfd   reopen such a descriptor through /proc/self/fd
// Exits 0 when every strict step worked, 1 with a message otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

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

std::string Status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "signal " + std::to_string(WTERMSIG(st));
  return "unknown";
}

// fork, run `child` in the child (it must exec or _exit), print "<what>: <status>".
template <typename Fn>
void TryChild(const std::string& what, Fn child) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    child();
    _exit(126);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) Die("waitpid");
  std::printf("%s: %s\n", what.c_str(), Status(st).c_str());
  std::fflush(stdout);
}

void TryExec(const char* path, const char* arg) {
  TryChild(std::string("exec ") + path, [&] {
    char* const argv[] = {const_cast<char*>(path), const_cast<char*>(arg), nullptr};
    execv(path, argv);
  });
}

// A child that makes a cgroup under its own and moves itself there, then execs: a process
// trying to leave its function's cgroup for one nobody registered.
void TryEscape(const char* dir, const char* path, const char* arg) {
  TryChild(std::string("escape ") + path, [&] {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) Die(std::string("mkdir ") + dir);
    int fd = open((std::string(dir) + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) Die(std::string("move into ") + dir);
    close(fd);
    char* const argv[] = {const_cast<char*>(path), const_cast<char*>(arg), nullptr};
    execv(path, argv);
  });
}

void TryExecveat(const char* path, const char* arg) {
  TryChild(std::string("execveat ") + path, [&] {
    int fd = open(path, O_PATH | O_CLOEXEC);
    char* const argv[] = {const_cast<char*>(path), const_cast<char*>(arg), nullptr};
    char* const envp[] = {nullptr};
    syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
  });
}

void TryMemfd(const char* path, const char* arg) {
  TryChild(std::string("memfd ") + path, [&] {
    int src = open(path, O_RDONLY | O_CLOEXEC);
    int mfd = static_cast<int>(syscall(SYS_memfd_create, "payload", 0));
    if (src < 0 || mfd < 0) _exit(125);
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
      if (write(mfd, buf, static_cast<size_t>(n)) != n) _exit(125);
    char* const argv[] = {const_cast<char*>(path), const_cast<char*>(arg), nullptr};
    char* const envp[] = {nullptr};
    fexecve(mfd, argv, envp);
  });
}

void TryNet(const std::string& what, int family, int type, const char* ip, int port) {
  int fd = socket(family, type, 0);
  if (fd < 0) Die("socket");
  socklen_t len;
  sockaddr_storage ss = Addr(family, ip, port, &len);
  int r = type == SOCK_STREAM
              ? connect(fd, reinterpret_cast<sockaddr*>(&ss), len)
              : static_cast<int>(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&ss), len));
  std::printf("%s %d: %s\n", what.c_str(), port, r < 0 ? strerrorname_np(errno) : "ok");
  std::fflush(stdout);
  close(fd);
}

// Two UDP datagrams in one sendmmsg call: "ok" when both went, else the error.
void TrySendmmsg(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) Die("socket");
  socklen_t len;
  sockaddr_storage ss = Addr(AF_INET, "127.0.0.1", port, &len);
  char a = 'a', b = 'b';
  iovec iov[2] = {{&a, 1}, {&b, 1}};
  mmsghdr m[2] = {};
  for (int i = 0; i < 2; ++i) {
    m[i].msg_hdr.msg_name = &ss;
    m[i].msg_hdr.msg_namelen = len;
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  int r = sendmmsg(fd, m, 2, 0);
  std::printf("sendmmsg %d: %s\n", port, r == 2 ? "ok" : r < 0 ? strerrorname_np(errno) : "short");
  std::fflush(stdout);
  close(fd);
}

// A fresh io_uring with one SQE submitted and waited for; returns the CQE's result.
struct Uring {
  io_uring_params p{};
  int ring = -1;
  char *sq = nullptr, *cq = nullptr;
  io_uring_sqe* sqes = nullptr;
  Uring() {
    ring = static_cast<int>(syscall(SYS_io_uring_setup, 4, &p));
    if (ring < 0) Die("io_uring_setup");
    sq = static_cast<char*>(mmap(nullptr, p.sq_off.array + p.sq_entries * sizeof(unsigned),
                                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                                 IORING_OFF_SQ_RING));
    cq = static_cast<char*>(mmap(nullptr, p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe),
                                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                                 IORING_OFF_CQ_RING));
    sqes = static_cast<io_uring_sqe*>(mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe),
                                           PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                                           IORING_OFF_SQES));
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) Die("mmap io_uring");
  }
  int Submit(const io_uring_sqe& e) {
    unsigned tail = *reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
    unsigned idx = tail & *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
    sqes[idx] = e;
    reinterpret_cast<unsigned*>(sq + p.sq_off.array)[idx] = idx;
    __atomic_store_n(reinterpret_cast<unsigned*>(sq + p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, nullptr, 0) < 0)
      Die("io_uring_enter");
    unsigned head =
        __atomic_load_n(reinterpret_cast<unsigned*>(cq + p.cq_off.head), __ATOMIC_ACQUIRE);
    auto* cqes = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
    int res = cqes[head & *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask)].res;
    __atomic_store_n(reinterpret_cast<unsigned*>(cq + p.cq_off.head), head + 1, __ATOMIC_RELEASE);
    return res;
  }
};

// Submits one operation through a fresh io_uring and returns its result (cqe res).
int UringOnce(const io_uring_sqe& want) {
  Uring u;
  int res = u.Submit(want);
  close(u.ring);
  return res;
}

// A TCP connect submitted through io_uring (connects there do not pass the syscall).
void TryUringConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t len;
  sockaddr_storage ss = Addr(AF_INET, "127.0.0.1", port, &len);
  io_uring_sqe e{};
  e.opcode = IORING_OP_CONNECT;
  e.fd = fd;
  e.addr = reinterpret_cast<uint64_t>(&ss);
  e.off = len;
  int res = UringOnce(e);
  std::printf("uring-tcp4 %d: %s\n", port, res < 0 ? strerrorname_np(-res) : "ok");
  std::fflush(stdout);
  close(fd);
}

// --- Files -----------------------------------------------------------------------------------

// "wronly,creat,trunc" -> O_WRONLY | O_CREAT | O_TRUNC.
int OpenFlags(const std::string& words) {
  static const std::map<std::string, int> kFlags = {
      {"rdonly", O_RDONLY},      {"wronly", O_WRONLY},
      {"rdwr", O_RDWR},          {"creat", O_CREAT},
      {"trunc", O_TRUNC},        {"excl", O_EXCL},
      {"append", O_APPEND},      {"tmpfile", O_TMPFILE | O_RDWR},
      {"directory", O_DIRECTORY}};
  int f = 0;
  size_t start = 0;
  while (start <= words.size()) {
    size_t end = words.find(',', start);
    std::string w = words.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto it = kFlags.find(w);
    if (it != kFlags.end()) {
      f |= it->second;
    } else if (!w.empty()) {
      errno = EINVAL;
      Die("unknown open flag " + w);
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return f;
}

// What a child got from a descriptor: "got PATH: <up to 64 bytes>" (exit 3 if the open failed).
void PrintGot(const char* path, int fd) {
  if (fd < 0) {
    std::printf("open %s: %s\n", path, strerrorname_np(errno));
    std::fflush(stdout);
    _exit(3);
  }
  char buf[65] = {};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) n = 0;
  std::string line = std::string("got ") + path + ": " + std::string(buf, static_cast<size_t>(n));
  while (!line.empty() && line.back() == '\n') line.pop_back();
  line += '\n';
  (void)!write(1, line.data(), line.size());
}

void TryUringOpen(const char* path, bool direct) {
  TryChild(std::string(direct ? "uring-direct " : "uring-open ") + path, [&] {
    Uring u;
    if (direct) {
      int fds[1] = {-1};
      if (syscall(SYS_io_uring_register, u.ring, IORING_REGISTER_FILES, fds, 1) < 0)
        Die("IORING_REGISTER_FILES");
    }
    io_uring_sqe e{};
    e.opcode = IORING_OP_OPENAT;
    e.fd = AT_FDCWD;
    e.addr = reinterpret_cast<uint64_t>(path);
    e.open_flags = O_RDONLY;
    if (direct) e.file_index = 1;  // slot 0
    int res = u.Submit(e);
    if (res < 0) {
      errno = -res;
      PrintGot(path, -1);
    }
    if (!direct) {
      PrintGot(path, res);
      _exit(0);
    }
    char buf[65] = {};
    io_uring_sqe r{};
    r.opcode = IORING_OP_READ;
    r.fd = 0;  // fixed file 0
    r.flags = IOSQE_FIXED_FILE;
    r.addr = reinterpret_cast<uint64_t>(buf);
    r.len = sizeof buf - 1;
    int n = u.Submit(r);
    std::string line = std::string("got ") + path + ": " + std::string(buf, n > 0 ? n : 0);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    line += '\n';
    (void)!write(1, line.data(), line.size());
    _exit(0);
  });
}

void TryByHandle(const char* path) {
  TryChild(std::string("by-handle ") + path, [&] {
    struct {
      file_handle h;
      unsigned char bytes[MAX_HANDLE_SZ];
    } fh{};
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, path, &fh.h, &mount_id, 0) != 0) Die("name_to_handle_at");
    int mfd = open("/", O_RDONLY | O_DIRECTORY);
    PrintGot(path, open_by_handle_at(mfd, &fh.h, O_RDONLY));
    _exit(0);
  });
}

void TryBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;  // a port just used by a test may still have connections in TIME_WAIT
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len;
  sockaddr_storage ss = Addr(AF_INET, "127.0.0.1", port, &len);
  int r = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  std::printf("bind %d: %s\n", port, r < 0 ? strerrorname_np(errno) : "ok");
  std::fflush(stdout);
  close(fd);
}

void TryListen0() {
  TryChild("listen0", [] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len;
    sockaddr_storage ss = Addr(AF_INET, "127.0.0.1", 0, &len);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) _exit(2);
    if (listen(fd, 1) != 0) _exit(3);
    _exit(0);
  });
}

// One child per connection; the parent (the "watchdog") must outlive whatever a child does.
void ForkServe(int port, int n) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len;
  sockaddr_storage ss = Addr(AF_INET, "127.0.0.1", port, &len);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) Die("bind");
  if (listen(fd, 8) != 0) Die("listen");
  std::printf("listening\n");
  std::fflush(stdout);
  for (int i = 0; i < n; ++i) {
    int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) Die("accept4");
    pid_t pid = fork();
    if (pid == 0) {
      char line[256] = {};
      ssize_t r = read(c, line, sizeof line - 1);
      if (r > 0 && line[r - 1] == '\n') line[r - 1] = 0;
      std::string req = line;
      if (req == "ptrace") {
        ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
      } else if (req.rfind("exec ", 0) == 0) {
        std::string path = req.substr(5);
        char* const argv[] = {const_cast<char*>(path.c_str()), nullptr};
        execv(path.c_str(), argv);
      }
      (void)!write(c, "ok\n", 3);
      _exit(0);
    }
    close(c);
    int st;
    waitpid(pid, &st, 0);
    std::printf("child %d: %s\n", i, Status(st).c_str());
    std::fflush(stdout);
  }
  close(fd);
  std::printf("watchdog done\n");
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
    } else if (step == "try-exec") {
      const char* path = arg();
      TryExec(path, arg());
    } else if (step == "try-escape") {
      const char* dir = arg();
      const char* path = arg();
      TryEscape(dir, path, arg());
    } else if (step == "try-execveat") {
      const char* path = arg();
      TryExecveat(path, arg());
    } else if (step == "try-memfd") {
      const char* path = arg();
      TryMemfd(path, arg());
    } else if (step == "memfd") {
      int mfd = static_cast<int>(syscall(SYS_memfd_create, "scratch", 0));
      if (mfd < 0 || write(mfd, "x", 1) != 1) Die("memfd");
      close(mfd);
    } else if (step == "try-self") {
      TryChild("exec /proc/self/exe", [] {
        char* const av[] = {const_cast<char*>("/proc/self/exe"), nullptr};
        execv("/proc/self/exe", av);
      });
    } else if (step == "try-tcp4") {
      TryNet("tcp4", AF_INET, SOCK_STREAM, "127.0.0.1", std::atoi(arg()));
    } else if (step == "try-tcp6") {
      TryNet("tcp6", AF_INET6, SOCK_STREAM, "::1", std::atoi(arg()));
    } else if (step == "try-mapped") {
      TryNet("mapped", AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", std::atoi(arg()));
    } else if (step == "try-udp4") {
      TryNet("udp4", AF_INET, SOCK_DGRAM, "127.0.0.1", std::atoi(arg()));
    } else if (step == "try-udp6") {
      TryNet("udp6", AF_INET6, SOCK_DGRAM, "::1", std::atoi(arg()));
    } else if (step == "try-sendmmsg4") {
      TrySendmmsg(std::atoi(arg()));
    } else if (step == "try-uring-tcp4") {
      TryUringConnect(std::atoi(arg()));
    } else if (step == "uring-nop") {
      io_uring_sqe e{};
      e.opcode = IORING_OP_NOP;
      std::printf("uring-nop: %d\n", UringOnce(e));
      std::fflush(stdout);
    } else if (step == "try-bind") {
      TryBind(std::atoi(arg()));
    } else if (step == "try-listen0") {
      TryListen0();
    } else if (step == "ptrace") {
      ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
      std::printf("survived\n");
      std::fflush(stdout);
    } else if (step == "unshare") {
      unshare(CLONE_NEWUTS);
      std::printf("survived\n");
      std::fflush(stdout);
    } else if (step == "signal-self") {
      // What runtimes do: Go preempts its own threads with tgkill(SIGURG), abort() raises.
      syscall(SYS_tgkill, getpid(), static_cast<pid_t>(syscall(SYS_gettid)), SIGURG);
      kill(getpid(), 0);
      std::printf("survived\n");
      std::fflush(stdout);
    } else if (step == "signal-other") {
      kill(static_cast<pid_t>(std::atoi(arg())), SIGCONT);
      std::printf("survived\n");
      std::fflush(stdout);
    } else if (step == "say") {
      // Writes a line (what every function does: its output), learned with the rest.
      std::printf("%s\n", arg());
      std::fflush(stdout);
    } else if (step == "fork-noop") {
      // A child that exits at once: fork and wait are learned, nothing else.
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      int st = 0;
      waitpid(pid, &st, 0);
    } else if (step == "wait-file") {
      const char* path = arg();
      while (access(path, F_OK) != 0) usleep(10000);
    } else if (step == "try-unlink" || step == "try-chmod" || step == "try-rename" ||
               step == "try-kill" || step == "child-unlink") {
      // One syscall with a side effect; prints "STEP ok" or "STEP EPERM" and goes on. A
      // sacrificial child (child-unlink) makes it and dies instead of the caller.
      const char* a = arg();
      int r = 0;
      if (step == "try-unlink") {
        r = unlink(a);
      } else if (step == "try-chmod") {
        r = chmod(a, 04777);
      } else if (step == "try-rename") {
        r = rename(a, arg());
      } else if (step == "try-kill") {
        r = kill(static_cast<pid_t>(std::atoi(a)), SIGTERM);
      } else {
        pid_t pid = fork();
        if (pid == 0) _exit(unlink(a) == 0 ? 0 : 1);
        int st = 0;
        waitpid(pid, &st, 0);
        r = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
        errno = WIFEXITED(st) ? EPERM : EINTR;
      }
      std::printf("%s %s\n", step.c_str(), r == 0 ? "ok" : strerrorname_np(errno));
      std::fflush(stdout);
    } else if (step == "getrusage") {
      // A harmless syscall a function rarely makes (an error path, a metrics library).
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      std::printf("survived\n");
      std::fflush(stdout);
    } else if (step == "thread-wait") {
      const char* path = arg();
      std::thread t([path] {
        while (access(path, F_OK) != 0) usleep(10000);
        unshare(CLONE_NEWUTS);  // not PTRACE_TRACEME: a traced thread's zombie waits for __WALL
        (void)!write(1, "survived\n", 9);
      });
      std::printf("waiting\n");
      std::fflush(stdout);
      t.join();
    } else if (step == "read") {
      const char* path = arg();
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      char c;
      if (fd < 0 || read(fd, &c, 1) < 0) Die(std::string("read ") + path);
      close(fd);
    } else if (step == "write") {
      const char* path = arg();
      int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || write(fd, "x", 1) != 1) Die(std::string("write ") + path);
      close(fd);
    } else if (step == "try-read") {
      const char* path = arg();
      TryChild(std::string("read ") + path, [&] {
        PrintGot(path, open(path, O_RDONLY));
        _exit(0);
      });
    } else if (step == "try-open") {
      const char* path = arg();
      int flags = OpenFlags(arg());
      TryChild(std::string("open ") + path, [&] {
        int fd = open(path, flags, 0644);
        if (fd < 0) PrintGot(path, fd);
        std::printf("opened %s\n", path);
        std::fflush(stdout);
        _exit(0);
      });
    } else if (step == "try-write") {
      const char* path = arg();
      const char* text = arg();
      TryChild(std::string("write ") + path, [&] {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) PrintGot(path, fd);
        (void)!write(fd, text, std::strlen(text));
        std::printf("wrote %s\n", path);
        std::fflush(stdout);
        _exit(0);
      });
    } else if (step == "try-openat2") {
      const char* path = arg();
      TryChild(std::string("openat2 ") + path, [&] {
        open_how how{};
        how.flags = O_RDONLY;
        PrintGot(path, static_cast<int>(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how)));
        _exit(0);
      });
    } else if (step == "try-uring-open") {
      TryUringOpen(arg(), false);
    } else if (step == "try-uring-direct") {
      TryUringOpen(arg(), true);
    } else if (step == "try-procfd") {
      const char* path = arg();
      TryChild(std::string("procfd ") + path, [&] {
        int o = open(path, O_PATH);
        if (o < 0) PrintGot(path, o);
        std::string via = "/proc/self/fd/" + std::to_string(o);
        PrintGot(path, open(via.c_str(), O_RDONLY));
        _exit(0);
      });
    } else if (step == "try-by-handle") {
      TryByHandle(arg());
    } else if (step == "try-proc-self") {
      TryChild("proc-self", [] {
        std::string own = "/proc/" + std::to_string(getpid()) + "/status";
        PrintGot("/proc/self/status", open("/proc/self/status", O_RDONLY));
        PrintGot(own.c_str(), open(own.c_str(), O_RDONLY));
        _exit(0);
      });
    } else if (step == "try-deleted") {
      const char* path = arg();
      TryChild(std::string("deleted ") + path, [&] {
        // An existing file is only read; a new one is made (and written) first.
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
          fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
          if (fd < 0 || write(fd, "gone", 4) != 4) Die("deleted file");
        }
        if (unlink(path) != 0) Die("unlink");
        PrintGot(path, open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY));
        _exit(0);
      });
    } else if (step == "try-reopen") {
      std::string kind = arg();
      TryChild("reopen " + kind, [&] {
        int fd = -1, p[2];
        if (kind == "memfd") {
          fd = static_cast<int>(syscall(SYS_memfd_create, "scratch", 0));
          if (fd < 0 || write(fd, "mem", 3) != 3) Die("memfd");
        } else if (kind == "pipe") {
          if (pipe(p) != 0 || write(p[1], "piped", 5) != 5) Die("pipe");
          fd = p[0];
        } else {
          fd = eventfd(1, 0);
        }
        PrintGot(kind.c_str(), open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY));
        _exit(0);
      });
    } else if (step == "forkserve") {
      int port = std::atoi(arg());
      ForkServe(port, std::atoi(arg()));
    } else {
      errno = EINVAL;
      Die("unknown step " + step);
    }
  }
  return 0;
}
