// Files in profiles, pure parts: the fold of learned items into "dir/*" rules (the rule of
// docs/profile-format.md, "Files"), adding items, validation, the policy compiled from file
// items, the decoding of file records and the violation of kind "file".
#include <cstring>
#include <string>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/strings/str_cat.h"
#include "bpf/events.h"
#include "core/abi_codec.h"
#include "core/policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/files.h"
#include "profile/path_rule.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSeed = 0x5eed;

v1::FileEntry Item(const std::string& path, uint32_t access, uint64_t count = 1,
                   v1::PathKind kind = v1::PATH_KIND_FILE, bool linked = false) {
  v1::FileEntry e;
  e.set_path(path);
  e.set_kind(kind);
  e.set_hard_linked(linked);
  SetFileAccess(e, access);
  e.mutable_seen()->set_count(count);
  return e;
}

std::map<std::string, uint32_t> Paths(const v1::ContainerProfile& c) {
  std::map<std::string, uint32_t> out;
  for (const auto& f : c.files()) out[f.path()] = FileAccessMask(f);
  return out;
}

v1::ContainerProfile Learned(const std::vector<v1::FileEntry>& items) {
  v1::ContainerProfile c;
  c.set_name("main");
  for (const auto& e : items) AddFile(c, e);
  return c;
}

// --- The fold ----------------------------------------------------------------------------

TEST(FoldFilesTest, ADirectoryWithManyVariedEntriesBecomesOneRule) {
  std::vector<v1::FileEntry> items;
  // Python's start: modules and their caches in many subdirectories of one library directory.
  for (const char* m : {"os.py", "abc.py", "codecs.py", "io.py", "site.py", "stat.py"})
    items.push_back(Item(absl::StrCat("/usr/lib/python3.11/", m), FG_FILE_READ, 2));
  for (const char* d : {"encodings", "http", "json", "urllib", "email"})
    for (const char* m : {"__init__.py", "x.py"})
      items.push_back(Item(absl::StrCat("/usr/lib/python3.11/", d, "/", m), FG_FILE_READ));
  items.push_back(Item("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", FG_FILE_READ));
  items.push_back(Item("/app/handler.py", FG_FILE_READ));
  v1::ContainerProfile c = Learned(items);
  EXPECT_EQ(FoldFiles(c), items.size() - 1);
  auto paths = Paths(c);
  EXPECT_EQ(paths, (std::map<std::string, uint32_t>{{"/app/handler.py", FG_FILE_READ},
                                                    {"/usr/lib/python3.11/*", FG_FILE_READ}}));
  // The counts add up; the rule is a rule (parses as a prefix).
  for (const auto& f : c.files()) {
    if (f.path() != "/usr/lib/python3.11/*") continue;
    EXPECT_EQ(f.seen().count(), 6u * 2 + 10 + 1);
    auto r = ParseRulePath(f.path());
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->prefix);
    EXPECT_EQ(r->text, "/usr/lib/python3.11/");
  }
}

TEST(FoldFilesTest, ItTakesTheShallowestDirectoryWithEnoughVarietyAndUnitesTheAccess) {
  std::vector<v1::FileEntry> items;
  for (int i = 0; i < 8; ++i)
    items.push_back(Item(absl::StrCat("/tmp/tmp", i, "x"), FG_FILE_WRITE | FG_FILE_CREATE));
  items.push_back(Item("/tmp/tmp0x", FG_FILE_READ));  // the same file read back
  v1::ContainerProfile c = Learned(items);
  FoldFiles(c);
  EXPECT_EQ(
      Paths(c),
      (std::map<std::string, uint32_t>{{"/tmp/*", FG_FILE_READ | FG_FILE_WRITE | FG_FILE_CREATE}}));
}

