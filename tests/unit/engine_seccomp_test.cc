// The engine's seccomp side (core/engine_seccomp.cc): the policy a container starts under and
// its revision, the FG_CG_F_SECCOMP flag of a cgroup started under the policy in force (and
// cleared when the policy changes), whether sys_enter is needed, the OCI files for Kubernetes
// functions; and the busy seconds that make a keep-alive server stable (core/lifecycle.h).
#include <filesystem>
#include <thread>

#include "core/lifecycle.h"
#include "engine_fixture.h"
#include "seccomp/profile_files.h"

namespace faasguard::engine_test {
namespace {

class EngineSeccompTest : public EngineFixture {
 protected:
  // Registers kCgroup under the revision of ns/fn's policy now.
  void RegisterFiltered(uint64_t cgroup, const std::string& revision) {
    RegisterOptions o;
    o.seccomp_revision = revision;
    auto r = engine_->RegisterCgroup(Fn("fn"), "main", cgroup,
                                     "/sys/fs/cgroup/test/" + std::to_string(cgroup), o);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  std::string Revision() {
    auto p = engine_->GetSeccompPolicy(Fn("fn"), "main");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->revision() : "";
  }
};

TEST_F(EngineSeccompTest, PolicyIsTheLearnedSyscallsWithEffectiveActions) {
  EXPECT_EQ(engine_->GetSeccompPolicy(Fn("nobody"), "main").status().code(),
            absl::StatusCode::kNotFound);
  Learn(Register());
  auto learning = engine_->GetSeccompPolicy(Fn("fn"), "main");
  ASSERT_TRUE(learning.ok());
  EXPECT_FALSE(learning->enforce());
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  auto p = engine_->GetSeccompPolicy(Fn("fn"), "main");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->enforce());
  EXPECT_EQ(p->unlearned(), v1::SYSCALL_ACTION_ERRNO);
  EXPECT_EQ(p->sensitive(), v1::SYSCALL_ACTION_KILL);
  EXPECT_NE(std::find(p->native().begin(), p->native().end(), "openat"), p->native().end());
  EXPECT_EQ(std::find(p->native().begin(), p->native().end(), "unlink"), p->native().end());
  EXPECT_EQ(p->revision().size(), 16u);
  EXPECT_NE(p->oci_profile().find("SCMP_ACT_ERRNO"), std::string::npos);
  EXPECT_EQ(Revision(), p->revision()) << "a revision names the policy: stable";
}

TEST_F(EngineSeccompTest, ACgroupUnderThePolicyInForceSkipsSysEnterUntilThePolicyChanges) {
  std::vector<bool> told;
  engine_->SetSyscallHookSink([&](bool needed) { told.push_back(needed); });
  ASSERT_EQ(told, std::vector<bool>{false}) << "nothing tracked: not needed";
  Learn(Register());
  EXPECT_EQ(told.back(), true) << "a learning cgroup needs sys_enter";
  ASSERT_TRUE(engine_->UnregisterCgroup(kCgroup).ok());
  engine_->SyncFromKernel();  // detached at a sync, not at each unregister
  EXPECT_EQ(told.back(), false);
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());

  // Another revision (the profile changed since the command fetched it): sys_enter checks it.
  RegisterFiltered(kCgroup + 1, "0123456789abcdef");
  EXPECT_FALSE(kernel_.tracked_flags[kCgroup + 1] & FG_CG_F_SECCOMP);
  EXPECT_EQ(told.back(), true);
  ASSERT_TRUE(engine_->UnregisterCgroup(kCgroup + 1).ok());

  RegisterFiltered(kCgroup + 2, Revision());
  EXPECT_TRUE(kernel_.tracked_flags[kCgroup + 2] & FG_CG_F_SECCOMP);
  engine_->SyncFromKernel();
  EXPECT_EQ(told.back(), false) << "every tracked cgroup runs under its filter";
  EXPECT_FALSE(engine_->NeedsSyscallHook());
  auto f = engine_->GetFunction(Fn("fn"));
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->replica_details_size(), 1);
  EXPECT_EQ(f->replica_details(0).seccomp_revision(), Revision());
  EXPECT_FALSE(f->replica_details(0).syscall_hook());
  EXPECT_EQ(f->seccomp_revision(), Revision());

