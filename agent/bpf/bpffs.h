// The bpf filesystem the pin directory lives on: found, or mounted where none is (a machine
// without systemd has nothing at /sys/fs/bpf), as Cilium and Tetragon do.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace faasguard {

inline constexpr char kBpfFsDefaultRoot[] = "/sys/fs/bpf";

// Where a bpf filesystem must be mounted for `pin_dir` (absolute, no trailing slash): the
// standard /sys/fs/bpf for a pin directory under it, else the pin directory's parent.
std::string BpfFsRootFor(const std::string& pin_dir);

// True when `path` (which must exist) is on a bpf filesystem.
bool OnBpfFs(const std::string& path);

struct BpfFsReport {
  std::string root;      // the bpf filesystem the pin directory is on
  bool mounted = false;  // this call mounted it (none was there)
};

// Makes sure the parent of `pin_dir` exists on a bpf filesystem. When none is mounted there,
// mounts one at BpfFsRootFor(pin_dir): /sys/fs/bpf, or an empty (or missing) directory; never
// over a directory that holds files. The error says what to do instead.
absl::StatusOr<BpfFsReport> EnsureBpfFs(const std::string& pin_dir);

}  // namespace faasguard
