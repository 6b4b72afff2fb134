#include "support/containerd_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cgroup/cgroup.h"
#include "common/files.h"
#include "common/status.h"

#ifndef FG_TEST_PAUSE_PATH
#error "FG_TEST_PAUSE_PATH (the static pause binary built by tests/support) must be defined"
#endif

namespace faasguard::testing {
namespace {

namespace cri = ::runtime::v1;

constexpr char kCriNamespace[] = "k8s.io";
// containerd 1.6 puts every shim's socket here, whatever its --state: unix://<this>/<sha256 of
// "<containerd socket>/<namespace>/<shim id>">, the shim id being the sandbox id for CRI pods.
constexpr char kShimSocketDir[] = "/run/containerd/s";
// Cgroup parents (/kubepods, /kubepods/<qos>) created by any harness, one per line: the last
// harness to leave removes them. Outside the "fg-containerd-" prefix on purpose.
constexpr char kParentsMarker[] = "/tmp/fg-containerd.cgroup-parents";
constexpr char kPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---- small file and process helpers ----

std::string ReadOr(const std::string& path, std::string fallback = "") {
  auto s = ReadFile(path);
  return s.ok() ? *s : fallback;
}

absl::Status WriteWhole(const std::string& path, absl::string_view content, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("create ", path));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return ErrnoStatus(e, absl::StrCat("write ", path));
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return ErrnoStatus(errno, absl::StrCat("close ", path));
  return absl::OkStatus();
}

absl::Status AppendLine(const std::string& path, absl::string_view line) {
  std::ofstream f(path, std::ios::app);
  f << line << "\n";
  f.flush();
  if (!f) return absl::InternalError(absl::StrCat("append to ", path));
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!::read(fd, raw.data(), raw.size());
    ::close(fd);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string RandomUuid() {
  std::string h = RandomHex(16);
  h[12] = '4';  // version 4
  h[16] = "89ab"[h[16] % 4];
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string FindProgram(const std::string& name) {
  for (const char* d :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = absl::StrCat(d, "/", name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// The process's start time (field 22 of /proc/<pid>/stat), or "" when it is gone or a zombie.
std::string StartTimeOf(pid_t pid) {
  std::string stat = ReadOr(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return "";
  std::vector<std::string> f = absl::StrSplit(stat.substr(paren + 2), ' ');
  // After "pid (comm) ": f[0] is field 3 (state), so field 22 is f[19].
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return "";
  return f[19];
}

bool Alive(pid_t pid) { return !StartTimeOf(pid).empty(); }

std::vector<std::string> CmdlineOf(pid_t pid) {
  std::string raw = ReadOr(absl::StrCat("/proc/", pid, "/cmdline"));
  std::vector<std::string> args = absl::StrSplit(raw, '\0');
  while (!args.empty() && args.back().empty()) args.pop_back();
  return args;
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (!d) return pids;
  while (dirent* e = ::readdir(d)) {
    int pid;
    if (absl::SimpleAtoi(e->d_name, &pid) && pid > 0) pids.push_back(pid);
  }
  ::closedir(d);
  return pids;
}

// Waits until none of `pids` is alive (zombies count as gone: their parent reaps them).
bool WaitGone(const std::vector<pid_t>& pids, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool any = false;
    for (pid_t p : pids) any = any || Alive(p);
    if (!any) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

// Waits for our child `pid` at most `timeout`; SIGKILL then. Returns its wait status.
int ReapChild(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return status;
    if (absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

struct CommandResult {
  int exit_code = -1;  // 128+signal when killed
  std::string output;  // stdout and stderr
};

// Runs argv (no shell) with stdout+stderr captured, killed after `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* env[] = {const_cast<char*>(kPath), nullptr};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execve(args[0], args.data(), env);
    _exit(127);
  }
  ::close(fds[1]);
  CommandResult r;
  absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  bool timed_out = false;
  while (true) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    r.output.append(buf, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  int status = ReapChild(pid, timed_out ? absl::ZeroDuration() : absl::Seconds(5));
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (timed_out)
    return absl::DeadlineExceededError(absl::StrCat(absl::StrJoin(argv, " "), " took more than ",
                                                    absl::FormatDuration(timeout),
                                                    "; output: ", r.output));
  return r;
}

// ---- mounts and cgroups ----

struct MountEntry {
  std::string point;
  std::string fstype;
  std::string options;  // super options (v1 controllers)
};

std::string Unescape(absl::string_view s) {  // mountinfo escapes ' ', '\t', '\n', '\\' as \ooo
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<MountEntry> Mounts() {
  std::vector<MountEntry> out;
  std::istringstream in(ReadOr("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    MountEntry m;
    m.point = Unescape(f[4]);
    m.fstype = *(dash + 1);
    if (dash + 3 < f.end()) m.options = *(dash + 3);
    out.push_back(std::move(m));
  }
  return out;
}

// Every cgroup hierarchy's mount point (v1 controllers and the v2 hierarchy).
std::vector<std::string> CgroupHierarchies() {
  std::vector<std::string> out;
  for (const MountEntry& m : Mounts())
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") out.push_back(m.point);
  return out;
}

// rmdir a cgroup and every cgroup below it, deepest first. Tasks must be gone already.
absl::Status RemoveCgroupTree(const std::string& path) {
  if (DIR* d = ::opendir(path.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d))
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 &&
          std::strcmp(e->d_name, "..") != 0)
        children.push_back(absl::StrCat(path, "/", e->d_name));
    ::closedir(d);
    for (const std::string& c : children) FG_RETURN_IF_ERROR(RemoveCgroupTree(c));
  }
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (::rmdir(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY || absl::Now() > deadline)
      return ErrnoStatus(errno, absl::StrCat("rmdir cgroup ", path));
    absl::SleepFor(absl::Milliseconds(10));  // tasks still leaving
  }
  return absl::OkStatus();
}

// Kills every task in a v2 cgroup subtree and waits until it is empty.
absl::Status KillCgroupTree(const std::string& dir) {
  if (!Exists(dir)) return absl::OkStatus();
  if (Exists(dir + "/cgroup.kill")) {
    (void)WriteWhole(dir + "/cgroup.kill", "1");
  }
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (true) {
    std::string events = ReadOr(dir + "/cgroup.events", "populated 0");
    if (absl::StrContains(events, "populated 0")) return absl::OkStatus();
    if (absl::Now() > deadline)
      return absl::DeadlineExceededError(absl::StrCat("tasks left in ", dir, " after cgroup.kill"));
    absl::SleepFor(absl::Milliseconds(10));
  }
}

int RemoveEntry(const char* path, const struct stat* st, int type, FTW* ftw) {
  (void)st;
  (void)ftw;
  if (type == FTW_DP)
    ::rmdir(path);
  else
    ::unlink(path);
  return 0;
}

// rm -rf that neither follows symlinks nor crosses into another file system (a mount left
// behind is never emptied; its mount point's rmdir fails and the directory stays).
absl::Status RemoveTree(const std::string& dir) {
  if (!Exists(dir)) return absl::OkStatus();
  ::nftw(dir.c_str(), RemoveEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (Exists(dir)) return absl::InternalError(absl::StrCat("could not remove all of ", dir));
  return absl::OkStatus();
}

// ---- the test images ----

// One ustar entry (header + data padded to 512 bytes).
void TarEntry(std::string* out, const std::string& name, char type, int mode,
              absl::string_view data) {
  char h[512] = {};
  auto put = [&h](size_t off, size_t len, const std::string& s) {
    std::memcpy(h + off, s.data(), std::min(len, s.size()));
  };
  auto octal = [&put](size_t off, size_t len, uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(len - 1),
                  static_cast<unsigned long long>(v));
    put(off, len - 1, buf);
  };
  put(0, 100, name);
  octal(100, 8, static_cast<uint64_t>(mode));
  octal(108, 8, 0);  // uid
  octal(116, 8, 0);  // gid
  octal(124, 12, data.size());
  octal(136, 12, 1700000000);  // mtime: fixed, so the layer digest is reproducible
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  std::memcpy(h + 148, chk, 7);  // six digits, NUL, then the space already there
  out->append(h, sizeof h);
  out->append(data.data(), data.size());
  out->append((512 - data.size() % 512) % 512, '\0');
}

void TarEnd(std::string* out) { out->append(1024, '\0'); }

std::string GoArch() {
  utsname u;
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "armv7l") return "arm";
  return m;
}

std::string ImageConfigJson(const std::string& diff_id, const std::string& role) {
  // The pause image starts /pause by itself; the function image says so only as a default
  // command (CRI containers always give theirs), and a label makes its config (id) distinct.
  std::string cfg = role == "pause"
                        ? R"("Entrypoint":["/pause"])"
                        : R"("Cmd":["/pause"],"Labels":{"dev.faasguard.test":"function"})";
  return absl::StrCat(R"({"architecture":")", GoArch(), R"(","os":"linux","config":{)", cfg,
                      R"(,"Env":[")", kPath, R"("],"WorkingDir":"/"},)",
                      R"("rootfs":{"type":"layers","diff_ids":["sha256:)", diff_id, R"("]},)",
                      R"("history":[{"created_by":"faasguard containerd harness"}]})");
}

// ---- containerd's config ----

// Sets `key = value` in TOML `section` ("" for the top level) of containerd's default config,
// keeping the line's indentation. An error when the section or the key is not there.
absl::Status SetTomlKey(std::string* toml, const std::string& section, const std::string& key,
                        const std::string& value) {
  std::vector<std::string> lines = absl::StrSplit(*toml, '\n');
  std::string current;
  for (std::string& line : lines) {
    absl::string_view t = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(t, "[")) {
      current = std::string(absl::StripSuffix(absl::StripPrefix(t, "["), "]"));
      continue;
    }
    if (current != section) continue;
    if (!absl::StartsWith(t, key + " =")) continue;
    size_t indent = line.find_first_not_of(' ');
    line = absl::StrCat(std::string(indent, ' '), key, " = ", value);
    *toml = absl::StrJoin(lines, "\n");
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("`containerd config default` has no ", key, " in [",
                                          section, "] (containerd changed its defaults?)"));
}

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

// Can this machine mount overlayfs in `dir` (what the overlayfs snapshotter needs)?
bool OverlayWorks(const std::string& dir) {
  std::string base = dir + "/overlay-probe";
  for (const char* d : {"", "/lower", "/upper", "/work", "/merged"})
    if (::mkdir((base + d).c_str(), 0700) != 0 && errno != EEXIST) return false;
  std::string opts =
      absl::StrCat("lowerdir=", base, "/lower,upperdir=", base, "/upper,workdir=", base, "/work");
  bool ok = ::mount("overlay", (base + "/merged").c_str(), "overlay", 0, opts.c_str()) == 0;
  if (ok) ::umount2((base + "/merged").c_str(), MNT_DETACH);
  (void)RemoveTree(base);
  return ok;
}

// Every harness directory there is ("/tmp/fg-containerd-*"), live or stale.
std::vector<std::string> HarnessDirs() {
  const std::string prefix = ContainerdHarness::kDirPrefix;
  const std::string parent = prefix.substr(0, prefix.rfind('/'));  // "/tmp"
  const std::string base = prefix.substr(prefix.rfind('/') + 1);   // "fg-containerd-"
  std::vector<std::string> dirs;
  DIR* d = ::opendir(parent.c_str());
  if (!d) return dirs;
  while (dirent* e = ::readdir(d))
    if (absl::StartsWith(e->d_name, base)) dirs.push_back(absl::StrCat(parent, "/", e->d_name));
  ::closedir(d);
  return dirs;
}

}  // namespace

// ---- public helpers ----

std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> out;
  pid_t self = ::getpid();
  for (pid_t pid : AllPids()) {
    if (pid == self) continue;
    for (const std::string& a : CmdlineOf(pid)) {
      if (absl::StrContains(a, needle)) {
        if (Alive(pid)) out.push_back(pid);
        break;
      }
    }
  }
  return out;
}

std::string ShimSocketPath(const std::string& containerd_socket, const std::string& shim_id) {
  return absl::StrCat(kShimSocketDir, "/",
                      Sha256Hex(absl::StrCat(containerd_socket, "/", kCriNamespace, "/", shim_id)));
}

std::vector<std::string> MountsBelow(const std::string& dir) {
  std::vector<std::string> out;
  for (const MountEntry& m : Mounts())
    if (m.point == dir || absl::StartsWith(m.point, dir + "/")) out.push_back(m.point);
  return out;
}

absl::Status CleanContainerdDir(const std::string& dir) {
  if (!absl::StartsWith(dir, ContainerdHarness::kDirPrefix) || absl::StrContains(dir, ".."))
    return absl::InvalidArgumentError(absl::StrCat(dir, " is not a harness directory"));
  absl::Status first;
  auto note = [&first](absl::Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  const std::string socket = dir + "/containerd.sock";

  // containerd, its shims and ctr: the containerd programs whose command line names our
  // directory (containerd --config DIR/..., containerd-shim-runc-v2 -address DIR/...). Anything
  // else that mentions it (an editor on the log) is left alone.
  std::vector<pid_t> ours;
  std::vector<std::string> shim_ids;  // a shim killed here leaves its socket: remember its id
  for (pid_t p : ProcessesMentioning(dir + "/")) {
    std::vector<std::string> argv = CmdlineOf(p);
    std::string prog = argv.empty() ? "" : argv[0].substr(argv[0].rfind('/') + 1);
    if (!absl::StartsWith(prog, "containerd") && prog != "ctr") continue;
    ours.push_back(p);
    for (size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == "-id") shim_ids.push_back(argv[i + 1]);
  }
  for (pid_t p : ours) ::kill(p, SIGKILL);

  // What runs in our pods (pause, the containers' processes): cgroup.kill on each pod cgroup.
  std::vector<std::pair<std::string, std::string>> records;  // (kind, cgroup path)
  for (absl::string_view line : absl::StrSplit(ReadOr(dir + "/cgroups"), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(' ', 1));
    if (kv.second.empty() || kv.second[0] != '/' || absl::StrContains(kv.second, "..")) continue;
    records.push_back(kv);
  }
  auto cgroup2 = DiscoverCgroup2Mount();
  if (cgroup2.ok())
    for (const auto& [kind, path] : records)
      if (kind == "pod") note(KillCgroupTree(*cgroup2 + path));
  if (!WaitGone(ours, absl::Seconds(5)))
    note(absl::DeadlineExceededError(absl::StrCat("processes of ", dir, " survive SIGKILL")));

  // Mounts (rootfs overlays, sandbox /dev/shm), deepest first.
  std::vector<std::string> mounts = MountsBelow(dir);
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& m : mounts)
    if (::umount2(m.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      note(ErrnoStatus(errno, absl::StrCat("umount ", m)));

  // Cgroups, in every hierarchy, newest record first: a pod's whole subtree (container
  // cgroups runc left behind too), and the parents we created when they are empty.
  std::vector<std::string> hierarchies = CgroupHierarchies();
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    for (const std::string& h : hierarchies) {
      std::string path = h + it->second;
      if (it->first == "pod") {
        note(RemoveCgroupTree(path));
      } else if (::rmdir(path.c_str()) != 0 && errno != ENOENT && errno != EBUSY &&
                 errno != ENOTEMPTY) {
        note(ErrnoStatus(errno, absl::StrCat("rmdir ", path)));
      }
    }
  }

  // The shims' sockets (a killed shim leaves its socket behind), and their directory when
  // nothing else uses it.
  for (absl::string_view id : absl::StrSplit(ReadOr(dir + "/sandboxes"), '\n', absl::SkipEmpty()))
    shim_ids.emplace_back(id);
  for (const std::string& id : shim_ids) ::unlink(ShimSocketPath(socket, id).c_str());
  note(RemoveTree(dir));

  // The last harness out (none other running: a test in parallel may be about to use them)
  // removes the shims' socket directory, and every cgroup parent a harness created (a parent
  // made by one harness may have held another's pods when its maker left). Checked after our
  // directory is gone, so of two harnesses leaving together at least the later one sees none.
  std::vector<std::string> others = HarnessDirs();
  others.erase(std::remove(others.begin(), others.end(), dir), others.end());
  if (others.empty()) {
    ::rmdir(kShimSocketDir);
    ::rmdir("/run/containerd");
    std::vector<std::string> parents =
        absl::StrSplit(ReadOr(kParentsMarker), '\n', absl::SkipEmpty());
    std::sort(parents.begin(), parents.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& p : parents)
      if (p[0] == '/' && !absl::StrContains(p, ".."))
        for (const std::string& h : hierarchies) ::rmdir((h + p).c_str());
    ::unlink(kParentsMarker);
  }
  return first;
}

void ContainerdHarness::CleanStale() {
  for (const std::string& dir : HarnessDirs()) {
    std::string owner = ReadOr(dir + "/owner");
    std::pair<std::string, std::string> f =
        absl::StrSplit(absl::StripAsciiWhitespace(owner), absl::MaxSplits(' ', 1));
    int pid = 0;
    if (absl::SimpleAtoi(f.first, &pid) && pid > 0 && StartTimeOf(pid) == f.second &&
        !f.second.empty())
      continue;  // its owner still runs (a test in parallel)
    if (owner.empty()) {
      struct stat st;
      // Written right after mkdtemp: a directory without one is a Start() in progress
      // unless it is old.
      if (::stat(dir.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime < 60) continue;
    }
    (void)CleanContainerdDir(dir);
  }
}

// ---- ContainerdHarness ----

absl::StatusOr<std::unique_ptr<ContainerdHarness>> ContainerdHarness::Start(
    const Options& options) {
  absl::Time t0 = absl::Now();
  if (::geteuid() != 0) return absl::FailedPreconditionError("the containerd harness needs root");
  for (const char* p : {"containerd", "ctr", "runc", "containerd-shim-runc-v2"})
    if (FindProgram(p).empty())
      return absl::FailedPreconditionError(
          absl::StrCat(p, " is not installed (Debian: apt-get install containerd runc)"));
  if (options.clean_stale) CleanStale();

  std::unique_ptr<ContainerdHarness> h(new ContainerdHarness());
  std::string tmpl = absl::StrCat(kDirPrefix, "XXXXXX");
  if (!::mkdtemp(tmpl.data())) return ErrnoStatus(errno, "mkdtemp " + tmpl);
  h->dir_ = tmpl;
  h->socket_ = h->dir_ + "/containerd.sock";
  FG_RETURN_IF_ERROR(
      WriteWhole(h->dir_ + "/owner", absl::StrCat(::getpid(), " ", StartTimeOf(::getpid()), "\n")));
  FG_ASSIGN_OR_RETURN(h->cgroup2_, DiscoverCgroup2Mount());
  if (!OverlayWorks(h->dir_)) h->snapshotter_ = "native";
  if (absl::Status s = h->Launch(options); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), "\ncontainerd log (", h->dir_,
                                               "/containerd.log):\n", h->DaemonLogTail()));
  }
  std::string pause = options.pause_binary.empty() ? FG_TEST_PAUSE_PATH : options.pause_binary;
  FG_RETURN_IF_ERROR(h->ImportImages(pause));
  h->start_time_ = absl::Now() - t0;
  return h;
}

absl::Status ContainerdHarness::WriteConfig() {
  FG_ASSIGN_OR_RETURN(
      CommandResult def,
      RunCommand({FindProgram("containerd"), "config", "default"}, absl::Seconds(10)));
  if (def.exit_code != 0)
    return absl::InternalError(absl::StrCat("containerd config default: ", def.output));
  std::string toml = def.output;
  const std::string cri = R"(plugins."io.containerd.grpc.v1.cri")";
  struct Edit {
    std::string section, key, value;
  };
  std::vector<Edit> edits = {
      {"", "disabled_plugins", "[]"},  // the CRI plugin on
      {"", "root", Quote(dir_ + "/root")},
      {"", "state", Quote(dir_ + "/state")},
      {"grpc", "address", Quote(socket_)},
      // This machine lacks CAP_SYS_RESOURCE: a sandbox asking for oom_score_adj -998 makes
      // runc fail with "can't get final child's PID from pipe: EOF".
      {cri, "restrict_oom_score_adj", "true"},
      {cri, "sandbox_image", Quote(kPauseImage)},  // imported, never pulled
      {cri, "systemd_cgroup", "false"},
      {cri, "netns_mounts_under_state_dir", "true"},
      {cri + ".cni", "bin_dir", Quote("/usr/lib/cni")},
      {cri + ".cni", "conf_dir", Quote(dir_ + "/cni")},
      {cri + ".containerd", "snapshotter", Quote(snapshotter_)},
      {cri + ".containerd.runtimes.runc.options", "SystemdCgroup", "false"},  // cgroupfs
      {cri + ".containerd.runtimes.runc.options", "Root", Quote(dir_ + "/runc")},
      {R"(plugins."io.containerd.internal.v1.opt")", "path", Quote(dir_ + "/opt")},
  };
  for (const Edit& e : edits) FG_RETURN_IF_ERROR(SetTomlKey(&toml, e.section, e.key, e.value));
  return WriteWhole(dir_ + "/config.toml", toml);
}

absl::Status ContainerdHarness::Launch(const Options& options) {
  FG_RETURN_IF_ERROR(WriteConfig());
  std::string bin = FindProgram("containerd");
  std::string config = dir_ + "/config.toml", root = dir_ + "/root", state = dir_ + "/state";
  std::string log = dir_ + "/containerd.log";
  std::vector<std::string> argv = {bin,      "--config", config,    "--address", socket_,
                                   "--root", root,       "--state", state};
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* env[] = {const_cast<char*>(kPath), nullptr};
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoStatus(errno, "create " + log);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return ErrnoStatus(errno, "fork");
  }
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::setsid();
    // containerd dies with the test (a crashed test leaves shims, which CleanStale handles).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execve(args[0], args.data(), env);
    _exit(127);
  }
  ::close(log_fd);
  containerd_pid_ = pid;
  FG_RETURN_IF_ERROR(WriteWhole(dir_ + "/containerd.pid", absl::StrCat(pid, "\n")));

  // Wait until the CRI answers Version.
  absl::Time deadline = absl::Now() + options.start_timeout;
  absl::Status last = absl::UnavailableError("containerd's socket did not appear");
  while (absl::Now() < deadline) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      containerd_pid_ = -1;
      return absl::InternalError(
          absl::StrCat("containerd exited during start (status ", status, ")"));
    }
    if (Exists(socket_)) {
      auto c = CriClient::Connect(socket_, absl::Seconds(1));
      if (c.ok()) {
        (*c)->set_call_timeout(absl::Seconds(2));
        auto v = (*c)->Version();
        if (v.ok()) {
          (*c)->set_call_timeout(options.call_timeout);
          cri_ = std::move(*c);
          return absl::OkStatus();
        }
        last = v.status();
      } else {
        last = c.status();
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("containerd's CRI did not answer Version within ",
                                                  absl::FormatDuration(options.start_timeout), ": ",
                                                  last.message()));
}

absl::Status ContainerdHarness::ImportImages(const std::string& pause_binary) {
  FG_ASSIGN_OR_RETURN(std::string pause, ReadFile(pause_binary));
  std::string layer;
  for (const char* d : {"dev/", "etc/", "proc/", "sys/", "run/", "var/"})
    TarEntry(&layer, d, '5', 0755, "");
  TarEntry(&layer, "tmp/", '5', 01777, "");
  TarEntry(&layer, "pause", '0', 0755, pause);
  TarEnd(&layer);
  std::string diff_id = Sha256Hex(layer);

  std::string archive;
  TarEntry(
      &archive, "manifest.json", '0', 0644,
      absl::StrCat(R"([{"Config":"pause.json","RepoTags":[")", kPauseImage,
                   R"("],"Layers":["layer.tar"]},)", R"({"Config":"function.json","RepoTags":[")",
                   kFunctionImage, R"("],"Layers":["layer.tar"]}])"));
  TarEntry(&archive, "pause.json", '0', 0644, ImageConfigJson(diff_id, "pause"));
  TarEntry(&archive, "function.json", '0', 0644, ImageConfigJson(diff_id, "function"));
  TarEntry(&archive, "layer.tar", '0', 0644, layer);
  TarEnd(&archive);
  FG_RETURN_IF_ERROR(MakeDirs(dir_ + "/images", 0700));
  std::string file = dir_ + "/images/test-images.tar";
  FG_RETURN_IF_ERROR(WriteWhole(file, archive));

  FG_ASSIGN_OR_RETURN(CommandResult r, RunCommand({FindProgram("ctr"), "--address", socket_, "-n",
                                                   kCriNamespace, "images", "import", file},
                                                  absl::Seconds(30)));
  if (r.exit_code != 0)
    return absl::InternalError(
        absl::StrCat("ctr images import ", file, " failed (", r.exit_code, "): ", r.output));
  // The CRI plugin learns about images from containerd's events: wait until it knows both
  // (a sandbox whose image the CRI does not know yet would be pulled, and nothing can be).
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  FG_RETURN_IF_ERROR(WaitForImage(kPauseImage, deadline));
  return WaitForImage(kFunctionImage, deadline);
}

