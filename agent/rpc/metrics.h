// The observability endpoint: Prometheus text metrics on /metrics and a liveness answer on
// /healthz, on their own HTTP port (--metrics-addr, loopback by default). What the metrics say
// is the caller's (daemon/agent_metrics.h); this is the text format and the transport.
#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <utility>

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

struct HostPort {
  std::string host;  // without the brackets of an IPv6 address
  int port = 0;
};
// "127.0.0.1:9464", "[::1]:9464"; port 0 means any free port.
absl::StatusOr<HostPort> ParseHostPort(const std::string& addr);

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  using Health = std::function<bool(std::string* why)>;
  // addr "host:port" (port 0: any free port). The port is this server's alone: an address
  // another process listens on is an error, never shared (no SO_REUSEPORT).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& addr,
                                                              Render render, Health health);
  ~MetricsServer();
  const std::string& address() const { return address_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> thread_ended_{false};
  std::string address_;
};

}  // namespace faasguard
