#include "ctl/client.h"

#include <grpc/support/log.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "ctl/ctl.h"

namespace faasguard {
namespace {

// gRPC logs its own errors on stderr (a TLS file it cannot use, a failed handshake). The CLI
// says what went wrong in its own words, so they are kept here instead, the last one read by
// ExplainCallError when it has nothing better.
std::mutex g_log_mu;
std::string g_last_grpc_log;

void KeepGrpcLog(gpr_log_func_args* args) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_last_grpc_log = args->message ? args->message : "";
}

std::string LastGrpcLog() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_last_grpc_log;
}

bool Contains(absl::string_view text, std::initializer_list<absl::string_view> any) {
  for (absl::string_view s : any)
    if (absl::StrContains(absl::AsciiStrToLower(text), s)) return true;
  return false;
}

std::string NotRunning(const Target& t) {
  return absl::StrCat("the agent is not running (no socket at ", t.socket,
                      "; start faasguard-agent, or give its socket with --socket)");
}

std::string PermissionDenied(const Target& t) {
  return absl::StrCat("permission denied on ", t.socket,
                      ": run as root (the agent's socket is root's only)");
}

// Why a connection failed, from gRPC's message; "" when it was not the connection.
std::string TransportProblem(const Target& t, const std::string& msg, const std::string& log) {
  const bool unix_socket = t.server.empty();
  const bool tls = !unix_socket && !t.insecure;
  if (Contains(msg, {"connection refused"})) {
    if (unix_socket)
      return absl::StrCat("connection refused at ", t.socket,
                          ": the agent is not running (the socket is left from an earlier run; "
                          "start faasguard-agent)");
    return absl::StrCat("connection refused at ", t.server,
                        ": no agent listens there (faasguard-agent --listen-tcp)");
  }
  if (unix_socket && Contains(msg, {"no such file"})) return NotRunning(t);
  if (unix_socket && Contains(msg, {"permission denied"})) return PermissionDenied(t);
  if (Contains(msg, {"handshake failed", "ssl_error", "certificate verify"})) {
    std::string why = Contains(msg, {"certificate verify failed"})
                          ? absl::StrCat("the agent's certificate is not signed by --tls-ca ",
                                         t.tls_ca, ", or does not name ", t.server)
                          : msg;
    return absl::StrCat("TLS handshake with ", t.server, " failed: ", why);
  }
  if (Contains(msg, {"socket closed", "broken pipe", "connection reset", "end of file"})) {
    if (unix_socket)
      return absl::StrCat("the agent at ", t.socket,
                          " closed the connection: it serves root only (run as root), or it "
                          "stopped (see its log)");
    if (tls)
      return absl::StrCat("the agent at ", t.server,
                          " refused the TLS handshake: this client's certificate (--tls-cert ",
                          t.tls_cert, ") is not signed by the agent's --tls-client-ca");
    return absl::StrCat("the agent at ", t.server,
                        " closed the connection: it may require TLS (give --tls-cert, --tls-key "
                        "and --tls-ca instead of --insecure)");
  }
  if (tls && Contains(msg, {"empty address list"}))
    return absl::StrCat("TLS: cannot use this client's certificate or key (--tls-cert ", t.tls_cert,
                        ", --tls-key ", t.tls_key, ")", log.empty() ? "" : absl::StrCat(": ", log));
  if (Contains(msg, {"dns resolution failed"}))
    return absl::StrCat("cannot resolve the host of --server ", t.server);
  return "";
}

}  // namespace

absl::StatusOr<Target> TargetFromArgs(const ParsedArgs& a) {
  Target t;
  t.socket = a.Get("socket", kDefaultSocket);
  t.server = a.Get("server");
  t.tls_cert = a.Get("tls-cert");
  t.tls_key = a.Get("tls-key");
  t.tls_ca = a.Get("tls-ca");
  t.insecure = a.Has("insecure");
  if (t.server.empty()) {
    for (const char* f : {"tls-cert", "tls-key", "tls-ca", "insecure"})
      if (a.Has(f)) return absl::InvalidArgumentError(absl::StrCat("--", f, " is for --server"));
  } else if (!t.insecure && (t.tls_cert.empty() || t.tls_key.empty() || t.tls_ca.empty())) {
    return absl::InvalidArgumentError(
        "--server needs --tls-cert, --tls-key and --tls-ca (the agent requires a client "
        "certificate), or --insecure");
  }
  if (a.Has("timeout")) {
    absl::Duration d;
    int64_t secs = 0;
    if (absl::SimpleAtoi(a.Get("timeout"), &secs))
      d = absl::Seconds(secs);
    else if (!absl::ParseDuration(a.Get("timeout"), &d))
      d = absl::ZeroDuration();
    if (d < absl::Seconds(1) || d > absl::Hours(1))
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout \"", a.Get("timeout"), "\" is not from 1s to 1h (e.g. 30s, 2m)"));
    t.timeout = std::chrono::seconds(absl::ToInt64Seconds(d));
  }
  return t;
}

