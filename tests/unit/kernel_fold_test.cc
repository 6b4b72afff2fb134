// Folding kernel running totals into profile items (core/kernel_fold.h): nothing is counted
// twice, a reset slot starts again from zero, and path texts come from events or the kernel.
#include "core/kernel_fold.h"

#include <string>
#include <utility>
#include <vector>

#include "fakes/fake_kernel_maps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

TEST(FoldCountTest, OnlyGrowthAndNeverFoldedItemsAreDue) {
  EXPECT_EQ(Delta(10, 4), 6u);
  EXPECT_EQ(Delta(3, 8), 3u) << "below its base: the slot was reset, all of it is new";
  CountFold c = FoldCount(0, 0);
  EXPECT_TRUE(c.due) << "an item never folded is folded, even without a count";
  EXPECT_EQ(c.delta, 0u);
  c = FoldCount(5, 5);
  EXPECT_FALSE(c.due);
  c = FoldCount(7, 5);
  EXPECT_TRUE(c.due);
  EXPECT_EQ(c.delta, 2u);
}

TEST(FoldSyscallsTest, NewBitsOnceNativeFirst) {
  fg_fn_state st{};
  FoldBase base;
  st.sys[0] = (1ull << 0) | (1ull << 63);
  st.sys[2] = 1ull << 1;  // 129
  st.sys_compat[0] = 1ull << 5;
  EXPECT_THAT(FoldSyscalls(st, base),
              ElementsAre(Pair(FG_ARCH_NATIVE, 0u), Pair(FG_ARCH_NATIVE, 63u),
                          Pair(FG_ARCH_NATIVE, 129u), Pair(FG_ARCH_COMPAT, 5u)));
  EXPECT_THAT(FoldSyscalls(st, base), IsEmpty()) << "folded once";
  st.sys[0] |= 1ull << 2;
  EXPECT_THAT(FoldSyscalls(st, base), ElementsAre(Pair(FG_ARCH_NATIVE, 2u)));
  // The kernel's bits stay set; what the base remembers is folded even if the profile lost it.
  EXPECT_EQ(base.sys.sys[0], (1ull << 0) | (1ull << 2) | (1ull << 63));
}

TEST(FoldCountersTest, GrowthSinceTheLastFold) {
  fg_fn_state st{};
  FoldBase base;
  st.execs = 5;
  st.forks = 2;
  v1::Counters d = FoldCounters(st, base);
  EXPECT_EQ(d.execs(), 5u);
  EXPECT_EQ(d.forks(), 2u);
  EXPECT_EQ(d.exits(), 0u);
  st.execs = 8;
  d = FoldCounters(st, base);
  EXPECT_EQ(d.execs(), 3u);
  EXPECT_EQ(d.forks(), 0u);
  st.execs = 1;  // reset slot
  EXPECT_EQ(FoldCounters(st, base).execs(), 1u);
}

TEST(ExecItemTest, PathsKindsAndFirstSightingDetails) {
  v1::Seen seen;
  seen.set_count(2);
  v1::ExecEntry e = ExecItem({"/usr/bin/python3", 0}, {"/tmp/gone", FG_PATH_F_UNLINKED}, "./app.py",
                             seen, nullptr);
  EXPECT_EQ(e.path(), "/usr/bin/python3");
  EXPECT_EQ(e.kind(), v1::PATH_KIND_FILE);
  EXPECT_EQ(e.parent(), "/tmp/gone");
  EXPECT_EQ(e.parent_kind(), v1::PATH_KIND_DELETED);
  EXPECT_EQ(e.script(), "./app.py");
  EXPECT_EQ(e.seen().count(), 2u);
  EXPECT_THAT(e.uids(), IsEmpty());
  ExecEvent ev;
  ev.uid = 1000;
  ev.args = {"python3", "-c", "x"};
  e = ExecItem({"/memfd:x", FG_PATH_F_DETACHED}, {"/bin/sh", 0}, "", seen, &ev);
  EXPECT_EQ(e.path(), "memfd:x");
  EXPECT_EQ(e.kind(), v1::PATH_KIND_ANONYMOUS);
  EXPECT_THAT(e.uids(), ElementsAre(1000u));
  EXPECT_THAT(e.sample_args(), ElementsAre("python3", "-c", "x"));
}

TEST(PathNamesTest, EventsFirstThenTheKernelOnce) {
  fakes::FakeKernelMaps kernel;
  PathNames names(&kernel);
  names.Remember(1, {"/bin/sh", 0});
  EXPECT_EQ(names.Resolve(1)->path, "/bin/sh");
  EXPECT_EQ(kernel.path_lookups, 0u);
  kernel.SetPath(2, "/usr/bin/curl");
  EXPECT_EQ(names.Resolve(2)->path, "/usr/bin/curl");
  EXPECT_EQ(names.Resolve(2)->path, "/usr/bin/curl");
  EXPECT_EQ(kernel.path_lookups, 1u) << "remembered after the first lookup";
  EXPECT_FALSE(names.Resolve(3).has_value());
  EXPECT_TRUE(names.NoteUnresolved({1, 3, 0}));
  EXPECT_FALSE(names.NoteUnresolved({1, 3, 0})) << "counted once";
}

}  // namespace
}  // namespace faasguard