absl::Status ContainerdHarness::WaitForImage(const std::string& ref, absl::Time deadline) {
  while (true) {
    auto s = cri_->ImageStatus(ref);
    if (!s.ok()) return s.status();
    if (s->has_image()) return absl::OkStatus();
    if (absl::Now() > deadline)
      return absl::DeadlineExceededError(
          absl::StrCat("the CRI does not see the imported image ", ref));
    absl::SleepFor(absl::Milliseconds(20));
  }
}

ContainerdHarness::~ContainerdHarness() { (void)Shutdown(); }

absl::Status ContainerdHarness::Shutdown() {
  if (shut_down_ || dir_.empty()) return absl::OkStatus();
  shut_down_ = true;
  absl::Status first;
  auto note = [&first](absl::Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  // Pods first, through the CRI, while containerd runs: it stops their containers, unmounts
  // their root file systems and its shims leave.
  if (cri_) {
    auto pods = cri_->ListPodSandbox();
    if (pods.ok()) {
      for (const cri::PodSandbox& p : *pods) {
        RecordSandbox(p.id());  // also pods a test made through cri() directly
        note(cri_->StopPodSandbox(p.id()));
        note(cri_->RemovePodSandbox(p.id()));
      }
    } else {
      note(pods.status());
    }
    cri_.reset();
  }
  if (containerd_pid_ > 0) {
    ::kill(containerd_pid_, SIGTERM);
    ReapChild(containerd_pid_, absl::Seconds(5));
    containerd_pid_ = -1;
  }
  // Whatever is left (shims of pods that failed to stop, mounts, cgroups, the directory).
  note(CleanContainerdDir(dir_));
  return first;
}

absl::Status ContainerdHarness::RecordPodCgroups(const std::string& cgroup_parent) {
  // Parents the kubelet would own: removed at the end only if we created them (and empty).
  std::vector<std::string> parts = absl::StrSplit(cgroup_parent, '/', absl::SkipEmpty());
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += "/" + parts[i];
    if (!Exists(cgroup2_ + path)) {
      FG_RETURN_IF_ERROR(AppendLine(dir_ + "/cgroups", "parent " + path));
      FG_RETURN_IF_ERROR(AppendLine(kParentsMarker, path));
    }
  }
  return AppendLine(dir_ + "/cgroups", "pod " + cgroup_parent);
}

