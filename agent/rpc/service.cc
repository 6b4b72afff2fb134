#include "rpc/service.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
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

namespace {

// Every request is checked here, once: the engine takes valid names and values.

grpc::Status Invalid(absl::string_view message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(message));
}

// The function a request names: namespace "default" when it gives none.
absl::StatusOr<v1::FunctionId> RequestedFunction(const v1::FunctionId& in) {
  v1::FunctionId id = in;
  if (id.namespace_().empty()) id.set_namespace_(std::string(kDefaultNamespace));
  FG_RETURN_IF_ERROR(ValidateFunctionId(id));
  return id;
}

// A profile a request carries (its namespace "default" when it gives none).
absl::Status CheckProfile(v1::Profile& p) {
  if (p.function().namespace_().empty())
    p.mutable_function()->set_namespace_(std::string(kDefaultNamespace));
  MigrateProfile(&p);
  return ValidateProfile(p);
}

bool IsMode(int mode) { return v1::Mode_IsValid(mode) && mode != v1::MODE_UNSPECIFIED; }
constexpr char kModeWanted[] = "mode must be MODE_LEARN, MODE_MONITOR or MODE_ENFORCE";

}  // namespace

grpc::Status AgentService::RegisterCgroup(grpc::ServerContext*,
                                          const v1::RegisterCgroupRequest* req,
                                          v1::RegisterCgroupResponse* resp) {
  v1::FunctionId in = req->function();
  if (in.platform().empty()) in.set_platform(std::string(kPlatformLocal));
  auto id = RequestedFunction(in);
  if (!id.ok()) return ToGrpcStatus(id.status());
  std::string container =
      req->container().empty() ? std::string(kDefaultContainer) : req->container();
  if (absl::Status s = ValidateLabel(container, "container name"); !s.ok()) return ToGrpcStatus(s);
  if (req->seccomp_revision().size() > 64 ||
      req->seccomp_revision().find_first_not_of("0123456789abcdef") != std::string::npos)
    return Invalid("seccomp_revision must be a revision from GetSeccompPolicy");
  auto cg = resolver_(req->cgroup_path());
  if (!cg.ok()) return ToGrpcStatus(cg.status());
  RegisterOptions opts;
  opts.seccomp_revision = req->seccomp_revision();
  auto r = engine_->RegisterCgroup(*id, container, cg->second, cg->first, opts);
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
      return Invalid("give cgroup_path or cgroup_id of the cgroup to unregister");
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
  auto id = RequestedFunction(req->function());
  if (!id.ok()) return ToGrpcStatus(id.status());
  auto p = engine_->GetProfile(*id);
  if (!p.ok()) return ToGrpcStatus(p.status());
  *resp->mutable_profile() = std::move(*p);
  return grpc::Status::OK;
}

grpc::Status AgentService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                                     v1::GetStatusResponse* resp) {
  *resp = status_();
  return grpc::Status::OK;
}