// Learned in order: a cache directory folds first, its parent later. The parent's rule takes
// the earlier one in (it would allow nothing more), whether the parent folds now or already had.
TEST(FoldFilesTest, ADirectoryFoldedEarlyGoesIntoItsParentsRule) {
  v1::ContainerProfile c;
  for (int i = 0; i < 8; ++i)
    AddFile(c, Item(absl::StrCat("/usr/lib/python3.11/__pycache__/m", i, ".pyc"), FG_FILE_READ));
  EXPECT_EQ(FoldFiles(c), 8u);
  EXPECT_EQ(Paths(c),
            (std::map<std::string, uint32_t>{{"/usr/lib/python3.11/__pycache__/*", FG_FILE_READ}}));
  for (int i = 0; i < 7; ++i)
    AddFile(c, Item(absl::StrCat("/usr/lib/python3.11/m", i, ".py"), FG_FILE_READ));
  EXPECT_EQ(FoldFiles(c), 8u) << "seven files and the cache's rule: eight entries";
  EXPECT_EQ(Paths(c), (std::map<std::string, uint32_t>{{"/usr/lib/python3.11/*", FG_FILE_READ}}));
  EXPECT_EQ(c.files(0).seen().count(), 15u);
  // A later rule under it, folded on its own, goes too; one that allows more stays.
  AddFile(c, Item("/usr/lib/python3.11/email/__pycache__/*", FG_FILE_READ, 3));
  AddFile(c, Item("/usr/lib/python3.11/site-packages/*", FG_FILE_READ | FG_FILE_WRITE));
  EXPECT_EQ(FoldFiles(c), 1u);
  EXPECT_EQ(Paths(c), (std::map<std::string, uint32_t>{
                          {"/usr/lib/python3.11/*", FG_FILE_READ},
                          {"/usr/lib/python3.11/site-packages/*", FG_FILE_READ | FG_FILE_WRITE}}));
  EXPECT_EQ(FoldFiles(c), 0u) << "nothing left to fold";
  // A rule that allows writing helps its parent fold, never lends it its access.
  v1::ContainerProfile d;
  AddFile(d, Item("/app/uploads/*", FG_FILE_READ | FG_FILE_WRITE | FG_FILE_CREATE));
  for (int i = 0; i < 7; ++i) AddFile(d, Item(absl::StrCat("/app/m", i, ".js"), FG_FILE_READ));
  EXPECT_EQ(FoldFiles(d), 7u);
  EXPECT_EQ(Paths(d), (std::map<std::string, uint32_t>{
                          {"/app/*", FG_FILE_READ},
                          {"/app/uploads/*", FG_FILE_READ | FG_FILE_WRITE | FG_FILE_CREATE}}));
}

TEST(FoldFilesTest, SevenEntriesOrOneEntryManyTimesAreNotVaried) {
  std::vector<v1::FileEntry> items;
  for (int i = 0; i < 7; ++i) items.push_back(Item(absl::StrCat("/data/f", i), FG_FILE_READ));
  // many files, all through one entry of /srv: /srv is not folded, /srv/one is
  for (int i = 0; i < 20; ++i) items.push_back(Item(absl::StrCat("/srv/one/f", i), FG_FILE_READ));
  v1::ContainerProfile c = Learned(items);
  FoldFiles(c);
  auto paths = Paths(c);
  EXPECT_EQ(paths.size(), 8u);
  EXPECT_TRUE(paths.count("/srv/one/*"));
  EXPECT_TRUE(paths.count("/data/f0"));
}

TEST(FoldFilesTest, ProtectedDirectoriesAreNeverFoldedNorCovered) {
  std::vector<v1::FileEntry> items;
  for (const char* f : {"hosts", "resolv.conf", "nsswitch.conf", "gai.conf", "host.conf",
                        "localtime", "passwd", "group", "ld.so.cache", "mime.types"})
    items.push_back(Item(absl::StrCat("/etc/", f), FG_FILE_READ));
  for (int i = 0; i < 9; ++i)
    items.push_back(
        Item(absl::StrCat("/run/secrets/kubernetes.io/serviceaccount/f", i), FG_FILE_READ));
  for (int i = 0; i < 9; ++i)
    items.push_back(Item(absl::StrCat("/proc/", i, "/status"), FG_FILE_READ));
  for (int i = 0; i < 9; ++i) items.push_back(Item(absl::StrCat("/proc/self/f", i), FG_FILE_READ));
  for (int i = 0; i < 9; ++i)
    items.push_back(Item(absl::StrCat("/app/secrets/k", i), FG_FILE_READ));
  // /var would cover /var/run and /var/lib/kubelet; its entries, one each, stay exact
  for (const char* d : {"a", "b", "c", "d", "e", "f", "g", "h"})
    items.push_back(Item(absl::StrCat("/var/", d, "/x"), FG_FILE_READ));
  v1::ContainerProfile c = Learned(items);
  FoldFiles(c);
  auto paths = Paths(c);
  for (const auto& [p, a] : paths) {
    EXPECT_FALSE(p == "/etc/*" || p == "/run/*" || p == "/proc/*" || p == "/var/*" ||
                 p == "/app/secrets/*" || p == "/*")
        << p;
    EXPECT_FALSE(p.find("serviceaccount/*") != std::string::npos) << p;
  }
  EXPECT_TRUE(paths.count("/etc/hosts"));
  EXPECT_TRUE(paths.count("/proc/self/*")) << "one's own /proc entries are one's own";
  EXPECT_TRUE(paths.count("/proc/3/status"));
  EXPECT_TRUE(paths.count("/var/a/x"));
}

