// The faasguard-agent binary run by a C++ e2e test: its own socket and state directory, its
// log in a file, a client stub, and a clean stop.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "faasguard/v1/agent.grpc.pb.h"

namespace faasguard::testing {

class AgentProcess {
 public:
  // Starts `binary` with --socket/--state-dir under `dir` plus `extra` flags, and waits for its
  // "agent ready" log line (or its exit: the error carries the log).
  static absl::StatusOr<std::unique_ptr<AgentProcess>> Start(const std::string& binary,
                                                             const std::string& dir,
                                                             const std::vector<std::string>& extra);
  ~AgentProcess();  // SIGTERM, wait
  // SIGKILL, wait: the agent leaves as a crash would (whatever it pinned stays).
  void Kill();

  v1::Agent::Stub& stub() { return *stub_; }
  std::string Log() const;
  // Waits up to `seconds` for `text` in the log.
  bool WaitForLog(const std::string& text, double seconds) const;
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }

 private:
  AgentProcess() = default;
  pid_t pid_ = -1;
  std::string socket_, log_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

}  // namespace faasguard::testing
