#include "daemon/agent_metrics.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "core/event_hub.h"
#include "daemon/status_report.h"
#include "rpc/call_counter.h"
#include "rpc/metrics.h"

namespace faasguard {

std::string RenderAgentMetrics(const StatusSources& s, CallCounter* calls, EventHub* hub) {
  PromWriter w;
  w.Family("faasguard_up", "gauge", "1 while the agent runs.");
  w.Sample("faasguard_up", 1);
  if (s.programs) {
    w.Family("faasguard_pinned", "gauge",
             "1 when programs and maps are pinned (enforcement outlives the agent).");
    w.Sample("faasguard_pinned", s.programs->pin_dir().empty() ? 0 : 1);
    w.Family("faasguard_adopted", "gauge",
             "1 when this agent took over the pinned state of an earlier one.");
    w.Sample("faasguard_adopted", s.programs->adopted() ? 1 : 0);
  }
  if (s.kernel) {
    if (auto stats = s.kernel->ReadStats(); stats.ok()) {
      w.Family("faasguard_kernel_events_lost_total", "counter",
               "Ring-buffer records the kernel could not deliver (learning is not lost).");
      w.Sample("faasguard_kernel_events_lost_total",
               static_cast<double>((*stats)[FG_STAT_RB_RESERVE_FAIL]));
      w.Family("faasguard_kernel_counter_total", "counter", "Per-CPU kernel counters, summed.");
      for (size_t i = 0; i < stats->size(); ++i)
        w.Sample("faasguard_kernel_counter_total", static_cast<double>((*stats)[i]),
                 {{"name", KernelStatName(static_cast<int>(i))}});
    }
    w.Family("faasguard_kernel_map_entries", "gauge", "Entries in a kernel map.");
    auto usage = s.kernel->Usage();
    for (const auto& u : usage)
      w.Sample("faasguard_kernel_map_entries", static_cast<double>(u.entries), {{"map", u.name}});
    w.Family("faasguard_kernel_map_capacity", "gauge", "Capacity of a kernel map.");
    for (const auto& u : usage)
      w.Sample("faasguard_kernel_map_capacity", static_cast<double>(u.capacity), {{"map", u.name}});
  }
  if (s.reader) {
    w.Family("faasguard_events_received_total", "counter", "Ring-buffer records read.");
    w.Sample("faasguard_events_received_total", static_cast<double>(s.reader->received()));
    w.Family("faasguard_events_malformed_total", "counter", "Ring-buffer records rejected.");
    w.Sample("faasguard_events_malformed_total", static_cast<double>(s.reader->malformed()));
  }
  if (s.engine) {
    EngineCounters c = s.engine->counters();
    w.Family("faasguard_events_total", "counter", "Ring-buffer records handled, by kind.");
    w.Sample("faasguard_events_total", static_cast<double>(c.events_syscall),
             {{"kind", "syscall"}});
    w.Sample("faasguard_events_total", static_cast<double>(c.events_exec), {{"kind", "exec"}});
    w.Sample("faasguard_events_total", static_cast<double>(c.events_net), {{"kind", "net"}});
    w.Sample("faasguard_events_total", static_cast<double>(c.events_violation),
             {{"kind", "violation"}});
    w.Sample("faasguard_events_total", static_cast<double>(c.events_orphan), {{"kind", "orphan"}});
    w.Family("faasguard_tracked_cgroups", "gauge", "Cgroups tracked as function replicas.");
    w.Sample("faasguard_tracked_cgroups", static_cast<double>(s.engine->tracked_cgroups()));
    auto fns = s.engine->Metrics();
    w.Family("faasguard_functions", "gauge", "Functions on this node, by mode.");
    std::map<std::string, int> by_mode;
    for (const auto& f : fns)
      ++by_mode[f.mode == v1::MODE_ENFORCE   ? "enforce"
                : f.mode == v1::MODE_MONITOR ? "monitor"
                                             : "learn"];
    for (const char* m : {"learn", "monitor", "enforce"})
      w.Sample("faasguard_functions", by_mode[m], {{"mode", m}});
    w.Family("faasguard_function_replicas", "gauge", "Tracked replicas of a function.");
    for (const auto& f : fns)
      w.Sample("faasguard_function_replicas", f.replicas, {{"function", f.function}});
    w.Family("faasguard_function_stable", "gauge", "1 when a learning function is stable.");
    for (const auto& f : fns)
      w.Sample("faasguard_function_stable", f.stable ? 1 : 0, {{"function", f.function}});
    w.Family("faasguard_new_behaviours_total", "counter",
             "Behaviours learned, by function and kind, since the agent started.");
    for (const auto& f : fns)
      for (const auto& [kind, n] : f.new_behaviours)
        w.Sample("faasguard_new_behaviours_total", static_cast<double>(n),
                 {{"function", f.function}, {"kind", kind}});
    w.Family("faasguard_violations_total", "counter",
             "Violations, by function and kind, since the agent started.");
    for (const auto& f : fns)
      for (const auto& [kind, n] : f.violations)
        w.Sample("faasguard_violations_total", static_cast<double>(n),
                 {{"function", f.function}, {"kind", kind}});
  }
  if (calls) {
    w.Family("faasguard_api_calls_total", "counter", "gRPC calls answered, by method and code.");
    for (const auto& [k, n] : calls->Snapshot())
      w.Sample("faasguard_api_calls_total", static_cast<double>(n),
               {{"method", k.first}, {"code", k.second}});
  }
  if (hub) {
    w.Family("faasguard_event_stream_clients", "gauge", "Clients following events.");
    w.Sample("faasguard_event_stream_clients", static_cast<double>(hub->clients()));
    w.Family("faasguard_agent_events_published_total", "counter",
             "Agent events (new behaviour, violation, lifecycle) published.");
    w.Sample("faasguard_agent_events_published_total", static_cast<double>(hub->published()));
  }
  return w.text();
}

}  // namespace faasguard
