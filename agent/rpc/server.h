// The agent's gRPC server: a Unix socket (mode 0600) by default, optionally TCP with mutual
// TLS (or, only when asked for explicitly, plain TCP); health service and reflection on.
#pragma once

#include <memory>
#include <string>
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

// Refuses to take over a Unix socket another process still serves; removes a stale one.
// Plain TCP is refused unless insecure_tcp. `listening` receives where it serves
// ("unix:/run/faasguard/agent.sock", "tcp+tls:127.0.0.1:9443").
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(const ServerOptions& o,
                                                          grpc::Service* service,
                                                          std::vector<std::string>* listening);

}  // namespace faasguard
