// A small client of the Kubernetes API server, enough for FunctionProfile resources: HTTPS
// with the cluster's CA, the pod's service-account token (re-read before every request:
// bound tokens rotate), plain requests, and watches read as a stream of JSON lines.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace httplib {
class Client;
}

namespace faasguard {

struct KubeConfig {
  std::string server;      // "https://10.96.0.1:443"
  std::string token_file;  // bearer token, read before every request; "" = none
  std::string ca_file;     // CA bundle of the API server's certificate (PEM)
  absl::Duration timeout = absl::Seconds(10);
};

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// The in-cluster configuration: the server from KUBERNETES_SERVICE_HOST / _PORT unless
// `server` is given, the token and CA files as given. FAILED_PRECONDITION naming what is
// missing when this is not a pod (no service host, no token, no CA).
absl::StatusOr<KubeConfig> InClusterConfig(const std::string& server, const std::string& token_file,
                                           const std::string& ca_file);

struct KubeResponse {
  int status = 0;
  std::string body;
  bool ok() const { return status >= 200 && status < 300; }
};

// The message of an API-server error body (a Status object), or the body's start.
std::string KubeErrorMessage(const KubeResponse& r);

class KubeClient {
 public:
  static absl::StatusOr<std::unique_ptr<KubeClient>> Create(const KubeConfig& c);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request. A transport failure (unreachable, TLS) is an error; any HTTP answer,
  // 4xx and 5xx included, is a KubeResponse for the caller to read.
  absl::StatusOr<KubeResponse> Request(absl::string_view method, const std::string& path,
                                       const std::string& body = "",
                                       absl::string_view content_type = "application/json");

  // A watch (`path` carries ?watch=1&...): on_line gets each event line (one JSON object)
  // until the server ends the stream (returns OK) or on_line returns false (CANCELLED).
  // An HTTP error answer is returned as an error with the server's message.
  absl::Status Watch(const std::string& path,
                     const std::function<bool(absl::string_view)>& on_line);
  // From any thread: end the watch in progress (it returns CANCELLED), and refuse new ones.
  void CancelWatch();

  const KubeConfig& config() const { return config_; }

 private:
  explicit KubeClient(KubeConfig c) : config_(std::move(c)) {}
  std::unique_ptr<httplib::Client> NewHttp(absl::Duration read_timeout) const;
  absl::StatusOr<std::string> Token() const;

  KubeConfig config_;
  std::mutex mu_;
  httplib::Client* watching_ = nullptr;  // the watch in progress, guarded by mu_
  bool cancelled_ = false;
};

}  // namespace faasguard
