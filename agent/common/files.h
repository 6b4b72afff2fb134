// Whole-file reads and crash-safe writes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace faasguard {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Write `content` to `path` so that a crash at any point leaves either the old file or the
// new one: write a temporary file in the same directory, fsync it, rename it over `path`,
// fsync the directory.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view content,
                             mode_t mode = 0600);

enum class DirEntries { kAll, kDirectories };

// The entries of `dir` (names, without "." and ".."), in the order the directory gives them;
// with kDirectories only its subdirectories (by the entries' types: no stat per entry where the
// file system gives them, as cgroupfs and bpffs do).
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir,
                                                 DirEntries which = DirEntries::kAll);

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0700);

}  // namespace faasguard
