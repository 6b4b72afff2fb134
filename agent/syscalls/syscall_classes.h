// Classes of syscalls that enforcement treats apart from a function's profile:
// - always allowed: leaving, returning from a signal handler, sleeping, yielding, reading the
//   clock, resizing or advising memory it has (mremap, madvise), asking its pid, tid and
//   working directory. None touches anything outside the process, and these are what a finite
//   learning run misses (time, and the size of the traffic).
// - sensitive: syscalls that attack the kernel, other processes or the container boundary. A
//   function that never made one and makes it now is killed: before it runs (seccomp), or at
//   once (sys_enter only). Any other syscall outside the profile is only refused (EPERM) or
//   reported, so a rare harmless path never takes a function down.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace faasguard {

struct SensitiveSyscall {
  const char* name;
  const char* reason;
  // Sensitive only when it targets another process (the signal calls). A seccomp filter
  // cannot see the target, so it refuses these (EPERM: nothing is delivered) instead of
  // killing; sys_enter kills when the target is not the caller's own process.
  bool other_process_only = false;
};

// The class, in the order docs/security.md lists it. Names are the kernel's (x86_64 and i386;
// a name absent on an architecture is skipped there).
const std::vector<SensitiveSyscall>& SensitiveSyscalls();

// The entry of a sensitive syscall, or nullptr.
const SensitiveSyscall* FindSensitiveSyscall(absl::string_view name);
bool IsSensitiveSyscall(absl::string_view name);

// The always-allowed names (both architectures' spellings).
const std::vector<absl::string_view>& AlwaysAllowedSyscalls();
bool AlwaysAllowedSyscall(absl::string_view name);

}  // namespace faasguard
