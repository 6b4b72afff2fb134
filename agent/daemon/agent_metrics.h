// What the agent's /metrics says, from its parts. docs/api.md lists the metrics.
#pragma once

#include <string>

namespace faasguard {

struct StatusSources;
class CallCounter;
class EventHub;

// Any part may be null (its metrics are then left out).
std::string RenderAgentMetrics(const StatusSources& s, CallCounter* calls, EventHub* hub);

}  // namespace faasguard
