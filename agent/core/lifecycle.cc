#include "core/lifecycle.h"

#include <algorithm>

#include "profile/profile.h"

namespace faasguard {

double BusySeconds(absl::Duration cpu, absl::Duration elapsed) {
  if (elapsed <= absl::ZeroDuration() || cpu < elapsed * kBusyCpuShare) return 0;
  return absl::ToDoubleSeconds(elapsed);
}

v1::Lifecycle LifecycleOf(const v1::Profile& p, const StableRule& rule, absl::Time now) {
  v1::Lifecycle lc;
  if (p.has_learning_started()) *lc.mutable_learning_started() = p.learning_started();
  uint64_t execs = 0, connections = 0, requests = 0, busy = 0;
  for (const auto& c : p.containers()) {
    execs += c.counters().execs();
    busy += c.counters().busy_seconds();
    for (const auto& n : c.egress()) connections += n.seen().count();
    for (const auto& n : c.ingress()) requests += n.seen().count();
  }
  lc.set_execs(execs);
  lc.set_connections(connections);
  lc.set_requests(requests);
  lc.set_busy_seconds(busy);
  lc.set_observations(execs + connections + requests + busy);
  absl::Duration since = now - FromProtoTime(p.has_updated() ? p.updated() : p.created());
  lc.set_seconds_since_new(
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Seconds(since))));
  lc.set_stable_window_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(rule.window)));
  lc.set_stable_min_observations(rule.min_observations);
  lc.set_stable(p.mode() == v1::MODE_LEARN && since >= rule.window &&
                lc.observations() >= rule.min_observations);
  return lc;
}

}  // namespace faasguard
