#include "k8s/kube_client.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <optional>

#include <unistd.h>
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

#include "common/files.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace faasguard {
namespace {

std::chrono::milliseconds Millis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

std::string Describe(httplib::Error e) { return httplib::to_string(e); }

}  // namespace

absl::StatusOr<KubeConfig> InClusterConfig(const std::string& server, const std::string& token_file,
                                           const std::string& ca_file) {
  KubeConfig c;
  c.server = server;
  if (c.server.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host)
      return absl::FailedPreconditionError(
          "not in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set (give --kube-api)");
    std::string h = host;
    if (absl::StrContains(h, ':')) h = absl::StrCat("[", h, "]");  // IPv6 service address
    c.server = absl::StrCat("https://", h, ":", port && *port ? port : "443");
  }
  if (!absl::StartsWith(c.server, "https://"))
    return absl::InvalidArgumentError(
        absl::StrCat("API server URL ", c.server, " must start with https://"));
  c.token_file = token_file;
  c.ca_file = ca_file;
  if (!token_file.empty() && ::access(token_file.c_str(), R_OK) != 0)
    return absl::FailedPreconditionError(absl::StrCat("no service-account token at ", token_file,
                                                      " (is automountServiceAccountToken off?)"));
  if (ca_file.empty() || ::access(ca_file.c_str(), R_OK) != 0)
    return absl::FailedPreconditionError(
        absl::StrCat("no API-server CA at ", ca_file.empty() ? "(none given)" : ca_file));
  return c;
}

std::string KubeErrorMessage(const KubeResponse& r) {
  google::protobuf::Struct s;
  if (google::protobuf::util::JsonStringToMessage(r.body, &s).ok()) {
    auto it = s.fields().find("message");
    if (it != s.fields().end() && !it->second.string_value().empty())
      return absl::StrCat("HTTP ", r.status, ": ", it->second.string_value());
  }
  std::string body = r.body.substr(0, 200);
  absl::StripAsciiWhitespace(&body);
  return absl::StrCat("HTTP ", r.status, body.empty() ? "" : ": ", body);
}

absl::StatusOr<std::unique_ptr<KubeClient>> KubeClient::Create(const KubeConfig& c) {
  if (!absl::StartsWith(c.server, "https://"))
    return absl::InvalidArgumentError(
        absl::StrCat("API server URL ", c.server, " must start with https://"));
  std::unique_ptr<KubeClient> k(new KubeClient(c));
  auto http = k->NewHttp(c.timeout);
  if (!http->is_valid())
    return absl::InvalidArgumentError(absl::StrCat("API server URL ", c.server, " is not valid"));
  return k;
}

KubeClient::~KubeClient() = default;

std::unique_ptr<httplib::Client> KubeClient::NewHttp(absl::Duration read_timeout) const {
  auto http = std::make_unique<httplib::Client>(config_.server);
  http->enable_server_certificate_verification(true);
  if (!config_.ca_file.empty()) http->set_ca_cert_path(config_.ca_file);
  http->set_connection_timeout(Millis(config_.timeout));
  http->set_read_timeout(Millis(read_timeout));
  http->set_write_timeout(Millis(config_.timeout));
  return http;
}

absl::StatusOr<std::string> KubeClient::Token() const {
  if (config_.token_file.empty()) return std::string();
  auto t = ReadFile(config_.token_file);
  if (!t.ok())
    return absl::FailedPreconditionError(
        absl::StrCat("service-account token ", config_.token_file, ": ", t.status().message()));
  return std::string(absl::StripAsciiWhitespace(*t));
}

absl::StatusOr<KubeResponse> KubeClient::Request(absl::string_view method, const std::string& path,
                                                 const std::string& body,
                                                 absl::string_view content_type) {
  auto token = Token();
  if (!token.ok()) return token.status();
  httplib::Headers h{{"Accept", "application/json"}};
  if (!token->empty()) h.emplace("Authorization", absl::StrCat("Bearer ", *token));
  auto http = NewHttp(config_.timeout);
  std::string ct(content_type);
  auto send = [&]() -> std::optional<httplib::Result> {
    if (method == "GET") return http->Get(path, h);
    if (method == "POST") return http->Post(path, h, body, ct);
    if (method == "PUT") return http->Put(path, h, body, ct);
    if (method == "PATCH") return http->Patch(path, h, body, ct);
    if (method == "DELETE") return http->Delete(path, h);
    return std::nullopt;
  };
  auto sent = send();
  if (!sent) return absl::InvalidArgumentError(absl::StrCat("HTTP method ", method));
  httplib::Result& res = *sent;
  if (!res)
    return absl::UnavailableError(absl::StrCat("API server ", config_.server, ": ", method, " ",
                                               path, ": ", Describe(res.error())));
  return KubeResponse{res->status, res->body};
}

absl::Status KubeClient::Watch(const std::string& path,
                               const std::function<bool(absl::string_view)>& on_line) {
  auto token = Token();
  if (!token.ok()) return token.status();
  httplib::Headers h{{"Accept", "application/json"}};
  if (!token->empty()) h.emplace("Authorization", absl::StrCat("Bearer ", *token));
  // A watch is quiet between events: the server ends it (timeoutSeconds), not our timer.
  auto http = NewHttp(absl::Minutes(15));
  {
    std::lock_guard<std::mutex> l(mu_);
    if (cancelled_) return absl::CancelledError("watch cancelled");
    watching_ = http.get();
  }
  struct Done {
    KubeClient* k;
    ~Done() {
      std::lock_guard<std::mutex> l(k->mu_);
      k->watching_ = nullptr;
    }
  } done{this};
  int status = 0;
  std::string pending, error_body;
  bool stopped = false;
  auto res = http->Get(
      path, h,
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t n) {
        if (status != 200) {
          if (error_body.size() < 4096) error_body.append(data, n);
          return true;
        }
        pending.append(data, n);
        size_t start = 0;
        for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
          absl::string_view line(pending.data() + start, nl - start);
          line = absl::StripAsciiWhitespace(line);
          if (line.empty()) continue;
          if (!on_line(line)) {
            stopped = true;
            return false;
          }
        }
        pending.erase(0, start);
        return true;
      });
  if (stopped) return absl::CancelledError("watch stopped");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (cancelled_) return absl::CancelledError("watch cancelled");
  }
  if (status != 0 && status != 200)
    return absl::UnavailableError(
        absl::StrCat("watch ", path, ": ", KubeErrorMessage({status, error_body})));
  if (!res && res.error() != httplib::Error::Canceled)
    return absl::UnavailableError(
        absl::StrCat("API server ", config_.server, ": watch ", path, ": ", Describe(res.error())));
  absl::string_view rest = absl::StripAsciiWhitespace(pending);
  if (!rest.empty() && !on_line(rest)) return absl::CancelledError("watch stopped");
  return absl::OkStatus();
}

void KubeClient::CancelWatch() {
  std::lock_guard<std::mutex> l(mu_);
  cancelled_ = true;
  if (watching_) watching_->stop();
}

}  // namespace faasguard
