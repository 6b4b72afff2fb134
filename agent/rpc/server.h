// The agent's gRPC server: a Unix socket (mode 0600) by default, optionally TCP with mutual
// TLS (or, only when asked for explicitly, plain TCP); health service and reflection on.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "rpc/call_counter.h"

namespace faasguard {

struct ServerOptions {
  std::string unix_socket;    // "" : none
  std::string tcp_addr;       // "" : none; "host:port" (port 0: any free port)
  std::string tls_cert;       // server certificate (PEM)
  std::string tls_key;        // its private key (PEM)
  std::string tls_client_ca;  // CA that client certificates must chain to (PEM)
  bool insecure_tcp = false;  // plain TCP, no authentication at all
  CallCounter* counter = nullptr;
};

// The running server. The Unix socket is accepted here, not by gRPC: each connection's peer
// is checked with SO_PEERCRED (root, or the agent's own uid) before gRPC gets the connection,
// whatever the socket file's mode (defence in depth: 0600 already keeps others out).
class ApiServer {
 public:
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Stops accepting, then shuts gRPC down (calls in flight get until `deadline`).
  void Shutdown(std::chrono::system_clock::time_point deadline);
  grpc::Server* grpc() { return server_.get(); }
  uint64_t refused_peers() const { return refused_.load(); }

 private:
  friend absl::StatusOr<std::unique_ptr<ApiServer>> StartServer(const ServerOptions&,
                                                                grpc::Service*,
                                                                std::vector<std::string>*);
  ApiServer() = default;
  void Accept();

  std::unique_ptr<grpc::Server> server_;
  int listen_fd_ = -1;
  std::string socket_path_;  // set while the server is not started: removed with the object
  int wake_[2] = {-1, -1};
  std::thread acceptor_;
  std::atomic<uint64_t> refused_{0};
  bool shut_ = false;
};

// Refuses to take over a Unix socket another process still serves; removes a stale one.
// Plain TCP is refused unless insecure_tcp. `listening` receives where it serves
// ("unix:/run/faasguard/agent.sock", "tcp+tls:127.0.0.1:9443").
absl::StatusOr<std::unique_ptr<ApiServer>> StartServer(const ServerOptions& o,
                                                       grpc::Service* service,
                                                       std::vector<std::string>* listening);

}  // namespace faasguard
