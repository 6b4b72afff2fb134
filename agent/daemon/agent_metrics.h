// What the agent's /metrics says, from its parts. Names follow Prometheus' rules: the
// faasguard_ prefix, _total on counters only, no type names; a function is two labels,
// namespace and function. docs/api.md lists them.
#pragma once

#include <string>

namespace faasguard {

struct StatusSources;
class CallCounter;
class EventHub;

// Any part may be null (its metrics are then left out).
std::string RenderAgentMetrics(const StatusSources& s, CallCounter* calls, EventHub* hub);

}  // namespace faasguard
