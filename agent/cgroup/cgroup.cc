#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace faasguard {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = s[i + j];
        if (c < '0' || c > '7') {
          ok = false;
          break;
        }
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> FindCgroup2Mount(absl::string_view mountinfo) {
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    if (line.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    // id parent maj:min root mountpoint options [optional...] - fstype source superopts
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (f.size() < 7 || dash == 0 || dash + 1 >= f.size()) continue;
    if (f[dash + 1] != "cgroup2") continue;
    if (f[3] != "/") continue;  // a bind mount of a sub-cgroup (inside a container)
    return Unescape(f[4]);
  }
  return absl::NotFoundError(
      "no cgroup v2 mount found in mountinfo (faasguard needs the unified hierarchy, "
      "mounted at /sys/fs/cgroup or, on hybrid systems, /sys/fs/cgroup/unified)");
}

absl::StatusOr<std::string> DiscoverCgroup2Mount() {
  FG_ASSIGN_OR_RETURN(std::string text, ReadFile("/proc/self/mountinfo"));
  return FindCgroup2Mount(text);
}

absl::StatusOr<uint64_t> CgroupIdOf(const std::string& dir) {
  alignas(file_handle) unsigned char storage[sizeof(file_handle) + sizeof(uint64_t)] = {};
  auto* fh = reinterpret_cast<file_handle*>(storage);
  fh->handle_bytes = sizeof(uint64_t);
  int mount_id;
  if (::name_to_handle_at(AT_FDCWD, dir.c_str(), fh, &mount_id, 0) == 0 &&
      fh->handle_bytes == sizeof(uint64_t)) {
    uint64_t id;
    std::memcpy(&id, storage + sizeof(file_handle), sizeof id);
    return id;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, absl::StrCat("cgroup ", dir));
  if (!S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(dir + " is not a directory");
  return static_cast<uint64_t>(st.st_ino);
}

int OpenCgroupById(int cgroup2_root_fd, uint64_t id) {
  constexpr int kFileIdKernfs = 0xfe;  // FILEID_KERNFS: a kernfs node id
  alignas(file_handle) unsigned char storage[sizeof(file_handle) + sizeof(uint64_t)] = {};
  auto* fh = reinterpret_cast<file_handle*>(storage);
  fh->handle_bytes = sizeof(uint64_t);
  fh->handle_type = kFileIdKernfs;
  std::memcpy(storage + sizeof(file_handle), &id, sizeof id);
  return ::open_by_handle_at(cgroup2_root_fd, fh, O_RDONLY | O_CLOEXEC);
}

absl::StatusOr<std::string> CgroupPathById(int cgroup2_root_fd, uint64_t id) {
  UniqueFd fd(OpenCgroupById(cgroup2_root_fd, id));
  if (!fd.valid()) {
    if (errno == ESTALE || errno == ENOENT)
      return absl::NotFoundError(absl::StrCat("no cgroup with id ", id));
    return ErrnoStatus(errno, absl::StrCat("open cgroup id ", id));
  }
  char buf[4096];
  std::string link = absl::StrCat("/proc/self/fd/", fd.get());
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0 || buf[0] != '/') return ErrnoStatus(errno, absl::StrCat("name cgroup id ", id));
  return std::string(buf, static_cast<size_t>(n));
}

absl::StatusOr<std::string> CgroupOfPid(pid_t pid) {
  FG_ASSIGN_OR_RETURN(std::string text, ReadFile(absl::StrCat("/proc/", pid, "/cgroup")));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) return std::string(line);
  }
  return absl::NotFoundError(absl::StrCat("process ", pid, " has no cgroup v2 entry"));
}

absl::Status CreateCgroup(const std::string& dir) { return MakeDirs(dir, 0755); }

absl::Status MoveToCgroup(const std::string& dir, pid_t pid) {
  std::string procs = dir + "/cgroup.procs";
  UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", procs));
  std::string v = std::to_string(pid);
  if (::write(fd.get(), v.data(), v.size()) < 0)
    return ErrnoStatus(errno, absl::StrCat("move ", pid, " into ", dir));
  return absl::OkStatus();
}

absl::Status RemoveCgroup(const std::string& dir, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool killed = false;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) return ErrnoStatus(errno, absl::StrCat("rmdir ", dir));
    if (!killed) {
      killed = true;
      UniqueFd kill(::open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
      if (!kill.valid() || ::write(kill.get(), "1", 1) != 1) {
        auto procs = ReadFile(dir + "/cgroup.procs");
        if (procs.ok()) {
          for (absl::string_view p : absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
            int pid;
            if (absl::SimpleAtoi(p, &pid) && pid > 0) ::kill(pid, SIGKILL);
          }
        }
      }
    }
    if (std::chrono::steady_clock::now() > deadline)
      return absl::DeadlineExceededError(absl::StrCat("cgroup ", dir, " still busy"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

absl::StatusOr<std::string> ResolveCgroupPath(const std::string& mount, absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("cgroup path is empty");
  if (path.size() > 4096) return absl::InvalidArgumentError("cgroup path is too long");
  if (path.find('\0') != absl::string_view::npos)
    return absl::InvalidArgumentError("cgroup path contains a NUL byte");
  absl::string_view rel = path;
  if (path[0] == '/') {
    absl::string_view m = mount;
    if (!absl::ConsumePrefix(&rel, m) || (!rel.empty() && rel[0] != '/'))
      return absl::InvalidArgumentError(
          absl::StrCat("cgroup path ", path, " is not under the cgroup v2 mount ", mount));
  }
  for (absl::string_view c : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    if (c == "..") return absl::InvalidArgumentError("cgroup path may not contain '..'");
  }
  absl::ConsumePrefix(&rel, "/");
  return rel.empty() ? mount : absl::StrCat(mount, "/", rel);
}

absl::StatusOr<absl::Duration> CgroupCpuUsage(const std::string& dir) {
  auto text = ReadFile(dir + "/cpu.stat");
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, "usage_usec ")) continue;
    uint64_t usec = 0;
    if (!absl::SimpleAtoi(line, &usec)) break;
    return absl::Microseconds(static_cast<int64_t>(usec));
  }
  return absl::DataLossError(absl::StrCat(dir, "/cpu.stat has no usage_usec"));
}

}  // namespace faasguard
