// The kernel ABI <-> API conversions of core/abi_codec.h: modes and slot configs, paths and
// their hash, network keys, syscalls and violation records.
#include "core/abi_codec.h"

#include <string>

#include "common/clock.h"
#include "fakes/fake_kernel_maps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syscalls/syscall_table.h"

namespace faasguard {
namespace {

using fakes::MakeNetKey;

// --- Modes -------------------------------------------------------------------------------

TEST(ModeWordTest, WordsAndTheirInverse) {
  EXPECT_EQ(ModeWord(v1::MODE_LEARN), "learn");
  EXPECT_EQ(ModeWord(v1::MODE_MONITOR), "monitor");
  EXPECT_EQ(ModeWord(v1::MODE_ENFORCE), "enforce");
  EXPECT_EQ(ModeWord(v1::MODE_UNSPECIFIED), "learn");
  for (v1::Mode m : {v1::MODE_LEARN, v1::MODE_MONITOR, v1::MODE_ENFORCE})
    EXPECT_EQ(ParseModeWord(ModeWord(m)), m);
  EXPECT_EQ(ParseModeWord("Enforce"), std::nullopt);
  EXPECT_EQ(ParseModeWord(""), std::nullopt);
  EXPECT_EQ(ParseModeWord("off"), std::nullopt);
  EXPECT_EQ(SyscallActionWord(v1::SYSCALL_ACTION_KILL), "kill");
  EXPECT_EQ(SyscallActionWord(v1::SYSCALL_ACTION_ALERT), "alert");
  EXPECT_EQ(AgentAbsenceWord(v1::AGENT_ABSENCE_FAIL_CLOSED), "fail-closed");
  EXPECT_EQ(AgentAbsenceWord(v1::AGENT_ABSENCE_FAIL_OPEN), "fail-open");
}

TEST(ModeTest, KernelModesRoundTrip) {
  for (v1::Mode m : {v1::MODE_LEARN, v1::MODE_MONITOR, v1::MODE_ENFORCE})
    EXPECT_EQ(ModeFromKernel(ModeToKernel(m)), m);
  EXPECT_EQ(ModeToKernel(v1::MODE_UNSPECIFIED), FG_MODE_LEARN);
  EXPECT_EQ(ModeFromKernel(FG_MODE_ENFORCE), v1::MODE_ENFORCE);
  EXPECT_EQ(ModeFromKernel(77), v1::MODE_LEARN);
}

TEST(ModeSettingsTest, OfAndApplyToAProfile) {
  v1::Profile p;
  EXPECT_EQ(ModeSettings::Of(p), ModeSettings{});  // unset: learn, kill, fail closed
  ModeSettings s{v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT, v1::AGENT_ABSENCE_FAIL_OPEN};
  s.ApplyTo(p);
  EXPECT_EQ(p.mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(p.syscall_action(), v1::SYSCALL_ACTION_ALERT);
  EXPECT_EQ(p.when_agent_absent(), v1::AGENT_ABSENCE_FAIL_OPEN);
  EXPECT_EQ(ModeSettings::Of(p), s);
}

TEST(KernelConfigTest, CarriesModeActionGenerationAndFlags) {
  fg_fn_cfg c =
      KernelConfig({v1::MODE_MONITOR, v1::SYSCALL_ACTION_ALERT, v1::AGENT_ABSENCE_FAIL_CLOSED}, 3,
                   FG_CFG_F_EXEC_PREFIX);
  EXPECT_EQ(c.mode, FG_MODE_MONITOR);
  EXPECT_EQ(c.sys_action, FG_SYS_ALERT);
  EXPECT_EQ(c.gen, 1) << "a generation is 0 or 1";
  EXPECT_EQ(c.flags, FG_CFG_F_EXEC_PREFIX);
  c = KernelConfig({v1::MODE_ENFORCE, v1::SYSCALL_ACTION_KILL, v1::AGENT_ABSENCE_FAIL_OPEN}, 0, 0);
  EXPECT_EQ(c.mode, FG_MODE_ENFORCE);
  EXPECT_EQ(c.sys_action, FG_SYS_KILL);
  EXPECT_EQ(c.gen, 0);
  EXPECT_EQ(c.flags, FG_CFG_F_FAIL_OPEN);
}

// --- Items -------------------------------------------------------------------------------

TEST(SeenFromKernelTest, ZeroTimesStayUnset) {
  v1::Seen s = SeenFromKernel(4, 0, 0);
  EXPECT_EQ(s.count(), 4u);
  EXPECT_FALSE(s.has_first_seen());
  EXPECT_FALSE(s.has_last_seen());
  s = SeenFromKernel(1, BootNsNow(), BootNsNow());
  EXPECT_TRUE(s.has_first_seen());
  EXPECT_TRUE(s.has_last_seen());
}

TEST(PathToProfileTest, Kinds) {
  std::string path;
  v1::PathKind kind;
  PathToProfile({"/memfd:x", FG_PATH_F_DETACHED}, &path, &kind);
  EXPECT_EQ(path, "memfd:x");
  EXPECT_EQ(kind, v1::PATH_KIND_ANONYMOUS);
  PathToProfile({"anon_inode:[x]", FG_PATH_F_DETACHED | FG_PATH_F_UNLINKED}, &path, &kind);
  EXPECT_EQ(path, "anon_inode:[x]");
  EXPECT_EQ(kind, v1::PATH_KIND_ANONYMOUS);
  PathToProfile({"/usr/bin/x", FG_PATH_F_UNLINKED}, &path, &kind);
  EXPECT_EQ(path, "/usr/bin/x");
  EXPECT_EQ(kind, v1::PATH_KIND_DELETED);
  PathToProfile({"/usr/bin/x", 0}, &path, &kind);
  EXPECT_EQ(path, "/usr/bin/x");
  EXPECT_EQ(kind, v1::PATH_KIND_FILE);
}

TEST(KernelPathTest, FlagsAndTextAreTheInverseOfPathToProfile) {
  EXPECT_EQ(KernelPathFlags(v1::PATH_KIND_FILE), 0u);
  EXPECT_EQ(KernelPathFlags(v1::PATH_KIND_DELETED), static_cast<uint32_t>(FG_PATH_F_UNLINKED));
  EXPECT_EQ(KernelPathFlags(v1::PATH_KIND_ANONYMOUS),
            static_cast<uint32_t>(FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED));
  EXPECT_EQ(KernelPathFlags(v1::PATH_KIND_TRUNCATED), static_cast<uint32_t>(FG_PATH_F_TRUNCATED));

  EXPECT_EQ(KernelPathText("memfd:x", v1::PATH_KIND_ANONYMOUS), "/memfd:x");
  EXPECT_EQ(KernelPathText("/memfd:x", v1::PATH_KIND_ANONYMOUS), "/memfd:x");
  EXPECT_EQ(KernelPathText("/tmp/gone", v1::PATH_KIND_DELETED), "/tmp/gone");
  EXPECT_EQ(KernelPathText("/usr/bin/x", v1::PATH_KIND_FILE), "/usr/bin/x");
}

// --- PathHash ----------------------------------------------------------------------------

TEST(PathHashTest, EmptyPathIsTheOffsetBasis) {
  EXPECT_EQ(PathHash("", 0, 0), FG_FNV_OFFSET);
  EXPECT_EQ(PathHash("", 0, 0x1234), FG_FNV_OFFSET ^ 0x1234);
}

TEST(PathHashTest, IsFnv1a64) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(PathHash("a", 0, 0), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(PathHash("foobar", 0, 0), 0x85944171f73967e8ULL);
}

TEST(PathHashTest, FlagsChangeTheHash) {
  const uint64_t plain = PathHash("/bin/sh", 0, 7);
  EXPECT_NE(plain, PathHash("/bin/sh", FG_PATH_F_UNLINKED, 7));
  EXPECT_NE(plain, PathHash("/bin/sh", FG_PATH_F_DETACHED, 7));
  EXPECT_NE(PathHash("/bin/sh", FG_PATH_F_UNLINKED, 7), PathHash("/bin/sh", FG_PATH_F_DETACHED, 7));
  EXPECT_NE(PathHash("", FG_PATH_F_DETACHED, 0), FG_FNV_OFFSET);
  // Deterministic.
  EXPECT_EQ(plain, PathHash("/bin/sh", 0, 7));
}

TEST(PathHashTest, SeedsGiveDifferentHashes) {
  EXPECT_NE(PathHash("/bin/sh", 0, 1), PathHash("/bin/sh", 0, 2));
  EXPECT_NE(PathHash("/bin/sh", 0, 0), PathHash("/bin/sh", 0, 0xdeadbeefcafef00dULL));
  EXPECT_NE(PathHash("/bin/sh", 0, 1), PathHash("/bin/bash", 0, 1));
}

TEST(NetKeyToEntryTest, EachKindFeedsItsList) {
  auto e = NetKeyToEntry(MakeNetKey(1, FG_NET_CONNECT, 6, "10.0.0.1", 443));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "egress");
  EXPECT_EQ(e->second.protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(e->second.address(), "10.0.0.1");
  EXPECT_EQ(e->second.port(), 443u);
  e = NetKeyToEntry(MakeNetKey(1, FG_NET_SEND, 17, "2001:db8::1", 53));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "egress");
  EXPECT_EQ(e->second.address(), "2001:db8::1");
  e = NetKeyToEntry(MakeNetKey(1, FG_NET_LISTEN, 6, "", 8080));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "listen");
  EXPECT_EQ(e->second.address(), "");
  e = NetKeyToEntry(MakeNetKey(1, FG_NET_BIND, 17, "", 5353));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "listen");
  e = NetKeyToEntry(MakeNetKey(1, FG_NET_ACCEPT, 6, "10.0.0.9", 8080));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "ingress");
  EXPECT_EQ(e->second.address(), "10.0.0.9");
  // Nothing to learn: an ephemeral bind, an unknown protocol or kind.
  EXPECT_FALSE(NetKeyToEntry(MakeNetKey(1, FG_NET_BIND, 6, "", 0)).has_value());
  EXPECT_FALSE(NetKeyToEntry(MakeNetKey(1, FG_NET_CONNECT, 0, "10.0.0.1", 1)).has_value());
  EXPECT_FALSE(NetKeyToEntry(MakeNetKey(1, FG_NET_CONNECT, 250, "10.0.0.1", 1)).has_value());
  EXPECT_FALSE(NetKeyToEntry(MakeNetKey(1, 99, 6, "10.0.0.1", 1)).has_value());
}