// A directory where every file the function opened was one it created is a scratch directory:
// temporary files get new names every time (mkstemp), an O_TMPFILE is DIR/#tmpfile; it folds
// at once, with the access of what was created there. Not a protected one, not one of data.
TEST(FoldFilesTest, AScratchDirectoryFoldsAtOnce) {
  const uint32_t made = FG_FILE_READ | FG_FILE_WRITE | FG_FILE_CREATE;
  v1::ContainerProfile c =
      Learned({Item("/tmp/tmpa8x2kq", made), Item("/tmp/#tmpfile", made),
               Item("/var/cache/app/state.json", made), Item("/etc/cron.d/job", made),
               Item("/run/app.pid", made), Item("/app/handler.py", FG_FILE_READ),
               Item("/data/in.csv", FG_FILE_READ | FG_FILE_WRITE), Item("/data/out.csv", made)});
  FoldFiles(c);
  EXPECT_EQ(Paths(c),
            (std::map<std::string, uint32_t>{{"/tmp/*", made},
                                             {"/var/cache/app/*", made},
                                             {"/etc/cron.d/job", made},
                                             {"/run/app.pid", made},
                                             {"/app/handler.py", FG_FILE_READ},
                                             {"/data/in.csv", FG_FILE_READ | FG_FILE_WRITE},
                                             {"/data/out.csv", made}}))
      << "/data holds a file it did not create: data, not scratch";
  // The next temporary file, whatever its name, is the rule's: nothing new to learn.
  EXPECT_FALSE(AddFile(c, Item("/tmp/tmpzz91mc", made)));
  EXPECT_TRUE(AddFile(c, Item("/tmp/x", FG_FILE_WRITE | FG_FILE_TRUNC))) << "more access: learned";
}

TEST(FoldFilesTest, OnlyPlainFilesAreFolded) {
  std::vector<v1::FileEntry> items;
  for (int i = 0; i < 8; ++i)
    items.push_back(Item(absl::StrCat("/w/f", i), FG_FILE_READ, 1,
                         i % 2 ? v1::PATH_KIND_DELETED : v1::PATH_KIND_FILE, i == 2));
  v1::ContainerProfile c = Learned(items);
  EXPECT_EQ(FoldFiles(c), 0u) << "3 plain files under /w";
  EXPECT_EQ(c.files_size(), 8);
}

TEST(AddFileTest, ARuleCoversWhatItAllowsAndNothingElse) {
  v1::ContainerProfile c = Learned({Item("/usr/lib/python3.11/*", FG_FILE_READ, 5)});
  EXPECT_FALSE(AddFile(c, Item("/usr/lib/python3.11/new.py", FG_FILE_READ, 2)));
  EXPECT_EQ(c.files_size(), 1);
  EXPECT_EQ(c.files(0).seen().count(), 7u);
  EXPECT_TRUE(AddFile(c, Item("/usr/lib/python3.11/new.py", FG_FILE_WRITE)));  // not covered
  EXPECT_TRUE(AddFile(c, Item("/usr/lib/python3.11/l", FG_FILE_READ, 1, v1::PATH_KIND_FILE,
                              /*linked=*/true)));
  EXPECT_TRUE(AddFile(c, Item("/usr/lib/python3.11x", FG_FILE_READ)));
  EXPECT_EQ(c.files_size(), 4);
  // A known item with a new access is new behaviour; the same access again is not.
  EXPECT_TRUE(AddFile(c, Item("/usr/lib/python3.11/new.py", FG_FILE_READ)));
  EXPECT_FALSE(AddFile(c, Item("/usr/lib/python3.11/new.py", FG_FILE_WRITE)));
  EXPECT_EQ(Paths(c)["/usr/lib/python3.11/new.py"], FG_FILE_READ | FG_FILE_WRITE);
}

