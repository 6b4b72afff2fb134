// The slot table (core/slot_table.h) over the in-memory kernel of tests/fakes: slots are
// allocated clean, rest after use, and the tracked cgroups stay in step with fg_tracked.
#include "core/slot_table.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fakes/fake_kernel_maps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using fakes::FakeKernelMaps;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

size_t OpIndex(const std::vector<std::string>& ops, const std::string& op) {
  auto it = std::find(ops.begin(), ops.end(), op);
  return it == ops.end() ? std::string::npos : static_cast<size_t>(it - ops.begin());
}

const ModeSettings kLearn{};
const ModeSettings kEnforce{v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT,
                            v1::AGENT_ABSENCE_FAIL_OPEN};

TEST(SlotTableTest, AllocateStartsCleanAndRecordsTheOwner) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 4);
  kernel.State(0).execs = 99;  // a previous owner's leftovers
  auto a = t.Allocate("ns/fn", "main", nullptr, kLearn);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, 0u);
  EXPECT_THAT(kernel.resets, ElementsAre(0u));
  EXPECT_EQ(kernel.State(0).execs, 0u);
  EXPECT_EQ(kernel.fn_cfg[0].mode, FG_MODE_LEARN);
  EXPECT_THAT(kernel.policies, IsEmpty());
  const SlotTable::Slot* s = t.Get(0);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->function, "ns/fn");
  EXPECT_EQ(s->container, "main");
  EXPECT_EQ(s->gen, 0);
  EXPECT_EQ(s->cfg_flags, 0);
  auto b = t.Allocate("ns/fn", "sidecar", nullptr, kLearn);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 1u) << "a taken slot is not given again";
  EXPECT_EQ(t.Get(4), nullptr);
}

TEST(SlotTableTest, AnAllowListIsWrittenBeforeTheConfig) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 4);
  AllowList policy;
  policy.cfg_flags = FG_CFG_F_EXEC_PREFIX;
  auto a = t.Allocate("ns/fn", "main", &policy, kEnforce);
  ASSERT_TRUE(a.ok()) << a.status();
  size_t reset = OpIndex(kernel.ops, "reset 0");
  size_t write = OpIndex(kernel.ops, "write 0 0");
  size_t cfg = OpIndex(kernel.ops, absl::StrCat("cfg 0 mode=", FG_MODE_ENFORCE, " gen=0"));
  ASSERT_NE(write, std::string::npos) << ::testing::PrintToString(kernel.ops);
  ASSERT_NE(cfg, std::string::npos) << ::testing::PrintToString(kernel.ops);
  EXPECT_LT(reset, write);
  EXPECT_LT(write, cfg);
  EXPECT_EQ(kernel.fn_cfg[0].sys_action, FG_SYS_ALERT);
  EXPECT_EQ(kernel.fn_cfg[0].flags, FG_CFG_F_EXEC_PREFIX | FG_CFG_F_FAIL_OPEN);
  EXPECT_EQ(t.Get(0)->cfg_flags, FG_CFG_F_EXEC_PREFIX) << "fail-open is the function's";
}

TEST(SlotTableTest, AFailedAllocationLeavesTheSlotFree) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 2);
  kernel.write_error = absl::ResourceExhaustedError("fg_exec_allow is full");
  AllowList policy;
  auto a = t.Allocate("ns/fn", "main", &policy, kEnforce);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(t.Get(0)->function.empty());
  kernel.write_error = absl::OkStatus();
  auto b = t.Allocate("ns/fn", "main", &policy, kEnforce);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 0u);
}

TEST(SlotTableTest, SlotsRunOut) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 2);
  ASSERT_TRUE(t.Allocate("ns/a", "main", nullptr, kLearn).ok());
  ASSERT_TRUE(t.Allocate("ns/b", "main", nullptr, kLearn).ok());
  auto c = t.Allocate("ns/c", "main", nullptr, kLearn);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("all 2 function slots"));
}

TEST(SlotTableTest, AFreedSlotRestsAReleasedOneDoesNot) {
  FakeKernelMaps kernel;
  SlotTable resting(&kernel, 1, absl::Hours(1));
  ASSERT_TRUE(resting.Allocate("ns/a", "main", nullptr, kLearn).ok());
  resting.Release(0);
  ASSERT_TRUE(resting.Allocate("ns/b", "main", nullptr, kLearn).ok()) << "released: free at once";
  kernel.resets.clear();
  resting.Free(0);
  EXPECT_THAT(kernel.resets, ElementsAre(0u)) << "a freed slot's kernel state goes";
  EXPECT_TRUE(resting.Get(0)->function.empty());
  EXPECT_FALSE(resting.Allocate("ns/c", "main", nullptr, kLearn).ok()) << "still resting";

  SlotTable rested(&kernel, 1, absl::ZeroDuration());
  ASSERT_TRUE(rested.Allocate("ns/a", "main", nullptr, kLearn).ok());
  rested.Free(0);
  EXPECT_TRUE(rested.Allocate("ns/c", "main", nullptr, kLearn).ok());
}

