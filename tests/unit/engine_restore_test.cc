// An engine that takes over pinned kernel state after a restart (RestoreKernelState;
// fixture: engine_fixture.h): slots, cgroups and what was learned in the gap.
#include "unit/engine_fixture.h"

namespace faasguard::engine_test {
namespace {

// --- Restart over pinned maps (RestoreKernelState) -----------------------------------------

class RestoreTest : public EnforceTest {
 protected:
  Engine::Options PinnedOptions() {
    Engine::Options o = Options();
    o.kernel_state_path = dir_.path() + "/kernel-state.pb";
    return o;
  }
  // The record the running engine left, as the next agent reads it.
  v1::KernelState Record() {
    v1::KernelState st;
    auto bytes = ReadFile(dir_.path() + "/kernel-state.pb");
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_TRUE(bytes.ok() && st.ParseFromString(*bytes));
    return st;
  }
  // A new engine over the same kernel maps (the old one was SIGKILLed: nothing of it runs).
  Engine::RestoreReport Restart(const v1::KernelState& record, std::set<uint64_t> alive = {}) {
    engine_.reset();  // the engine never cleans the kernel up: as good as a SIGKILL here
    Start(PinnedOptions());
    return engine_->RestoreKernelState(record, [alive](uint64_t id) -> std::optional<std::string> {
      if (!alive.empty() && !alive.count(id)) return std::nullopt;
      return "/sys/fs/cgroup/test/" + std::to_string(id);
    });
  }
};

TEST_F(RestoreTest, TakesOverSlotsCgroupsAndTheGapsLearning) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  kernel_.SetPath(PathHash("/usr/bin/curl", 0, kSeed), "/usr/bin/curl");
  kernel_.SetPath(PathHash("/bin/sh", 0, kSeed), "/bin/sh");
  kernel_.SetExec(slot, PathHash("/bin/sh", 0, kSeed), PathHash("/usr/bin/curl", 0, kSeed), 5);
  kernel_.State(slot).execs = 5;
  engine_->SyncFromKernel();
  engine_->SaveDirty();
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  engine_->SaveDirty();
  const fg_fn_cfg in_force = kernel_.fn_cfg[slot];
  v1::KernelState record = Record();
  ASSERT_EQ(record.slots_size(), 1);
  EXPECT_EQ(record.hash_seed(), kSeed);

  // While no agent runs: 3 more of the known exec, a new exec, and a cgroup made under the
  // tracked one (inherited by the kernel at mkdir).
  kernel_.SetExec(slot, PathHash("/bin/sh", 0, kSeed), PathHash("/usr/bin/curl", 0, kSeed), 8);
  kernel_.SetPath(PathHash("/usr/bin/wget", 0, kSeed), "/usr/bin/wget");
  kernel_.SetExec(slot, PathHash("/bin/sh", 0, kSeed), PathHash("/usr/bin/wget", 0, kSeed), 1);
  kernel_.State(slot).execs = 9;
  kernel_.tracked[kCgroup + 1] = slot;
  kernel_.ops.clear();

  Engine::RestoreReport r = Restart(record);
  EXPECT_EQ(r.slots, 1u);
  EXPECT_EQ(r.cgroups, 2u);
  EXPECT_EQ(r.dropped, 0u);
  EXPECT_EQ(r.modes_reapplied, 0u);
  // The allow-list in force was left alone: no reset, no rewrite, no flip.
  EXPECT_TRUE(SameCfg(kernel_.fn_cfg[slot], in_force));
  EXPECT_THAT(kernel_.ops, IsEmpty());
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  // Counted once: 5 before the kill, 3 + 1 in the gap.
  v1::ContainerProfile c = Section();
  ASSERT_EQ(c.execs_size(), 2);
  uint64_t curl = 0, wget = 0;
  for (const auto& e : c.execs()) (e.path() == "/usr/bin/curl" ? curl : wget) = e.seen().count();
  EXPECT_EQ(curl, 8u);
  EXPECT_EQ(wget, 1u);
  EXPECT_EQ(c.counters().execs(), 9u);
  auto fn = engine_->GetFunction(Fn("fn"));
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->replicas(), 2u);
  // The same cgroup registered again (the tracker's resync, faasguardctl) is nothing new...
  auto again = engine_->RegisterCgroup(Fn("fn"), "main", kCgroup, "/sys/fs/cgroup/test/1001");
  EXPECT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(kernel_.tracked[kCgroup], slot);
  // ...and the new engine drives the slot: back to learn flips it.
  ASSERT_TRUE(SetMode(v1::MODE_LEARN).ok());
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_LEARN);
}

TEST_F(RestoreTest, CgroupsOfUnknownSlotsOrGoneAreDropped) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  v1::KernelState record = Record();
  kernel_.tracked[kCgroup + 1] = slot;  // gone by the time the agent is back
  kernel_.tracked[kCgroup + 2] = 7;     // a slot the record does not know
  Engine::RestoreReport r = Restart(record, {kCgroup});
  EXPECT_EQ(r.cgroups, 1u);
  EXPECT_EQ(r.dropped, 2u);
  EXPECT_EQ(kernel_.tracked.size(), 1u);
  EXPECT_EQ(kernel_.tracked.count(kCgroup), 1u);
}

TEST_F(RestoreTest, AKernelConfigThatDiffersFromTheProfileIsAppliedAgain) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  engine_->SaveDirty();
  v1::KernelState record = Record();
  // As if the agent died between a flip back to learn and writing the profile.
  kernel_.fn_cfg[slot].mode = FG_MODE_LEARN;
  Engine::RestoreReport r = Restart(record);
  EXPECT_EQ(r.modes_reapplied, 1u);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  // A mode change like any other: from what the kernel had to what the profile says.
  std::vector<std::string> modes;
  for (const auto& e : events_)
    if (e.what() == "mode") modes.push_back(e.detail());
  EXPECT_THAT(modes, ElementsAre("learn -> enforce (restore)"));
}

TEST_F(RestoreTest, FailOpenIsAFlagOfTheSlotConfig) {
  Start(PinnedOptions());
  uint32_t slot = Register();
  Learn(slot);
  ASSERT_TRUE(
      engine_->SetMode(Fn("fn"), v1::MODE_ENFORCE, std::nullopt, v1::AGENT_ABSENCE_FAIL_OPEN).ok());
  EXPECT_TRUE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
  EXPECT_EQ(Profile().when_agent_absent(), v1::AGENT_ABSENCE_FAIL_OPEN);
  // Unset keeps it; closed clears it.
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_TRUE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
  ASSERT_TRUE(
      engine_->SetMode(Fn("fn"), v1::MODE_ENFORCE, std::nullopt, v1::AGENT_ABSENCE_FAIL_CLOSED)
          .ok());
  EXPECT_FALSE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
}

TEST_F(RestoreTest, WithoutARecordEveryTrackedCgroupIsDropped) {
  Start(PinnedOptions());
  Register();
  Engine::RestoreReport r = Restart(v1::KernelState{});
  EXPECT_EQ(r.slots, 0u);
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_TRUE(kernel_.tracked.empty());
}

}  // namespace
}  // namespace faasguard::engine_test
