// The observability endpoint: Prometheus text metrics on /metrics and a liveness answer on
// /healthz, on their own HTTP port (--metrics-addr, loopback by default).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace faasguard {

// Builds Prometheus text exposition format, metric by metric.
class PromWriter {
 public:
  // Starts a metric family (# HELP / # TYPE), once per name.
  void Family(const std::string& name, const std::string& type, const std::string& help);
  // One sample; labels as {{"k","v"},...}.
  void Sample(const std::string& name, double value,
              std::initializer_list<std::pair<std::string, std::string>> labels = {});
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

struct StatusSources;
class CallCounter;
class EventHub;

// The agent's metrics, from its parts (any may be null).
std::string RenderAgentMetrics(const StatusSources& s, CallCounter* calls, EventHub* hub);

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  using Health = std::function<bool(std::string* why)>;
  // addr "host:port" (port 0: any free port).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& addr,
                                                              Render render, Health health);
  ~MetricsServer();
  const std::string& address() const { return address_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string address_;
};

}  // namespace faasguard
