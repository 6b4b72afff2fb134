// Kubernetes attribution without a cluster: kubelet cgroup layouts, pod labels -> functions,
// and the node tracker over a fake CRI, a fake registry (the engine's side,
// tests/fakes/fake_cgroup_registry.h) and a directory tree shaped like /sys/fs/cgroup.
#include <sys/stat.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "fakes/fake_cgroup_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "k8s/cgroup_layout.h"
#include "k8s/identity.h"
#include "k8s/tracker.h"
#include "profile/names.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

constexpr char kUid[] = "8f1e2d3c-4b5a-4678-9abc-def012345678";
constexpr char kUidSystemd[] = "8f1e2d3c_4b5a_4678_9abc_def012345678";
const std::string kCid(64, 'a');
const std::string kCid2 = std::string(63, 'b') + "c";

struct LayoutCase {
  std::string name;
  std::string path;
  bool matches;
  std::string container;
  QosClass qos;
  std::string runtime;
};

class LayoutTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(LayoutTest, Parses) {
  const LayoutCase& c = GetParam();
  auto k = ParseKubeCgroup(c.path);
  ASSERT_EQ(k.has_value(), c.matches) << c.path;
  if (!k) return;
  EXPECT_EQ(k->pod_uid, kUid);
  EXPECT_EQ(k->container_id, c.container);
  EXPECT_EQ(k->qos, c.qos);
  EXPECT_EQ(k->runtime, c.runtime);
}

INSTANTIATE_TEST_SUITE_P(
    Kubelet, LayoutTest,
    ::testing::Values(
        // containerd, systemd driver
        LayoutCase{"SystemdBurstableContainer",
                   std::string("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod") +
                       kUidSystemd + ".slice/cri-containerd-" + kCid + ".scope",
                   true, kCid, QosClass::kBurstable, "containerd"},
        LayoutCase{
            "SystemdBestEffortPod",
            std::string("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod") +
                kUidSystemd + ".slice",
            true, "", QosClass::kBestEffort, ""},
        LayoutCase{"SystemdGuaranteedContainer",
                   std::string("/kubepods.slice/kubepods-pod") + kUidSystemd +
                       ".slice/cri-containerd-" + kCid + ".scope",
                   true, kCid, QosClass::kGuaranteed, "containerd"},
        // containerd, cgroupfs driver (what the e2e test creates)
        LayoutCase{"CgroupfsBestEffortContainer",
                   std::string("/kubepods/besteffort/pod") + kUid + "/" + kCid, true, kCid,
                   QosClass::kBestEffort, ""},
        LayoutCase{"CgroupfsGuaranteedPod", std::string("/kubepods/pod") + kUid, true, "",
                   QosClass::kGuaranteed, ""},
        LayoutCase{"CgroupfsBurstableContainer",
                   std::string("/kubepods/burstable/pod") + kUid + "/" + kCid, true, kCid,
                   QosClass::kBurstable, ""},
        // CRI-O
        LayoutCase{"CrioSystemd",
                   std::string("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod") +
                       kUidSystemd + ".slice/crio-" + kCid + ".scope",
                   true, kCid, QosClass::kBurstable, "crio"},
        LayoutCase{"CrioCgroupfs", std::string("/kubepods/burstable/pod") + kUid + "/crio-" + kCid,
                   true, kCid, QosClass::kBurstable, "crio"},
        LayoutCase{"CrioConmonIsNotAContainer",
                   std::string("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod") +
                       kUidSystemd + ".slice/crio-conmon-" + kCid + ".scope",
                   false, "", QosClass::kBurstable, ""},
        // crun's extra child
        LayoutCase{
            "CrunContainerChild",
            std::string("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod") +
                kUidSystemd + ".slice/crio-" + kCid + ".scope/container",
            true, kCid, QosClass::kBestEffort, "crio"},
        // cgroup v1 (hybrid): the same names under a controller's mount, as /proc/pid/cgroup
        // shows them
        LayoutCase{"V1CpuLine", std::string("/kubepods/besteffort/pod") + kUid + "/" + kCid, true,
                   kCid, QosClass::kBestEffort, ""},
        // k3s nests the kubelet's tree one level down
        LayoutCase{"K3sNested", std::string("/k3s/kubepods/burstable/pod") + kUid + "/" + kCid,
                   true, kCid, QosClass::kBurstable, ""},
        // not the kubelet's
        LayoutCase{"SystemScope", "/system.slice/containerd.service", false, "",
                   QosClass::kGuaranteed, ""},
        LayoutCase{"PodOutsideKubepods", std::string("/foo/pod") + kUid, false, "",
                   QosClass::kGuaranteed, ""},
        LayoutCase{"BadUid", "/kubepods/besteffort/podnot-a-uid", false, "", QosClass::kBestEffort,
                   ""},
        LayoutCase{"ShortContainerId", std::string("/kubepods/besteffort/pod") + kUid + "/abc123",
                   false, "", QosClass::kBestEffort, ""},
        LayoutCase{"DeeperThanAContainer",
                   std::string("/kubepods/besteffort/pod") + kUid + "/" + kCid + "/x/y", false, "",
                   QosClass::kBestEffort, ""},
        LayoutCase{"Root", "/", false, "", QosClass::kGuaranteed, ""}),
    [](const ::testing::TestParamInfo<LayoutCase>& i) { return i.param.name; });

