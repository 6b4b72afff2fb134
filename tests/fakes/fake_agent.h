// An in-process faasguard.v1.Agent for faasguardctl's unit tests, served on a Unix socket: it
// answers from plain containers a test fills in, and records what it was asked. Calls it has
// no answer for are UNIMPLEMENTED.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "profile/names.h"

namespace faasguard::fakes {

class FakeAgent final : public v1::Agent::Service {
 public:
  explicit FakeAgent(const std::string& socket_path) {
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
    b.RegisterService(this);
    server_ = b.BuildAndStart();
    if (!server_) ADD_FAILURE() << "cannot serve on " << socket_path;
  }
  ~FakeAgent() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  // --- What it answers (set before a call) ---------------------------------------------------
  std::map<std::string, v1::FunctionSummary> functions;  // by "ns/name"
  std::map<std::string, v1::Profile> profiles;           // by "ns/name"
  std::vector<v1::Violation> violations;                 // oldest first
  std::vector<v1::AgentEvent> events;                    // replayed to every stream
  v1::PutProfileResponse put_answer;
  v1::DiffProfileResponse diff_answer;
  v1::GetStatusResponse status;
  grpc::Status fail_with = grpc::Status::OK;  // every call fails with this when set
  std::chrono::milliseconds delay{0};         // before every answer

  // --- What it was asked (read after a call) -------------------------------------------------
  std::vector<std::string> calls;  // method names, in order
  std::vector<v1::PutProfileRequest> puts;
  std::vector<v1::ListViolationsRequest> violation_lists;
  std::vector<v1::StreamEventsRequest> streams;
  std::vector<v1::SetModeRequest> modes;

  void AddFunction(const std::string& ref, v1::Mode mode = v1::MODE_LEARN) {
    v1::FunctionSummary f;
    *f.mutable_function() = *ParseFunctionRef(ref);
    f.set_mode(mode);
    functions[ref] = f;
  }

  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> l(mu_);
    return calls;
  }

  // --- v1::Agent::Service ----------------------------------------------------------------------
  grpc::Status GetFunction(grpc::ServerContext*, const v1::GetFunctionRequest* req,
                           v1::FunctionSummary* resp) override {
    return Answer("GetFunction", [&] { return Lookup(functions, req->function(), resp); });
  }
  grpc::Status ListFunctions(grpc::ServerContext*, const v1::ListFunctionsRequest*,
                             v1::ListFunctionsResponse* resp) override {
    return Answer("ListFunctions", [&] {
      for (const auto& [ref, f] : functions) *resp->add_functions() = f;
      return grpc::Status::OK;
    });
  }
  grpc::Status GetProfile(grpc::ServerContext*, const v1::GetProfileRequest* req,
                          v1::GetProfileResponse* resp) override {
    return Answer("GetProfile",
                  [&] { return Lookup(profiles, req->function(), resp->mutable_profile()); });
  }
  grpc::Status PutProfile(grpc::ServerContext*, const v1::PutProfileRequest* req,
                          v1::PutProfileResponse* resp) override {
    return Answer("PutProfile", [&] {
      puts.push_back(*req);
      *resp = put_answer;
      return grpc::Status::OK;
    });
  }
  grpc::Status DiffProfile(grpc::ServerContext*, const v1::DiffProfileRequest* req,
                           v1::DiffProfileResponse* resp) override {
    return Answer("DiffProfile", [&] {
      if (!functions.count(FunctionRef(req->function()))) return NotFound(req->function());
      *resp = diff_answer;
      return grpc::Status::OK;
    });
  }
  grpc::Status DeleteProfile(grpc::ServerContext*, const v1::DeleteProfileRequest* req,
                             v1::DeleteProfileResponse*) override {
    return Answer("DeleteProfile", [&] {
      return functions.erase(FunctionRef(req->function())) ? grpc::Status::OK
                                                           : NotFound(req->function());
    });
  }
  grpc::Status SetMode(grpc::ServerContext*, const v1::SetModeRequest* req,
                       v1::SetModeResponse* resp) override {
    return Answer("SetMode", [&] {
      modes.push_back(*req);
      v1::FunctionSummary f;
      if (auto s = Lookup(functions, req->function(), &f); !s.ok()) return s;
      resp->set_previous(f.mode());
      resp->set_mode(req->mode());
      functions[FunctionRef(req->function())].set_mode(req->mode());
      return grpc::Status::OK;
    });
  }
  grpc::Status ListViolations(grpc::ServerContext*, const v1::ListViolationsRequest* req,
                              v1::ListViolationsResponse* resp) override {
    return Answer("ListViolations", [&] {
      violation_lists.push_back(*req);
      std::vector<v1::Violation> kept;
      for (const auto& v : violations)
        if (!req->has_function() || FunctionRef(v.function()) == FunctionRef(req->function()))
          kept.push_back(v);
      size_t from = kept.size() > req->limit() ? kept.size() - req->limit() : 0;
      for (size_t i = from; i < kept.size(); ++i) *resp->add_violations() = kept[i];
      return grpc::Status::OK;
    });
  }
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::GetStatusResponse* resp) override {
    return Answer("GetStatus", [&] {
      *resp = status;
      return grpc::Status::OK;
    });
  }
  grpc::Status StreamEvents(grpc::ServerContext*, const v1::StreamEventsRequest* req,
                            grpc::ServerWriter<v1::AgentEvent>* w) override {
    std::vector<v1::AgentEvent> send;
    grpc::Status s = Answer("StreamEvents", [&] {
      streams.push_back(*req);
      send = events;
      return grpc::Status::OK;
    });
    if (!s.ok()) return s;
    for (const auto& e : send) w->Write(e);
    return grpc::Status::OK;
  }

 private:
  template <typename F>
  grpc::Status Answer(const char* method, F&& f) {
    std::this_thread::sleep_for(delay);
    std::lock_guard<std::mutex> l(mu_);
    calls.push_back(method);
    if (!fail_with.ok()) return fail_with;
    return f();
  }
  static grpc::Status NotFound(const v1::FunctionId& id) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no function " + FunctionRef(id));
  }
  template <typename Map, typename T>
  static grpc::Status Lookup(const Map& m, const v1::FunctionId& id, T* out) {
    auto it = m.find(FunctionRef(id));
    if (it == m.end()) return NotFound(id);
    *out = it->second;
    return grpc::Status::OK;
  }

  std::mutex mu_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace faasguard::fakes
