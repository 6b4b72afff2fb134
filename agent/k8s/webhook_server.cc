#include "k8s/webhook_server.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace faasguard {

absl::StatusOr<std::unique_ptr<WebhookServer>> WebhookServer::Start(const std::string& addr,
                                                                    const std::string& cert,
                                                                    const std::string& key,
                                                                    SeccompProfileFor profile_for,
                                                                    AdmissionOptions options) {
  auto colon = addr.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 ||
      port > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat("--webhook-addr \"", addr, "\" must be HOST:PORT, e.g. 0.0.0.0:9443"));
  std::string host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::unique_ptr<WebhookServer> w(new WebhookServer());
  w->https_ = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  if (!w->https_->is_valid())
    return absl::InvalidArgumentError(
        absl::StrCat("the webhook's certificate or key cannot be used (--webhook-cert ", cert,
                     ", --webhook-key ", key, ")"));
  WebhookServer* self = w.get();
  w->https_->Post("/mutate-pods", [self, profile_for, options](const httplib::Request& req,
                                                               httplib::Response& res) {
    ++self->reviews_;
    auto out = ReviewPodAdmission(req.body, profile_for, options);
    if (!out.ok()) {
      LogWarn("admission review refused", {{"error", out.status().ToString()}});
      res.status = 400;
      res.set_content(std::string(out.status().message()) + "\n", "text/plain");
      return;
    }
    res.set_content(*out, "application/json");
  });
  if (port == 0) {
    port = w->https_->bind_to_any_port(host);
    if (port <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", addr));
  } else if (!w->https_->bind_to_port(host, port)) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for admission reviews on ", addr, " (--webhook-addr)"));
  }
  w->address_ =
      absl::StrCat(host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", port);
  httplib::SSLServer* srv = w->https_.get();
  w->thread_ = std::thread([srv] { srv->listen_after_bind(); });
  return w;
}

WebhookServer::~WebhookServer() {
  if (https_) https_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace faasguard
