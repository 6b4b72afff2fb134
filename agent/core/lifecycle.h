// Where a function is in learning (v1::Lifecycle). "Stable" is computed, not stored: in learn
// mode, nothing new for the window, and enough observations (execs + outbound connections +
// accepted requests, all from kernel counters, so they are exact). Pure.
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

struct StableRule {
  absl::Duration window = absl::Minutes(10);  // nothing new for this long
  uint64_t min_observations = 100;
};

v1::Lifecycle LifecycleOf(const v1::Profile& p, const StableRule& rule, absl::Time now);

}  // namespace faasguard
