// Every conversion between the kernel ABI (bpf/abi/fg_abi.h and the decoded records of
// bpf/events.h) and the API (faasguard.v1): modes and slot configs, paths and their hash,
// network keys, syscalls, violation records, and the words the agent, its logs and
// faasguardctl use for modes. Pure functions; nothing here touches the kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "abi/fg_abi.h"
#include "absl/strings/string_view.h"
#include "bpf/events.h"
#include "bpf/kernel_maps.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// --- Modes -------------------------------------------------------------------------------

// "learn", "monitor", "enforce" (MODE_UNSPECIFIED reads as learn).
std::string ModeWord(v1::Mode m);
// The inverse of ModeWord; nullopt for anything else.
std::optional<v1::Mode> ParseModeWord(absl::string_view word);
// "default", "alert", "kill", "errno".
std::string SyscallActionWord(v1::SyscallAction a);
// The inverse ("default" included); nullopt for anything else.
std::optional<v1::SyscallAction> ParseSyscallActionWord(absl::string_view word);
// What an action means where it is DEFAULT: errno for an unlearned syscall outside the sensitive
// class, kill for one of the class.
v1::SyscallAction EffectiveUnlearnedAction(v1::SyscallAction a);
v1::SyscallAction EffectiveSensitiveAction(v1::SyscallAction a);
// "fail-closed", "fail-open".
std::string AgentAbsenceWord(v1::AgentAbsence a);

// What a function's slot config (fg_fn_cfg) says, apart from the generation: its mode, what
// enforce mode does to a syscall outside the profile, and what it does while no agent runs.
struct ModeSettings {
  v1::Mode mode = v1::MODE_LEARN;
  v1::SyscallAction syscall_action = v1::SYSCALL_ACTION_DEFAULT;
  v1::AgentAbsence when_agent_absent = v1::AGENT_ABSENCE_FAIL_CLOSED;
  v1::SyscallAction sensitive_syscall_action = v1::SYSCALL_ACTION_DEFAULT;

  static ModeSettings Of(const v1::Profile& p);
  void ApplyTo(v1::Profile& p) const;
  bool operator==(const ModeSettings&) const = default;
};

v1::Mode ModeFromKernel(uint32_t fg_mode);  // enum fg_mode
uint8_t ModeToKernel(v1::Mode m);
// A slot's config: `settings` at allow-list generation `gen` with `flags` (FG_CFG_F_* of the
// allow-list; the fail-open flag comes from the settings).
fg_fn_cfg KernelConfig(const ModeSettings& settings, uint8_t gen, uint8_t flags);

// --- Items -------------------------------------------------------------------------------

// Kernel counts and boot-time stamps -> a profile item's Seen.
v1::Seen SeenFromKernel(uint64_t count, uint64_t first_ns, uint64_t last_ns);

// Kernel path text and flags -> profile path and kind ("memfd:x" for anonymous files).
void PathToProfile(const PathText& p, std::string* path, v1::PathKind* kind);
// The inverse: kernel path flags for a profile path kind, and the text the kernel hashes
// ("memfd:x" is "/memfd:x" there).
uint32_t KernelPathFlags(v1::PathKind kind);
std::string KernelPathText(const std::string& path, v1::PathKind kind);
// The path hash of fg_abi.h (FNV-1a 64 from FG_FNV_OFFSET ^ seed, flags mixed in), computed in
// user space: for allow-lists compiled from profile paths, and for tests.
uint64_t PathHash(absl::string_view path, uint32_t flags, uint64_t seed);

// A kernel network key -> the profile entry it feeds and which list ("egress", "listen",
// "ingress"), or nullopt for items the profile does not keep (a bind to port 0).
std::optional<std::pair<std::string, v1::NetEntry>> NetKeyToEntry(const fg_net_key& k);

// A syscall the kernel saw (enum fg_arch, number) -> the profile entry, named from the table.
v1::SyscallEntry SyscallFromKernel(uint32_t arch, uint32_t nr);

// A file opened as the kernel recorded it (path, FG_FILE_* access) -> the profile item.
v1::FileEntry FileFromKernel(const PathText& p, uint32_t access, const v1::Seen& seen);
// Egress by DNS name: a named egress item (the kernel's text of the name; the address reached,
// 4 or 16 bytes, as its evidence) and a query (name and type; NXDOMAIN when an answer said so).
v1::NamedEgress NamedEgressFromKernel(const std::string& name_text, uint8_t proto, uint16_t port,
                                      uint8_t family, const uint8_t* addr, const v1::Seen& seen);
v1::DnsQuery DnsQueryFromKernel(const std::string& name_text, uint16_t qtype, bool nxdomain,
                                const v1::Seen& seen);

// --- Violations --------------------------------------------------------------------------

// enum fg_viol_kind -> "syscall", "exec", "egress", "listen".
// An io_uring opcode's name ("openat"; "op_<n>" past the table) and its profile item.
std::string IoUringOpName(uint32_t opcode);
v1::IoUringOp IoUringFromKernel(uint32_t opcode);

const char* ViolationKindWord(uint8_t kind);
// enum fg_viol_action -> "killed", "denied", "alert", "reported", "failed-open".
const char* ViolationActionWord(uint8_t action);
// A violation record -> the API's Violation: everything but id, function and container,
// which the engine knows from the slot.
v1::Violation ViolationFromKernel(const ViolationEvent& e);

}  // namespace faasguard
