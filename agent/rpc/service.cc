#include "rpc/service.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

AgentService::AgentService(Engine* engine, EventHub* hub, CgroupResolver resolver, StatusFn status)
    : engine_(engine), hub_(hub), resolver_(std::move(resolver)), status_(std::move(status)) {}

void AgentService::Shutdown() {
  shutting_down_.store(true);
  if (hub_) hub_->CloseAll();
}

grpc::Status AgentService::RegisterCgroup(grpc::ServerContext*,
                                          const v1::RegisterCgroupRequest* req,
                                          v1::RegisterCgroupResponse* resp) {
  v1::FunctionId id = req->function();
  if (id.platform().empty()) id.set_platform(std::string(kPlatformLocal));
  if (id.namespace_().empty()) id.set_namespace_(std::string(kDefaultNamespace));
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  std::string container =
      req->container().empty() ? std::string(kDefaultContainer) : req->container();
  if (absl::Status s = ValidateLabel(container, "container name"); !s.ok()) return ToGrpcStatus(s);
  auto cg = resolver_(req->cgroup_path());
  if (!cg.ok()) return ToGrpcStatus(cg.status());
  auto r = engine_->RegisterCgroup(id, container, cg->second, cg->first);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::UnregisterCgroup(grpc::ServerContext*,
                                            const v1::UnregisterCgroupRequest* req,
                                            v1::UnregisterCgroupResponse*) {
  uint64_t id = req->cgroup_id();
  if (id == 0) {
    if (req->cgroup_path().empty())
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "give cgroup_path or cgroup_id of the cgroup to unregister");
    auto cg = resolver_(req->cgroup_path());
    if (cg.ok()) {
      id = cg->second;
    } else {
      // The directory may be gone already: find it by the path it was registered with.
      auto known = engine_->CgroupIdForPath(req->cgroup_path());
      if (!known) return ToGrpcStatus(cg.status());
      id = *known;
    }
  }
  return ToGrpcStatus(engine_->UnregisterCgroup(id));
}

grpc::Status AgentService::ListFunctions(grpc::ServerContext*, const v1::ListFunctionsRequest*,
                                         v1::ListFunctionsResponse* resp) {
  for (auto& f : engine_->ListFunctions()) *resp->add_functions() = std::move(f);
  return grpc::Status::OK;
}

grpc::Status AgentService::GetProfile(grpc::ServerContext*, const v1::GetProfileRequest* req,
                                      v1::GetProfileResponse* resp) {
  v1::FunctionId id = req->function();
  if (id.namespace_().empty()) id.set_namespace_(std::string(kDefaultNamespace));
  auto p = engine_->GetProfile(id);
  if (!p.ok()) return ToGrpcStatus(p.status());
  *resp->mutable_profile() = std::move(*p);
  return grpc::Status::OK;
}

grpc::Status AgentService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                                     v1::GetStatusResponse* resp) {
  *resp = status_();
  return grpc::Status::OK;
}

namespace {

v1::FunctionId WithDefaults(const v1::FunctionId& in) {
  v1::FunctionId id = in;
  if (id.namespace_().empty()) id.set_namespace_(std::string(kDefaultNamespace));
  return id;
}

}  // namespace

grpc::Status AgentService::SetMode(grpc::ServerContext*, const v1::SetModeRequest* req,
                                   v1::SetModeResponse* resp) {
  v1::FunctionId id = WithDefaults(req->function());
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  if (!v1::Mode_IsValid(req->mode()) || req->mode() == v1::MODE_UNSPECIFIED)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "mode must be MODE_LEARN, MODE_MONITOR or MODE_ENFORCE");
  std::optional<v1::SyscallAction> action;
  if (req->has_syscall_action()) {
    if (!v1::SyscallAction_IsValid(req->syscall_action()))
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "syscall_action must be SYSCALL_ACTION_KILL or SYSCALL_ACTION_ALERT");
    action = req->syscall_action();
  }
  std::optional<v1::AgentAbsence> absent;
  if (req->has_when_agent_absent()) {
    if (!v1::AgentAbsence_IsValid(req->when_agent_absent()))
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "when_agent_absent must be AGENT_ABSENCE_FAIL_CLOSED or AGENT_ABSENCE_FAIL_OPEN");
    absent = req->when_agent_absent();
  }
  auto r = engine_->SetMode(id, ModeRequest{req->mode(), action, absent}, ModeSource::kApi);
  if (!r.ok()) return ToGrpcStatus(r.status());
  engine_->SaveDirty();  // the mode survives a restart from now on
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::ListViolations(grpc::ServerContext*,
                                          const v1::ListViolationsRequest* req,
                                          v1::ListViolationsResponse* resp) {
  size_t limit = req->limit() == 0 ? 100 : req->limit();
  if (limit > 10000)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit must be at most 10000");
  v1::FunctionId id;
  bool filter = !req->function().name().empty();
  if (filter) {
    id = WithDefaults(req->function());
    if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  }
  *resp = engine_->ListViolations(filter ? &id : nullptr, limit);
  return grpc::Status::OK;
}