TEST(ValidateFilesTest, RulesAndItemsAreChecked) {
  v1::Profile p = NewProfile(
      [] {
        v1::FunctionId id;
        id.set_platform("local");
        id.set_namespace_("default");
        id.set_name("fn");
        return id;
      }(),
      absl::Now());
  auto with = [&](const v1::FileEntry& e) {
    v1::Profile q = p;
    *ContainerSection(q, "main").add_files() = e;
    return ValidateProfile(q);
  };
  EXPECT_TRUE(with(Item("/tmp/*", FG_FILE_READ | FG_FILE_WRITE)).ok());
  EXPECT_TRUE(with(Item("memfd:x", FG_FILE_READ, 1, v1::PATH_KIND_ANONYMOUS)).ok());
  EXPECT_THAT(with(Item("tmp/*", FG_FILE_READ)).ToString(), HasSubstr("absolute"));
  EXPECT_THAT(with(Item("/a*b", FG_FILE_READ)).ToString(), HasSubstr("only at the end"));
  EXPECT_THAT(with(Item("/a", 0)).ToString(), HasSubstr("without an access"));
  EXPECT_THAT(with(Item("", FG_FILE_READ)).ToString(), HasSubstr("without a path"));
  EXPECT_THAT(with(Item(std::string(5000, 'a'), FG_FILE_READ)).ToString(), HasSubstr("too long"));
  v1::FileEntry bad = Item("/a", FG_FILE_READ);
  bad.add_access(static_cast<v1::FileAccess>(9));
  EXPECT_THAT(with(bad).ToString(), HasSubstr("unknown access"));
}

TEST(DiffFilesTest, AnAccessAddedOrTakenAwayIsADifference) {
  v1::Profile a, b;
  *ContainerSection(a, "main").add_files() = Item("/tmp/*", FG_FILE_READ);
  *ContainerSection(b, "main").add_files() = Item("/tmp/*", FG_FILE_READ | FG_FILE_WRITE);
  ProfileDiff d = DiffProfiles(a, b);
  ASSERT_EQ(d.added.size(), 1u);
  ASSERT_EQ(d.added[0].files_size(), 1);
  EXPECT_EQ(FileAccessMask(d.added[0].files(0)), FG_FILE_READ | FG_FILE_WRITE);
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_TRUE(DiffProfiles(a, a).identical());
  ProfileCounts n = CountItems(b);
  EXPECT_EQ(n.files, 1u);
  EXPECT_EQ(n.total(), 1u);
}

// --- The policy ----------------------------------------------------------------------------

TEST(FilePolicyTest, ItemsAndRulesCompileToWhatTheKernelHashes) {
  v1::ContainerProfile c;
  c.set_name("main");
  *c.add_files() = Item("/etc/hosts", FG_FILE_READ);
  *c.add_files() = Item("/tmp/*", FG_FILE_WRITE | FG_FILE_CREATE);
  *c.add_files() = Item("/data/x", FG_FILE_READ, 1, v1::PATH_KIND_FILE, /*linked=*/true);
  *c.add_files() = Item("memfd:buf", FG_FILE_READ, 1, v1::PATH_KIND_ANONYMOUS);
  *c.add_files() = Item(EscapeRulePath("/odd*name"), FG_FILE_READ);
  auto p = CompilePolicy(c, kSeed);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->file_pol.flags, uint32_t{FG_FILE_POL_ON});
  EXPECT_EQ(p->file_pol.access,
            uint32_t{FG_FILE_READ | FG_FILE_WRITE | FG_FILE_CREATE | FG_FILE_TRUNC});
  ASSERT_EQ(p->files.size(), 5u);
  std::map<uint64_t, std::pair<fg_file_rule_key, uint32_t>> by_hash;
  for (const auto& [k, a] : p->files) by_hash[k.hash] = {k, a};
  auto at = [&](uint64_t h) {
    return by_hash.count(h) ? by_hash[h] : decltype(by_hash)::mapped_type{};
  };
  EXPECT_EQ(at(PathHash("/etc/hosts", 0, kSeed)).second, uint32_t{FG_FILE_READ});
  auto tmp = at(PathHash("/tmp/", 0, kSeed));
  EXPECT_EQ(tmp.first.kind, FG_FILE_RULE_PREFIX);
  EXPECT_EQ(tmp.first.prefix_len, 5);
  EXPECT_EQ(tmp.second, uint32_t{FG_FILE_WRITE | FG_FILE_CREATE | FG_FILE_TRUNC})
      << "creating a file allows truncating it again";
  EXPECT_TRUE(p->file_pol.prefix_lens[0] & (1ull << 5));
  EXPECT_EQ(at(PathHash("/data/x", 0, kSeed)).first.kind, FG_FILE_RULE_LINKED);
  EXPECT_EQ(at(PathHash("/memfd:buf", FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED, kSeed)).second,
            uint32_t{FG_FILE_READ});
  EXPECT_EQ(at(PathHash("/odd*name", 0, kSeed)).first.kind, 0) << "an escaped '*' is literal";
}

