// The profile store in a temporary directory, and the atomic file write under it.
#include "profile/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/log.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "profile/names.h"
#include "profile/profile.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A directory's entries in sorted order; none when it cannot be listed.
std::vector<std::string> Entries(const std::string& dir, DirEntries which = DirEntries::kAll) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir, which);
  if (!names.ok()) return {};
  std::sort(names->begin(), names->end());
  return *names;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

v1::Profile MakeProfile(const std::string& ns, const std::string& name) {
  v1::FunctionId id;
  id.set_platform("local");
  id.set_namespace_(ns);
  id.set_name(name);
  v1::Profile p = NewProfile(id, absl::FromUnixSeconds(1700000000));
  v1::ContainerProfile& c = ContainerSection(p, "main");
  v1::SyscallEntry s;
  s.set_name("read");
  s.set_arch("x86_64");
  s.set_nr(0);
  AddSyscall(c, s);
  v1::ExecEntry x;
  x.set_path("/usr/bin/" + name);
  x.set_parent("/bin/sh");
  x.mutable_seen()->set_count(2);
  AddExec(c, x);
  v1::NetEntry n;
  n.set_protocol(v1::PROTOCOL_TCP);
  n.set_address("10.0.0.1");
  n.set_port(443);
  AddNet(c.mutable_egress(), n);
  return p;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(dir_.path()) {}
  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    absl::Status s = store_.Init();
    ASSERT_TRUE(s.ok()) << s;
  }
  void TearDown() override { SetLogLevel(LogLevel::kInfo); }

  TempDir dir_;
  ProfileStore store_;
};

