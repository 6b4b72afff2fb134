// Counts every gRPC call the server answers, by method and status code, with a server
// interceptor (so health checks and reflection count too).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/support/server_interceptor.h"

namespace faasguard {

class CallCounter {
 public:
  void Add(const std::string& method, const std::string& code);
  // (method, code) -> calls
  std::map<std::pair<std::string, std::string>, uint64_t> Snapshot();
  // Interceptor factories to give to grpc::ServerBuilder::experimental().
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> Factories();

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> calls_;
};

// "INVALID_ARGUMENT" for a status code.
const char* GrpcCodeName(int code);

}  // namespace faasguard
