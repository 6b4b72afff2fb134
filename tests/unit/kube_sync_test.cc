// Profiles across nodes: the API-server client and the FunctionProfile sync, against the
// recorded API-server responses of tests/data/kube served over real HTTPS on loopback
// (tests/support/fake_apiserver.h). Two profile hosts (tests/fakes/fake_profile_host.h) stand
// for the engines of two nodes.
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "fakes/fake_profile_host.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "k8s/kube_client.h"
#include "k8s/profile_sync.h"
#include "profile/convert.h"
#include "profile/profile.h"
#include "support/fake_apiserver.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

using fakes::FakeProfileHost;
using testing::FakeApiServer;

constexpr char kToken[] = "test-token-abc";

v1::FunctionId Fn(const std::string& name, const std::string& platform = "knative") {
  v1::FunctionId id;
  id.set_platform(platform);
  id.set_namespace_("shop");
  id.set_name(name);
  return id;
}

// A profile with the given syscalls and egress ports in container "user-container".
v1::Profile Learned(const std::string& name, std::vector<std::string> syscalls,
                    std::vector<uint32_t> ports, v1::Mode mode = v1::MODE_LEARN) {
  v1::Profile p = NewProfile(Fn(name), absl::Now());
  p.set_mode(mode);
  auto& c = ContainerSection(p, "user-container");
  for (const auto& s : syscalls) {
    v1::SyscallEntry e;
    e.set_name(s);
    e.set_arch("x86_64");
    e.set_nr(s == "read" ? 0 : s == "write" ? 1 : s == "openat" ? 257 : 42);
    AddSyscall(c, e);
  }
  for (uint32_t port : ports) {
    v1::NetEntry n;
    n.set_protocol(v1::PROTOCOL_TCP);
    n.set_address("10.0.0.7");
    n.set_port(port);
    n.mutable_seen()->set_count(1);
    AddNet(c.mutable_egress(), n);
  }
  return p;
}

std::string ResourceJson(const v1::Profile& p) {
  auto doc = RenderProfileDoc(p, DocFormat::kJson, DocShape::kCrd);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *doc : "";
}

// The resource with its spec replaced by `p` (metadata and status kept), as another writer
// would send it.
std::string WithSpec(const std::string& object_json, const v1::Profile& p) {
  google::protobuf::Struct obj;
  google::protobuf::Value spec;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(object_json, &obj).ok());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(MessageToJson(p, false), &spec).ok());
  (*obj.mutable_fields())["spec"] = spec;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(obj, &out);
  return out;
}

v1::Profile Spec(const std::string& object_json) {
  auto docs = ParseProfileDocs(object_json);
  EXPECT_TRUE(docs.ok()) << docs.status() << "\n" << object_json;
  return docs.ok() ? docs->front() : v1::Profile{};
}

size_t Items(const v1::Profile& p) { return CountItems(p).total(); }

// One node: its profiles and its sync.
struct Node {
  Node(const std::string& name, KubeClient* kube) {
    ProfileSync::Options o;
    o.node = name;
    o.interval = absl::Milliseconds(100);
    o.retry = absl::Milliseconds(50);
    o.watch_timeout_s = 5;
    o.agent_version = "test";
    sync = std::make_unique<ProfileSync>(&host, kube, o);
  }
  v1::Profile Profile(const std::string& name) {
    auto p = host.GetProfile(Fn(name));
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : v1::Profile{};
  }
  FakeProfileHost host;
  std::unique_ptr<ProfileSync> sync;
};

class KubeSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    api_ = std::make_unique<FakeApiServer>(FG_KUBE_DATA_DIR, kToken);
    kube_ = Client(api_->token_file(), api_->ca_file());
  }
  void TearDown() override { SetLogLevel(LogLevel::kInfo); }

  std::unique_ptr<KubeClient> Client(const std::string& token_file, const std::string& ca_file) {
    auto c = InClusterConfig(api_->url(), token_file, ca_file);
    EXPECT_TRUE(c.ok()) << c.status();
    c->timeout = absl::Seconds(5);
    auto k = KubeClient::Create(*c);
    EXPECT_TRUE(k.ok()) << k.status();
    return std::move(*k);
  }

  std::unique_ptr<FakeApiServer> api_;
  std::unique_ptr<KubeClient> kube_;
};