TEST_F(StoreTest, InitCreatesPrivateDirectories) {
  for (const std::string& d : {store_.profiles_dir(), store_.quarantine_dir()}) {
    struct stat st;
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
  EXPECT_EQ(store_.profiles_dir(), dir_.Sub("profiles"));
  EXPECT_EQ(store_.quarantine_dir(), dir_.Sub("quarantine"));
  EXPECT_TRUE(store_.Init().ok());  // again: nothing to do
}

TEST_F(StoreTest, SaveThenLoadAll) {
  v1::Profile a = MakeProfile("team-a", "resize");
  v1::Profile b = MakeProfile("default", "hello.world");
  ASSERT_TRUE(store_.Save(a).ok());
  ASSERT_TRUE(store_.Save(b).ok());
  EXPECT_EQ(store_.PathFor(a.function()), dir_.Sub("profiles/team-a_resize.json"));
  EXPECT_TRUE(Exists(store_.PathFor(a.function())));

  ProfileStore::LoadResult r = store_.LoadAll();
  EXPECT_THAT(r.quarantined, IsEmpty());
  ASSERT_THAT(r.profiles, SizeIs(2));
  // Sorted by file name: default_..., team-a_...
  NormalizeProfile(a);
  NormalizeProfile(b);
  EXPECT_TRUE(MessageDifferencer::Equals(r.profiles[0], b)) << r.profiles[0].DebugString();
  EXPECT_TRUE(MessageDifferencer::Equals(r.profiles[1], a)) << r.profiles[1].DebugString();
}

TEST_F(StoreTest, SaveReplacesAndLeavesNoTemporaryFiles) {
  v1::Profile p = MakeProfile("ns", "fn");
  for (int i = 0; i < 5; ++i) {
    p.mutable_containers(0)->mutable_counters()->set_execs(i);
    ASSERT_TRUE(store_.Save(p).ok());
  }
  EXPECT_THAT(Entries(store_.profiles_dir()), ElementsAre("ns_fn.json"));
  EXPECT_THAT(Entries(dir_.path()), ElementsAre("profiles", "quarantine"));
  ProfileStore::LoadResult r = store_.LoadAll();
  ASSERT_THAT(r.profiles, SizeIs(1));
  EXPECT_EQ(r.profiles[0].containers(0).counters().execs(), 4u);

  struct stat st;
  ASSERT_EQ(::stat(store_.PathFor(p.function()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StoreTest, SaveRefusesAnInvalidFunction) {
  v1::Profile p = MakeProfile("ns", "fn");
  p.mutable_function()->set_name("../../etc/passwd");
  EXPECT_EQ(store_.Save(p).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Entries(store_.profiles_dir()), IsEmpty());
}

TEST_F(StoreTest, Remove) {
  v1::Profile p = MakeProfile("ns", "fn");
  ASSERT_TRUE(store_.Save(p).ok());
  EXPECT_TRUE(store_.Remove(p.function()).ok());
  EXPECT_FALSE(Exists(store_.PathFor(p.function())));
  EXPECT_TRUE(store_.Remove(p.function()).ok());  // already gone: fine
  EXPECT_THAT(store_.LoadAll().profiles, IsEmpty());
}

TEST_F(StoreTest, CorruptFilesAreQuarantinedOthersStillLoad) {
  ASSERT_TRUE(store_.Save(MakeProfile("ns", "good")).ok());
  const std::string garbage = "\x01\x02not json at all{{{";
  const std::string invalid =
      R"({"schemaVersion": 1, "function": {"namespace": "ns", "name": "Bad_Name"}})";
  ASSERT_TRUE(WriteFileAtomic(store_.profiles_dir() + "/ns_garbage.json", garbage).ok());
  ASSERT_TRUE(WriteFileAtomic(store_.profiles_dir() + "/ns_invalid.json", invalid).ok());
  ASSERT_TRUE(store_.Save(MakeProfile("zz", "also-good")).ok());

  ProfileStore::LoadResult r = store_.LoadAll();
  ASSERT_THAT(r.profiles, SizeIs(2));
  EXPECT_EQ(r.profiles[0].function().name(), "good");
  EXPECT_EQ(r.profiles[1].function().name(), "also-good");

  ASSERT_THAT(r.quarantined, SizeIs(2));
  EXPECT_THAT(Entries(store_.profiles_dir()), ElementsAre("ns_good.json", "zz_also-good.json"));
  std::vector<std::string> moved = Entries(store_.quarantine_dir());
  ASSERT_THAT(moved, SizeIs(2));
  // Each quarantined file is named after the original, and holds its content unchanged.
  for (const std::string& q : r.quarantined) {
    EXPECT_TRUE(absl::StartsWith(q, store_.quarantine_dir() + "/")) << q;
    EXPECT_TRUE(Exists(q)) << q;
    absl::StatusOr<std::string> text = ReadFile(q);
    ASSERT_TRUE(text.ok()) << text.status();
    if (absl::StrContains(q, "ns_garbage.json")) {
      EXPECT_EQ(*text, garbage);
    } else {
      EXPECT_TRUE(absl::StrContains(q, "ns_invalid.json")) << q;
      EXPECT_EQ(*text, invalid);
    }
  }

  // Loading again finds nothing left to quarantine.
  ProfileStore::LoadResult again = store_.LoadAll();
  EXPECT_THAT(again.profiles, SizeIs(2));
  EXPECT_THAT(again.quarantined, IsEmpty());
}

TEST_F(StoreTest, OnlyJsonFilesAreRead) {
  ASSERT_TRUE(store_.Save(MakeProfile("ns", "fn")).ok());
  ASSERT_TRUE(WriteFileAtomic(store_.profiles_dir() + "/README", "not a profile").ok());
  ASSERT_TRUE(WriteFileAtomic(store_.profiles_dir() + "/ns_fn.json.tmp.1.2", "partial").ok());
  ProfileStore::LoadResult r = store_.LoadAll();
  EXPECT_THAT(r.profiles, SizeIs(1));
  EXPECT_THAT(r.quarantined, IsEmpty());
  EXPECT_THAT(Entries(store_.quarantine_dir()), IsEmpty());
}

TEST(StoreWithoutDirectoriesTest, LoadAllOfAMissingDirectoryIsEmpty) {
  TempDir dir;
  ProfileStore store(dir.Sub("never-created"));
  ProfileStore::LoadResult r = store.LoadAll();
  EXPECT_THAT(r.profiles, IsEmpty());
  EXPECT_THAT(r.quarantined, IsEmpty());
}

// --- WriteFileAtomic ---------------------------------------------------------------------

TEST(WriteFileAtomicTest, CreatesAndReplaces) {
  TempDir dir;
  const std::string path = dir.Sub("f.txt");
  ASSERT_TRUE(WriteFileAtomic(path, "first version, rather long\n").ok());
  EXPECT_EQ(*ReadFile(path), "first version, rather long\n");
  ASSERT_TRUE(WriteFileAtomic(path, "second\n").ok());
  EXPECT_EQ(*ReadFile(path), "second\n");  // replaced, not overwritten in place
  ASSERT_TRUE(WriteFileAtomic(path, "").ok());
  EXPECT_EQ(*ReadFile(path), "");
  EXPECT_THAT(Entries(dir.path()), ElementsAre("f.txt"));
}

TEST(WriteFileAtomicTest, BinaryContentAndMode) {
  TempDir dir;
  const std::string path = dir.Sub("bin");
  const std::string content("a\0b\xff", 4);
  ASSERT_TRUE(WriteFileAtomic(path, content, 0640).ok());
  EXPECT_EQ(*ReadFile(path), content);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0600, 0600u);
  EXPECT_EQ(st.st_mode & 0007, 0u);
}

TEST(WriteFileAtomicTest, FailsCleanlyInAMissingDirectory) {
  TempDir dir;
  absl::Status s = WriteFileAtomic(dir.Sub("missing/f.txt"), "x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(Entries(dir.path()), IsEmpty());
}

TEST(ReadFileTest, MissingFile) {
  TempDir dir;
  absl::StatusOr<std::string> r = ReadFile(dir.Sub("nope"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

// --- ListDir -----------------------------------------------------------------------------

TEST(ListDirTest, EveryEntryOrOnlySubdirectories) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.Sub("sub/inner")).ok());
  ASSERT_TRUE(MakeDirs(dir.Sub(".hidden")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("file"), "x").ok());
  ASSERT_EQ(::symlink("sub", dir.Sub("link-to-sub").c_str()), 0);
  EXPECT_THAT(Entries(dir.path()), ElementsAre(".hidden", "file", "link-to-sub", "sub"))
      << "every name but . and ..";
  EXPECT_THAT(Entries(dir.path(), DirEntries::kDirectories), ElementsAre(".hidden", "sub"))
      << "a symlink to a directory is not a subdirectory; nothing below the first level";
  EXPECT_THAT(Entries(dir.Sub("sub/inner")), IsEmpty());
}

TEST(ListDirTest, MissingDirectoryIsNotFoundAndNamed) {
  TempDir dir;
  absl::StatusOr<std::vector<std::string>> r = ListDir(dir.Sub("nope"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr(dir.Sub("nope")));
}

TEST(MakeDirsTest, CreatesParentsAndRefusesFiles) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.Sub("a/b/c"), 0700).ok());
  EXPECT_TRUE(Exists(dir.Sub("a/b/c")));
  EXPECT_TRUE(MakeDirs(dir.Sub("a/b/c")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("file"), "x").ok());
  EXPECT_FALSE(MakeDirs(dir.Sub("file")).ok());
}

}  // namespace
}  // namespace faasguard
