// Where a function is in learning (core/lifecycle.h): observations from the kernel counters,
// and "stable" only in learn mode, after the window, with enough observations.
#include "core/lifecycle.h"

#include "gtest/gtest.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

v1::Profile Learned(absl::Time updated) {
  v1::FunctionId id;
  id.set_namespace_("ns");
  id.set_name("fn");
  v1::Profile p = NewProfile(id, updated - absl::Hours(1));
  p.set_mode(v1::MODE_LEARN);
  *p.mutable_updated() = ToProtoTime(updated);
  *p.mutable_learning_started() = ToProtoTime(updated - absl::Hours(1));
  v1::ContainerProfile& c = ContainerSection(p, "main");
  c.mutable_counters()->set_execs(40);
  v1::NetEntry* out = c.add_egress();
  out->mutable_seen()->set_count(50);
  v1::NetEntry* in = c.add_ingress();
  in->mutable_seen()->set_count(20);
  return p;
}

TEST(LifecycleTest, ObservationsComeFromTheCounters) {
  const absl::Time now = absl::Now();
  v1::Lifecycle lc = LifecycleOf(Learned(now - absl::Minutes(3)), {absl::Minutes(10), 100}, now);
  EXPECT_EQ(lc.execs(), 40u);
  EXPECT_EQ(lc.connections(), 50u);
  EXPECT_EQ(lc.requests(), 20u);
  EXPECT_EQ(lc.observations(), 110u);
  EXPECT_EQ(lc.seconds_since_new(), 180u);
  EXPECT_EQ(lc.stable_window_seconds(), 600u);
  EXPECT_EQ(lc.stable_min_observations(), 100u);
  EXPECT_TRUE(lc.has_learning_started());
  EXPECT_FALSE(lc.stable()) << "not yet the window";
}

TEST(LifecycleTest, StableAfterTheWindowWithEnoughObservationsInLearnModeOnly) {
  const absl::Time now = absl::Now();
  v1::Profile p = Learned(now - absl::Minutes(11));
  EXPECT_TRUE(LifecycleOf(p, {absl::Minutes(10), 100}, now).stable());
  EXPECT_FALSE(LifecycleOf(p, {absl::Minutes(10), 111}, now).stable()) << "too few";
  p.set_mode(v1::MODE_ENFORCE);
  EXPECT_FALSE(LifecycleOf(p, {absl::Minutes(10), 100}, now).stable()) << "not learning";
  // Without an update time, the creation time counts; a clock behind reads as zero seconds.
  p = Learned(now);
  p.clear_updated();
  EXPECT_EQ(LifecycleOf(p, {}, now).seconds_since_new(), 3600u);
  EXPECT_EQ(LifecycleOf(Learned(now + absl::Minutes(5)), {}, now).seconds_since_new(), 0u);
}

}  // namespace
}  // namespace faasguard