TEST_F(KubeSyncTest, PublishCreatesTheResourceWithItsStatusLine) {
  Node a("node-a", kube_.get());
  a.host.Put(Learned("cart", {"read", "write"}, {5432}));
  ASSERT_TRUE(a.sync->Publish(Fn("cart")).ok()) << a.sync->stats().last_error;

  std::string obj = api_->Get("shop/cart");
  ASSERT_FALSE(obj.empty());
  v1::Profile spec = Spec(obj);
  EXPECT_EQ(Items(spec), 3u);
  EXPECT_EQ(spec.function().platform(), "knative");
  EXPECT_TRUE(absl::StrContains(obj, R"("node":"node-a")")) << obj;
  EXPECT_TRUE(absl::StrContains(obj, R"("syscalls":2)")) << obj;
  EXPECT_EQ(a.sync->stats().published, 1u);

  // Nothing new: no spec write, only the status line again.
  int puts = api_->requests("PUT");
  ASSERT_TRUE(a.sync->Publish(Fn("cart")).ok());
  EXPECT_EQ(a.sync->stats().unchanged, 1u);
  EXPECT_EQ(api_->requests("PUT"), puts + 1) << "one status write, no spec write";
}

TEST_F(KubeSyncTest, TwoNodesEndWithTheUnionEvenWhenTheirWritesCross) {
  Node a("node-a", kube_.get()), b("node-b", kube_.get());
  a.host.Put(Learned("cart", {"read"}, {5432}));
  b.host.Put(Learned("cart", {"write"}, {6379}));
  ASSERT_TRUE(a.sync->Publish(Fn("cart")).ok());

  // Between node b's read and its write, a third node adds an item: b's write carries a stale
  // resourceVersion, gets the recorded 409, reads again and merges again.
  int crossed = 0;
  api_->OnPut([&](const std::string& key, bool status) {
    if (status || crossed++) return;
    api_->Mutate(key, [](std::string& json) {
      v1::Profile p = Spec(json);
      auto& c = ContainerSection(p, "user-container");
      v1::SyscallEntry e;
      e.set_name("openat");
      e.set_arch("x86_64");
      e.set_nr(257);
      AddSyscall(c, e);
      json = WithSpec(json, p);
    });
  });
  ASSERT_TRUE(b.sync->Publish(Fn("cart")).ok()) << b.sync->stats().last_error;
  EXPECT_GE(b.sync->stats().conflicts, 1u);

  v1::Profile spec = Spec(api_->Get("shop/cart"));
  EXPECT_EQ(Items(spec), 5u) << "read, write, openat, two egress ports";
  // Node b also took what the cluster had that it lacked.
  EXPECT_EQ(Items(b.Profile("cart")), 5u);
  // Both nodes have their line in status.nodes.
  std::string obj = api_->Get("shop/cart");
  EXPECT_TRUE(absl::StrContains(obj, R"("node":"node-a")"));
  EXPECT_TRUE(absl::StrContains(obj, R"("node":"node-b")"));
}

TEST_F(KubeSyncTest, ACreateRaceEndsInAMerge) {
  Node a("node-a", kube_.get());
  a.host.Put(Learned("cart", {"read"}, {}));
  // Another node creates the resource after our GET said 404: our POST gets AlreadyExists.
  bool once = false;
  api_->OnPost([&](const std::string& key) {
    if (once) return;
    once = true;
    api_->Put(key, ResourceJson(Learned("cart", {"write"}, {})));
  });
  absl::Status st = a.sync->Publish(Fn("cart"));
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Items(Spec(api_->Get("shop/cart"))), 2u);
  EXPECT_EQ(a.sync->stats().conflicts, 1u) << "the recorded AlreadyExists";
}

