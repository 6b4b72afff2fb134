// Files in the engine (fixture: engine_fixture.h): first sightings and the kernel's set folded
// into profiles (never twice), folded into rules, compiled into the allow-list, accepted from a
// violation, and the file hooks attached only while a function needs them.
#include "core/kernel_state.h"
#include "profile/files.h"
#include "unit/engine_fixture.h"

namespace faasguard::engine_test {
namespace {

class EngineFilesTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    engine_->SetFileHook(
        [this](bool on) {
          kernel_.ops.push_back(on ? "hook on" : "hook off");
          return hook_error_;
        },
        false);
  }

  FileEvent File(uint32_t slot, const std::string& path, uint32_t access, uint32_t flags = 0) {
    FileEvent e;
    e.hdr = Hdr(slot, FG_EV_FILE);
    e.path = Path(path, flags);
    e.access = access;
    return e;
  }

  std::map<std::string, uint32_t> Files() {
    std::map<std::string, uint32_t> out;
    const v1::ContainerProfile c = Section();
    for (const auto& f : c.files()) out[f.path()] = FileAccessMask(f);
    return out;
  }

  absl::Status hook_error_;
};

TEST_F(EngineFilesTest, FirstSightingsAndTheKernelSetMakeTheItems) {
  uint32_t slot = Register();
  engine_->HandleEvent(File(slot, "/etc/hosts", FG_FILE_READ));
  engine_->HandleEvent(File(slot, "/tmp/out", FG_FILE_WRITE | FG_FILE_CREATE));
  engine_->HandleEvent(
      File(slot, "/memfd:x", FG_FILE_READ, FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED));
  // The kernel's set: counts, and an item whose record was lost (named from fg_paths).
  kernel_.SetFile(slot, FG_FILE_READ, PathHash("/etc/hosts", 0, kSeed), 5);
  kernel_.SetFile(slot, FG_FILE_READ | FG_FILE_LINKED, PathHash("/data/l", 0, kSeed), 2);
  kernel_.SetPath(PathHash("/data/l", 0, kSeed), "/data/l");
  kernel_.SetFile(slot, FG_FILE_READ, PathHash("/nameless", 0, kSeed), 1);  // no text anywhere
  engine_->SyncFromKernel();
  engine_->SyncFromKernel();  // twice: nothing counted twice

  v1::ContainerProfile c = Section();
  std::map<std::string, v1::FileEntry> by;
  for (const auto& f : c.files()) by[f.path()] = f;
  ASSERT_EQ(by.size(), 4u) << c.DebugString();
  EXPECT_EQ(by["/etc/hosts"].seen().count(), 5u);
  // Created: its directory is one the function writes in (the fold of created files).
  EXPECT_EQ(FileAccessMask(by["/tmp/*"]), uint32_t{FG_FILE_WRITE | FG_FILE_CREATE});
  EXPECT_EQ(by["memfd:x"].kind(), v1::PATH_KIND_ANONYMOUS);
  EXPECT_TRUE(by["/data/l"].hard_linked());
  EXPECT_EQ(by["/data/l"].seen().count(), 2u);
  EXPECT_EQ(engine_->counters().unresolved_paths, 1u);
  size_t file_events = 0;
  for (const auto& e : events_) file_events += e.what() == "file";
  EXPECT_EQ(file_events, 4u);
}

TEST_F(EngineFilesTest, LearnedDirectoriesFoldAndLaterOpensThereAreNotNew) {
  uint32_t slot = Register();
  for (int i = 0; i < 8; ++i)
    engine_->HandleEvent(File(slot, absl::StrCat("/usr/lib/py/m", i, ".py"), FG_FILE_READ));
  EXPECT_EQ(Files(), (std::map<std::string, uint32_t>{{"/usr/lib/py/*", FG_FILE_READ}}));
  const size_t before = events_.size();
  engine_->HandleEvent(File(slot, "/usr/lib/py/late.py", FG_FILE_READ));
  EXPECT_EQ(events_.size(), before) << "covered by the rule: not new behaviour";
  engine_->HandleEvent(File(slot, "/usr/lib/py/late.py", FG_FILE_WRITE));
  EXPECT_EQ(Files().size(), 2u) << "an access the rule lacks is an item of its own";
}

