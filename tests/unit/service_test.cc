// The gRPC service (rpc/service.h) called directly, over a real engine on the in-memory kernel:
// every request is checked here, and only here, so a bad one never reaches the engine.
#include "rpc/service.h"

#include <memory>
#include <optional>
#include <string>

#include "core/event_hub.h"
#include "unit/engine_fixture.h"

namespace faasguard::engine_test {
namespace {

class ServiceTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    engine_->SetEventSink([this](v1::AgentEvent e) { hub_.Publish(std::move(e)); });
    service_ = std::make_unique<AgentService>(
        engine_.get(), &hub_,
        [](const std::string& path) -> absl::StatusOr<std::pair<std::string, uint64_t>> {
          return std::make_pair("/sys/fs/cgroup/" + path, kCgroup);
        },
        [] { return v1::GetStatusResponse(); });
  }

  grpc::Status Register(const v1::FunctionId& id, const std::string& container) {
    v1::RegisterCgroupRequest req;
    *req.mutable_function() = id;
    req.set_container(container);
    req.set_cgroup_path("test/a");
    v1::RegisterCgroupResponse resp;
    return service_->RegisterCgroup(nullptr, &req, &resp);
  }

  grpc::Status SetMode(const v1::FunctionId& id, int mode, std::optional<int> action = {},
                       std::optional<int> absent = {}) {
    v1::SetModeRequest req;
    *req.mutable_function() = id;
    req.set_mode(static_cast<v1::Mode>(mode));
    if (action) req.set_syscall_action(static_cast<v1::SyscallAction>(*action));
    if (absent) req.set_when_agent_absent(static_cast<v1::AgentAbsence>(*absent));
    v1::SetModeResponse resp;
    return service_->SetMode(nullptr, &req, &resp);
  }

  EventHub hub_;
  std::unique_ptr<AgentService> service_;
};

TEST_F(ServiceTest, RegisterChecksNamesAndFillsTheDefaults) {
  for (const auto& [id, container] :
       std::vector<std::pair<v1::FunctionId, std::string>>{{Fn("Bad_Name"), "main"},
                                                           {Fn("fn", "NS"), "main"},
                                                           {Fn(""), "main"},
                                                           {Fn("fn"), "Main"},
                                                           {Fn("fn"), "a_b"},
                                                           {Fn("fn"), "*"}}) {
    grpc::Status s = Register(id, container);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << id.ShortDebugString() << " " << container;
  }
  EXPECT_THAT(kernel_.tracked, IsEmpty());
  EXPECT_THAT(kernel_.resets, IsEmpty());
  EXPECT_EQ(engine_->function_count(), 0u);

  // No namespace: "default"; no container: "main"; no platform: "local".
  ASSERT_TRUE(Register(Fn("fn", ""), "").ok());
  v1::Profile p = Profile("fn", "default");
  EXPECT_EQ(p.function().platform(), "local");
  ASSERT_EQ(p.containers_size(), 1);
  EXPECT_EQ(p.containers(0).name(), "main");
}