TEST(IdentityTest, KnativeOpenFaasCustomAndNone) {
  PodFacts knative{kUid, "default", "hello-00001-deployment-x", {}};
  knative.labels = {{kKnativeService, "hello"},
                    {kKnativeRevision, "hello-00001"},
                    {kKnativeConfiguration, "hello"}};
  auto f = FunctionOfPod(knative, kDefaultFunctionLabel);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->platform(), "knative");
  EXPECT_EQ((*f)->namespace_(), "default");
  EXPECT_EQ((*f)->name(), "hello");

  PodFacts config_only{kUid, "team", "p", {{kKnativeConfiguration, "cfg"}}};
  EXPECT_EQ((*FunctionOfPod(config_only, ""))->name(), "cfg");

  PodFacts openfaas{kUid, "openfaas-fn", "figlet-abc", {{kOpenFaasFunction, "figlet"}}};
  f = FunctionOfPod(openfaas, "");
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->platform(), "openfaas");
  EXPECT_EQ((*f)->namespace_(), "openfaas-fn");

  PodFacts custom{kUid, "jobs", "x", {{"example.com/fn", "resize"}}};
  EXPECT_FALSE(FunctionOfPod(custom, kDefaultFunctionLabel)->has_value());
  f = FunctionOfPod(custom, "example.com/fn");
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->platform(), "custom");

  PodFacts plain{kUid, "kube-system", "coredns", {{"k8s-app", "kube-dns"}}};
  f = FunctionOfPod(plain, kDefaultFunctionLabel);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->has_value()) << "not a function: not tracked";

  PodFacts bad{kUid, "default", "p", {{kOpenFaasFunction, "Bad_Name!"}}};
  f = FunctionOfPod(bad, "");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), ::testing::HasSubstr("default/p"));
}

// A CRI that says what the test says.
class FakeCri : public CriSource {
 public:
  std::string endpoint() const override { return "unix:///fake/cri.sock"; }
  absl::StatusOr<std::string> Version() override { return std::string("fake 1.0 (CRI v1)"); }
  absl::StatusOr<std::vector<CriPod>> ListPods() override {
    if (!error.ok()) return error;
    return pods;
  }
  absl::StatusOr<std::vector<CriContainer>> ListContainers() override {
    if (!error.ok()) return error;
    return containers;
  }
  // An event stream fed by Emit(); ends when cancelled.
  absl::Status WatchEvents(const std::function<void(const std::string&)>& on_event) override {
    if (!stream) return CriSource::WatchEvents(on_event);
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      cv.wait(l, [&] { return cancelled || !pending.empty(); });
      if (cancelled) return absl::CancelledError("cancelled");
      std::string id = pending.front();
      pending.erase(pending.begin());
      l.unlock();
      on_event(id);
      l.lock();
    }
  }
  void CancelWatch() override {
    std::lock_guard<std::mutex> l(mu);
    cancelled = true;
    cv.notify_all();
  }
  void Emit(const std::string& id) {
    std::lock_guard<std::mutex> l(mu);
    pending.push_back(id);
    cv.notify_all();
  }

  absl::StatusOr<std::string> ContainerSeccomp(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu);
    ++seccomp_reads[id];
    auto it = seccomp.find(id);
    return it == seccomp.end() ? absl::StatusOr<std::string>(std::string()) : it->second;
  }

  std::vector<CriPod> pods;
  std::vector<CriContainer> containers;
  std::map<std::string, absl::StatusOr<std::string>> seccomp;  // by container id
  std::map<std::string, int> seccomp_reads;
  absl::Status error;
  bool stream = false;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> pending;
  bool cancelled = false;
};

class TrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeTracker::Options o;
    o.cgroup2_mount = root_.path();
    tracker_ = std::make_unique<NodeTracker>(
        &registry_,
        [this]() -> absl::StatusOr<std::unique_ptr<CriSource>> {
          if (!connect_error_.ok()) return connect_error_;
          auto c = std::make_unique<ForwardingCri>(&cri_);
          return std::unique_ptr<CriSource>(std::move(c));
        },
        o);
  }

  // The fake CRI is owned by the test; the tracker gets a forwarder each time it connects.
  class ForwardingCri : public CriSource {
   public:
    explicit ForwardingCri(FakeCri* f) : f_(f) {}
    std::string endpoint() const override { return f_->endpoint(); }
    absl::StatusOr<std::string> Version() override { return f_->Version(); }
    absl::StatusOr<std::vector<CriPod>> ListPods() override { return f_->ListPods(); }
    absl::StatusOr<std::vector<CriContainer>> ListContainers() override {
      return f_->ListContainers();
    }
    absl::Status WatchEvents(const std::function<void(const std::string&)>& cb) override {
      return f_->WatchEvents(cb);
    }
    void CancelWatch() override { f_->CancelWatch(); }
    absl::StatusOr<std::string> ContainerSeccomp(const std::string& id) override {
      return f_->ContainerSeccomp(id);
    }

   private:
    FakeCri* f_;
  };

  // The id the tracker will see for a directory (what CgroupIdOf gives on this filesystem).
  uint64_t MakeDir(const std::string& rel) {
    std::filesystem::create_directories(root_.path() + rel);
    auto id = CgroupIdOf(root_.path() + rel);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  std::string PodDir() { return std::string("/kubepods/besteffort/pod") + kUid; }

  void KnativePod() {
    CriPod p;
    p.id = "sandbox1";
    p.uid = kUid;
    p.namespace_ = "default";
    p.name = "hello-pod";
    p.labels = {{kKnativeService, "hello"}, {kKnativeRevision, "hello-00001"}};
    p.ready = true;
    cri_.pods = {p};
    cri_.containers = {{kCid, "sandbox1", "user-container", CriContainer::State::kRunning},
                       {kCid2, "sandbox1", "queue-proxy", CriContainer::State::kCreated}};
  }

  TempDir root_;
  fakes::FakeCgroupRegistry registry_;
  std::unique_ptr<NodeTracker> tracker_;
  FakeCri cri_;
  absl::Status connect_error_;
};

TEST_F(TrackerTest, RegistersPodThenContainersUnderTheirSections) {
  uint64_t pod = MakeDir(PodDir());
  uint64_t user = MakeDir(PodDir() + "/" + kCid);
  uint64_t proxy = MakeDir(PodDir() + "/" + kCid2);
  uint64_t other = MakeDir("/kubepods/besteffort/pod11111111-2222-3333-4444-555555555555/" +
                           std::string(64, 'd'));
  KnativePod();
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();

  auto p = registry_.Get(pod);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->opts.pod_level);
  EXPECT_EQ(p->container, kPodSection);
  EXPECT_EQ(p->path, root_.path() + PodDir());
  EXPECT_FALSE(registry_.Has(other)) << "pods that are not functions are not tracked";
  auto u = registry_.Get(user);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(FunctionKey(u->function), "default/hello");
  EXPECT_EQ(u->function.platform(), "knative");
  EXPECT_EQ(u->container, "user-container");
  EXPECT_FALSE(u->opts.pod_level);
  EXPECT_FALSE(u->opts.pending);
  auto q = registry_.Get(proxy);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->container, "queue-proxy");
  EXPECT_TRUE(q->opts.pending)
      << "a created, not started container is unchecked until its first exec";
  auto st = tracker_->Status();
  EXPECT_TRUE(st.connected());
  EXPECT_EQ(st.function_pods(), 1u);
  EXPECT_EQ(st.pods(), 1u);
  EXPECT_EQ(st.tracked(), 3u);
}