grpc::Status AgentService::AcceptViolation(grpc::ServerContext*,
                                           const v1::AcceptViolationRequest* req,
                                           v1::AcceptViolationResponse* resp) {
  v1::FunctionId id = WithDefaults(req->function());
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  if (req->id() == 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give the violation id to accept");
  auto r = engine_->AcceptViolation(id, req->id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  engine_->SaveDirty();
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::GetFunction(grpc::ServerContext*, const v1::GetFunctionRequest* req,
                                       v1::FunctionSummary* resp) {
  v1::FunctionId id = WithDefaults(req->function());
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  auto r = engine_->GetFunction(id);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status AgentService::PutProfile(grpc::ServerContext*, const v1::PutProfileRequest* req,
                                      v1::PutProfileResponse* resp) {
  if (!req->has_profile())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give the profile to import");
  v1::PutProfileRequest in = *req;
  v1::Profile& p = *in.mutable_profile();
  if (p.function().namespace_().empty())
    p.mutable_function()->set_namespace_(std::string(kDefaultNamespace));
  if (absl::Status s = ValidateProfile(p); !s.ok()) return ToGrpcStatus(s);
  auto r = engine_->PutProfile(in, ModeSource::kImport);
  if (!r.ok()) return ToGrpcStatus(r.status());
  engine_->SaveDirty();
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::DeleteProfile(grpc::ServerContext*, const v1::DeleteProfileRequest* req,
                                         v1::DeleteProfileResponse*) {
  v1::FunctionId id = WithDefaults(req->function());
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  return ToGrpcStatus(engine_->DeleteProfile(id));
}

grpc::Status AgentService::DiffProfile(grpc::ServerContext*, const v1::DiffProfileRequest* req,
                                       v1::DiffProfileResponse* resp) {
  v1::FunctionId id = WithDefaults(req->function());
  if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
  v1::Profile other = req->profile();
  if (!other.has_function()) *other.mutable_function() = id;
  if (other.function().namespace_().empty())
    other.mutable_function()->set_namespace_(std::string(kDefaultNamespace));
  auto r = engine_->DiffProfile(id, other);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status AgentService::SetDefaultMode(grpc::ServerContext*,
                                          const v1::SetDefaultModeRequest* req,
                                          v1::SetDefaultModeResponse* resp) {
  if (!v1::Mode_IsValid(req->mode()) || req->mode() == v1::MODE_UNSPECIFIED)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "mode must be MODE_LEARN, MODE_MONITOR or MODE_ENFORCE");
  resp->set_previous(engine_->SetDefaultMode(req->mode()));
  return grpc::Status::OK;
}

grpc::Status AgentService::StreamEvents(grpc::ServerContext* ctx,
                                        const v1::StreamEventsRequest* req,
                                        grpc::ServerWriter<v1::AgentEvent>* writer) {
  if (!hub_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "events are not available");
  EventHub::Filter filter;
  if (!req->function().name().empty()) {
    v1::FunctionId id = WithDefaults(req->function());
    if (absl::Status s = ValidateFunctionId(id); !s.ok()) return ToGrpcStatus(s);
    filter.function = FunctionKey(id);
  }
  for (int k : req->kinds()) {
    if (!v1::EventKind_IsValid(k) || k == v1::EVENT_KIND_UNSPECIFIED)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("unknown event kind ", k));
    filter.kinds.insert(k);
  }
  if (req->replay() > 1000)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "replay must be at most 1000");
  std::vector<v1::AgentEvent> replayed;
  auto sub = hub_->Subscribe(filter, req->replay(), &replayed);
  struct Unsubscribe {
    EventHub* hub;
    std::shared_ptr<EventHub::Subscription> sub;
    ~Unsubscribe() { hub->Unsubscribe(sub); }
  } guard{hub_, sub};
  for (const auto& e : replayed)
    if (!writer->Write(e)) return grpc::Status::OK;  // the client went away
  if (!req->follow()) return grpc::Status::OK;
  // Writes block only this stream (flow control); meanwhile the subscription's own bounded
  // queue drops its oldest events, and the next event sent says how many.
  while (!ctx->IsCancelled() && !shutting_down_.load()) {
    for (const auto& e : sub->Next(absl::Milliseconds(200))) {
      if (!writer->Write(e)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

}  // namespace faasguard
