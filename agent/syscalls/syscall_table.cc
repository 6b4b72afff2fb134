#include "syscalls/syscall_table.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"

namespace faasguard {
namespace {

struct Row {
  uint32_t arch;
  uint32_t nr;
  const char* name;
};

#define FG_SYSCALL(a, n, s) {a, n, s},
constexpr Row kRows[] = {
#include "syscall_names.inc"
};
#undef FG_SYSCALL

struct Table {
  std::vector<std::string> names[2];
  std::unordered_map<std::string, uint32_t> numbers[2];
};

const Table& GetTable() {
  static const Table* t = [] {
    auto* t = new Table;
    for (const Row& r : kRows) {
      auto& v = t->names[r.arch];
      if (v.size() <= r.nr) v.resize(r.nr + 1);
      v[r.nr] = r.name;
      t->numbers[r.arch].emplace(r.name, r.nr);
    }
    return t;
  }();
  return *t;
}

}  // namespace

absl::string_view ArchName(SyscallArch arch) {
  return arch == SyscallArch::kCompat ? FG_ARCH_COMPAT_NAME : FG_ARCH_NATIVE_NAME;
}

std::optional<SyscallArch> ParseArch(absl::string_view name) {
  if (name == FG_ARCH_NATIVE_NAME || name.empty()) return SyscallArch::kNative;
  if (name == FG_ARCH_COMPAT_NAME) return SyscallArch::kCompat;
  return std::nullopt;
}

std::string SyscallName(SyscallArch arch, uint32_t nr) {
  const auto& v = GetTable().names[static_cast<uint32_t>(arch) & 1];
  if (nr < v.size() && !v[nr].empty()) return v[nr];
  return absl::StrCat("syscall_", nr);
}

std::optional<uint32_t> SyscallNumber(SyscallArch arch, absl::string_view name) {
  const auto& m = GetTable().numbers[static_cast<uint32_t>(arch) & 1];
  auto it = m.find(std::string(name));
  if (it != m.end()) return it->second;
  // Only the canonical "syscall_<decimal>" this table writes (no sign, spaces or leading 0s),
  // so one syscall has one spelling.
  constexpr absl::string_view kPrefix = "syscall_";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  absl::string_view digits = name.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0'))
    return std::nullopt;
  uint32_t nr = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return std::nullopt;
    nr = nr * 10 + static_cast<uint32_t>(ch - '0');
  }
  return nr;
}

size_t SyscallTableSize(SyscallArch arch) {
  return GetTable().numbers[static_cast<uint32_t>(arch) & 1].size();
}

}  // namespace faasguard
