#include "rpc/metrics.h"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

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

absl::StatusOr<HostPort> ParseHostPort(const std::string& addr) {
  HostPort hp;
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(addr.substr(colon + 1), &hp.port) ||
      hp.port < 0 || hp.port > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat("\"", addr, "\" is not HOST:PORT, e.g. 127.0.0.1:9464"));
  hp.host = addr.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  return hp;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& addr,
                                                                    Render render, Health health) {
  auto hp = ParseHostPort(addr);
  if (!hp.ok())
    return absl::InvalidArgumentError(absl::StrCat("--metrics-addr ", hp.status().message()));
  const std::string& host = hp->host;
  int port = hp->port;
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->http_ = std::make_unique<httplib::Server>();
  // cpp-httplib sets SO_REUSEPORT by default: a second agent would then share the port, and
  // scrapes would reach either. SO_REUSEADDR only lets a restarted agent bind at once.
  m->http_->set_socket_options([](socket_t fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  m->http_->Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  m->http_->Get("/healthz", [health](const httplib::Request&, httplib::Response& res) {
    std::string why;
    bool ok = health(&why);
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : why + "\n", "text/plain");
  });
  errno = 0;
  if (port == 0)
    port = m->http_->bind_to_any_port(host);
  else if (!m->http_->bind_to_port(host, port))
    port = -1;
  if (port <= 0) {
    int err = errno;
    if (err == EADDRINUSE)
      return absl::UnavailableError(
          absl::StrCat(addr,
                       " is in use (another faasguard-agent?): choose another address with "
                       "--metrics-addr, or --metrics-addr off"));
    return absl::UnavailableError(absl::StrCat("cannot listen on ", addr, ": ",
                                               err ? std::strerror(err) : "unknown error",
                                               " (choose another address with --metrics-addr)"));
  }
  m->address_ =
      absl::StrCat(host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", port);
  httplib::Server* srv = m->http_.get();
  std::atomic<bool>* ended = &m->thread_ended_;
  m->thread_ = std::thread([srv, ended] {
    srv->listen_after_bind();
    ended->store(true);
  });
  // Until its thread accepts, stop() cannot stop the server (and the destructor would wait
  // forever): return once it serves.
  while (!srv->is_running() && !ended->load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return m;
}

MetricsServer::~MetricsServer() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace faasguard
