#include "rpc/metrics.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/event_hub.h"
#include "core/status_report.h"
#include "httplib.h"
#include "rpc/call_counter.h"

namespace faasguard {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void PromWriter::Family(const std::string& name, const std::string& type, const std::string& help) {
  absl::StrAppend(&out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void PromWriter::Sample(const std::string& name, double value,
                        std::initializer_list<std::pair<std::string, std::string>> labels) {
  out_ += name;
  if (labels.size()) {
    out_ += "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
      absl::StrAppend(&out_, first ? "" : ",", k, "=\"", EscapeLabel(v), "\"");
      first = false;
    }
    out_ += "}";
  }
  char buf[64];
  if (std::floor(value) == value && std::fabs(value) < 1e15)
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  else
    std::snprintf(buf, sizeof buf, " %g\n", value);
  out_ += buf;
}

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

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& addr,
                                                                    Render render, Health health) {
  auto colon = addr.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 ||
      port > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-addr \"", addr, "\" must be HOST:PORT, e.g. 127.0.0.1:9464"));
  std::string host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->http_ = std::make_unique<httplib::Server>();
  m->http_->Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  m->http_->Get("/healthz", [health](const httplib::Request&, httplib::Response& res) {
    std::string why;
    bool ok = health(&why);
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : why + "\n", "text/plain");
  });
  if (port == 0) {
    port = m->http_->bind_to_any_port(host);
    if (port <= 0)
      return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", addr));
  } else if (!m->http_->bind_to_port(host, port)) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", addr,
                                               " (in use? choose another with --metrics-addr)"));
  }
  m->address_ =
      absl::StrCat(host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", port);
  httplib::Server* srv = m->http_.get();
  m->thread_ = std::thread([srv] { srv->listen_after_bind(); });
  return m;
}

MetricsServer::~MetricsServer() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace faasguard
