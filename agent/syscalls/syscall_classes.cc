#include "syscalls/syscall_classes.h"

#include <algorithm>

namespace faasguard {

// Docker's default profile refuses most of these to every container; Kubernetes'
// RuntimeDefault follows it. The rest are the kernel's attack surface that a function has no
// business touching unless it was seen doing so while it learned.
const std::vector<SensitiveSyscall>& SensitiveSyscalls() {
  static const std::vector<SensitiveSyscall> list = {
      // Other processes: reading, writing or controlling them.
      {"ptrace", "trace or control another process, read and write its memory"},
      {"process_vm_readv", "read another process's memory"},
      {"process_vm_writev", "write another process's memory"},
      {"process_madvise", "change another process's memory"},
      {"pidfd_getfd", "take a file descriptor out of another process"},
      {"kcmp", "compare kernel objects of other processes (kernel pointer leaks)"},
      {"kill", "signal another process", true},
      {"tkill", "signal a thread of another process", true},
      {"tgkill", "signal a thread of another process", true},
      {"pidfd_send_signal", "signal another process through a pidfd", true},
      {"rt_sigqueueinfo", "signal another process with forged siginfo", true},
      {"rt_tgsigqueueinfo", "signal a thread of another process with forged siginfo", true},
      {"move_pages", "move another process's pages between NUMA nodes"},
      {"migrate_pages", "move another process's pages between NUMA nodes"},
      // The container boundary: namespaces, mounts, the root.
      {"unshare", "new namespaces (user namespaces open most of the kernel's attack surface)"},
      {"setns", "enter another namespace (another container's, the host's)"},
      {"mount", "mount file systems (escape through host paths, proc, cgroup release agents)"},
      {"umount", "unmount what confines the container"},
      {"umount2", "unmount what confines the container"},
      {"pivot_root", "change the root file system"},
      {"fsopen", "new mount API: mount file systems"},
      {"fsconfig", "new mount API: configure a mount"},
      {"fsmount", "new mount API: mount file systems"},
      {"fspick", "new mount API: reconfigure a mount"},
      {"move_mount", "new mount API: move mounts"},
      {"open_tree", "new mount API: clone mount trees"},
      {"mount_setattr", "new mount API: change mount flags"},
      {"open_by_handle_at", "open any file of a file system by handle, past the mount (Shocker)"},
      {"name_to_handle_at", "file handles for open_by_handle_at"},
      {"chroot", "change the root directory (with an open directory fd: escape it)"},
      // The kernel itself.
      {"bpf", "load eBPF programs and read kernel memory"},
      {"perf_event_open", "kernel profiling: side channels, a history of kernel bugs"},
      {"userfaultfd", "stall kernel page faults at will (race exploits)"},
      {"io_uring_setup",
       "io_uring: operations that never pass a syscall hook; a history of kernel bugs"},
      {"keyctl", "kernel keyrings (shared across containers)"},
      {"add_key", "kernel keyrings (shared across containers)"},
      {"request_key", "kernel keyrings (shared across containers)"},
      {"init_module", "load a kernel module"},
      {"finit_module", "load a kernel module"},
      {"delete_module", "unload a kernel module"},
      {"kexec_load", "replace the running kernel"},
      {"kexec_file_load", "replace the running kernel"},
      {"reboot", "reboot the node"},
      {"swapon", "the node's swap space"},
      {"swapoff", "the node's swap space"},
      {"acct", "process accounting of the node"},
      {"quotactl", "file system quotas of the node"},
      {"quotactl_fd", "file system quotas of the node"},
      {"syslog", "the kernel log (kernel addresses)"},
      {"personality", "execution domains (turns off address-space randomisation)"},
      {"modify_ldt", "x86 segment descriptors: a history of kernel bugs"},
      {"iopl", "raw I/O port access"},
      {"ioperm", "raw I/O port access"},
      {"settimeofday", "the node's clock"},
      {"clock_settime", "the node's clock"},
      {"clock_adjtime", "the node's clock"},
      {"adjtimex", "the node's clock"},
      {"lookup_dcookie", "kernel profiling cookies"},
      {"uselib", "load a library the old way: a history of kernel bugs"},
      {"ustat", "obsolete file system statistics"},
      {"sysfs", "obsolete file system type information"},
      {"_sysctl", "obsolete kernel parameter interface"},
      {"nfsservctl", "the kernel NFS server"},
      {"vm86", "x86 virtual 8086 mode"},
      {"vm86old", "x86 virtual 8086 mode"},
      {"fanotify_init", "watch file access across the node's mounts"},
  };
  return list;
}

const std::vector<absl::string_view>& AlwaysAllowedSyscalls() {
  // Leaving, returning from a handler, time and sleep; resizing and advising memory the process
  // already has (a large request grows a buffer with mremap, an allocator returns pages with
  // madvise: the size of the traffic, not a new behaviour); asking who and where it is. None
  // reaches outside the process.
  static const std::vector<absl::string_view> list = {
      "exit",          "exit_group",      "rt_sigreturn",    "restart_syscall",
      "sigreturn",     "nanosleep",       "clock_nanosleep", "clock_nanosleep_time64",
      "clock_gettime", "clock_gettime64", "clock_getres",    "gettimeofday",
      "time",          "sched_yield",     "mremap",          "madvise",
      "getpid",        "gettid",          "getcwd"};
  return list;
}

bool AlwaysAllowedSyscall(absl::string_view name) {
  const auto& l = AlwaysAllowedSyscalls();
  return std::find(l.begin(), l.end(), name) != l.end();
}

const SensitiveSyscall* FindSensitiveSyscall(absl::string_view name) {
  for (const auto& s : SensitiveSyscalls())
    if (s.name == name) return &s;
  return nullptr;
}

bool IsSensitiveSyscall(absl::string_view name) { return FindSensitiveSyscall(name) != nullptr; }

}  // namespace faasguard