TEST_F(KubeSyncTest, WatchBringsRemoteItemsAndTheClustersModeToANode) {
  Node a("node-a", kube_.get());
  a.host.Put(Learned("cart", {"read"}, {}));
  // The cluster already knows "cart" with more, and "search", which this node never ran.
  api_->Put("shop/cart", ResourceJson(Learned("cart", {"read", "write"}, {443})));
  api_->Put("shop/search", ResourceJson(Learned("search", {"openat"}, {}, v1::MODE_ENFORCE)));

  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // An operator switches the function to enforce in the cluster (kubectl patch spec.mode).
    api_->Mutate("shop/cart", [](std::string& json) {
      v1::Profile p = Spec(json);
      p.set_mode(v1::MODE_ENFORCE);
      json = WithSpec(json, p);
    });
  });
  absl::Status st = a.sync->ListAndWatchOnce();
  later.join();
  ASSERT_TRUE(st.ok()) << st;

  EXPECT_EQ(Items(a.Profile("cart")), 3u);
  EXPECT_EQ(a.Profile("cart").mode(), v1::MODE_ENFORCE) << "modes flow from the cluster";
  EXPECT_EQ(a.Profile("search").mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(Items(a.Profile("search")), 1u);
  // The one mode change on this node is cart's, named as the cluster's (search was created in
  // the cluster's mode: no change).
  auto changes = a.host.mode_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].first, "shop/cart");
  EXPECT_EQ(changes[0].second, ModeSource::kCluster);
  EXPECT_GT(api_->requests("WATCH"), 0);
  EXPECT_FALSE(a.sync->stats().resource_version.empty());
}

TEST_F(KubeSyncTest, ALocalModeChangeStaysUntilTheClusterChangesItsOwn) {
  Node a("node-a", kube_.get());
  api_->Put("shop/cart", ResourceJson(Learned("cart", {"read"}, {})));
  ASSERT_TRUE(a.sync->Take(api_->Get("shop/cart")).ok());
  EXPECT_EQ(a.Profile("cart").mode(), v1::MODE_LEARN);
  ASSERT_TRUE(a.host.SetMode(Fn("cart"), {v1::MODE_MONITOR, {}, {}, {}}, ModeSource::kApi).ok());
  ASSERT_TRUE(a.sync->Take(api_->Get("shop/cart")).ok());
  EXPECT_EQ(a.Profile("cart").mode(), v1::MODE_MONITOR) << "same cluster mode: local one kept";
  EXPECT_EQ(a.host.mode_changes().size(), 1u) << "only the local change";
}

TEST_F(KubeSyncTest, GoneMeansListAgain) {
  Node a("node-a", kube_.get());
  api_->Put("shop/cart", ResourceJson(Learned("cart", {"read"}, {})));
  // The server forgets history right after the list: the watch gets the recorded 410.
  api_->ForgetHistoryBefore(api_->resource_version() + 1000);
  absl::Status st = a.sync->ListAndWatchOnce();
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(a.sync->stats().relists, 1u);
  EXPECT_EQ(a.sync->stats().errors, 0u);
  EXPECT_EQ(Items(a.Profile("cart")), 1u) << "the list was taken";
}

TEST_F(KubeSyncTest, LocalFunctionsStayOnTheirNode) {
  Node a("node-a", kube_.get());
  v1::Profile p = Learned("tool", {"read"}, {});
  p.mutable_function()->set_platform("local");
  a.host.Put(p);
  a.sync->PublishChanged();
  EXPECT_EQ(api_->requests("GET"), 0);
  EXPECT_TRUE(api_->Get("shop/tool").empty());
}

