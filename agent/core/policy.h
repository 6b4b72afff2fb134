// The policy compiler: a profile section (one container of a function) -> the kernel
// allow-list entries monitor and enforce mode check (fg_sys_allow, fg_exec_allow,
// fg_net_allow). Pure: no kernel access; the engine writes the result into a generation.
#pragma once

#include <cstdint>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/status/statusor.h"
#include "bpf/kernel_maps.h"
#include "faasguard/v1/profile.pb.h"
#include "profile/address.h"
#include "syscalls/syscall_classes.h"  // AlwaysAllowedSyscall

namespace faasguard {

struct PolicyLimits {
  size_t max_exec_rules = 16384;  // capacity of fg_exec_allow (all functions share it)
  size_t max_net_rules = 16384;   // capacity of fg_net_allow
  size_t max_file_rules = 16384;  // capacity of fg_file_allow
  size_t max_dns_rules = 16384;   // capacity of fg_dns_allow
  // File rules compile (--files on). Off: no file is checked, whatever the profile says, and
  // the node attaches no sys_exit hook for files.
  bool files = true;
};

using CompiledPolicy = AllowList;  // bpf/kernel_maps.h

// Errors name the rule that cannot compile (unknown syscall, bad address or CIDR, a path
// wildcard anywhere but at the end, too many entries).
absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::ContainerProfile& c, uint64_t hash_seed,
                                             const PolicyLimits& limits = {});

// The allow-list of one section of a profile (a container that has none yet allows only what
// every function may). The pod-wide section's (kPodSection) is the union of every section's:
// it covers a pod's containers before the agent can name them.
absl::StatusOr<CompiledPolicy> CompileSection(const v1::Profile& p, absl::string_view container,
                                              uint64_t hash_seed, const PolicyLimits& limits);
// The section's items alone (what CompileSection builds on).
absl::StatusOr<CompiledPolicy> CompileSectionItems(const v1::Profile& p,
                                                   absl::string_view container, uint64_t hash_seed,
                                                   const PolicyLimits& limits);
// The syscall policy of the function on top of a section's allow-list: the kill set of
// sys_enter (the sensitive class not learned, when the function kills for it) and the io_uring
// operations it submitted.
void AddSyscallPolicy(const v1::Profile& p, absl::string_view container, CompiledPolicy& out);

}  // namespace faasguard