TEST(SyscallFromKernelTest, NamedFromTheTable) {
  uint32_t openat = SyscallNumber(SyscallArch::kNative, "openat").value_or(0);
  v1::SyscallEntry e = SyscallFromKernel(FG_ARCH_NATIVE, openat);
  EXPECT_EQ(e.name(), "openat");
  EXPECT_EQ(e.arch(), ArchName(SyscallArch::kNative));
  EXPECT_EQ(e.nr(), openat);
  EXPECT_EQ(SyscallFromKernel(FG_ARCH_COMPAT, 1).arch(), ArchName(SyscallArch::kCompat));
}

// --- Violations --------------------------------------------------------------------------

TEST(ViolationWordsTest, KindsAndActions) {
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_SYSCALL), "syscall");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_EXEC), "exec");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_CONNECT), "egress");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_SEND), "egress");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_BIND), "listen");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_LISTEN), "listen");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_IOURING), "io_uring");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_DNS_QUERY), "dns");
  EXPECT_STREQ(ViolationKindWord(FG_VIOL_FILE), "file");
  EXPECT_STREQ(ViolationKindWord(200), "other");
  EXPECT_STREQ(ViolationActionWord(FG_ACT_KILLED), "killed");
  EXPECT_STREQ(ViolationActionWord(FG_ACT_DENIED), "denied");
  EXPECT_STREQ(ViolationActionWord(FG_ACT_ALERT), "alert");
  EXPECT_STREQ(ViolationActionWord(FG_ACT_FAILED_OPEN), "failed-open");
  EXPECT_STREQ(ViolationActionWord(FG_ACT_REPORTED), "reported");
}

