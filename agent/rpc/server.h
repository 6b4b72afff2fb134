// The agent's gRPC server on a Unix socket (mode 0600), with health and reflection.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace faasguard {

// Refuses to take over a socket another process still serves; removes a stale one.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartUnixServer(const std::string& socket_path,
                                                              grpc::Service* service);

}  // namespace faasguard
