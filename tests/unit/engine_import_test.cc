// Imports (Engine::PutProfile) and mode changes, over the in-memory kernel: an import never
// changes a function's mode, syscall action or absence setting unless the request asks; a dry
// run changes nothing and says what would; every mode change, whatever asked for it, is a
// lifecycle event naming its source.
#include "unit/engine_fixture.h"

namespace faasguard::engine_test {
namespace {

// A document for ns/`name` with execs of `bins` (parent /bin/sh) in container main.
v1::Profile Doc(const std::string& name, std::vector<std::string> bins,
                v1::Mode mode = v1::MODE_UNSPECIFIED) {
  v1::Profile p = NewProfile(Fn(name), absl::Now());
  p.set_mode(mode);
  v1::ContainerProfile& c = ContainerSection(p, "main");
  for (const auto& b : bins) {
    v1::ExecEntry e;
    e.set_path(b);
    e.set_parent("/bin/sh");
    AddExec(c, e);
  }
  return p;
}

v1::PutProfileRequest Import(const v1::Profile& p, bool merge = false) {
  v1::PutProfileRequest r;
  *r.mutable_profile() = p;
  r.set_merge(merge);
  return r;
}

std::vector<std::string> Paths(const v1::Profile& p) {
  std::vector<std::string> out;
  if (const v1::ContainerProfile* c = FindContainer(p, "main"))
    for (const auto& e : c->execs()) out.push_back(e.path());
  return out;
}

class ImportTest : public EnforceTest {
 protected:
  // ns/fn with one replica that ran /usr/bin/curl, in `mode`; nothing recorded yet.
  uint32_t Running(v1::Mode mode, v1::SyscallAction action = v1::SYSCALL_ACTION_KILL,
                   v1::AgentAbsence absent = v1::AGENT_ABSENCE_FAIL_CLOSED) {
    uint32_t slot = Register();
    engine_->HandleEvent(MakeExec(slot, "/usr/bin/curl", "/bin/sh"));
    EXPECT_TRUE(engine_->SetMode(Fn("fn"), mode, action, absent).ok());
    events_.clear();
    kernel_.ops.clear();
    return slot;
  }