TEST(ViolationFromKernelTest, TheRecordBecomesAViolationWithItsProfileItem) {
  ViolationEvent e;
  e.hdr.cgroup_id = 42;
  e.hdr.pid = 7;
  e.hdr.ts_ns = BootNsNow();
  e.kind = FG_VIOL_CONNECT;
  e.action = FG_ACT_DENIED;
  e.mode = FG_MODE_ENFORCE;
  e.uid = 1000;
  e.comm = "curl";
  e.bin = {"/usr/bin/curl", 0, 0};
  e.parent = {"/bin/sh", 0, 0};
  e.net = MakeNetKey(3, FG_NET_CONNECT, 6, "2001:db8::1", 443);
  v1::Violation v = ViolationFromKernel(e);
  EXPECT_EQ(v.id(), 0u) << "ids are the engine's";
  EXPECT_FALSE(v.has_function());
  EXPECT_EQ(v.cgroup_id(), 42u);
  EXPECT_EQ(v.pid(), 7u);
  EXPECT_EQ(v.uid(), 1000u);
  EXPECT_EQ(v.comm(), "curl");
  EXPECT_EQ(v.binary(), "/usr/bin/curl");
  EXPECT_EQ(v.parent(), "/bin/sh");
  EXPECT_EQ(v.kind(), "egress");
  EXPECT_EQ(v.action(), "denied");
  EXPECT_EQ(v.mode(), v1::MODE_ENFORCE);
  EXPECT_TRUE(v.has_time());
  EXPECT_EQ(v.attempted(), "tcp [2001:db8::1]:443");
  ASSERT_TRUE(v.has_egress());
  EXPECT_EQ(v.egress().port(), 443u);

  e.kind = FG_VIOL_EXEC;
  e.bin = {"/memfd:x", FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED, 0};
  e.exec_flags = FG_EXEC_F_SCRIPT;
  e.script = "./run.sh";
  v = ViolationFromKernel(e);
  ASSERT_TRUE(v.has_exec());
  EXPECT_EQ(v.exec().path(), "memfd:x");
  EXPECT_EQ(v.exec().kind(), v1::PATH_KIND_ANONYMOUS);
  EXPECT_EQ(v.exec().parent(), "/bin/sh");
  EXPECT_EQ(v.attempted(), "memfd:x (script ./run.sh)");

  e.kind = FG_VIOL_SYSCALL;
  e.nr = FG_SYS_MAX + 1;  // outside the table: no profile item can allow it
  v = ViolationFromKernel(e);
  EXPECT_EQ(v.kind(), "syscall");
  EXPECT_FALSE(v.has_syscall());
  EXPECT_EQ(v.item_case(), v1::Violation::ITEM_NOT_SET);
}

}  // namespace
}  // namespace faasguard
