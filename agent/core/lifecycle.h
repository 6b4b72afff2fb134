// Where a function is in learning (v1::Lifecycle). "Stable" is computed, not stored: in learn
// mode, nothing new for the window, and enough observations: execs + outbound connections +
// accepted connections (kernel counters, exact) + busy seconds (seconds of learning in which
// the function's cgroups used at least 1% of a CPU: a server behind keep-alive connections
// accepts few connections but is busy while it serves). Pure.
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// A cgroup's CPU use between two samples: busy when it used at least this share of a CPU.
inline constexpr double kBusyCpuShare = 0.01;
// The busy seconds of an interval of `elapsed` in which `cpu` was used (0 when not busy).
double BusySeconds(absl::Duration cpu, absl::Duration elapsed);

struct StableRule {
  absl::Duration window = absl::Minutes(10);  // nothing new for this long
  uint64_t min_observations = 100;
};

v1::Lifecycle LifecycleOf(const v1::Profile& p, const StableRule& rule, absl::Time now);

}  // namespace faasguard
