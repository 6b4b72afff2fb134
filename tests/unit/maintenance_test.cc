// The maintenance loop over an engine on the in-memory kernel: what a pass does, how often the
// vanished-cgroup check runs, and that the thread starts and stops on time.
#include "daemon/maintenance.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "unit/fake_engine.h"

namespace faasguard {
namespace {

constexpr uint64_t kCgroup = 4242;

class MaintenanceTest : public FakeEngineTest {
 protected:
  std::unique_ptr<MaintenanceLoop> Loop(absl::Duration interval, absl::Duration vanished) {
    MaintenanceLoop::Options o;
    o.interval = interval;
    o.vanished_check = vanished;
    return std::make_unique<MaintenanceLoop>(
        engine_.get(), [this] { ++upkeeps_; },
        [this](uint64_t id, const std::string&) {
          ++alive_checks_;
          return alive_.count(id) > 0;
        },
        o);
  }

  std::atomic<int> upkeeps_{0};
  std::atomic<int> alive_checks_{0};
  std::set<uint64_t> alive_ = {kCgroup};
};

TEST_F(MaintenanceTest, APassKeepsTheKernelUpAndSavesWhatTheKernelLearned) {
  const uint32_t slot = Register("ns", "fn", kCgroup);
  engine_->SaveDirty();
  // The kernel learns a syscall while no event reaches the agent: the pass folds it in.
  kernel_.State(slot).sys[0] |= 1ull << 3;
  auto loop = Loop(absl::Hours(1), absl::Hours(1));
  loop->RunPass();
  EXPECT_EQ(upkeeps_.load(), 1);
  EXPECT_EQ(loop->passes(), 1u);
  // What is on disk (a second store reads it), not what the engine would fold on a read.
  ProfileStore disk(dir_.path());
  ProfileStore::LoadResult loaded = disk.LoadAll();
  ASSERT_EQ(loaded.profiles.size(), 1u);
  const v1::ContainerProfile& c = loaded.profiles[0].containers(0);
  ASSERT_EQ(c.syscalls_size(), 1);
  EXPECT_EQ(c.syscalls(0).nr(), 3u);
}

TEST_F(MaintenanceTest, VanishedCgroupsAreCheckedEveryThirtySecondsNotEveryPass) {
  Register("ns", "fn", kCgroup);
  // 2 s passes: the check runs on every 15th.
  auto loop = Loop(absl::Seconds(2), absl::Seconds(30));
  for (int i = 0; i < 14; ++i) loop->RunPass();
  EXPECT_EQ(alive_checks_.load(), 0);
  loop->RunPass();
  EXPECT_EQ(alive_checks_.load(), 1);
  EXPECT_EQ(engine_->tracked_cgroups(), 1u);
  // The cgroup goes without an rmdir event reaching the agent: the next check drops it.
  alive_.clear();
  for (int i = 0; i < 15; ++i) loop->RunPass();
  EXPECT_EQ(alive_checks_.load(), 2);
  EXPECT_EQ(engine_->tracked_cgroups(), 0u);
  EXPECT_EQ(kernel_.tracked.count(kCgroup), 0u);
}

TEST_F(MaintenanceTest, AnIntervalLongerThanTheCheckChecksEveryPass) {
  Register("ns", "fn", kCgroup);
  auto loop = Loop(absl::Seconds(60), absl::Seconds(30));
  loop->RunPass();
  loop->RunPass();
  EXPECT_EQ(alive_checks_.load(), 2);
}

TEST_F(MaintenanceTest, RunsEveryIntervalUntilStopped) {
  auto loop = Loop(absl::Milliseconds(5), absl::Seconds(30));
  loop->Start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (loop->passes() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  loop->Stop();
  uint64_t passes = loop->passes();
  EXPECT_GE(passes, 3u);
  EXPECT_EQ(upkeeps_.load(), static_cast<int>(passes));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(loop->passes(), passes);  // stopped means stopped
  loop->Stop();                       // and a second Stop is harmless
}

TEST_F(MaintenanceTest, StopDoesNotWaitForTheInterval) {
  auto loop = Loop(absl::Hours(1), absl::Seconds(30));
  loop->Start();
  auto start = std::chrono::steady_clock::now();
  loop->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(loop->passes(), 0u);  // the first pass is an interval away
}

}  // namespace
}  // namespace faasguard
