// The all-or-nothing mode switch (core/mode_switch.h) over the in-memory kernel: the inactive
// generation is written, then every slot flips, then the old generation goes; a failure at
// any point leaves every slot as it was.
#include "core/mode_switch.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fakes/fake_kernel_maps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using fakes::FakeKernelMaps;
using ::testing::IsEmpty;

const ModeSettings kLearn{};
const ModeSettings kEnforce{v1::MODE_ENFORCE, v1::SYSCALL_ACTION_KILL,
                            v1::AGENT_ABSENCE_FAIL_CLOSED};
const ModeSettings kMonitor{v1::MODE_MONITOR, v1::SYSCALL_ACTION_ALERT,
                            v1::AGENT_ABSENCE_FAIL_OPEN};

size_t OpIndex(const std::vector<std::string>& ops, const std::string& op) {
  auto it = std::find(ops.begin(), ops.end(), op);
  return it == ops.end() ? std::string::npos : static_cast<size_t>(it - ops.begin());
}

bool SameCfg(const fg_fn_cfg& a, const fg_fn_cfg& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

AllowList Policy(size_t exec_rules, uint8_t flags = 0) {
  AllowList a;
  a.exec.resize(exec_rules);
  a.cfg_flags = flags;
  return a;
}

class ModeSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* c : {"main", "sidecar"}) {
      auto s = slots_.Allocate("ns/fn", c, nullptr, kLearn);
      ASSERT_TRUE(s.ok()) << s.status();
    }
    kernel_.ops.clear();
  }

  std::vector<std::pair<uint32_t, AllowList>> Todo(uint8_t flags = 0) {
    return {{0, Policy(1, flags)}, {1, Policy(2)}};
  }

  FakeKernelMaps kernel_;
  SlotTable slots_{&kernel_, 4};
  ModeSwitch switch_{&kernel_, &slots_};
};

TEST_F(ModeSwitchTest, WritesTheInactiveGenerationThenFlipsThenDropsTheOld) {
  kernel_.policies[{0, 0}] = AllowList{};  // stale: gone after the switch
  ASSERT_TRUE(switch_.ToAllowLists(Todo(FG_CFG_F_EXEC_PREFIX), kLearn, kEnforce).ok());
  for (uint32_t slot : {0u, 1u}) {
    SCOPED_TRACE(slot);
    size_t write = OpIndex(kernel_.ops, absl::StrCat("write ", slot, " 1"));
    size_t flip =
        OpIndex(kernel_.ops, absl::StrCat("cfg ", slot, " mode=", FG_MODE_ENFORCE, " gen=1"));
    size_t drop = OpIndex(kernel_.ops, absl::StrCat("clear ", slot, " 0"));
    ASSERT_NE(write, std::string::npos) << ::testing::PrintToString(kernel_.ops);
    ASSERT_NE(flip, std::string::npos);
    ASSERT_NE(drop, std::string::npos);
    EXPECT_LT(write, flip);
    EXPECT_LT(flip, drop);
    EXPECT_EQ(slots_.Get(slot)->gen, 1);
    EXPECT_EQ(kernel_.policies.count({slot, 0}), 0u);
    EXPECT_EQ(kernel_.policies.count({slot, 1}), 1u);
  }
  // Every slot is written before any flips: a reader never sees one slot new, another stale.
  EXPECT_LT(OpIndex(kernel_.ops, "write 1 1"),
            OpIndex(kernel_.ops, absl::StrCat("cfg 0 mode=", FG_MODE_ENFORCE, " gen=1")));
  EXPECT_EQ(kernel_.fn_cfg[0].flags, FG_CFG_F_EXEC_PREFIX);
  EXPECT_EQ(slots_.Get(0)->cfg_flags, FG_CFG_F_EXEC_PREFIX);
  EXPECT_EQ(kernel_.fn_cfg[1].flags, 0);
  EXPECT_EQ((kernel_.policies[{1, 1}].exec.size()), 2u);
}

TEST_F(ModeSwitchTest, EachSwitchAlternatesTheGeneration) {
  ASSERT_TRUE(switch_.ToAllowLists(Todo(), kLearn, kEnforce).ok());
  ASSERT_TRUE(switch_.ToAllowLists(Todo(), kEnforce, kMonitor).ok());
  EXPECT_EQ(slots_.Get(0)->gen, 0);
  EXPECT_EQ(kernel_.fn_cfg[0].mode, FG_MODE_MONITOR);
  EXPECT_EQ(kernel_.fn_cfg[0].sys_action, FG_SYS_ALERT);
  EXPECT_EQ(kernel_.fn_cfg[0].flags, FG_CFG_F_FAIL_OPEN);
  EXPECT_EQ(kernel_.policies.count({0, 0}), 1u);
  EXPECT_EQ(kernel_.policies.count({0, 1}), 0u);
  ASSERT_TRUE(switch_.ToAllowLists(Todo(), kMonitor, kEnforce).ok());
  EXPECT_EQ(slots_.Get(1)->gen, 1);
  EXPECT_EQ(kernel_.fn_cfg[1].gen, 1);
}

