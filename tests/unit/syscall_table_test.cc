// The generated syscall table: numbers <-> names for the native and compat ABIs.
#include "syscalls/syscall_table.h"

#include <string>

#include "abi/fg_abi.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

constexpr SyscallArch kNative = SyscallArch::kNative;
constexpr SyscallArch kCompat = SyscallArch::kCompat;

#if defined(__x86_64__)

TEST(SyscallTableTest, X86_64NativeNumbers) {
  EXPECT_EQ(SyscallName(kNative, 0), "read");
  EXPECT_EQ(SyscallName(kNative, 59), "execve");
  EXPECT_EQ(SyscallName(kNative, 110), "getppid");
  EXPECT_EQ(SyscallName(kNative, 257), "openat");
  EXPECT_EQ(SyscallNumber(kNative, "read"), 0u);
  EXPECT_EQ(SyscallNumber(kNative, "execve"), 59u);
  EXPECT_EQ(SyscallNumber(kNative, "getppid"), 110u);
  EXPECT_EQ(SyscallNumber(kNative, "openat"), 257u);
}

TEST(SyscallTableTest, I386CompatNumbers) {
  EXPECT_EQ(SyscallName(kCompat, 11), "execve");
  EXPECT_EQ(SyscallName(kCompat, 64), "getppid");
  EXPECT_EQ(SyscallNumber(kCompat, "execve"), 11u);
  EXPECT_EQ(SyscallNumber(kCompat, "getppid"), 64u);
  EXPECT_GT(SyscallTableSize(kCompat), 300u);
}

TEST(SyscallTableTest, ArchNames) {
  EXPECT_EQ(ArchName(kNative), "x86_64");
  EXPECT_EQ(ArchName(kCompat), "i386");
  EXPECT_EQ(ParseArch("x86_64"), kNative);
  EXPECT_EQ(ParseArch("i386"), kCompat);
}

#elif defined(__aarch64__)

TEST(SyscallTableTest, Aarch64NativeNumbers) {
  EXPECT_EQ(SyscallName(kNative, 63), "read");
  EXPECT_EQ(SyscallName(kNative, 221), "execve");
  EXPECT_EQ(SyscallName(kNative, 173), "getppid");
  EXPECT_EQ(SyscallName(kNative, 56), "openat");
  EXPECT_EQ(SyscallNumber(kNative, "openat"), 56u);
}

TEST(SyscallTableTest, ArchNames) {
  EXPECT_EQ(ArchName(kNative), "aarch64");
  EXPECT_EQ(ParseArch("aarch64"), kNative);
}

#else
#error "syscall_table_test knows the numbers of x86_64 and aarch64 only"
#endif

TEST(SyscallTableTest, UnknownArch) {
  EXPECT_EQ(ParseArch("bogus"), std::nullopt);
  EXPECT_EQ(ParseArch("X86_64"), std::nullopt);
  EXPECT_EQ(ParseArch(ArchName(kNative)), kNative);
}

TEST(SyscallTableTest, NativeTableIsComplete) { EXPECT_GT(SyscallTableSize(kNative), 300u); }

// Every number the kernel side can report has a name that maps back to it, whether the
// table knows it or not.
TEST(SyscallTableTest, NameNumberRoundTrip) {
  for (SyscallArch arch : {kNative, kCompat}) {
    size_t named = 0;
    for (uint32_t nr = 0; nr < FG_SYS_MAX; ++nr) {
      std::string name = SyscallName(arch, nr);
      ASSERT_FALSE(name.empty()) << nr;
      if (!absl::StartsWith(name, "syscall_")) ++named;
      EXPECT_EQ(SyscallNumber(arch, name), nr) << ArchName(arch) << " " << name;
    }
    if (arch == kNative) {
      EXPECT_GT(named, 300u);
    }
  }
}

TEST(SyscallTableTest, UnknownNumbersAreNumbered) {
  EXPECT_EQ(SyscallName(kNative, 999), "syscall_999");
  EXPECT_EQ(SyscallName(kNative, FG_SYS_MAX + 1000), absl::StrCat("syscall_", FG_SYS_MAX + 1000));
  EXPECT_EQ(SyscallNumber(kNative, "syscall_999"), 999u);
  EXPECT_EQ(SyscallNumber(kCompat, "syscall_999"), 999u);
}

TEST(SyscallTableTest, UnknownNamesHaveNoNumber) {
  for (const char* bad : {"", "frobnicate", "syscall_", "syscall_abc", "syscall_-1",
                          "syscall_99999999999", "READ", "read "}) {
    EXPECT_EQ(SyscallNumber(kNative, bad), std::nullopt) << "\"" << bad << "\"";
  }
}

// "syscall_<nr>" is accepted in its canonical form only (the one SyscallName writes), so a
// profile cannot hold the same syscall under several spellings.
TEST(SyscallTableTest, NumberedNamesMustBeCanonical) {
  for (const char* bad : {"syscall_+5", "syscall_ 5", "syscall_5 ", "syscall_05", "syscall_5\n"}) {
    EXPECT_EQ(SyscallNumber(kNative, bad), std::nullopt) << "\"" << bad << "\"";
  }
  EXPECT_EQ(SyscallNumber(kNative, "syscall_0"), 0u);  // an alias of a named number is fine
}

}  // namespace
}  // namespace faasguard
