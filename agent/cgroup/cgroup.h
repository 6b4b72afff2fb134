// cgroup v2: finding the mount, naming cgroups by id, creating and removing them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace faasguard {

// The mount point of the cgroup v2 hierarchy in a /proc/<pid>/mountinfo text: the first
// "cgroup2" mount whose root is "/" (pure v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified).
absl::StatusOr<std::string> FindCgroup2Mount(absl::string_view mountinfo);

// FindCgroup2Mount over /proc/self/mountinfo.
absl::StatusOr<std::string> DiscoverCgroup2Mount();

// The cgroup id of a cgroup v2 directory: what bpf_get_current_cgroup_id() returns for its
// tasks (the kernfs node id, from name_to_handle_at; the inode number as a fallback).
absl::StatusOr<uint64_t> CgroupIdOf(const std::string& dir);

// The reverse: open the cgroup v2 directory with this id (O_RDONLY), given an open directory
// of the v2 mount (its kernfs file handle is the id). -1 with errno set: ESTALE or ENOENT when
// no such cgroup exists (any more).
int OpenCgroupById(int cgroup2_root_fd, uint64_t id);
// Its absolute path (under the mount `cgroup2_root_fd` is a directory of); NOT_FOUND when gone.
absl::StatusOr<std::string> CgroupPathById(int cgroup2_root_fd, uint64_t id);

// The cgroup v2 path of a process relative to the mount ("/a/b"), from /proc/<pid>/cgroup.
absl::StatusOr<std::string> CgroupOfPid(pid_t pid);

// Create a cgroup directory (parents too).
absl::Status CreateCgroup(const std::string& dir);

// Remove a cgroup directory. Tasks still inside are killed first (cgroup.kill, or SIGKILL to
// each listed pid on kernels without it); gives up after `timeout_ms`.
absl::Status RemoveCgroup(const std::string& dir, int timeout_ms = 5000);

// Move process `pid` (0: the caller) into cgroup `dir`.
absl::Status MoveToCgroup(const std::string& dir, pid_t pid);

// Resolve a path given by a client: absolute paths must lie under `mount`, relative ones are
// taken relative to it. ".." components are refused.
absl::StatusOr<std::string> ResolveCgroupPath(const std::string& mount, absl::string_view path);

// The CPU time a cgroup's tasks used so far (cpu.stat usage_usec, which cgroup v2 keeps
// whichever controllers are enabled).
absl::StatusOr<absl::Duration> CgroupCpuUsage(const std::string& dir);

}  // namespace faasguard