TEST(FilePolicyTest, NoFileItemsNoFileChecksAndBadRulesAreRefused) {
  v1::ContainerProfile c;
  c.set_name("main");
  auto p = CompilePolicy(c, kSeed);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->file_pol.flags, 0u) << "a profile from before files were learned";
  *c.add_files() = Item("/" + std::string(1100, 'a'), FG_FILE_READ);
  EXPECT_THAT(CompilePolicy(c, kSeed).status().ToString(), HasSubstr("longer than the kernel"));
  c.clear_files();
  *c.add_files() = Item("/x*", FG_FILE_READ, 1, v1::PATH_KIND_DELETED);
  EXPECT_THAT(CompilePolicy(c, kSeed).status().ToString(), HasSubstr("absolute plain path"));
  c.clear_files();
  for (int i = 0; i < 3; ++i) *c.add_files() = Item(absl::StrCat("/f", i), FG_FILE_READ);
  PolicyLimits limits;
  limits.max_file_rules = 2;
  EXPECT_EQ(CompilePolicy(c, kSeed, limits).status().code(), absl::StatusCode::kResourceExhausted);
}

// --- The ABI -------------------------------------------------------------------------------

TEST(FileEventTest, RecordsAreCheckedBeforeTheyAreRead) {
  fg_file_event e{};
  e.hdr.type = FG_EV_FILE;
  e.hdr.size = sizeof e;
  e.hdr.fn_id = 3;
  e.hash = 42;
  e.access = FG_FILE_READ | FG_FILE_LINKED;
  e.path_flags = FG_PATH_F_UNLINKED;
  std::strcpy(e.path, "/tmp/x");
  e.path_len = 6;
  auto ev = DecodeEvent(&e, sizeof e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& f = std::get<FileEvent>(*ev);
  EXPECT_EQ(f.path.path, "/tmp/x");
  EXPECT_EQ(f.path.flags, uint32_t{FG_PATH_F_UNLINKED});
  EXPECT_EQ(f.path.hash, 42u);
  EXPECT_EQ(f.access, uint32_t{FG_FILE_READ | FG_FILE_LINKED});
  e.path_len = 5000;  // longer than the buffer: bounded
  std::memset(e.path, 'a', sizeof e.path);
  ev = DecodeEvent(&e, sizeof e);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(std::get<FileEvent>(*ev).path.path.size(), sizeof e.path - 1);
  for (uint32_t bad : {0u, uint32_t{FG_FILE_LINKED}, 0x20u | FG_FILE_READ}) {
    e.access = bad;
    EXPECT_FALSE(DecodeEvent(&e, sizeof e).ok()) << bad;
  }
  e.access = FG_FILE_READ;
  e.hdr.size = sizeof e - 1;
  EXPECT_FALSE(DecodeEvent(&e, sizeof e).ok());
}

TEST(FileViolationTest, ItNamesThePathTheKindAndTheAccess) {
  ViolationEvent v;
  v.kind = FG_VIOL_FILE;
  v.action = FG_ACT_KILLED;
  v.mode = FG_MODE_ENFORCE;
  v.item = "/run/secrets/token";
  v.item_flags = FG_FILE_READ << FG_FILE_ITEM_ACCESS_SHIFT;
  v1::Violation r = ViolationFromKernel(v);
  EXPECT_EQ(r.kind(), "file");
  EXPECT_EQ(r.attempted(), "/run/secrets/token (read)");
  ASSERT_TRUE(r.has_file());
  EXPECT_EQ(r.file().path(), "/run/secrets/token");
  EXPECT_EQ(FileAccessMask(r.file()), uint32_t{FG_FILE_READ});

  v.item = "/memfd:x";
  v.item_flags = (FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED) |
                 ((FG_FILE_READ | FG_FILE_WRITE | FG_FILE_LINKED) << FG_FILE_ITEM_ACCESS_SHIFT);
  r = ViolationFromKernel(v);
  EXPECT_EQ(r.attempted(), "anonymous memfd:x (read,write, hard-linked)");
  EXPECT_EQ(r.file().kind(), v1::PATH_KIND_ANONYMOUS);
  EXPECT_TRUE(r.file().hard_linked());
  v.item = "/tmp/a*b";  // a literal '*' stays literal in the item
  v.item_flags = FG_PATH_F_UNLINKED | (FG_FILE_WRITE << FG_FILE_ITEM_ACCESS_SHIFT);
  r = ViolationFromKernel(v);
  EXPECT_EQ(r.file().path(), "/tmp/a\\*b");
  EXPECT_EQ(r.file().kind(), v1::PATH_KIND_DELETED);
}

}  // namespace
}  // namespace faasguard