TEST(SlotTableTest, TrackRetargetUntrackKeepTheKernelInStep) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 4);
  ASSERT_TRUE(t.Allocate("ns/fn", "*", nullptr, kLearn).ok());
  ASSERT_TRUE(t.Allocate("ns/fn", "main", nullptr, kLearn).ok());
  ASSERT_TRUE(t.Track(10, 0, "/cg/pod", FG_CG_F_POD).ok());
  t.Adopt(11, 0, "/cg/pod/c1");  // inherited in the kernel at mkdir
  kernel.tracked[11] = 0;
  kernel.tracked_flags[11] = FG_CG_F_INHERITED | FG_CG_F_PENDING;
  EXPECT_EQ(t.tracked(), 2u);
  EXPECT_EQ(t.SlotOf(11), 0u);
  EXPECT_EQ(t.CgroupAt("/cg/pod/c1"), 11u);
  EXPECT_EQ(t.PathOf(10), "/cg/pod");
  EXPECT_EQ(kernel.tracked_flags[10], static_cast<uint32_t>(FG_CG_F_POD));

  // Named: it moves to its container's slot, with its kernel flags.
  ASSERT_TRUE(t.Retarget(11, 1, "/cg/pod/c1").ok());
  EXPECT_EQ(kernel.tracked[11], 1u);
  EXPECT_EQ(kernel.tracked_flags[11], static_cast<uint32_t>(FG_CG_F_INHERITED | FG_CG_F_PENDING));
  EXPECT_THAT(t.Get(0)->cgroups, ElementsAre(Pair(10u, "/cg/pod")));
  EXPECT_THAT(t.Get(1)->cgroups, ElementsAre(Pair(11u, "/cg/pod/c1")));
  EXPECT_THAT(t.Cgroups(), UnorderedElementsAre(Pair(10u, "/cg/pod"), Pair(11u, "/cg/pod/c1")));

  ASSERT_TRUE(t.Untrack(11).ok());
  EXPECT_EQ(kernel.tracked.count(11), 0u);
  EXPECT_EQ(t.SlotOf(11), std::nullopt);
  EXPECT_THAT(t.Get(1)->cgroups, IsEmpty());
  EXPECT_EQ(t.Untrack(11).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(t.CgroupAt("/cg/pod/c1"), std::nullopt);
  EXPECT_EQ(t.tracked(), 1u);
}

TEST(SlotTableTest, AFailedTrackLeavesNoRecord) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 2);
  ASSERT_TRUE(t.Allocate("ns/fn", "main", nullptr, kLearn).ok());
  kernel.track_error = absl::ResourceExhaustedError("fg_tracked is full");
  EXPECT_FALSE(t.Track(10, 0, "/cg/a", 0).ok());
  EXPECT_EQ(t.tracked(), 0u);
  EXPECT_EQ(t.SlotOf(10), std::nullopt);
  EXPECT_FALSE(t.Track(10, 7, "/cg/a", 0).ok()) << "no such slot";
}

TEST(SlotTableTest, ClaimAndGenerations) {
  FakeKernelMaps kernel;
  SlotTable t(&kernel, 4);
  EXPECT_TRUE(t.Claim(2, "ns/fn", "main", 3, FG_CFG_F_EXEC_PREFIX));
  EXPECT_FALSE(t.Claim(2, "ns/other", "main", 0, 0)) << "taken";
  EXPECT_FALSE(t.Claim(4, "ns/other", "main", 0, 0)) << "out of range";
  EXPECT_EQ(t.Get(2)->gen, 1);
  EXPECT_EQ(t.Get(2)->cfg_flags, FG_CFG_F_EXEC_PREFIX);
  EXPECT_THAT(kernel.ops, IsEmpty()) << "claiming touches nothing in the kernel";
  t.SetGeneration(2, 0, 0);
  EXPECT_EQ(t.Get(2)->gen, 0);
  EXPECT_EQ(t.Get(2)->cfg_flags, 0);
  // Whatever the kernel tracks for a slot the table does not serve can be dropped.
  kernel.tracked[77] = 3;
  ASSERT_TRUE(t.DropKernelEntry(77).ok());
  EXPECT_EQ(kernel.tracked.count(77), 0u);
}

}  // namespace
}  // namespace faasguard
