// The kernel-state record (core/kernel_state.h): folded counts survive the round trip, a
// malformed entry is skipped, and the file is written only when it changed.
#include "core/kernel_state.h"

#include <unistd.h>

#include <string>

#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

FoldBase Sample() {
  FoldBase b;
  b.execs = 9;
  b.forks = 4;
  b.exits = 3;
  b.sys.sys[0] = 0x5;
  b.sys.sys_compat[FG_SYS_WORDS - 1] = 1ull << 63;
  b.exec[{1, 2, 0}] = 8;
  b.exec[{1, 3, 7}] = 1;
  NetKeyBytes k{};
  k[0] = 42;
  b.net[k] = 6;
  return b;
}

TEST(KernelStateRecordTest, FoldBaseRoundTrip) {
  v1::SlotState ss;
  RecordFoldBase(Sample(), &ss);
  FoldBase back = FoldBaseFromRecord(ss);
  FoldBase want = Sample();
  EXPECT_EQ(back.execs, want.execs);
  EXPECT_EQ(back.forks, want.forks);
  EXPECT_EQ(back.exits, want.exits);
  EXPECT_EQ(back.sys.sys[0], want.sys.sys[0]);
  EXPECT_EQ(back.sys.sys_compat[FG_SYS_WORDS - 1], want.sys.sys_compat[FG_SYS_WORDS - 1]);
  EXPECT_EQ(back.exec, want.exec);
  EXPECT_EQ(back.net, want.net);
}

TEST(KernelStateRecordTest, MalformedEntriesAreSkipped) {
  v1::SlotState ss;
  RecordFoldBase(Sample(), &ss);
  ss.add_net_base()->set_key("short");                  // not an fg_net_key
  for (int i = 0; i < 10; ++i) ss.add_sys_base(~0ull);  // more words than the kernel has
  FoldBase back = FoldBaseFromRecord(ss);
  EXPECT_EQ(back.net.size(), 1u);
  EXPECT_EQ(back.sys.sys[0], 0x5u);
}

TEST(KernelStateRecordTest, WrittenOnlyWhenItChanged) {
  TempDir dir;
  const std::string path = dir.path() + "/kernel-state.pb";
  KernelStateRecord r(path);
  ASSERT_TRUE(r.enabled());
  v1::KernelState st;
  st.set_abi_version(FG_ABI_VERSION);
  st.add_slots()->set_slot(3);
  ASSERT_TRUE(r.Write(st).ok());
  auto bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  v1::KernelState back;
  ASSERT_TRUE(back.ParseFromString(*bytes));
  EXPECT_EQ(back.slots(0).slot(), 3u);

  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_TRUE(r.Write(st).ok());
  EXPECT_FALSE(ReadFile(path).ok()) << "the same record is not written again";
  r.Reset();
  ASSERT_TRUE(r.Write(st).ok());
  EXPECT_TRUE(ReadFile(path).ok()) << "after Reset it is";

  KernelStateRecord nowhere("");
  EXPECT_FALSE(nowhere.enabled());
  EXPECT_TRUE(nowhere.Write(st).ok());
  KernelStateRecord bad(dir.path() + "/no/such/dir/kernel-state.pb");
  EXPECT_FALSE(bad.Write(st).ok());
}

}  // namespace
}  // namespace faasguard
