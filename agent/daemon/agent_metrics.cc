#include "daemon/agent_metrics.h"

#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/abi_codec.h"
#include "core/event_hub.h"
#include "daemon/status_report.h"
#include "rpc/call_counter.h"
#include "rpc/metrics.h"

namespace faasguard {
namespace {

// "ns/name" -> {"ns", "name"}.
std::pair<std::string, std::string> SplitFunction(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

void KernelMetrics(PromWriter& w, KernelMaps& kernel) {
  if (auto stats = kernel.ReadStats(); stats.ok()) {
    for (size_t i = 0; i < stats->size(); ++i) {
      KernelStatInfo k = KernelStat(static_cast<int>(i));
      std::string name = absl::StrCat("faasguard_", k.name, "_total");
      w.Family(name, "counter", k.help);
      w.Sample(name, static_cast<double>((*stats)[i]));
    }
  }
  auto usage = kernel.Usage();
  w.Family("faasguard_kernel_map_entries", "gauge", "Entries in a kernel map.");
  for (const auto& u : usage)
    w.Sample("faasguard_kernel_map_entries", static_cast<double>(u.entries), {{"map", u.name}});
  w.Family("faasguard_kernel_map_capacity", "gauge", "Capacity of a kernel map.");
  for (const auto& u : usage)
    w.Sample("faasguard_kernel_map_capacity", static_cast<double>(u.capacity), {{"map", u.name}});
}

void EngineMetrics(PromWriter& w, Engine& engine) {
  EngineCounters c = engine.counters();
  w.Family("faasguard_events_total", "counter", "Ring-buffer records handled, by kind.");
  for (const auto& [kind, n] : {std::pair<const char*, uint64_t>{"syscall", c.events_syscall},
                                {"exec", c.events_exec},
                                {"net", c.events_net},
                                {"violation", c.events_violation},
                                {"orphan", c.events_orphan}})
    w.Sample("faasguard_events_total", static_cast<double>(n), {{"kind", kind}});
  w.Family("faasguard_tracked_cgroups", "gauge", "Cgroups tracked as function replicas.");
  w.Sample("faasguard_tracked_cgroups", static_cast<double>(engine.tracked_cgroups()));

  std::vector<Engine::FunctionMetrics> fns = engine.Metrics();
  std::vector<std::pair<std::string, std::string>> ids;  // (namespace, function)
  for (const auto& f : fns) ids.push_back(SplitFunction(f.function));
  w.Family("faasguard_functions", "gauge", "Functions on this node, by mode.");
  for (v1::Mode mode : {v1::MODE_LEARN, v1::MODE_MONITOR, v1::MODE_ENFORCE}) {
    int n = 0;
    for (const auto& f : fns) n += ModeWord(f.mode) == std::string_view(ModeWord(mode));
    w.Sample("faasguard_functions", n, {{"mode", ModeWord(mode)}});
  }
  // Per function, labelled namespace and function: a value, or counts by kind.
  auto per_function = [&](const char* name, const char* help, auto value) {
    w.Family(name, "gauge", help);
    for (size_t i = 0; i < fns.size(); ++i)
      w.Sample(name, value(fns[i]), {{"namespace", ids[i].first}, {"function", ids[i].second}});
  };
  auto by_kind = [&](const char* name, const char* help,
                     std::map<std::string, uint64_t> Engine::FunctionMetrics::*counts) {
    w.Family(name, "counter", help);
    for (size_t i = 0; i < fns.size(); ++i)
      for (const auto& [kind, n] : fns[i].*counts)
        w.Sample(name, static_cast<double>(n),
                 {{"namespace", ids[i].first}, {"function", ids[i].second}, {"kind", kind}});
  };
  per_function("faasguard_function_replicas", "Tracked replicas of a function.",
               [](const Engine::FunctionMetrics& f) { return f.replicas; });
  per_function("faasguard_function_stable", "1 when a learning function is stable.",
               [](const Engine::FunctionMetrics& f) { return f.stable ? 1 : 0; });
  by_kind("faasguard_new_behaviours_total",
          "Behaviours learned, by function and kind, since the agent started.",
          &Engine::FunctionMetrics::new_behaviours);
  by_kind("faasguard_violations_total",
          "Violations, by function and kind, since the agent started.",
          &Engine::FunctionMetrics::violations);
}

}  // namespace

std::string RenderAgentMetrics(const StatusSources& s, CallCounter* calls, EventHub* hub) {
  PromWriter w;
  w.Family("faasguard_build_info", "gauge", "1, labelled with the agent's version.");
  w.Sample("faasguard_build_info", 1, {{"version", kVersion}});
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
  if (s.kernel) KernelMetrics(w, *s.kernel);
  if (s.reader) {
    w.Family("faasguard_events_received_total", "counter", "Ring-buffer records read.");
    w.Sample("faasguard_events_received_total", static_cast<double>(s.reader->received()));
    w.Family("faasguard_events_malformed_total", "counter", "Ring-buffer records rejected.");
    w.Sample("faasguard_events_malformed_total", static_cast<double>(s.reader->malformed()));
  }
  if (s.engine) EngineMetrics(w, *s.engine);
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