TEST_F(KubeSyncTest, PublishChangedWritesOnlyWhatChanged) {
  Node a("node-a", kube_.get());
  a.host.Put(Learned("cart", {"read"}, {}));
  a.sync->PublishChanged();
  int gets = api_->requests("GET");
  a.sync->PublishChanged();
  EXPECT_EQ(api_->requests("GET"), gets) << "unchanged profile: no request";
  a.host.Put(Learned("cart", {"write"}, {}), /*merge=*/true);
  a.sync->PublishChanged();
  EXPECT_EQ(Items(Spec(api_->Get("shop/cart"))), 2u);
}

TEST_F(KubeSyncTest, ErrorsAreClearAndNothingIsLost) {
  Node a("node-a", kube_.get());
  a.host.Put(Learned("cart", {"read"}, {}));

  // A wrong token: the recorded 401, named.
  TempDir d;
  std::string bad = d.path() + "/token";
  ASSERT_TRUE(WriteFileAtomic(bad, "wrong\n").ok());
  auto k = Client(bad, api_->ca_file());
  Node b("node-b", k.get());
  b.host.Put(Learned("cart", {"read"}, {}));
  absl::Status st = b.sync->Publish(Fn("cart"));
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), "HTTP 401: Unauthorized")) << st;

  // A CA that did not sign the server's certificate: a transport error, not a response.
  auto other = std::make_unique<FakeApiServer>(FG_KUBE_DATA_DIR, kToken);
  auto k2 = Client(api_->token_file(), other->ca_file());
  auto r = k2->Request("GET", "/apis/faasguard.dev/v1alpha1/functionprofiles");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();

  // RBAC refusing status writes: the recorded 403 is reported; the spec was still written.
  api_->ForbidStatus(true);
  st = a.sync->Publish(Fn("cart"));
  EXPECT_TRUE(absl::StrContains(st.message(), "cannot update resource")) << st;
  EXPECT_EQ(Items(Spec(api_->Get("shop/cart"))), 1u);

  // A resource whose spec is not a profile: an error naming it; the local profile is intact.
  api_->Put("shop/broken", R"({"apiVersion":"faasguard.dev/v1alpha1","kind":"FunctionProfile",
      "metadata":{"name":"broken","namespace":"shop"},"spec":{"mode":"MODE_SIDEWAYS"}})");
  st = a.sync->Take(api_->Get("shop/broken"));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_EQ(Items(a.Profile("cart")), 1u);
  // ... and a list holding it still takes the good ones.
  api_->ForgetHistoryBefore(api_->resource_version() + 1000);
  EXPECT_TRUE(a.sync->ListAndWatchOnce().ok());

  // Not in a pod: a clear precondition error.
  auto none = InClusterConfig("", api_->token_file(), api_->ca_file());
  if (!std::getenv("KUBERNETES_SERVICE_HOST")) {
    EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(none.status().message(), "KUBERNETES_SERVICE_HOST"));
  }
  auto nofile = InClusterConfig(api_->url(), "/nonexistent/token", api_->ca_file());
  EXPECT_TRUE(absl::StrContains(nofile.status().message(), "/nonexistent/token"));
}

TEST_F(KubeSyncTest, TheThreadsConvergeTwoNodesAndStopPromptly) {
  Node a("node-a", kube_.get()), b("node-b", kube_.get());
  a.host.Put(Learned("cart", {"read"}, {80}));
  b.host.Put(Learned("cart", {"write"}, {}));
  a.sync->Start();
  b.sync->Start();
  bool converged = false;
  for (int i = 0; i < 100 && !converged; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    converged = Items(a.Profile("cart")) == 3 && Items(b.Profile("cart")) == 3;
  }
  EXPECT_TRUE(converged) << Items(a.Profile("cart")) << " / " << Items(b.Profile("cart"));
  auto t0 = absl::Now();
  a.sync->Stop();
  b.sync->Stop();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(2)) << "Stop ends a watch in progress";
}

}  // namespace
}  // namespace faasguard