TEST_F(ServiceTest, ReadsCheckTheFunctionName) {
  v1::GetProfileRequest gp;
  *gp.mutable_function() = Fn("Bad_Name");
  v1::GetProfileResponse gpr;
  grpc::Status s = service_->GetProfile(nullptr, &gp, &gpr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("function name"));
  *gp.mutable_function() = Fn("nope", "");
  EXPECT_EQ(service_->GetProfile(nullptr, &gp, &gpr).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::GetFunctionRequest gf;
  *gf.mutable_function() = Fn("Bad_Name");
  v1::FunctionSummary gfr;
  EXPECT_EQ(service_->GetFunction(nullptr, &gf, &gfr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::DeleteProfileRequest dp;
  *dp.mutable_function() = Fn("fn", "NS");
  v1::DeleteProfileResponse dpr;
  EXPECT_EQ(service_->DeleteProfile(nullptr, &dp, &dpr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListViolationsRequest lv;
  *lv.mutable_function() = Fn("Bad_Name");
  v1::ListViolationsResponse lvr;
  EXPECT_EQ(service_->ListViolations(nullptr, &lv, &lvr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  lv.clear_function();
  lv.set_limit(10001);
  EXPECT_EQ(service_->ListViolations(nullptr, &lv, &lvr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, SetModeRejectsBadRequests) {
  ASSERT_TRUE(Register(Fn("fn", "default"), "main").ok());
  EXPECT_EQ(SetMode(Fn("nope", ""), v1::MODE_ENFORCE).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SetMode(Fn("fn", ""), v1::MODE_UNSPECIFIED).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetMode(Fn("fn", ""), 42).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetMode(Fn("fn", ""), v1::MODE_ENFORCE, 42).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetMode(Fn("fn", ""), v1::MODE_ENFORCE, std::nullopt, 9).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetMode(Fn("Bad_Name", ""), v1::MODE_ENFORCE).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Profile("fn", "default").mode(), v1::MODE_LEARN);
  EXPECT_THAT(kernel_.policies, IsEmpty());

  v1::SetDefaultModeRequest dm;
  dm.set_mode(static_cast<v1::Mode>(-3));
  v1::SetDefaultModeResponse dmr;
  EXPECT_EQ(service_->SetDefaultMode(nullptr, &dm, &dmr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // A good one goes through, with what it leaves unset kept.
  ASSERT_TRUE(
      SetMode(Fn("fn", ""), v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT, v1::AGENT_ABSENCE_FAIL_OPEN)
          .ok());
  ASSERT_TRUE(SetMode(Fn("fn", ""), v1::MODE_MONITOR).ok());
  EXPECT_EQ(Profile("fn", "default").mode(), v1::MODE_MONITOR);
  EXPECT_EQ(Profile("fn", "default").syscall_action(), v1::SYSCALL_ACTION_ALERT);
  EXPECT_EQ(Profile("fn", "default").when_agent_absent(), v1::AGENT_ABSENCE_FAIL_OPEN);
}

TEST_F(ServiceTest, AcceptRejectsBadRequests) {
  v1::AcceptViolationRequest req;
  *req.mutable_function() = Fn("Bad_Name");
  req.set_id(1);
  v1::AcceptViolationResponse resp;
  EXPECT_EQ(service_->AcceptViolation(nullptr, &req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  *req.mutable_function() = Fn("fn", "");
  req.set_id(0);
  EXPECT_EQ(service_->AcceptViolation(nullptr, &req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_id(5);
  EXPECT_EQ(service_->AcceptViolation(nullptr, &req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, ProfilesInRequestsAreChecked) {
  v1::PutProfileRequest put;
  v1::PutProfileResponse putr;
  EXPECT_EQ(service_->PutProfile(nullptr, &put, &putr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "no profile";
  v1::Profile p = NewProfile(Fn("fn", ""), absl::Now());
  v1::NetEntry* n = ContainerSection(p, "main").add_egress();
  n->set_protocol(v1::PROTOCOL_TCP);
  n->set_address("10.1.2.3");
  n->set_port(70000);
  *put.mutable_profile() = p;
  grpc::Status s = service_->PutProfile(nullptr, &put, &putr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("70000"));
  EXPECT_EQ(engine_->function_count(), 0u);

  n->set_port(443);
  *put.mutable_profile() = p;
  put.set_mode(static_cast<v1::Mode>(42));
  s = service_->PutProfile(nullptr, &put, &putr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "the mode an import asks for";
  EXPECT_THAT(s.error_message(), HasSubstr("mode"));
  EXPECT_EQ(engine_->function_count(), 0u);
  put.clear_mode();
  ASSERT_TRUE(service_->PutProfile(nullptr, &put, &putr).ok());
  EXPECT_EQ(Profile("fn", "default").function().namespace_(), "default");

  // A diff against a profile that is not one is refused before the engine sees it.
  v1::DiffProfileRequest diff;
  *diff.mutable_function() = Fn("fn", "");
  n->set_port(70000);
  *diff.mutable_profile() = p;
  v1::DiffProfileResponse diffr;
  s = service_->DiffProfile(nullptr, &diff, &diffr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("70000"));
  diff.clear_profile();  // none: the function's own, named by the request
  ASSERT_TRUE(service_->DiffProfile(nullptr, &diff, &diffr).ok());
}

}  // namespace
}  // namespace faasguard::engine_test
