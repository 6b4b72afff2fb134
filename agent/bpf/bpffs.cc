#include "bpf/bpffs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"

namespace faasguard {
namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

std::string Parent(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The nearest directory at or above `path` that exists.
std::string NearestExisting(std::string path) {
  while (path != "/" && !IsDir(path)) path = Parent(path);
  return path;
}

std::string Advice(const std::string& root) {
  return absl::StrCat("mount one yourself (mount -t bpf bpf ", root,
                      "), or run without pinning (--bpf-pin-dir off)");
}

}  // namespace

std::string BpfFsRootFor(const std::string& pin_dir) {
  const std::string def = kBpfFsDefaultRoot;
  if (pin_dir == def || absl::StartsWith(pin_dir, def + "/")) return def;
  return Parent(pin_dir);
}

bool OnBpfFs(const std::string& path) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == kBpfFsMagic;
}

absl::StatusOr<BpfFsReport> EnsureBpfFs(const std::string& pin_dir) {
  BpfFsReport r;
  if (pin_dir == BpfFsRootFor(pin_dir)) {
    return absl::FailedPreconditionError(absl::StrCat("pin directory ", pin_dir,
                                                      " is the mount point itself: pin under it (",
                                                      pin_dir, "/faasguard)"));
  }
  const std::string parent = Parent(pin_dir);
  const std::string existing = NearestExisting(parent);
  if (OnBpfFs(existing)) {
    r.root = existing;
    if (existing != parent) FG_RETURN_IF_ERROR(MakeDirs(parent));
    return r;
  }
  r.root = BpfFsRootFor(pin_dir);
  if (!IsDir(r.root)) {
    if (absl::Status s = MakeDirs(r.root); !s.ok())
      return absl::FailedPreconditionError(
          absl::StrCat("no bpf filesystem under ", pin_dir, ", and ", r.root,
                       " cannot be created to mount one: ", s.message(), "; ", Advice(r.root)));
  }
  if (r.root != kBpfFsDefaultRoot) {
    auto entries = ListDir(r.root);
    if (!entries.ok()) return entries.status();
    if (!entries->empty())
      return absl::FailedPreconditionError(absl::StrCat(
          "pin directory ", pin_dir, ": ", r.root,
          " is not a bpf filesystem and holds files (a bpf filesystem mounted there would hide "
          "them); ",
          Advice(r.root)));
  }
  if (::mount("bpf", r.root.c_str(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0)
    return ErrnoStatus(errno, absl::StrCat("no bpf filesystem at ", r.root,
                                           ", and mounting one failed (", Advice(r.root), ")"));
  r.mounted = true;
  if (!OnBpfFs(r.root))
    return absl::InternalError(absl::StrCat("mounted a bpf filesystem at ", r.root,
                                            " but it is not there (is ", r.root, " a symlink?); ",
                                            Advice(r.root)));
  if (parent != r.root) FG_RETURN_IF_ERROR(MakeDirs(parent));
  return r;
}

}  // namespace faasguard