  // The policy changes (alert for unlearned syscalls: the filter alone cannot report): the
  // running cgroup is checked by sys_enter again.
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT).ok());
  EXPECT_FALSE(kernel_.tracked_flags[kCgroup + 2] & FG_CG_F_SECCOMP);
  EXPECT_EQ(told.back(), true);
  EXPECT_TRUE(engine_->NeedsSyscallHook());
  EXPECT_EQ(engine_->CgroupsNeedingSyscallHook(), 1u);
}

TEST_F(EngineSeccompTest, LeavingEnforceClearsTheFlag) {
  Learn(Register());
  ASSERT_TRUE(engine_->UnregisterCgroup(kCgroup).ok());
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  RegisterFiltered(kCgroup + 1, Revision());
  ASSERT_TRUE(kernel_.tracked_flags[kCgroup + 1] & FG_CG_F_SECCOMP);
  ASSERT_TRUE(SetMode(v1::MODE_LEARN).ok());
  EXPECT_FALSE(kernel_.tracked_flags[kCgroup + 1] & FG_CG_F_SECCOMP);
  EXPECT_TRUE(engine_->NeedsSyscallHook());
}

TEST_F(EngineSeccompTest, KubernetesFunctionsGetTheirOciFilesWhileEnforced) {
  TempDir root;
  SeccompProfileFiles files(root.path());
  Engine::Options o = Options();
  o.seccomp_files = &files;
  Start(o);
  v1::FunctionId id = Fn("fn");
  id.set_platform("knative");
  auto r = engine_->RegisterCgroup(id, "user-container", kCgroup, "/sys/fs/cgroup/test/x");
  ASSERT_TRUE(r.ok());
  Learn(kernel_.tracked[kCgroup]);
  const std::string path = files.PathOf(id, "user-container");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(engine_->SeccompProfileForAdmission(id, "user-container"));
  ASSERT_TRUE(engine_->SetMode(id, v1::MODE_ENFORCE, std::nullopt).ok());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(engine_->SeccompProfileForAdmission(id, "user-container").value_or(""),
            "faasguard/ns/fn/user-container.json");
  EXPECT_FALSE(engine_->SeccompProfileForAdmission(id, "never-seen"))
      << "a container without a learned section is left as it is";
  ASSERT_TRUE(engine_->SetMode(id, v1::MODE_LEARN, std::nullopt).ok());
  EXPECT_FALSE(std::filesystem::exists(path));

  // A local function (faasguardctl run) gets none: the command installs its own filter.
  ASSERT_TRUE(engine_->RegisterCgroup(Fn("local"), "main", kCgroup + 5, "/x/y").ok());
  ASSERT_TRUE(engine_->SetMode(Fn("local"), v1::MODE_ENFORCE, std::nullopt).ok());
  EXPECT_FALSE(std::filesystem::exists(files.PathOf(Fn("local"), "main")));
}

