// The event fan-out: stamping, filters, replay from the history, bounded per-client queues that
// lose their own oldest events (and say how many), and waking clients up.
#include "core/event_hub.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace faasguard {
namespace {

v1::AgentEvent Event(const std::string& ns, const std::string& name, v1::EventKind kind,
                     const std::string& what = "") {
  v1::AgentEvent e;
  e.mutable_function()->set_namespace_(ns);
  e.mutable_function()->set_name(name);
  e.set_kind(kind);
  e.set_what(what);
  return e;
}

std::vector<std::string> Whats(const std::vector<v1::AgentEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.what());
  return out;
}

using Strings = std::vector<std::string>;

TEST(EventHubTest, StampsSequenceAndTime) {
  EventHub hub;
  auto sub = hub.Subscribe({}, 0, nullptr);
  hub.Publish(Event("ns", "a", v1::EVENT_KIND_NEW_BEHAVIOUR));
  v1::AgentEvent timed = Event("ns", "a", v1::EVENT_KIND_LIFECYCLE);
  timed.mutable_time()->set_seconds(42);
  hub.Publish(timed);
  auto got = sub->Next(absl::Seconds(1));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].seq(), 1u);
  EXPECT_EQ(got[1].seq(), 2u);
  EXPECT_GT(got[0].time().seconds(), 0);
  EXPECT_EQ(got[1].time().seconds(), 42);  // a time already set is kept
  EXPECT_EQ(hub.published(), 2u);
}

TEST(EventHubTest, FiltersByFunctionAndKind) {
  EventHub hub;
  EventHub::Filter only_a;
  only_a.function = "ns/a";
  EventHub::Filter violations;
  violations.kinds = {v1::EVENT_KIND_VIOLATION};
  auto a = hub.Subscribe(only_a, 0, nullptr);
  auto v = hub.Subscribe(violations, 0, nullptr);
  hub.Publish(Event("ns", "a", v1::EVENT_KIND_NEW_BEHAVIOUR, "1"));
  hub.Publish(Event("ns", "b", v1::EVENT_KIND_VIOLATION, "2"));
  hub.Publish(Event("ns", "a", v1::EVENT_KIND_VIOLATION, "3"));
  hub.Publish(Event("other", "a", v1::EVENT_KIND_NEW_BEHAVIOUR, "4"));
  EXPECT_EQ(Whats(a->Next(absl::Seconds(1))), (Strings{"1", "3"}));
  EXPECT_EQ(Whats(v->Next(absl::Seconds(1))), (Strings{"2", "3"}));
  EXPECT_EQ(hub.clients(), 2u);
}

TEST(EventHubTest, ReplaysTheNewestMatchingEventsOldestFirst) {
  EventHub hub(/*history=*/3, /*client_capacity=*/16);
  for (int i = 1; i <= 5; ++i)
    hub.Publish(
        Event("ns", i % 2 ? "odd" : "even", v1::EVENT_KIND_NEW_BEHAVIOUR, std::to_string(i)));
  std::vector<v1::AgentEvent> replayed;
  hub.Subscribe({}, 10, &replayed);
  EXPECT_EQ(Whats(replayed), (Strings{"3", "4", "5"}));  // the history keeps 3
  hub.Subscribe({}, 2, &replayed);
  EXPECT_EQ(Whats(replayed), (Strings{"4", "5"}));
  EventHub::Filter odd;
  odd.function = "ns/odd";
  hub.Subscribe(odd, 10, &replayed);
  EXPECT_EQ(Whats(replayed), (Strings{"3", "5"}));
}

TEST(EventHubTest, ASlowClientLosesItsOwnOldestEventsAndIsToldHowMany) {
  EventHub hub(/*history=*/100, /*client_capacity=*/2);
  auto slow = hub.Subscribe({}, 0, nullptr);
  auto fast = hub.Subscribe({}, 0, nullptr);
  for (int i = 1; i <= 3; ++i) {
    hub.Publish(Event("ns", "a", v1::EVENT_KIND_NEW_BEHAVIOUR, std::to_string(i)));
    if (i <= 2) {
      EXPECT_EQ(fast->Next(absl::Seconds(1)).size(), 1u);
    }
  }
  for (int i = 4; i <= 5; ++i)
    hub.Publish(Event("ns", "a", v1::EVENT_KIND_NEW_BEHAVIOUR, std::to_string(i)));
  auto got = slow->Next(absl::Seconds(1));
  EXPECT_EQ(Whats(got), (Strings{"4", "5"}));
  EXPECT_EQ(got[0].dropped(), 3u);
  EXPECT_EQ(got[1].dropped(), 0u);
  EXPECT_EQ(slow->dropped_total(), 3u);
  // The fast client lost only what its own queue could not hold.
  EXPECT_EQ(Whats(fast->Next(absl::Seconds(1))), (Strings{"4", "5"}));
  EXPECT_EQ(fast->dropped_total(), 1u);
  // The next batch starts counting afresh.
  hub.Publish(Event("ns", "a", v1::EVENT_KIND_NEW_BEHAVIOUR, "6"));
  got = slow->Next(absl::Seconds(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].dropped(), 0u);
}

TEST(EventHubTest, NextWaitsForAnEventOrTheTimeout) {
  EventHub hub;
  auto sub = hub.Subscribe({}, 0, nullptr);
  EXPECT_TRUE(sub->Next(absl::Milliseconds(10)).empty());
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hub.Publish(Event("ns", "a", v1::EVENT_KIND_LIFECYCLE, "late"));
  });
  EXPECT_EQ(Whats(sub->Next(absl::Seconds(30))), (Strings{"late"}));
  later.join();
}

TEST(EventHubTest, CloseAllWakesEveryClientForGood) {
  EventHub hub;
  auto sub = hub.Subscribe({}, 0, nullptr);
  std::thread waiter([&] { EXPECT_TRUE(sub->Next(absl::Hours(1)).empty()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  hub.CloseAll();
  waiter.join();
  hub.Publish(Event("ns", "a", v1::EVENT_KIND_LIFECYCLE));
  EXPECT_TRUE(sub->Next(absl::ZeroDuration()).empty());  // closed: nothing is queued
}

TEST(EventHubTest, AnUnsubscribedClientGetsNothingMore) {
  EventHub hub;
  auto sub = hub.Subscribe({}, 0, nullptr);
  hub.Unsubscribe(sub);
  EXPECT_EQ(hub.clients(), 0u);
  hub.Publish(Event("ns", "a", v1::EVENT_KIND_LIFECYCLE));
  EXPECT_TRUE(sub->Next(absl::ZeroDuration()).empty());
  EXPECT_EQ(hub.published(), 1u);
}

}  // namespace
}  // namespace faasguard
