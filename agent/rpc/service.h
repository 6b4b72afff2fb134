// The gRPC Agent service: checks every request (the only place that does), then calls the
// engine.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "core/engine.h"
#include "core/event_hub.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace faasguard {

// absl and gRPC share code numbers; the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& s);

class AgentService final : public v1::Agent::Service {
 public:
  using StatusFn = std::function<v1::GetStatusResponse()>;
  // Resolves a client's cgroup path to (directory, cgroup id).
  using CgroupResolver =
      std::function<absl::StatusOr<std::pair<std::string, uint64_t>>(const std::string&)>;

  AgentService(Engine* engine, EventHub* hub, CgroupResolver resolver, StatusFn status);

  // End every event stream (agent shutdown).
  void Shutdown();

  grpc::Status RegisterCgroup(grpc::ServerContext*, const v1::RegisterCgroupRequest* req,
                              v1::RegisterCgroupResponse* resp) override;
  grpc::Status UnregisterCgroup(grpc::ServerContext*, const v1::UnregisterCgroupRequest* req,
                                v1::UnregisterCgroupResponse* resp) override;
  grpc::Status ListFunctions(grpc::ServerContext*, const v1::ListFunctionsRequest* req,
                             v1::ListFunctionsResponse* resp) override;
  grpc::Status GetProfile(grpc::ServerContext*, const v1::GetProfileRequest* req,
                          v1::GetProfileResponse* resp) override;
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest* req,
                         v1::GetStatusResponse* resp) override;
  grpc::Status SetMode(grpc::ServerContext*, const v1::SetModeRequest* req,
                       v1::SetModeResponse* resp) override;
  grpc::Status ListViolations(grpc::ServerContext*, const v1::ListViolationsRequest* req,
                              v1::ListViolationsResponse* resp) override;
  grpc::Status AcceptViolation(grpc::ServerContext*, const v1::AcceptViolationRequest* req,
                               v1::AcceptViolationResponse* resp) override;
  grpc::Status GetFunction(grpc::ServerContext*, const v1::GetFunctionRequest* req,
                           v1::FunctionSummary* resp) override;
  grpc::Status GetSeccompPolicy(grpc::ServerContext*, const v1::GetSeccompPolicyRequest* req,
                                v1::SeccompPolicy* resp) override;
  grpc::Status PutProfile(grpc::ServerContext*, const v1::PutProfileRequest* req,
                          v1::PutProfileResponse* resp) override;
  grpc::Status DeleteProfile(grpc::ServerContext*, const v1::DeleteProfileRequest* req,
                             v1::DeleteProfileResponse* resp) override;
  grpc::Status DiffProfile(grpc::ServerContext*, const v1::DiffProfileRequest* req,
                           v1::DiffProfileResponse* resp) override;
  grpc::Status SetDefaultMode(grpc::ServerContext*, const v1::SetDefaultModeRequest* req,
                              v1::SetDefaultModeResponse* resp) override;
  grpc::Status StreamEvents(grpc::ServerContext*, const v1::StreamEventsRequest* req,
                            grpc::ServerWriter<v1::AgentEvent>* writer) override;

 private:
  Engine* engine_;
  EventHub* hub_;
  CgroupResolver resolver_;
  StatusFn status_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace faasguard
