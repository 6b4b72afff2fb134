// e2e (root): the real agent binary over its real socket, fed malformed and hostile requests
// of every kind. Each gets a precise error, and the agent answers the next request correctly.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "faasguard/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using ::testing::HasSubstr;

class ApiRobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    socket_ = dir_.path() + "/agent.sock";
    log_ = dir_.path() + "/agent.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::string state = dir_.path() + "/state";
      ::execl(FG_AGENT_PATH, FG_AGENT_PATH, "--socket", socket_.c_str(), "--state-dir",
              state.c_str(), "--metrics-addr", "off", "--bpf-pin-dir", "off", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 300 && !Ready(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(Ready()) << "the agent did not start";
    channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
    stub_ = v1::Agent::NewStub(channel_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }

  bool Ready() {
    std::ifstream f(log_);
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return s.find("agent ready") != std::string::npos;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return c;
  }

  // After every bad request: the agent is alive and answers a good one.
  void ExpectHealthy() {
    v1::GetStatusResponse r;
    auto ctx = Ctx();
    grpc::Status s = stub_->GetStatus(ctx.get(), v1::GetStatusRequest(), &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(r.version(), "0.1.0");
    EXPECT_EQ(::waitpid(pid_, nullptr, WNOHANG), 0) << "the agent exited";
  }

  // Sends raw bytes as the request of `method`.
  grpc::Status Raw(const std::string& method, const std::string& bytes) {
    grpc::GenericStub generic(channel_);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer req(&slice, 1), resp;
    auto ctx = Ctx();
    grpc::CompletionQueue cq;
    auto call = generic.PrepareUnaryCall(ctx.get(), method, req, &cq);
    call->StartCall();
    grpc::Status status;
    call->Finish(&resp, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
    return status;
  }

  testing::TempDir dir_;
  std::string socket_, log_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(ApiRobustnessTest, GarbageBytesAreRefused) {
  for (const std::string& bytes :
       {std::string("\xff\xff\xff\xff\xff\xff", 6), std::string("\x0a\xff\xff\xff\x0f", 5),
        std::string(1000, '\x0a')}) {
    grpc::Status s = Raw("/faasguard.v1.Agent/GetProfile", bytes);
    EXPECT_FALSE(s.ok());
    ExpectHealthy();
  }
  EXPECT_EQ(Raw("/faasguard.v1.Agent/NoSuchMethod", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, StandardHealthServiceAnswersServing) {
  // grpc.health.v1.Health/Check with an empty request: HealthCheckResponse{status: SERVING}.
  grpc::GenericStub generic(channel_);
  grpc::Slice empty("");
  grpc::ByteBuffer req(&empty, 1), resp;
  auto ctx = Ctx();
  grpc::CompletionQueue cq;
  auto call = generic.PrepareUnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", req, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&resp, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(resp.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices)
    bytes += std::string(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2)) << "status: SERVING";
}

TEST_F(ApiRobustnessTest, DeeplyNestedMessageIsRefused) {
  // PutProfileRequest.profile (field 1) nested far past protobuf's recursion limit: each
  // level is a length-delimited field 1 holding the next.
  std::string msg;
  for (int i = 0; i < 5000; ++i) {
    std::string len;
    size_t n = msg.size();
    do {
      uint8_t b = n & 0x7f;
      n >>= 7;
      len += static_cast<char>(b | (n ? 0x80 : 0));
    } while (n);
    msg = std::string("\x0a") + len + msg;
  }
  EXPECT_FALSE(Raw("/faasguard.v1.Agent/PutProfile", msg).ok());
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, InvalidUtf8IsRefused) {
  // GetProfileRequest{function{name: "\xff\xfe"}} built by hand: field 1 (FunctionId), in it
  // field 3 (name) of 2 bytes that are not UTF-8.
  std::string name = "\x1a\x02\xff\xfe";
  std::string req = std::string("\x0a") + static_cast<char>(name.size()) + name;
  grpc::Status s = Raw("/faasguard.v1.Agent/GetProfile", req);
  EXPECT_FALSE(s.ok());
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, HugeAndMalformedNamesAreInvalidArgument) {
  for (const std::string& name :
       {std::string(100000, 'a'), std::string("UPPER"), std::string("semi;colon"),
        std::string("-dash"), std::string("a..b"), std::string("")}) {
    v1::GetProfileRequest req;
    req.mutable_function()->set_namespace_("default");
    req.mutable_function()->set_name(name);
    v1::GetProfileResponse r;
    auto ctx = Ctx();
    grpc::Status s = stub_->GetProfile(ctx.get(), req, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name.substr(0, 20);
    EXPECT_THAT(s.error_message(), HasSubstr("function name")) << name.substr(0, 20);
  }
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, UnknownEnumValuesAreInvalidArgument) {
  {
    v1::SetModeRequest req;
    req.mutable_function()->set_namespace_("default");
    req.mutable_function()->set_name("f");
    req.set_mode(static_cast<v1::Mode>(42));
    v1::SetModeResponse r;
    auto ctx = Ctx();
    grpc::Status s = stub_->SetMode(ctx.get(), req, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("mode"));
  }
  {
    v1::SetModeRequest req;
    req.mutable_function()->set_namespace_("default");
    req.mutable_function()->set_name("f");
    req.set_mode(v1::MODE_ENFORCE);
    req.set_syscall_action(static_cast<v1::SyscallAction>(9));
    v1::SetModeResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->SetMode(ctx.get(), req, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::SetDefaultModeRequest req;
    req.set_mode(static_cast<v1::Mode>(-3));
    v1::SetDefaultModeResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->SetDefaultMode(ctx.get(), req, &r).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::StreamEventsRequest req;
    req.add_kinds(static_cast<v1::EventKind>(77));
    auto ctx = Ctx();
    auto reader = stub_->StreamEvents(ctx.get(), req);
    v1::AgentEvent e;
    while (reader->Read(&e)) {
    }
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("event kind"));
  }
  {
    v1::PutProfileRequest req;
    auto* p = req.mutable_profile();
    p->mutable_function()->set_namespace_("default");
    p->mutable_function()->set_name("f");
    p->set_mode(static_cast<v1::Mode>(12));
    v1::PutProfileResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->PutProfile(ctx.get(), req, &r).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, OutOfRangeSizesAndBadProfilesAreInvalidArgument) {
  {
    v1::ListViolationsRequest req;
    req.set_limit(1000000);
    v1::ListViolationsResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->ListViolations(ctx.get(), req, &r).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::StreamEventsRequest req;
    req.set_replay(100000);
    auto ctx = Ctx();
    auto reader = stub_->StreamEvents(ctx.get(), req);
    v1::AgentEvent e;
    while (reader->Read(&e)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::PutProfileRequest req;
    auto* p = req.mutable_profile();
    p->mutable_function()->set_namespace_("default");
    p->mutable_function()->set_name("f");
    auto* c = p->add_containers();
    c->set_name("main");
    auto* n = c->add_egress();
    n->set_protocol(v1::PROTOCOL_TCP);
    n->set_address("10.1.2.3/8");
    n->set_port(70000);
    v1::PutProfileResponse r;
    auto ctx = Ctx();
    grpc::Status s = stub_->PutProfile(ctx.get(), req, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("70000"));
  }
  {
    v1::PutProfileRequest req;  // no profile at all
    v1::PutProfileResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->PutProfile(ctx.get(), req, &r).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    // Over the 16 MiB request limit.
    v1::PutProfileRequest req;
    req.mutable_profile()->mutable_function()->set_name(std::string(17 << 20, 'a'));
    v1::PutProfileResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->PutProfile(ctx.get(), req, &r).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, CgroupPathsAreChecked) {
  for (const auto& [path, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"/etc", grpc::StatusCode::INVALID_ARGUMENT},
           {"faasguard/../..", grpc::StatusCode::INVALID_ARGUMENT},
           {"", grpc::StatusCode::INVALID_ARGUMENT},
           {"no-such-cgroup-here", grpc::StatusCode::NOT_FOUND}}) {
    v1::RegisterCgroupRequest req;
    req.mutable_function()->set_name("f");
    req.set_cgroup_path(path);
    v1::RegisterCgroupResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->RegisterCgroup(ctx.get(), req, &r).error_code(), code) << path;
  }
  {
    v1::UnregisterCgroupRequest req;
    req.set_cgroup_id(123456789);
    v1::UnregisterCgroupResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->UnregisterCgroup(ctx.get(), req, &r).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  ExpectHealthy();
}

TEST_F(ApiRobustnessTest, UnknownThingsAreNotFound) {
  v1::FunctionId id;
  id.set_namespace_("default");
  id.set_name("ghost");
  {
    v1::GetFunctionRequest req;
    *req.mutable_function() = id;
    v1::FunctionSummary r;
    auto ctx = Ctx();
    grpc::Status s = stub_->GetFunction(ctx.get(), req, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(s.error_message(), HasSubstr("default/ghost"));
  }
  {
    v1::DeleteProfileRequest req;
    *req.mutable_function() = id;
    v1::DeleteProfileResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->DeleteProfile(ctx.get(), req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    v1::AcceptViolationRequest req;
    *req.mutable_function() = id;
    req.set_id(5);
    v1::AcceptViolationResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->AcceptViolation(ctx.get(), req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    v1::DiffProfileRequest req;
    *req.mutable_function() = id;
    v1::DiffProfileResponse r;
    auto ctx = Ctx();
    EXPECT_EQ(stub_->DiffProfile(ctx.get(), req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ExpectHealthy();
}

}  // namespace
}  // namespace faasguard