CallError ExplainCallError(const Target& t, const grpc::Status& s, const std::string& grpc_log) {
  const std::string& msg = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {kExitUnavailable,
              absl::StrCat("the agent at ", t.where(), " did not answer within ", t.timeout.count(),
                           "s (timed out): it may be stuck or overloaded ",
                           "(see its log), or give --timeout")};
    case grpc::StatusCode::UNAVAILABLE: {
      std::string why = TransportProblem(t, msg, grpc_log);
      return {kExitUnavailable,
              why.empty() ? absl::StrCat("cannot reach the agent at ", t.where(), ": ", msg) : why};
    }
    case grpc::StatusCode::NOT_FOUND:
      return {kExitNotFound, msg};
    case grpc::StatusCode::INVALID_ARGUMENT:
      return {kExitUsage, msg};
    default:
      return {kExitError, msg};
  }
}

std::optional<CallError> PreflightCheck(const Target& t) {
  if (!t.server.empty()) return std::nullopt;
  struct stat st;
  if (::stat(t.socket.c_str(), &st) != 0) {
    if (errno == EACCES) return CallError{kExitUnavailable, PermissionDenied(t)};
    if (errno == ENOENT || errno == ENOTDIR) return CallError{kExitUnavailable, NotRunning(t)};
    return CallError{kExitUnavailable,
                     absl::StrCat("cannot reach the agent at ", t.socket, ": ", strerror(errno))};
  }
  if (!S_ISSOCK(st.st_mode))
    return CallError{kExitUnavailable, absl::StrCat(t.socket,
                                                    " is not a socket: give the agent's socket "
                                                    "with --socket")};
  if (::access(t.socket.c_str(), W_OK) != 0 && errno == EACCES)
    return CallError{kExitUnavailable, PermissionDenied(t)};
  return std::nullopt;
}

int Client::Connect(CallError* error) {
  if (!target_.ok()) {
    *error = {kExitUsage, std::string(target_.status().message())};
    return kExitUsage;
  }
  if (stub_) return kExitOk;
  if (auto problem = PreflightCheck(*target_)) {
    *error = *problem;
    return problem->code;
  }
  static std::once_flag quiet;
  std::call_once(quiet, [] { gpr_set_log_function(KeepGrpcLog); });
  const Target& t = *target_;
  std::shared_ptr<grpc::Channel> ch;
  if (t.server.empty()) {
    ch = grpc::CreateChannel("unix:" + t.socket, grpc::InsecureChannelCredentials());
  } else if (t.insecure) {
    ch = grpc::CreateChannel(t.server, grpc::InsecureChannelCredentials());
  } else {
    grpc::SslCredentialsOptions o;
    for (auto [flag, path, into] : {std::tuple{"--tls-ca", &t.tls_ca, &o.pem_root_certs},
                                    std::tuple{"--tls-key", &t.tls_key, &o.pem_private_key},
                                    std::tuple{"--tls-cert", &t.tls_cert, &o.pem_cert_chain}}) {
      auto pem = ReadFile(*path);
      if (!pem.ok()) {
        *error = {kExitUsage,
                  absl::StrCat("cannot read ", flag, " ", *path, ": ", pem.status().message())};
        return kExitUsage;
      }
      *into = *std::move(pem);
    }
    ch = grpc::CreateChannel(t.server, grpc::SslCredentials(o));
  }
  stub_ = v1::Agent::NewStub(ch);
  return kExitOk;
}

std::unique_ptr<grpc::ClientContext> Client::Context(bool stream) const {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!stream && target_.ok()) c->set_deadline(std::chrono::system_clock::now() + target_->timeout);
  return c;
}

int Client::Check(const grpc::Status& s, CallError* error) const {
  if (s.ok()) return kExitOk;
  *error = ExplainCallError(*target_, s, LastGrpcLog());
  return error->code;
}

}  // namespace faasguard