TEST_F(TrackerTest, InheritedCgroupMovesToItsContainerSection) {
  uint64_t pod = MakeDir(PodDir());
  KnativePod();
  cri_.containers.clear();
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();
  ASSERT_TRUE(registry_.Has(pod));
  // The kernel covered a new container through its pod (cgroups.bpf.c), then told us.
  uint64_t user = MakeDir(PodDir() + "/" + kCid);
  CgroupEvent mkdir;
  mkdir.hdr.cgroup_id = user;
  mkdir.parent_id = pod;
  mkdir.op = FG_CGROUP_MKDIR;
  mkdir.inherited = true;
  mkdir.path = PodDir() + "/" + kCid;
  tracker_->Start();
  tracker_->OnCgroupEvent(mkdir);
  for (int i = 0; i < 100 && !registry_.Has(user); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  tracker_->Stop();
  auto adopted = registry_.Get(user);
  ASSERT_TRUE(adopted.has_value()) << "the tracker passes the kernel's inheritance on";
  EXPECT_TRUE(adopted->inherited);
  EXPECT_EQ(adopted->container, kPodSection);
  EXPECT_EQ(adopted->path, root_.path() + PodDir() + "/" + kCid);
  // The CRI names it: it is registered under user-container (the engine moves it there,
  // keeping its kernel flags: EngineTest.InheritedCgroupMovesToItsContainerKeepingItsFlags).
  KnativePod();
  tracker_->ReconcileNow();
  EXPECT_EQ(registry_.CgroupOwner(user)->second, "user-container");
}

// The filter each container runs under, from its runtime spec, goes with its registration
// (the engine decides whether it is the policy in force): read once per container, and read
// again at the next pass when the CRI failed; an already named container gets it too.
TEST_F(TrackerTest, EachContainersRuntimeFilterGoesWithItsRegistration) {
  MakeDir(PodDir());
  uint64_t user = MakeDir(PodDir() + "/" + kCid);
  uint64_t proxy = MakeDir(PodDir() + "/" + kCid2);
  KnativePod();
  const std::string filter = R"({"defaultAction":"SCMP_ACT_ERRNO"})";
  cri_.seccomp[kCid] = filter;
  cri_.seccomp[kCid2] = absl::UnavailableError("CRI ContainerStatus: deadline exceeded");
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();
  EXPECT_EQ(registry_.seccomp_specs(user), std::vector<std::string>{filter});
  EXPECT_EQ(registry_.seccomp_specs(proxy), std::vector<std::string>{""}) << "unknown: none";
  cri_.seccomp[kCid2] = std::string();  // runs without a filter
  tracker_->ReconcileNow();
  tracker_->ReconcileNow();
  EXPECT_EQ(cri_.seccomp_reads[kCid], 1) << "a container's filter never changes: read once";
  EXPECT_EQ(cri_.seccomp_reads[kCid2], 2) << "read again after the error, then not";
  EXPECT_EQ(registry_.seccomp_specs(user).size(), 1u);
  EXPECT_EQ(registry_.seccomp_specs(proxy).size(), 2u);
}

TEST_F(TrackerTest, CriDownTracksNothingAndSaysSo) {
  MakeDir(PodDir() + "/" + kCid);
  KnativePod();
  connect_error_ = absl::NotFoundError("no CRI socket found (tried /x.sock)");
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();
  EXPECT_EQ(registry_.size(), 0u);
  auto st = tracker_->Status();
  EXPECT_FALSE(st.connected());
  EXPECT_THAT(st.last_error(), ::testing::HasSubstr("no CRI socket"));
  // It comes back: the next attempt connects and registers.
  connect_error_ = absl::OkStatus();
  tracker_->ReconcileNow();
  EXPECT_EQ(registry_.size(), 2u);
  EXPECT_TRUE(tracker_->Status().connected());
}

TEST_F(TrackerTest, FailingListReconnectsLater) {
  MakeDir(PodDir());
  KnativePod();
  tracker_->ScanCgroupsNow();
  cri_.error = absl::DeadlineExceededError("ListPodSandbox: deadline exceeded");
  tracker_->ReconcileNow();
  EXPECT_FALSE(tracker_->Status().connected());
  EXPECT_THAT(tracker_->Status().last_error(), ::testing::HasSubstr("deadline"));
  cri_.error = absl::OkStatus();
  tracker_->ReconcileNow();
  EXPECT_TRUE(tracker_->Status().connected());
  EXPECT_EQ(registry_.size(), 1u);
}

TEST_F(TrackerTest, BadLabelsAndVanishedContainersAreSkipped) {
  MakeDir(PodDir());
  MakeDir(PodDir() + "/" + kCid);
  CriPod p;
  p.id = "s";
  p.uid = kUid;
  p.namespace_ = "default";
  p.name = "weird";
  p.labels = {{kOpenFaasFunction, "Not A Name"}};
  cri_.pods = {p};
  cri_.containers = {{kCid, "s", "weird", CriContainer::State::kRunning},
                     {std::string(64, 'e'), "s", "gone", CriContainer::State::kRunning}};
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();
  EXPECT_EQ(registry_.size(), 0u);
  EXPECT_EQ(tracker_->Status().function_pods(), 0u);
}

// The runtime's container name becomes a profile section: one that is not a DNS label is
// refused here, where it comes in (the engine takes valid names only).
TEST_F(TrackerTest, AContainerWithABadNameIsNotRegistered) {
  uint64_t pod = MakeDir(PodDir());
  uint64_t user = MakeDir(PodDir() + "/" + kCid);
  uint64_t bad = MakeDir(PodDir() + "/" + kCid2);
  KnativePod();
  cri_.containers = {{kCid, "sandbox1", "user-container", CriContainer::State::kRunning},
                     {kCid2, "sandbox1", "Side_Car", CriContainer::State::kRunning}};
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();
  EXPECT_TRUE(registry_.Has(pod));
  EXPECT_TRUE(registry_.Has(user)) << "the pod's other containers are tracked";
  EXPECT_FALSE(registry_.Has(bad));
  tracker_->ReconcileNow();  // and again on the next pass, without a second warning
  EXPECT_FALSE(registry_.Has(bad));
}

TEST_F(TrackerTest, RmdirUnregistersAndKeepsTheLearning) {
  MakeDir(PodDir());
  uint64_t user = MakeDir(PodDir() + "/" + kCid);
  KnativePod();
  cri_.containers.resize(1);
  tracker_->ScanCgroupsNow();
  tracker_->ReconcileNow();
  ASSERT_TRUE(registry_.Has(user));
  // The container goes: the runtime forgets it and removes its cgroup.
  cri_.containers.clear();
  std::filesystem::remove(root_.path() + PodDir() + "/" + kCid);
  CgroupEvent e;
  e.hdr.cgroup_id = user;
  e.op = FG_CGROUP_RMDIR;
  e.path = PodDir() + "/" + kCid;
  tracker_->Start();
  tracker_->OnCgroupEvent(e);
  for (int i = 0; i < 100 && registry_.Has(user); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  tracker_->Stop();
  EXPECT_FALSE(registry_.Has(user));
  EXPECT_THAT(registry_.unregistered(),
              ::testing::ElementsAre(std::make_pair(user, std::string("removed"))))
      << "unregistered, not forgotten: the engine keeps what it learned "
         "(EngineTest.UnregisterUntracksAndKeepsWhatWasLearned)";
}

TEST_F(TrackerTest, RuntimeEventsTriggerAReconcileAtOnce) {
  // A resync so rare that only the event can explain a registration within a second.
  NodeTracker::Options o;
  o.cgroup2_mount = root_.path();
  o.resync = absl::Hours(1);
  o.resolve_for = absl::ZeroDuration();
  cri_.stream = true;
  NodeTracker t(
      &registry_,
      [this]() -> absl::StatusOr<std::unique_ptr<CriSource>> {
        return std::unique_ptr<CriSource>(new ForwardingCri(&cri_));
      },
      o);
  t.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the first, empty, pass
  uint64_t pod = MakeDir(PodDir());
  uint64_t user = MakeDir(PodDir() + "/" + kCid);
  KnativePod();
  cri_.containers.resize(1);
  t.ScanCgroupsNow();
  cri_.Emit(kCid);
  for (int i = 0; i < 100 && !registry_.Has(user); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(registry_.Has(pod));
  EXPECT_TRUE(registry_.Has(user));
  EXPECT_TRUE(t.Status().event_stream());
  t.Stop();
}

}  // namespace
}  // namespace faasguard