grpc::Status AgentService::SetMode(grpc::ServerContext*, const v1::SetModeRequest* req,
                                   v1::SetModeResponse* resp) {
  auto id = RequestedFunction(req->function());
  if (!id.ok()) return ToGrpcStatus(id.status());
  if (!IsMode(req->mode())) return Invalid(kModeWanted);
  ModeRequest mode{req->mode(), {}, {}, {}};
  if (req->has_syscall_action()) {
    if (!v1::SyscallAction_IsValid(req->syscall_action()))
      return Invalid("syscall_action must be SYSCALL_ACTION_DEFAULT, _ALERT, _KILL or _ERRNO");
    mode.syscall_action = req->syscall_action();
  }
  if (req->has_sensitive_syscall_action()) {
    if (!v1::SyscallAction_IsValid(req->sensitive_syscall_action()))
      return Invalid(
          "sensitive_syscall_action must be SYSCALL_ACTION_DEFAULT, _ALERT, _KILL or _ERRNO");
    mode.sensitive_syscall_action = req->sensitive_syscall_action();
  }
  if (req->has_when_agent_absent()) {
    if (!v1::AgentAbsence_IsValid(req->when_agent_absent()))
      return Invalid(
          "when_agent_absent must be AGENT_ABSENCE_FAIL_CLOSED or AGENT_ABSENCE_FAIL_OPEN");
    mode.when_agent_absent = req->when_agent_absent();
  }
  auto r = engine_->SetMode(*id, mode, ModeSource::kApi);
  if (!r.ok()) return ToGrpcStatus(r.status());
  engine_->SaveDirty();  // the mode survives a restart from now on
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::ListViolations(grpc::ServerContext*,
                                          const v1::ListViolationsRequest* req,
                                          v1::ListViolationsResponse* resp) {
  size_t limit = req->limit() == 0 ? 100 : req->limit();
  if (limit > 10000) return Invalid("limit must be at most 10000");
  std::optional<v1::FunctionId> id;
  if (!req->function().name().empty()) {
    auto fn = RequestedFunction(req->function());
    if (!fn.ok()) return ToGrpcStatus(fn.status());
    id = *fn;
  }
  *resp = engine_->ListViolations(id ? &*id : nullptr, limit);
  return grpc::Status::OK;
}

grpc::Status AgentService::AcceptViolation(grpc::ServerContext*,
                                           const v1::AcceptViolationRequest* req,
                                           v1::AcceptViolationResponse* resp) {
  auto id = RequestedFunction(req->function());
  if (!id.ok()) return ToGrpcStatus(id.status());
  if (req->id() == 0) return Invalid("give the violation id to accept");
  auto r = engine_->AcceptViolation(*id, req->id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  engine_->SaveDirty();
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::GetFunction(grpc::ServerContext*, const v1::GetFunctionRequest* req,
                                       v1::FunctionSummary* resp) {
  auto id = RequestedFunction(req->function());
  if (!id.ok()) return ToGrpcStatus(id.status());
  auto r = engine_->GetFunction(*id);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status AgentService::GetSeccompPolicy(grpc::ServerContext*,
                                            const v1::GetSeccompPolicyRequest* req,
                                            v1::SeccompPolicy* resp) {
  v1::FunctionId in = req->function();
  if (in.platform().empty()) in.set_platform(std::string(kPlatformLocal));
  auto id = RequestedFunction(in);
  if (!id.ok()) return ToGrpcStatus(id.status());
  std::string container =
      req->container().empty() ? std::string(kDefaultContainer) : req->container();
  if (absl::Status s = ValidateLabel(container, "container name"); !s.ok()) return ToGrpcStatus(s);
  auto r = engine_->GetSeccompPolicy(*id, container);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status AgentService::PutProfile(grpc::ServerContext*, const v1::PutProfileRequest* req,
                                      v1::PutProfileResponse* resp) {
  if (!req->has_profile()) return Invalid("give the profile to import");
  if (!v1::Mode_IsValid(req->mode()))
    return Invalid("mode must be MODE_LEARN, MODE_MONITOR or MODE_ENFORCE, or unset");
  v1::PutProfileRequest in = *req;
  if (absl::Status s = CheckProfile(*in.mutable_profile()); !s.ok()) return ToGrpcStatus(s);
  auto r = engine_->PutProfile(in, ModeSource::kImport);
  if (!r.ok()) return ToGrpcStatus(r.status());
  if (!r->dry_run()) engine_->SaveDirty();
  *resp = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::DeleteProfile(grpc::ServerContext*, const v1::DeleteProfileRequest* req,
                                         v1::DeleteProfileResponse*) {
  auto id = RequestedFunction(req->function());
  if (!id.ok()) return ToGrpcStatus(id.status());
  return ToGrpcStatus(engine_->DeleteProfile(*id));
}

grpc::Status AgentService::DiffProfile(grpc::ServerContext*, const v1::DiffProfileRequest* req,
                                       v1::DiffProfileResponse* resp) {
  auto id = RequestedFunction(req->function());
  if (!id.ok()) return ToGrpcStatus(id.status());
  v1::Profile other = req->profile();
  if (!other.has_function()) *other.mutable_function() = *id;
  if (absl::Status s = CheckProfile(other); !s.ok()) return ToGrpcStatus(s);
  auto r = engine_->DiffProfile(*id, other);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status AgentService::SetDefaultMode(grpc::ServerContext*,
                                          const v1::SetDefaultModeRequest* req,
                                          v1::SetDefaultModeResponse* resp) {
  if (!IsMode(req->mode())) return Invalid(kModeWanted);
  resp->set_previous(engine_->SetDefaultMode(req->mode()));
  return grpc::Status::OK;
}

grpc::Status AgentService::StreamEvents(grpc::ServerContext* ctx,
                                        const v1::StreamEventsRequest* req,
                                        grpc::ServerWriter<v1::AgentEvent>* writer) {
  if (!hub_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "events are not available");
  EventHub::Filter filter;
  if (!req->function().name().empty()) {
    auto id = RequestedFunction(req->function());
    if (!id.ok()) return ToGrpcStatus(id.status());
    filter.function = FunctionKey(*id);
  }
  for (int k : req->kinds()) {
    if (!v1::EventKind_IsValid(k) || k == v1::EVENT_KIND_UNSPECIFIED)
      return Invalid(absl::StrCat("unknown event kind ", k));
    filter.kinds.insert(k);
  }
  if (req->replay() > 1000) return Invalid("replay must be at most 1000");
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