TEST_F(EngineFilesTest, EnforceCompilesTheFileRulesAndAnAcceptedViolationJoinsThem) {
  uint32_t slot = Register();
  engine_->HandleEvent(File(slot, "/etc/hosts", FG_FILE_READ));
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  const AllowList* a = Policy(slot, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->file_pol.flags, uint32_t{FG_FILE_POL_ON});
  ASSERT_EQ(a->files.size(), 1u);
  EXPECT_EQ(a->files[0].first.hash, PathHash("/etc/hosts", 0, kSeed));

  ViolationEvent v = Violation(slot, FG_VIOL_FILE, FG_ACT_KILLED);
  v.item = "/run/secrets/token";
  v.item_hash = PathHash(v.item, 0, kSeed);
  v.item_flags = FG_FILE_READ << FG_FILE_ITEM_ACCESS_SHIFT;
  engine_->HandleEvent(v);
  auto vs = Violations();
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].attempted(), "/run/secrets/token (read)");
  auto r = engine_->AcceptViolation(Fn("fn"), vs[0].id());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->added());
  EXPECT_EQ(Files()["/run/secrets/token"], uint32_t{FG_FILE_READ});
  a = Policy(slot, 0);
  ASSERT_NE(a, nullptr) << "recompiled into the other generation";
  EXPECT_EQ(a->files.size(), 2u);
}

TEST_F(EngineFilesTest, TheHooksAreAttachedBeforeTheyAreNeededAndOnlyWhileSomeoneNeedsThem) {
  // A learning replica needs them: attached before its cgroup is tracked.
  uint32_t slot = Register();
  EXPECT_LT(OpIndex(kernel_.ops, "hook on"),
            OpIndex(kernel_.ops, absl::StrCat("track ", kCgroup, " ", slot)));
  EXPECT_TRUE(engine_->file_hook_attached());
  // Enforced without file rules (a profile from before files): nothing to check.
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_FALSE(engine_->file_hook_attached());
  // Rules come (an import): attached before the allow-list that has them is in force.
  v1::Profile p = Profile();
  v1::FileEntry f;
  f.set_path("/etc/hosts");
  f.add_access(v1::FILE_ACCESS_READ);
  *ContainerSection(p, "main").add_files() = f;
  kernel_.ops.clear();
  v1::PutProfileRequest put;
  *put.mutable_profile() = p;
  ASSERT_TRUE(engine_->PutProfile(put, ModeSource::kApi).ok());
  EXPECT_EQ(kernel_.ops.front(), "hook on");
  EXPECT_TRUE(engine_->file_hook_attached());
  // The last replica goes: detached.
  ASSERT_TRUE(engine_->UnregisterCgroup(kCgroup).ok());
  EXPECT_FALSE(engine_->file_hook_attached());
  EXPECT_EQ(kernel_.ops.back(), "hook off");
}

// --files off: no file is learned or checked, whatever the profile holds, and no hook is
// attached for files (the node pays nothing for them); the profile's items are kept.
TEST_F(EngineFilesTest, WithFilesOffNothingIsCheckedAndNoHookAttached) {
  Engine::Options o = Options();
  o.limits.files = false;
  Start(o);
  engine_->SetFileHook(
      [this](bool on) {
        kernel_.ops.push_back(on ? "hook on" : "hook off");
        return absl::OkStatus();
      },
      false);
  kernel_.ops.clear();
  uint32_t slot = Register();
  EXPECT_FALSE(engine_->file_hook_attached()) << "learning, files off";
  engine_->HandleEvent(File(slot, "/etc/hosts", FG_FILE_READ));  // a profile's item
  ASSERT_TRUE(SetMode(v1::MODE_ENFORCE).ok());
  EXPECT_FALSE(engine_->file_hook_attached());
  const AllowList* a = Policy(slot, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->file_pol.flags, 0u) << "no file rule compiled";
  EXPECT_TRUE(a->files.empty());
  EXPECT_EQ(Files()["/etc/hosts"], uint32_t{FG_FILE_READ}) << "the profile keeps its items";
  auto p = engine_->GetSeccompPolicy(Fn("fn"), "main");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->read_only_files()) << "the filter refuses no open either";
  for (const auto& op : kernel_.ops) EXPECT_NE(op, "hook on");
}

TEST_F(EngineFilesTest, AHookThatCannotAttachIsAnErrorTheRegistrationSurvives) {
  hook_error_ = absl::InternalError("no sys_exit here");
  Register();
  EXPECT_FALSE(engine_->file_hook_attached());
  EXPECT_GE(engine_->counters().policy_errors, 1u);
}

TEST(FileFoldBaseTest, TheKernelStateRecordKeepsWhatWasFolded) {
  FoldBase b;
  b.file[{FG_FILE_READ, 42}] = 7;
  b.file[{FG_FILE_WRITE | FG_FILE_LINKED, 43}] = 1;
  v1::SlotState ss;
  RecordFoldBase(b, &ss);
  EXPECT_EQ(FoldBaseFromRecord(ss).file, b.file);
}

}  // namespace
}  // namespace faasguard::engine_test
