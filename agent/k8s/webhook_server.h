// The admission webhook's HTTPS endpoint (POST /mutate-pods, AdmissionReview v1), served by
// the agent with --webhook-addr; the API server calls it through a Service (deploy/).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "k8s/admission.h"

namespace httplib {
class SSLServer;
}

namespace faasguard {

class WebhookServer {
 public:
  // addr "host:port" (port 0: any free port); cert and key: PEM files.
  static absl::StatusOr<std::unique_ptr<WebhookServer>> Start(const std::string& addr,
                                                              const std::string& cert,
                                                              const std::string& key,
                                                              SeccompProfileFor profile_for,
                                                              AdmissionOptions options);
  ~WebhookServer();
  const std::string& address() const { return address_; }
  uint64_t reviews() const { return reviews_; }

 private:
  WebhookServer() = default;
  std::unique_ptr<httplib::SSLServer> https_;
  std::thread thread_;
  std::string address_;
  std::atomic<uint64_t> reviews_{0};
};

}  // namespace faasguard