TEST_F(ModeSwitchTest, AFailedWriteChangesNothing) {
  ASSERT_TRUE(switch_.ToAllowLists(Todo(), kLearn, kEnforce).ok());
  const fg_fn_cfg a = kernel_.fn_cfg[0], b = kernel_.fn_cfg[1];
  for (size_t ok_writes : {0u, 1u}) {
    SCOPED_TRACE(ok_writes);
    kernel_.write_error = absl::UnavailableError("injected write failure");
    kernel_.write_error_after = ok_writes;
    absl::Status st = switch_.ToAllowLists(Todo(), kEnforce, kMonitor);
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(SameCfg(kernel_.fn_cfg[0], a));
    EXPECT_TRUE(SameCfg(kernel_.fn_cfg[1], b));
    // The generation in force is intact, the inactive one empty, for both slots.
    EXPECT_EQ(kernel_.policies.count({0, 1}), 1u);
    EXPECT_EQ(kernel_.policies.count({1, 1}), 1u);
    EXPECT_EQ(kernel_.policies.count({0, 0}), 0u);
    EXPECT_EQ(kernel_.policies.count({1, 0}), 0u);
    EXPECT_EQ(slots_.Get(0)->gen, 1);
    EXPECT_EQ(slots_.Get(1)->gen, 1);
  }
}

TEST_F(ModeSwitchTest, AFailedFlipPutsBackTheSlotsAlreadyFlipped) {
  const fg_fn_cfg a = kernel_.fn_cfg[0], b = kernel_.fn_cfg[1];
  kernel_.cfg_error = absl::InternalError("injected config failure");
  kernel_.cfg_error_after = 1;  // the first slot flips, the second does not
  absl::Status st = switch_.ToAllowLists(Todo(), kLearn, kEnforce);
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[0], a));
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[1], b));
  EXPECT_THAT(kernel_.policies, IsEmpty());
  EXPECT_EQ(slots_.Get(0)->gen, 0);
  // The generations are still right: the next switch writes 1 and flips to it.
  ASSERT_TRUE(switch_.ToAllowLists(Todo(), kLearn, kEnforce).ok());
  EXPECT_EQ(kernel_.fn_cfg[0].gen, 1);
  EXPECT_EQ(kernel_.fn_cfg[1].gen, 1);
}

TEST_F(ModeSwitchTest, ToLearnFlipsEverySlotThenDropsTheAllowLists) {
  ASSERT_TRUE(switch_.ToAllowLists(Todo(FG_CFG_F_EXEC_PREFIX), kLearn, kEnforce).ok());
  kernel_.ops.clear();
  ASSERT_TRUE(switch_.ToLearn({0, 1}, kEnforce, kLearn).ok());
  for (uint32_t slot : {0u, 1u}) {
    EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_LEARN);
    EXPECT_EQ(kernel_.fn_cfg[slot].flags, 0);
    EXPECT_EQ(slots_.Get(slot)->cfg_flags, 0);
    EXPECT_LT(OpIndex(kernel_.ops, absl::StrCat("cfg ", slot, " mode=", FG_MODE_LEARN, " gen=1")),
              OpIndex(kernel_.ops, absl::StrCat("clear ", slot, " 1")));
  }
  EXPECT_THAT(kernel_.policies, IsEmpty());
}

TEST_F(ModeSwitchTest, AFailedSwitchToLearnChangesNothing) {
  ASSERT_TRUE(switch_.ToAllowLists(Todo(FG_CFG_F_EXEC_PREFIX), kLearn, kEnforce).ok());
  const fg_fn_cfg a = kernel_.fn_cfg[0], b = kernel_.fn_cfg[1];
  kernel_.cfg_error = absl::InternalError("injected config failure");
  kernel_.cfg_error_after = 1;
  EXPECT_FALSE(switch_.ToLearn({0, 1}, kEnforce, kLearn).ok());
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[0], a)) << "one slot enforced, the other not";
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[1], b));
  EXPECT_EQ(kernel_.policies.size(), 2u);
  EXPECT_EQ(slots_.Get(0)->cfg_flags, FG_CFG_F_EXEC_PREFIX);
}

}  // namespace
}  // namespace faasguard
