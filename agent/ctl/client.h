// faasguardctl's connection to the agent: where it is (the Unix socket, or TCP with mutual TLS),
// the calls, and the errors in plain words with what to do.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/args.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace faasguard {

inline constexpr char kDefaultSocket[] = "/run/faasguard/agent.sock";

// Where the agent is, from the global flags.
struct Target {
  std::string socket = kDefaultSocket;
  std::string server;  // HOST:PORT: TCP instead of the socket
  std::string tls_cert, tls_key, tls_ca;
  bool insecure = false;
  std::chrono::seconds timeout{30};  // per call (streams: none)

  std::string where() const { return server.empty() ? socket : server; }
};

// The flags' target; a usage error (--server without its TLS flags, a bad --timeout) names the
// flag.
absl::StatusOr<Target> TargetFromArgs(const ParsedArgs& a);

// A call that failed: the exit code (ctl.h) and the message to print.
struct CallError {
  int code;
  std::string message;
};

// The exit code and message for a failed call. A transport failure (the agent cannot be reached,
// refused the connection or the TLS handshake, or did not answer in time) is kExitUnavailable,
// said in plain words with what to do; `grpc_log` is gRPC's last log line, which sometimes
// holds the reason (a TLS file it could not use).
CallError ExplainCallError(const Target& t, const grpc::Status& s,
                           const std::string& grpc_log = "");

// What a look at the socket (or the TLS files) shows before any connection: nullopt when
// nothing is obviously wrong.
std::optional<CallError> PreflightCheck(const Target& t);

class Client {
 public:
  explicit Client(absl::StatusOr<Target> target) : target_(std::move(target)) {}

  // Calls `method`; 0 on success, else the exit code, the reason in *error.
  template <typename Req, typename Resp, typename Method>
  int Call(Method method, const Req& req, Resp* resp, CallError* error) {
    if (int code = Connect(error)) return code;
    auto ctx = Context();
    return Check((stub_.get()->*method)(ctx.get(), req, resp), error);
  }

  // Checks the target once and makes the stub; 0, or the exit code with the reason.
  int Connect(CallError* error);
  // The stub (after Connect succeeded).
  v1::Agent::Stub& stub() { return *stub_; }
  // A context with the call deadline (none for streams).
  std::unique_ptr<grpc::ClientContext> Context(bool stream = false) const;
  // 0 for OK, else the exit code with the reason in *error.
  int Check(const grpc::Status& s, CallError* error) const;
  std::string where() const { return target_.ok() ? target_->where() : ""; }

 private:
  absl::StatusOr<Target> target_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

}  // namespace faasguard
