// e2e (root): the engine's promises through the real agent binary, over gRPC (the faasguardctl
// flags for them are another piece of work), with real processes in a real cgroup:
//  - an import never changes a function's mode unless it asks, and every mode change is an
//    event (issue 17, item 5);
//  - violations and their ids outlive the agent, with pinned maps or without (item 8).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "support/agent_process.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RunIn;
using testing::SelfExe;
using testing::TestCgroup;

constexpr int kKilled = 128 + 9;

v1::FunctionId Fn(const std::string& name) { return testing::FunctionIdOf("", "default", name); }

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return c;
}

bool Eventually(const std::function<bool()>& f, double seconds = 10) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return f();
}

// A document for default/`name`: execs of `bins` from this test's binary, in `mode`.
v1::Profile Doc(const std::string& name, const std::vector<std::string>& bins, v1::Mode mode) {
  v1::Profile p;
  *p.mutable_function() = Fn(name);
  p.set_mode(mode);
  v1::ContainerProfile* c = p.add_containers();
  c->set_name("main");
  for (const auto& b : bins) {
    v1::ExecEntry* e = c->add_execs();
    e->set_path(b);
    e->set_parent(SelfExe());
  }
  return p;
}

class EngineE2E : public ::testing::Test {
 protected:
  void SetUp() override { FG_REQUIRE_ROOT(); }

  std::unique_ptr<AgentProcess> Agent(const std::vector<std::string>& extra = {}) {
    auto a = AgentProcess::Start(FG_AGENT_PATH, dir_.path(), extra);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? std::move(*a) : nullptr;
  }