  // The details of the lifecycle events `what`, in order.
  std::vector<std::string> Details(const std::string& what) {
    std::vector<std::string> out;
    for (const auto& e : events_)
      if (e.kind() == v1::EVENT_KIND_LIFECYCLE && e.what() == what) out.push_back(e.detail());
    return out;
  }
};

// The report of issue 17: "profile import --merge" of a document in learn mode switched an
// enforced function to learn, and the next injected command ran and was learned.
TEST_F(ImportTest, AMergedImportKeepsTheFunctionEnforced) {
  uint32_t slot = Running(v1::MODE_ENFORCE);
  auto r = engine_->PutProfile(Import(Doc("fn", {"/usr/bin/wget"}, v1::MODE_LEARN), true),
                               ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->created());
  EXPECT_EQ(r->previous_mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(r->mode(), v1::MODE_ENFORCE);
  EXPECT_FALSE(r->dry_run());
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  // The allow-list in force has the imported item: the switch wrote and flipped.
  EXPECT_EQ(kernel_.fn_cfg[slot].gen, 0);
  ASSERT_EQ(kernel_.policies.count({slot, 0}), 1u);
  EXPECT_EQ((kernel_.policies[{slot, 0}].exec.size()), 2u);
  EXPECT_THAT(Paths(Profile()), ElementsAre("/usr/bin/curl", "/usr/bin/wget"));
  ASSERT_EQ(r->diff().added_size(), 1);
  EXPECT_EQ(r->diff().added(0).execs(0).path(), "/usr/bin/wget");
  EXPECT_THAT(r->diff().removed(), IsEmpty());
  EXPECT_THAT(Details("mode"), IsEmpty()) << "nothing asked for a mode change";
  EXPECT_THAT(Details("imported"), ElementsAre("2 items (merged)"));
}

TEST_F(ImportTest, AReplacingImportKeepsModeActionAndAbsence) {
  uint32_t slot = Running(v1::MODE_ENFORCE, v1::SYSCALL_ACTION_ALERT, v1::AGENT_ABSENCE_FAIL_OPEN);
  v1::Profile doc = Doc("fn", {"/usr/bin/wget"}, v1::MODE_LEARN);
  doc.set_syscall_action(v1::SYSCALL_ACTION_KILL);
  doc.set_when_agent_absent(v1::AGENT_ABSENCE_FAIL_CLOSED);
  auto r = engine_->PutProfile(Import(doc), ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  v1::Profile p = Profile();
  EXPECT_EQ(p.mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(p.syscall_action(), v1::SYSCALL_ACTION_ALERT);
  EXPECT_EQ(p.when_agent_absent(), v1::AGENT_ABSENCE_FAIL_OPEN);
  EXPECT_EQ(kernel_.fn_cfg[slot].sys_action, FG_SYS_ALERT);
  EXPECT_TRUE(kernel_.fn_cfg[slot].flags & FG_CFG_F_FAIL_OPEN);
  EXPECT_THAT(Paths(p), ElementsAre("/usr/bin/wget")) << "replaced";
  ASSERT_EQ(r->diff().removed_size(), 1);
  EXPECT_EQ(r->diff().removed(0).execs(0).path(), "/usr/bin/curl");
  EXPECT_THAT(Details("mode"), IsEmpty());
}

TEST_F(ImportTest, TakeModeTakesTheDocumentsSettingsAndSaysSo) {
  uint32_t slot = Running(v1::MODE_LEARN);
  v1::PutProfileRequest req = Import(Doc("fn", {"/usr/bin/curl"}, v1::MODE_ENFORCE), true);
  req.mutable_profile()->set_syscall_action(v1::SYSCALL_ACTION_ALERT);
  req.set_take_mode(true);
  auto r = engine_->PutProfile(req, ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->previous_mode(), v1::MODE_LEARN);
  EXPECT_EQ(r->mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(Profile().syscall_action(), v1::SYSCALL_ACTION_ALERT);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_ENFORCE);
  EXPECT_THAT(Details("mode"), ElementsAre("learn -> enforce (import)"));

  // A document that names no mode keeps the function's, taken or not.
  req = Import(Doc("fn", {}), true);
  req.set_take_mode(true);
  ASSERT_TRUE(engine_->PutProfile(req, ModeSource::kImport).ok());
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
}

TEST_F(ImportTest, TheRequestsModeWinsOverTheDocuments) {
  uint32_t slot = Running(v1::MODE_ENFORCE);
  v1::PutProfileRequest req = Import(Doc("fn", {}, v1::MODE_MONITOR), true);
  req.set_take_mode(true);
  req.set_mode(v1::MODE_LEARN);
  auto r = engine_->PutProfile(req, ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode(), v1::MODE_LEARN);
  EXPECT_EQ(kernel_.fn_cfg[slot].mode, FG_MODE_LEARN);
  EXPECT_THAT(kernel_.policies, IsEmpty());
  v1::Profile p = Profile();
  EXPECT_EQ(p.mode(), v1::MODE_LEARN);
  EXPECT_TRUE(p.has_learning_started());
  EXPECT_THAT(Details("mode"), ElementsAre("enforce -> learn (import)"));
}

TEST_F(ImportTest, ANewFunctionGetsTheAgentsDefaultModeUnlessAsked) {
  Engine::Options o = Options();
  o.default_mode = v1::MODE_MONITOR;
  Start(o);
  auto r =
      engine_->PutProfile(Import(Doc("a", {"/bin/true"}, v1::MODE_ENFORCE)), ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->created());
  EXPECT_EQ(r->previous_mode(), v1::MODE_UNSPECIFIED);
  EXPECT_EQ(r->mode(), v1::MODE_MONITOR);
  EXPECT_EQ(Profile("a").mode(), v1::MODE_MONITOR);
  EXPECT_THAT(Details("imported"), ElementsAre("1 items, new function in monitor"));
  EXPECT_THAT(Details("mode"), IsEmpty()) << "a new function has no mode to change from";

  v1::PutProfileRequest take = Import(Doc("b", {}, v1::MODE_ENFORCE));
  take.set_take_mode(true);
  ASSERT_TRUE(engine_->PutProfile(take, ModeSource::kImport).ok());
  EXPECT_EQ(Profile("b").mode(), v1::MODE_ENFORCE);
  v1::PutProfileRequest set = Import(Doc("c", {}, v1::MODE_ENFORCE));
  set.set_mode(v1::MODE_LEARN);
  ASSERT_TRUE(engine_->PutProfile(set, ModeSource::kImport).ok());
  EXPECT_EQ(Profile("c").mode(), v1::MODE_LEARN);
  EXPECT_TRUE(Profile("c").has_learning_started());
}

TEST_F(ImportTest, ADryRunChangesNothingAndSaysWhatWould) {
  uint32_t slot = Running(v1::MODE_ENFORCE);
  const v1::Profile before = Profile();
  const fg_fn_cfg cfg = kernel_.fn_cfg[slot];
  v1::PutProfileRequest req = Import(Doc("fn", {"/usr/bin/wget", "/usr/bin/nc"}));
  req.set_mode(v1::MODE_LEARN);
  req.set_dry_run(true);
  auto r = engine_->PutProfile(req, ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->dry_run());
  EXPECT_FALSE(r->created());
  EXPECT_EQ(r->previous_mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(r->mode(), v1::MODE_LEARN) << "the mode it would end in";
  EXPECT_EQ(r->items(), 2u);
  ASSERT_EQ(r->diff().added_size(), 1);
  EXPECT_EQ(r->diff().added(0).execs_size(), 2);
  ASSERT_EQ(r->diff().removed_size(), 1);
  EXPECT_EQ(r->diff().removed(0).execs(0).path(), "/usr/bin/curl");
  EXPECT_FALSE(r->diff().identical());
  // Nothing changed: profile, kernel, events.
  EXPECT_EQ(Profile().SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(std::memcmp(&kernel_.fn_cfg[slot], &cfg, sizeof cfg), 0);
  EXPECT_THAT(kernel_.ops, IsEmpty());
  EXPECT_THAT(events_, IsEmpty());

  // Of a function the node does not have: everything is added, nothing is created.
  req = Import(Doc("other", {"/bin/true"}));
  req.set_dry_run(true);
  r = engine_->PutProfile(req, ModeSource::kImport);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->created());
  EXPECT_EQ(r->mode(), v1::MODE_LEARN);
  ASSERT_EQ(r->diff().added_size(), 1);
  EXPECT_EQ(engine_->function_count(), 1u);
  EXPECT_EQ(engine_->GetProfile(Fn("other")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ImportTest, ADryRunSaysWhatTheImportWouldBeRefusedFor) {
  Engine::Options o = Options();
  o.limits.max_exec_rules = 2;
  Start(o);
  Running(v1::MODE_ENFORCE);
  v1::PutProfileRequest req = Import(Doc("fn", {"/bin/a", "/bin/b", "/bin/c"}), true);
  req.set_dry_run(true);
  auto r = engine_->PutProfile(req, ModeSource::kImport);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(kernel_.ops, IsEmpty());
  // The real import is refused the same way, and changes nothing.
  req.set_dry_run(false);
  EXPECT_EQ(engine_->PutProfile(req, ModeSource::kImport).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Paths(Profile()), ElementsAre("/usr/bin/curl"));
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  EXPECT_THAT(events_, IsEmpty());
}

TEST_F(ImportTest, EveryModeChangeIsAnEventNamingItsSource) {
  Running(v1::MODE_LEARN);
  ASSERT_TRUE(engine_->SetMode(Fn("fn"), v1::MODE_MONITOR, std::nullopt).ok());
  ASSERT_TRUE(
      engine_->SetMode(Fn("fn"), ModeRequest{v1::MODE_ENFORCE, {}, {}, {}}, ModeSource::kCluster)
          .ok());
  v1::PutProfileRequest req = Import(Doc("fn", {}), true);
  req.set_mode(v1::MODE_LEARN);
  ASSERT_TRUE(engine_->PutProfile(req, ModeSource::kImport).ok());
  EXPECT_THAT(Details("mode"), ElementsAre("learn -> monitor (api)", "monitor -> enforce (cluster)",
                                           "enforce -> learn (import)"));
  for (const auto& e : events_) {
    if (e.what() == "mode") {
      EXPECT_EQ(e.function().name(), "fn");
    }
  }
}

TEST_F(ImportTest, AutoPromotionIsAModeChangeToo) {
  Engine::Options o = Options();
  o.stable_window = absl::ZeroDuration();
  o.stable_min_observations = 0;
  o.auto_promote = v1::MODE_ENFORCE;
  Start(o);
  Running(v1::MODE_LEARN);
  engine_->CheckLifecycle();
  EXPECT_EQ(Profile().mode(), v1::MODE_ENFORCE);
  EXPECT_THAT(Details("mode"), ElementsAre("learn -> enforce (auto-promote)"));
  EXPECT_THAT(Details("promoted"), ElementsAre("learn -> enforce"));
}

}  // namespace
}  // namespace faasguard::engine_test
