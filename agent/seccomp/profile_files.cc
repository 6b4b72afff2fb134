#include "seccomp/profile_files.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"

namespace faasguard {
namespace {

std::string FunctionDir(const std::string& root, const v1::FunctionId& id) {
  return absl::StrCat(root, "/faasguard/", id.namespace_(), "/", id.name());
}

}  // namespace

std::string SeccompProfileRelPath(const v1::FunctionId& id, const std::string& container) {
  return absl::StrCat("faasguard/", id.namespace_(), "/", id.name(), "/", container, ".json");
}

std::string SeccompProfileFiles::PathOf(const v1::FunctionId& id,
                                        const std::string& container) const {
  return absl::StrCat(root_, "/", SeccompProfileRelPath(id, container));
}

absl::StatusOr<bool> SeccompProfileFiles::Write(const v1::FunctionId& id,
                                                const std::string& container,
                                                const std::string& json) {
  const std::string path = PathOf(id, container);
  auto old = ReadFile(path);
  if (old.ok() && *old == json) return false;
  // 0755 directories and a 0644 file: the kubelet and the runtime read them.
  FG_RETURN_IF_ERROR(MakeDirs(FunctionDir(root_, id), 0755));
  FG_RETURN_IF_ERROR(WriteFileAtomic(path, json, 0644));
  return true;
}

absl::Status SeccompProfileFiles::RemoveFunction(const v1::FunctionId& id) {
  const std::string dir = FunctionDir(root_, id);
  auto names = ListDir(dir);
  if (absl::IsNotFound(names.status())) return absl::OkStatus();
  if (!names.ok()) return names.status();
  for (const auto& n : *names) {
    std::string p = absl::StrCat(dir, "/", n);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus(errno, absl::StrCat("remove ", p));
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY)
    return ErrnoStatus(errno, absl::StrCat("remove ", dir));
  return absl::OkStatus();
}

}  // namespace faasguard