void ContainerdHarness::RecordSandbox(const std::string& id) {
  (void)AppendLine(dir_ + "/sandboxes", id);
}

absl::StatusOr<Pod> ContainerdHarness::RunPod(const PodSpec& spec) {
  Pod pod;
  pod.name = spec.name;
  pod.namespace_ = spec.namespace_;
  pod.uid = spec.uid.empty() ? RandomUuid() : spec.uid;
  pod.cgroup_parent = spec.qos.empty() ? absl::StrCat("/kubepods/pod", pod.uid)
                                       : absl::StrCat("/kubepods/", spec.qos, "/pod", pod.uid);
  FG_RETURN_IF_ERROR(RecordPodCgroups(pod.cgroup_parent));
  std::string log_dir = absl::StrCat(dir_, "/logs/", pod.namespace_, "_", pod.name, "_", pod.uid);
  FG_RETURN_IF_ERROR(MakeDirs(log_dir, 0755));

  cri::PodSandboxConfig& c = pod.config;
  c.mutable_metadata()->set_name(pod.name);
  c.mutable_metadata()->set_uid(pod.uid);
  c.mutable_metadata()->set_namespace_(pod.namespace_);
  c.mutable_metadata()->set_attempt(0);
  c.set_log_directory(log_dir);
  for (const auto& [k, v] : spec.labels) (*c.mutable_labels())[k] = v;
  (*c.mutable_labels())["io.kubernetes.pod.name"] = pod.name;
  (*c.mutable_labels())["io.kubernetes.pod.namespace"] = pod.namespace_;
  (*c.mutable_labels())["io.kubernetes.pod.uid"] = pod.uid;
  for (const auto& [k, v] : spec.annotations) (*c.mutable_annotations())[k] = v;
  if (!spec.dns_servers.empty()) {
    auto* dns = c.mutable_dns_config();
    for (const auto& x : spec.dns_servers) dns->add_servers(x);
    for (const auto& x : spec.dns_searches) dns->add_searches(x);
    for (const auto& x : spec.dns_options) dns->add_options(x);
  }
  c.mutable_linux()->set_cgroup_parent(pod.cgroup_parent);
  cri::NamespaceOption* ns =
      c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(cri::NODE);  // host networking: no CNI needed
  ns->set_pid(cri::CONTAINER);
  ns->set_ipc(cri::POD);
  FG_ASSIGN_OR_RETURN(pod.id, cri_->RunPodSandbox(c));
  RecordSandbox(pod.id);
  return pod;
}

