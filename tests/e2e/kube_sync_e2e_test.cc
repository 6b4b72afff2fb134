// e2e (root): the real agent binary with --kube-sync on, against the stand-in API server of
// tests/support/fake_apiserver.h (recorded responses, real HTTPS on loopback). The cluster's
// profile reaches the node with its mode; what the node has reaches the cluster with the
// node's status line; an unreachable API server leaves the agent running.
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "profile/convert.h"
#include "profile/profile.h"
#include "support/agent_process.h"
#include "support/fake_apiserver.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentProcess;
using testing::FakeApiServer;

v1::FunctionId Fn(const std::string& name) {
  return testing::FunctionIdOf("knative", "shop", name);
}

v1::Profile WithSyscalls(const std::string& name, std::vector<std::pair<std::string, int>> sys,
                         v1::Mode mode) {
  v1::Profile p = NewProfile(Fn(name), absl::Now());
  p.set_mode(mode);
  auto& c = ContainerSection(p, "user-container");
  for (const auto& [n, nr] : sys) {
    v1::SyscallEntry e;
    e.set_name(n);
    e.set_arch("x86_64");
    e.set_nr(nr);
    AddSyscall(c, e);
  }
  return p;
}

template <typename Pred>
bool Eventually(Pred p, double seconds = 15) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return p();
}

class KubeSyncE2E : public ::testing::Test {
 protected:
  void SetUp() override { FG_REQUIRE_ROOT(); }

  std::unique_ptr<AgentProcess> Agent(const std::string& url, const std::string& token,
                                      const std::string& ca) {
    auto a =
        AgentProcess::Start(FG_AGENT_PATH, dir_.path(),
                            {"--metrics-addr", "off", "--cri-endpoint", "off", "--kube-sync", "on",
                             "--kube-api", url, "--kube-token-file", token, "--kube-ca-file", ca,
                             "--node-name", "node-e2e", "--kube-sync-interval", "1"});
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? std::move(*a) : nullptr;
  }

  testing::TempDir dir_;
};

TEST_F(KubeSyncE2E, TheAgentTakesTheClustersProfilesAndPublishesItsOwn) {
  FakeApiServer api(FG_KUBE_DATA_DIR, "e2e-token");
  auto doc = RenderProfileDoc(WithSyscalls("cart", {{"read", 0}, {"write", 1}}, v1::MODE_ENFORCE),
                              DocFormat::kJson, DocShape::kCrd);
  ASSERT_TRUE(doc.ok());
  api.Put("shop/cart", *doc);
  auto agent = Agent(api.url(), api.token_file(), api.ca_file());
  ASSERT_NE(agent, nullptr);

  // The cluster's function arrives on the node, in the cluster's mode.
  v1::FunctionSummary s;
  ASSERT_TRUE(Eventually([&] {
    grpc::ClientContext ctx;
    v1::GetFunctionRequest req;
    *req.mutable_function() = Fn("cart");
    return agent->stub().GetFunction(&ctx, req, &s).ok() && s.syscalls() == 2;
  })) << agent->Log();
  EXPECT_EQ(s.mode(), v1::MODE_ENFORCE);

  // A profile the node has (imported here, as a learned one would be) reaches the cluster,
  // with the node's line in status.nodes.
  {
    grpc::ClientContext ctx;
    v1::PutProfileRequest req;
    *req.mutable_profile() = WithSyscalls("search", {{"openat", 257}}, v1::MODE_LEARN);
    v1::PutProfileResponse resp;
    ASSERT_TRUE(agent->stub().PutProfile(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(Eventually([&] {
    std::string o = api.Get("shop/search");
    return absl::StrContains(o, "openat") && absl::StrContains(o, R"("node":"node-e2e")");
  })) << agent->Log();
  EXPECT_TRUE(absl::StrContains(api.Get("shop/cart"), R"("node":"node-e2e")"));
  EXPECT_TRUE(agent->WaitForLog("sharing profiles through the API server", 1));
  grpc::ClientContext ctx;
  v1::GetStatusRequest req;
  v1::GetStatusResponse st;
  ASSERT_TRUE(agent->stub().GetStatus(&ctx, req, &st).ok());
  ASSERT_TRUE(st.has_cluster_sync());
  EXPECT_EQ(st.cluster_sync().node(), "node-e2e");
  EXPECT_GE(st.cluster_sync().published(), 1u);
  EXPECT_GE(st.cluster_sync().taken(), 1u);
}

TEST_F(KubeSyncE2E, AnUnreachableApiServerLeavesTheAgentServing) {
  std::string token, ca;
  std::string url;
  {
    FakeApiServer gone(FG_KUBE_DATA_DIR, "t");
    url = gone.url();
    // Keep copies of its files: the server itself goes away now.
    token = dir_.path() + "/token";
    ca = dir_.path() + "/ca.crt";
    ASSERT_EQ(std::system(
                  ("cp " + gone.token_file() + " " + token + " && cp " + gone.ca_file() + " " + ca)
                      .c_str()),
              0);
  }
  auto agent = Agent(url, token, ca);
  ASSERT_NE(agent, nullptr);
  EXPECT_TRUE(agent->WaitForLog("list / watch failed, retrying", 10)) << agent->Log();
  grpc::ClientContext ctx;
  v1::GetStatusRequest req;
  v1::GetStatusResponse resp;
  EXPECT_TRUE(agent->stub().GetStatus(&ctx, req, &resp).ok()) << "the API is still served";
}

TEST_F(KubeSyncE2E, AMissingTokenIsAClearStartupError) {
  FakeApiServer api(FG_KUBE_DATA_DIR, "t");
  auto a = AgentProcess::Start(
      FG_AGENT_PATH, dir_.path(),
      {"--metrics-addr", "off", "--cri-endpoint", "off", "--kube-sync", "on", "--kube-api",
       api.url(), "--kube-token-file", "/nonexistent/token", "--kube-ca-file", api.ca_file()});
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::StrContains(a.status().message(), "/nonexistent/token")) << a.status();
}

}  // namespace
}  // namespace faasguard
