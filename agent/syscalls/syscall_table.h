// Syscall numbers <-> names for this architecture (native and, on x86_64, ia32 compat).
// The table is generated at build time from the kernel UAPI headers (cmake/syscalls.cmake).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace faasguard {

enum class SyscallArch : uint32_t { kNative = 0, kCompat = 1 };  // == enum fg_arch

// "x86_64" / "i386" (or "aarch64" / "arm").
absl::string_view ArchName(SyscallArch arch);
std::optional<SyscallArch> ParseArch(absl::string_view name);

// The syscall's name, or "syscall_<nr>" when the table has none.
std::string SyscallName(SyscallArch arch, uint32_t nr);

// The number of a syscall name (also accepts "syscall_<nr>").
std::optional<uint32_t> SyscallNumber(SyscallArch arch, absl::string_view name);

// How many names the table holds for an architecture.
size_t SyscallTableSize(SyscallArch arch);

}  // namespace faasguard