// Kubernetes: the node tracker reads the filter of each container from its runtime spec
// (RegisterOptions::seccomp_spec). A pod-level cgroup never needs sys_enter (no task runs in
// it); a container cgroup covered through its pod needs it from its mkdir event until its
// spec shows the filter in force; one with another filter, or none known, keeps it.
TEST_F(EngineSeccompTest, AContainerWhoseRuntimeSpecIsThePolicyInForceSkipsSysEnter) {
  std::vector<bool> told;
  engine_->SetSyscallHookSink([&](bool needed) { told.push_back(needed); });
  v1::FunctionId id = Fn("fn");
  id.set_platform("knative");
  ASSERT_TRUE(engine_->RegisterCgroup(id, "main", kCgroup, "/kubepods/pod0/c0").ok());
  Learn(kernel_.tracked[kCgroup]);
  ASSERT_TRUE(engine_->UnregisterCgroup(kCgroup).ok());
  ASSERT_TRUE(engine_->SetMode(id, v1::MODE_ENFORCE, std::nullopt).ok());
  engine_->SyncFromKernel();
  ASSERT_EQ(told.back(), false);
  auto policy = engine_->GetSeccompPolicy(id, "main");
  ASSERT_TRUE(policy.ok()) << policy.status();

  RegisterOptions pod;
  pod.pod_level = true;
  ASSERT_TRUE(engine_->RegisterCgroup(id, "", 10, "/kubepods/pod1", pod).ok());
  EXPECT_FALSE(engine_->NeedsSyscallHook()) << "no task runs in a pod-level cgroup";
  EXPECT_EQ(told.back(), false);

  // A container cgroup the kernel covered through its pod at mkdir: needed at once.
  kernel_.tracked[11] = kernel_.tracked[10];
  kernel_.tracked_flags[11] = FG_CG_F_INHERITED | FG_CG_F_PENDING;
  engine_->AdoptInheritedCgroup(11, 10, "/kubepods/pod1/c1");
  EXPECT_EQ(told.back(), true);

  // Named through the CRI with the runtime's spec of its filter: the policy in force.
  RegisterOptions spec;
  spec.seccomp_spec = policy->oci_profile();
  ASSERT_TRUE(engine_->RegisterCgroup(id, "main", 11, "/kubepods/pod1/c1", spec).ok());
  EXPECT_TRUE(kernel_.tracked_flags[11] & FG_CG_F_SECCOMP);
  EXPECT_TRUE(kernel_.tracked_flags[11] & FG_CG_F_INHERITED) << "its other flags kept";
  engine_->SyncFromKernel();
  EXPECT_EQ(told.back(), false) << "every container runs its filter";
  auto f = engine_->GetFunction(id);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->replica_details_size(), 2);
  for (const auto& r : f->replica_details()) {
    EXPECT_FALSE(r.syscall_hook()) << r.cgroup();
    EXPECT_EQ(r.seccomp_revision(), r.container() == "main" ? policy->revision() : "");
  }

  // Another filter (a profile of another revision, or the runtime's default): checked.
  RegisterOptions other;
  other.seccomp_spec = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []})";
  ASSERT_TRUE(engine_->RegisterCgroup(id, "main", 12, "/kubepods/pod1/c2", other).ok());
  EXPECT_FALSE(kernel_.tracked_flags[12] & FG_CG_F_SECCOMP);
  EXPECT_EQ(told.back(), true);
  ASSERT_TRUE(engine_->UnregisterCgroup(12).ok());

  // Registered before its spec could be read (a CRI error): checked; the spec read at the next
  // pass marks it.
  ASSERT_TRUE(engine_->RegisterCgroup(id, "main", 13, "/kubepods/pod1/c3").ok());
  EXPECT_FALSE(kernel_.tracked_flags[13] & FG_CG_F_SECCOMP);
  ASSERT_TRUE(engine_->RegisterCgroup(id, "main", 13, "/kubepods/pod1/c3", spec).ok());
  EXPECT_TRUE(kernel_.tracked_flags[13] & FG_CG_F_SECCOMP);
  engine_->SyncFromKernel();
  EXPECT_EQ(told.back(), false);

  // Out of enforce: checked; back in enforce with the same policy: passed again.
  ASSERT_TRUE(engine_->SetMode(id, v1::MODE_MONITOR, std::nullopt).ok());
  EXPECT_FALSE(kernel_.tracked_flags[11] & FG_CG_F_SECCOMP);
  EXPECT_EQ(told.back(), true);
  ASSERT_TRUE(engine_->SetMode(id, v1::MODE_ENFORCE, std::nullopt).ok());
  EXPECT_TRUE(kernel_.tracked_flags[11] & FG_CG_F_SECCOMP);
  EXPECT_TRUE(kernel_.tracked_flags[13] & FG_CG_F_SECCOMP);
  engine_->SyncFromKernel();
  EXPECT_EQ(told.back(), false);
}

TEST(BusySecondsTest, AtLeastOnePercentOfACpu) {
  EXPECT_EQ(BusySeconds(absl::Milliseconds(5), absl::Seconds(1)), 0);
  EXPECT_EQ(BusySeconds(absl::Milliseconds(10), absl::Seconds(1)), 1);
  EXPECT_EQ(BusySeconds(absl::Seconds(2), absl::Seconds(2)), 2);
  EXPECT_EQ(BusySeconds(absl::Seconds(1), absl::ZeroDuration()), 0);
}

TEST_F(EngineSeccompTest, ABusyLearningFunctionCountsBusySecondsAsObservations) {
  absl::Duration used;
  Engine::Options o = Options();
  o.cpu_usage = [&used](const std::string&) -> std::optional<absl::Duration> { return used; };
  Start(o);
  Register();
  engine_->SyncFromKernel();  // the first sample
  used += absl::Milliseconds(500);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  engine_->SyncFromKernel();
  auto f = engine_->GetFunction(Fn("fn"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->lifecycle().busy_seconds(), 1u);
  EXPECT_EQ(f->lifecycle().observations(), 1u);
  // Idle: nothing more.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  engine_->SyncFromKernel();
  EXPECT_EQ(engine_->GetFunction(Fn("fn"))->lifecycle().busy_seconds(), 1u);
}

}  // namespace
}  // namespace faasguard::engine_test
