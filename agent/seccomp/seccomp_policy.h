// A function container's enforced syscall policy as a seccomp filter: refused before the
// syscall runs. Compiled from the profile section, given as an OCI runtime-spec seccomp
// profile (the kubelet's Localhost profiles, any OCI runtime) or installed in the calling
// process with libseccomp (faasguardctl run, before it execs the function).
#pragma once

#include <linux/filter.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// What the filter does to a syscall outside the allowed set.
enum class SeccompVerdict {
  kAllow,  // let it run (the function is only reported on, by sys_enter)
  kErrno,  // refuse it with EPERM before it runs; the process goes on
  kKill,   // kill the process before the syscall runs
};

struct SeccompPolicy {
  std::set<std::string> native;  // allowed, native architecture
  std::set<std::string> compat;  // allowed, the ia32 compat architecture (x86_64 only)
  SeccompVerdict unlearned = SeccompVerdict::kErrno;  // any other syscall
  SeccompVerdict sensitive = SeccompVerdict::kKill;   // the sensitive class, when not allowed
  // The section's file rules allow reading only: an open, openat, open_by_handle_at or creat
  // that asks to write, create or truncate is refused with EPERM before it runs (nothing is
  // created or truncated). openat2 and io_uring carry their flags where a filter cannot look:
  // the file check at the open's return kills those (docs/security.md).
  bool read_only_files = false;
  // Not empty: socket(2) (native) is allowed only for these address families (its first
  // argument); another family takes `unlearned`. Empty: socket(2) as any syscall.
  std::set<uint32_t> socket_families;
};

// The policy of a profile section: its syscalls, plus the always-allowed class and execve
// (the runtime execs the function's entrypoint under the filter; which programs may run is the
// exec allow-list's business). A function that learned clone3 may use clone: the filter
// answers clone3 with ENOSYS so that the C library falls back to clone, whose namespace flags
// a filter can see (a pointer argument it cannot). A section that learned socket kinds
// (sockets[]) allows socket(2) for their families, and for IPv4, IPv6 (cgroup/sock_create
// decides those), Unix and netlink (the C library's own): a packet socket it never created is
// refused before it exists, where the kernel's socket hooks do not reach.
SeccompPolicy SeccompPolicyFor(const v1::ContainerProfile& c, SeccompVerdict unlearned,
                               SeccompVerdict sensitive);

// Adds what an OCI runtime does under the filter before it execs the entrypoint (and clears
// read_only_files: runc opens its exec fifo for writing under the filter): runc loads
// the filter, then (without no_new_privs) sets the user, groups and capabilities, changes
// directory, closes its descriptors, and its Go runtime may wait, sleep or start a thread.
// Measured with runc 1.1.5 (bpftrace on runc:[2:INIT] after PR_SET_SECCOMP). A runtime that
// needs more fails to start the container (CreateContainerError), it never runs unfiltered.
void AddRuntimeBaseline(SeccompPolicy* p);

// The runtime-spec LinuxSeccomp document (JSON) for the policy, on this machine's
// architecture: what containerd, CRI-O and runc load for a Localhost profile.
absl::StatusOr<std::string> OciSeccompProfile(const SeccompPolicy& p);

// Installs the filter on the calling process (single-threaded: before exec). Without
// CAP_SYS_ADMIN the no_new_privs bit is set, as the kernel requires.
absl::Status InstallSeccompFilter(const SeccompPolicy& p);

// The filter compiled ahead (libseccomp allocates; a child between fork and exec must not):
// LoadCompiledFilter makes only raw system calls, safe in a forked child of a threaded process.
struct CompiledFilter {
  std::vector<sock_filter> program;
  bool no_new_privs = false;  // set it first (the caller lacks CAP_SYS_ADMIN)
};
absl::StatusOr<CompiledFilter> CompileSeccompFilter(const SeccompPolicy& p);
// 0, or the errno of the failed prctl / seccomp call. Async-signal-safe.
int LoadCompiledFilter(const CompiledFilter& f);

// The enforced syscall policy of a profile's container section (an empty section when it has
// none), as the API carries it: allowed lists, effective actions, the OCI document and its
// revision (a digest of it). `runtime_baseline`: the container is started by an OCI runtime
// (AddRuntimeBaseline), not exec'd by faasguardctl run.
absl::StatusOr<v1::SeccompPolicy> SeccompPolicyMessage(const v1::Profile& p,
                                                       const std::string& container,
                                                       bool runtime_baseline);
// The policy a message carries (faasguardctl run installs it).
SeccompPolicy SeccompPolicyFromMessage(const v1::SeccompPolicy& m);
// Whether the filter alone enforces the policy: it refuses both unlearned and sensitive
// syscalls (neither is only reported), so sys_enter need not see the container.
bool FilterEnforcesAlone(const v1::SeccompPolicy& m);

// Whether a container runtime's spec of a container's filter (`runtime_spec`: the OCI
// LinuxSeccomp object its runtime spec carries, JSON) is the filter of `oci_profile` (an
// OciSeccompProfile document): the same default action, architectures and rules, whatever the
// order, the spacing, or the fields a runtime writes with their default values. A runtime that
// changed, added or dropped a rule makes it another filter. An error for JSON that is not a
// seccomp object.
absl::StatusOr<bool> SameSeccompFilter(const std::string& runtime_spec,
                                       const std::string& oci_profile);

}  // namespace faasguard