absl::StatusOr<std::string> ContainerdHarness::StartContainer(const Pod& pod,
                                                              const ContainerSpec& spec) {
  cri::ContainerConfig c;
  c.mutable_metadata()->set_name(spec.name);
  c.mutable_metadata()->set_attempt(0);
  c.mutable_image()->set_image(spec.image.empty() ? kFunctionImage : spec.image);
  for (const std::string& a : spec.command) c.add_command(a);
  for (const std::string& a : spec.args) c.add_args(a);
  c.set_working_dir(spec.working_dir);
  for (const auto& [k, v] : spec.env) {
    cri::KeyValue* kv = c.add_envs();
    kv->set_key(k);
    kv->set_value(v);
  }
  std::vector<HostMount> mounts;
  if (spec.host_programs)
    for (const char* p : {"/usr", "/lib", "/lib64", "/bin"})
      if (Exists(p)) mounts.push_back({p, p, true});
  mounts.insert(mounts.end(), spec.mounts.begin(), spec.mounts.end());
  for (const HostMount& m : mounts) {
    cri::Mount* cm = c.add_mounts();
    cm->set_container_path(m.container_path);
    cm->set_host_path(m.host_path);
    cm->set_readonly(m.readonly);
  }
  for (const auto& [k, v] : spec.labels) (*c.mutable_labels())[k] = v;
  (*c.mutable_labels())["io.kubernetes.container.name"] = spec.name;
  (*c.mutable_labels())["io.kubernetes.pod.name"] = pod.name;
  (*c.mutable_labels())["io.kubernetes.pod.namespace"] = pod.namespace_;
  (*c.mutable_labels())["io.kubernetes.pod.uid"] = pod.uid;
  for (const auto& [k, v] : spec.annotations) (*c.mutable_annotations())[k] = v;
  c.set_log_path(absl::StrCat(spec.name, "/0.log"));
  cri::NamespaceOption* ns =
      c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(cri::NODE);
  ns->set_pid(cri::CONTAINER);
  ns->set_ipc(cri::POD);
  cri::LinuxContainerSecurityContext* sc = c.mutable_linux()->mutable_security_context();
  sc->set_no_new_privs(spec.no_new_privs);
  if (!spec.seccomp_profile.empty()) {
    sc->mutable_seccomp()->set_profile_type(cri::SecurityProfile::Localhost);
    sc->mutable_seccomp()->set_localhost_ref(spec.seccomp_profile);
  } else {
    sc->mutable_seccomp()->set_profile_type(cri::SecurityProfile::Unconfined);
  }

  FG_ASSIGN_OR_RETURN(std::string id, cri_->CreateContainer(pod.id, c, pod.config));
  if (absl::Status s = cri_->StartContainer(id); !s.ok()) {
    std::string log = ContainerLog(pod, spec.name);
    (void)cri_->RemoveContainer(id);
    return absl::Status(s.code(), absl::StrCat(s.message(), "\ncontainer log: ", log));
  }
  return id;
}

absl::Status ContainerdHarness::StopContainer(const std::string& id, absl::Duration grace) {
  return cri_->StopContainer(id, grace);
}

absl::Status ContainerdHarness::RemoveContainer(const std::string& id) {
  return cri_->RemoveContainer(id);
}

absl::Status ContainerdHarness::StopPod(const Pod& pod) { return cri_->StopPodSandbox(pod.id); }

absl::Status ContainerdHarness::RemovePod(const Pod& pod) { return cri_->RemovePodSandbox(pod.id); }

std::string ContainerdHarness::CgroupDir(const Pod& pod, const std::string& id) const {
  return absl::StrCat(cgroup2_, pod.cgroup_parent, "/", id);
}

std::string ContainerdHarness::ContainerLog(const Pod& pod,
                                            const std::string& container_name) const {
  return ReadOr(absl::StrCat(pod.config.log_directory(), "/", container_name, "/0.log"),
                "(no log)");
}

std::string ContainerdHarness::DaemonLogTail(size_t max_bytes) const {
  std::string log = ReadOr(dir_ + "/containerd.log");
  if (log.size() > max_bytes) log = "..." + log.substr(log.size() - max_bytes);
  return log;
}

}  // namespace faasguard::testing