  void Register(AgentProcess& a, const std::string& name, const TestCgroup& cg) {
    v1::RegisterCgroupRequest req;
    *req.mutable_function() = Fn(name);
    req.set_cgroup_path(cg.path());
    v1::RegisterCgroupResponse resp;
    grpc::Status s = a.stub().RegisterCgroup(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void SetMode(AgentProcess& a, const std::string& name, v1::Mode mode) {
    v1::SetModeRequest req;
    *req.mutable_function() = Fn(name);
    req.set_mode(mode);
    v1::SetModeResponse resp;
    grpc::Status s = a.stub().SetMode(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::PutProfileResponse Put(AgentProcess& a, const v1::PutProfileRequest& req) {
    v1::PutProfileResponse resp;
    grpc::Status s = a.stub().PutProfile(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  v1::FunctionSummary Function(AgentProcess& a, const std::string& name) {
    v1::GetFunctionRequest req;
    *req.mutable_function() = Fn(name);
    v1::FunctionSummary resp;
    grpc::Status s = a.stub().GetFunction(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  std::vector<v1::Violation> Violations(AgentProcess& a, const std::string& name) {
    v1::ListViolationsRequest req;
    *req.mutable_function() = Fn(name);
    v1::ListViolationsResponse resp;
    grpc::Status s = a.stub().ListViolations(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.violations().begin(), resp.violations().end()};
  }

  // Runs `bin` in the cgroup, which is enforced without it: killed, and its violation listed.
  v1::Violation Violate(AgentProcess& a, const TestCgroup& cg, const std::string& name,
                        const std::string& bin) {
    const size_t before = Violations(a, name).size();
    EXPECT_EQ(RunIn(cg.path(), {bin}), kKilled) << bin;
    EXPECT_TRUE(Eventually([&] { return Violations(a, name).size() > before; })) << a.Log();
    auto v = Violations(a, name);
    return v.empty() ? v1::Violation() : v.back();
  }

  v1::AcceptViolationResponse Accept(AgentProcess& a, const std::string& name, uint64_t id) {
    v1::AcceptViolationRequest req;
    *req.mutable_function() = Fn(name);
    req.set_id(id);
    v1::AcceptViolationResponse resp;
    grpc::Status s = a.stub().AcceptViolation(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // The details of `name`'s lifecycle events `what`, as the agent replays them.
  std::vector<std::string> Details(AgentProcess& a, const std::string& name,
                                   const std::string& what) {
    v1::StreamEventsRequest req;
    *req.mutable_function() = Fn(name);
    req.add_kinds(v1::EVENT_KIND_LIFECYCLE);
    req.set_replay(1000);
    auto ctx = Ctx();
    auto reader = a.stub().StreamEvents(ctx.get(), req);
    std::vector<std::string> out;
    v1::AgentEvent e;
    while (reader->Read(&e))
      if (e.what() == what) out.push_back(e.detail());
    EXPECT_TRUE(reader->Finish().ok());
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(EngineE2E, AnImportNeverChangesAModeUnlessItAsks) {
  auto a = Agent();
  ASSERT_NE(a, nullptr);
  TestCgroup cg("import");
  Register(*a, "victim", cg);
  ASSERT_EQ(RunIn(cg.path(), {"/bin/true"}), 0);  // learned
  SetMode(*a, "victim", v1::MODE_ENFORCE);
  ASSERT_EQ(RunIn(cg.path(), {"/bin/false"}), kKilled) << "enforced: not in the profile";

  // The report: a merge of a document in learn mode left the function learning, and the next
  // injected command ran and was learned.
  v1::PutProfileRequest merge;
  *merge.mutable_profile() = Doc("victim", {"/usr/bin/env"}, v1::MODE_LEARN);
  merge.set_merge(true);
  v1::PutProfileResponse r = Put(*a, merge);
  EXPECT_EQ(r.previous_mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(r.mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(Function(*a, "victim").mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(RunIn(cg.path(), {"/bin/false"}), kKilled) << "still enforced after the import";

  // Replacing the profile with an example document in learn mode: the same.
  v1::PutProfileRequest replace;
  *replace.mutable_profile() = Doc("victim", {"/usr/bin/true", "/usr/bin/env"}, v1::MODE_LEARN);
  r = Put(*a, replace);
  EXPECT_EQ(r.mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(RunIn(cg.path(), {"/bin/false"}), kKilled);

  // A dry run that would switch to learn and add false: says so, changes nothing.
  v1::PutProfileRequest dry;
  *dry.mutable_profile() = Doc("victim", {"/usr/bin/false"}, v1::MODE_UNSPECIFIED);
  dry.set_merge(true);
  dry.set_mode(v1::MODE_LEARN);
  dry.set_dry_run(true);
  r = Put(*a, dry);
  EXPECT_TRUE(r.dry_run());
  EXPECT_EQ(r.mode(), v1::MODE_LEARN);
  EXPECT_EQ(r.previous_mode(), v1::MODE_ENFORCE);
  ASSERT_EQ(r.diff().added_size(), 1);
  ASSERT_EQ(r.diff().added(0).execs_size(), 1);
  EXPECT_EQ(r.diff().added(0).execs(0).path(), "/usr/bin/false");
  EXPECT_EQ(r.diff().removed_size(), 0);
  EXPECT_EQ(Function(*a, "victim").mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(RunIn(cg.path(), {"/bin/false"}), kKilled) << "a dry run changes nothing";

  // Asked for: the switch happens, as an event and a log line naming the import.
  v1::PutProfileRequest to_learn;
  *to_learn.mutable_profile() = Doc("victim", {}, v1::MODE_UNSPECIFIED);
  to_learn.set_merge(true);
  to_learn.set_mode(v1::MODE_LEARN);
  r = Put(*a, to_learn);
  EXPECT_EQ(r.mode(), v1::MODE_LEARN);
  EXPECT_EQ(RunIn(cg.path(), {"/bin/false"}), 1) << "learning: it runs";
  EXPECT_THAT(Details(*a, "victim", "mode"),
              ElementsAre("learn -> enforce (api)", "enforce -> learn (import)"));
  EXPECT_TRUE(a->WaitForLog(R"("msg":"mode changed","function":"default/victim","from":"enforce",)"
                            R"("to":"learn","source":"import")",
                            5))
      << a->Log();

  // A new function gets the agent's default mode, whatever its document says, unless asked.
  v1::SetDefaultModeRequest dm;
  dm.set_mode(v1::MODE_MONITOR);
  v1::SetDefaultModeResponse dmr;
  ASSERT_TRUE(a->stub().SetDefaultMode(Ctx().get(), dm, &dmr).ok());
  v1::PutProfileRequest fresh;
  *fresh.mutable_profile() = Doc("fresh", {"/usr/bin/true"}, v1::MODE_ENFORCE);
  r = Put(*a, fresh);
  EXPECT_TRUE(r.created());
  EXPECT_EQ(r.previous_mode(), v1::MODE_UNSPECIFIED);
  EXPECT_EQ(r.mode(), v1::MODE_MONITOR);
  *fresh.mutable_profile() = Doc("taken", {"/usr/bin/true"}, v1::MODE_ENFORCE);
  fresh.set_take_mode(true);
  EXPECT_EQ(Put(*a, fresh).mode(), v1::MODE_ENFORCE);
}

// Restarts without pinned maps (the default for tests): the kernel starts empty, the log does
// not.
TEST_F(EngineE2E, ViolationsKeepTheirIdsAcrossAgentRestarts) {
  TestCgroup cg("violations");
  uint64_t first = 0;
  {
    auto a = Agent();
    ASSERT_NE(a, nullptr);
    Register(*a, "victim", cg);
    ASSERT_EQ(RunIn(cg.path(), {"/bin/true"}), 0);
    SetMode(*a, "victim", v1::MODE_ENFORCE);
    v1::Violation v = Violate(*a, cg, "victim", "/bin/false");
    EXPECT_EQ(v.attempted(), "/usr/bin/false");
    first = v.id();
    ASSERT_NE(first, 0u);
  }  // SIGTERM: a clean stop
  auto b = Agent();
  ASSERT_NE(b, nullptr);
  std::vector<v1::Violation> listed = Violations(*b, "victim");
  ASSERT_EQ(listed.size(), 1u) << "the violation is still listed";
  EXPECT_EQ(listed[0].id(), first) << "with the same id";
  EXPECT_EQ(listed[0].attempted(), "/usr/bin/false");
  EXPECT_EQ(Function(*b, "victim").violations_recorded(), 1u);

  Register(*b, "victim", cg);  // nothing was pinned: registered again, still enforced
  v1::Violation next = Violate(*b, cg, "victim", "/usr/bin/env");
  EXPECT_GT(next.id(), first) << "a new violation gets a new id";
  v1::AcceptViolationResponse acc = Accept(*b, "victim", first);
  EXPECT_EQ(acc.violation().id(), first);
  EXPECT_EQ(acc.violation().attempted(), "/usr/bin/false") << "the one read before the restart";
  EXPECT_TRUE(acc.added());
  EXPECT_EQ(RunIn(cg.path(), {"/bin/false"}), 1) << "accepted: allowed now";
}

// The DaemonSet's case: the agent is killed, the kernel keeps enforcing, the next agent adopts
// the pinned maps. Ids stay unique (the killed agent's unused ids are skipped, never reused).
TEST_F(EngineE2E, ViolationIdsStayUniqueAcrossARestartThatAdoptsPinnedState) {
  const std::string pins = absl::StrCat("/sys/fs/bpf/fg-engine-e2e-", ::getpid());
  const std::vector<std::string> flags = {"--bpf-pin-dir", pins};
  std::unique_ptr<AgentProcess> agent;
  // However the test ends: the agent stops first (it holds the pin directory), then --cleanup.
  struct Cleanup {
    std::unique_ptr<AgentProcess>& agent;
    std::string pins;
    ~Cleanup() {
      agent.reset();
      std::string cmd = absl::StrCat(FG_AGENT_PATH, " --bpf-pin-dir ", pins, " --cleanup");
      if (std::system(cmd.c_str()) != 0) std::cerr << "cleanup of " << pins << " failed\n";
    }
  } cleanup{agent, pins};

  TestCgroup cg("pinned");
  agent = Agent(flags);
  ASSERT_NE(agent, nullptr);
  Register(*agent, "victim", cg);
  ASSERT_EQ(RunIn(cg.path(), {"/bin/true"}), 0);
  SetMode(*agent, "victim", v1::MODE_ENFORCE);
  v1::Violation first = Violate(*agent, cg, "victim", "/bin/false");
  ASSERT_NE(first.id(), 0u);
  agent->Kill();  // as a crash would: nothing written at exit

  agent = Agent(flags);
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->WaitForLog("violations loaded", 1)) << agent->Log();
  std::vector<v1::Violation> listed = Violations(*agent, "victim");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), first.id());
  // The cgroup was adopted with the kernel's state: still enforced, no registration needed.
  v1::Violation next = Violate(*agent, cg, "victim", "/usr/bin/env");
  EXPECT_GT(next.id(), first.id());
  EXPECT_EQ(Function(*agent, "victim").violations_recorded(), 2u);
  EXPECT_GE(Function(*agent, "victim").violations(), 2u) << "the pinned counters went on";
  v1::AcceptViolationResponse acc = Accept(*agent, "victim", first.id());
  EXPECT_EQ(acc.violation().attempted(), "/usr/bin/false");
  EXPECT_EQ(RunIn(cg.path(), {"/bin/false"}), 1);
}

}  // namespace
}  // namespace faasguard
