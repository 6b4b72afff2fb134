// The violation log (core/violation_log.h): bounded, on disk, ids never given twice across
// restarts (clean or not), and a damaged file costs only its damaged lines.
#include "core/violation_log.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/profile.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::Violation Record(const std::string& fn, const std::string& attempted = "/usr/bin/wget") {
  v1::Violation v;
  v.mutable_function()->set_namespace_("ns");
  v.mutable_function()->set_name(fn);
  v.set_container("main");
  v.set_kind("exec");
  v.set_attempted(attempted);
  v.mutable_exec()->set_path(attempted);
  v.mutable_exec()->set_parent("/bin/sh");
  return v;
}

std::vector<uint64_t> Ids(const std::vector<v1::Violation>& v) {
  std::vector<uint64_t> out;
  for (const auto& x : v) out.push_back(x.id());
  return out;
}

size_t Lines(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return 0;
  return std::vector<std::string>(absl::StrSplit(*text, '\n', absl::SkipEmpty())).size();
}

class ViolationLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    ASSERT_EQ(::mkdir(quarantine().c_str(), 0700), 0);
  }
  void TearDown() override { SetLogLevel(LogLevel::kInfo); }

  std::string path() const { return dir_.path() + "/violations.log"; }
  std::string quarantine() const { return dir_.path() + "/quarantine"; }
  std::unique_ptr<ViolationLog> Open(size_t max = 100, ViolationLog::LoadResult* loaded = nullptr) {
    auto log = std::make_unique<ViolationLog>(ViolationLog::Options{max, path(), quarantine()});
    ViolationLog::LoadResult r = log->Load();
    if (loaded) *loaded = r;
    return log;
  }

  TempDir dir_;
};

TEST_F(ViolationLogTest, IdsNewestFirstBoundsAndCounts) {
  ViolationLog log({3, "", ""});
  EXPECT_EQ(log.Add(Record("a")).id(), 1u);
  EXPECT_EQ(log.Add(Record("b")).id(), 2u);
  EXPECT_EQ(log.Add(Record("a")).id(), 3u);
  EXPECT_EQ(log.CountFor("ns/a"), 2u);
  EXPECT_EQ(log.Add(Record("b")).id(), 4u);  // 1 goes
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.Find(1), nullptr);
  ASSERT_NE(log.Find(3), nullptr);
  EXPECT_EQ(log.Find(3)->function().name(), "a");
  EXPECT_EQ(log.CountFor("ns/a"), 1u);
  EXPECT_EQ(log.CountFor("ns/b"), 2u);
  EXPECT_EQ(log.CountFor("ns/none"), 0u);
  uint64_t total = 0;
  EXPECT_THAT(Ids(log.Newest("", 10, &total)), ElementsAre(2, 3, 4));
  EXPECT_EQ(total, 3u);
  EXPECT_THAT(Ids(log.Newest("ns/b", 1, &total)), ElementsAre(4));
  EXPECT_EQ(total, 2u) << "the total counts every record of the function, not the page";
  EXPECT_THAT(Ids(log.Newest("ns/none", 10, &total)), IsEmpty());
  EXPECT_EQ(total, 0u);
  log.MarkAccepted(3);
  EXPECT_TRUE(log.Find(3)->accepted());
  log.MarkAccepted(99);  // unknown: nothing happens
}

TEST_F(ViolationLogTest, RecordsIdsAndAcceptanceSurviveARestart) {
  {
    auto log = Open();
    log->Add(Record("a"));
    log->Add(Record("b", "/usr/bin/nc"));
    log->Add(Record("a", "/usr/bin/curl"));
    log->MarkAccepted(2);
  }
  ViolationLog::LoadResult r;
  auto log = Open(100, &r);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.bad_lines, 0u);
  EXPECT_EQ(r.quarantined, "");
  ASSERT_NE(log->Find(2), nullptr);
  EXPECT_EQ(log->Find(2)->attempted(), "/usr/bin/nc");
  EXPECT_TRUE(log->Find(2)->accepted());
  EXPECT_FALSE(log->Find(3)->accepted());
  EXPECT_EQ(log->CountFor("ns/a"), 2u);
  // A clean stop wrote the exact next id: nothing is skipped.
  EXPECT_EQ(log->Add(Record("c")).id(), 4u);
}

TEST_F(ViolationLogTest, AfterACrashIdsAreNeverGivenAgain) {
  std::string at_crash;
  {
    auto log = Open();
    log->Add(Record("a"));
    log->Add(Record("a"));
    auto text = ReadFile(path());  // the file as a SIGKILL would leave it
    ASSERT_TRUE(text.ok());
    at_crash = *text;
  }
  ASSERT_TRUE(WriteFileAtomic(path(), at_crash).ok());
  auto log = Open();
  EXPECT_EQ(log->size(), 2u);
  uint64_t next = log->Add(Record("b")).id();
  EXPECT_GT(next, 2u);
  EXPECT_GE(next, ViolationLog::kIdBlock + 1) << "the crashed agent's block is skipped whole";
  // Even the records lost in a crash (written, not yet on disk) could not have had this id:
  // every id given was below the synced next-id line.
  EXPECT_THAT(at_crash, HasSubstr(absl::StrCat("\"nextId\":\"", ViolationLog::kIdBlock + 1)));
}

TEST_F(ViolationLogTest, TheFileStaysBoundedAndKeepsTheNewest) {
  {
    auto log = Open(5);
    for (int i = 0; i < 40; ++i) {
      log->Add(Record("a", absl::StrCat("/bin/x", i)));
      EXPECT_LE(Lines(path()), 2 * 5 + 2u) << i;
    }
    log->MarkAccepted(40);
  }
  ViolationLog::LoadResult r;
  auto log = Open(5, &r);
  EXPECT_EQ(r.records, 5u);
  EXPECT_THAT(Ids(log->Newest("", 100, nullptr)), ElementsAre(36, 37, 38, 39, 40));
  EXPECT_TRUE(log->Find(40)->accepted());
  EXPECT_EQ(log->Add(Record("a")).id(), 41u);
  // A smaller bound on the next start: the file is cut down at once.
  log.reset();
  log = Open(2, &r);
  EXPECT_EQ(r.records, 2u);
  EXPECT_LE(Lines(path()), 3u);
}

TEST_F(ViolationLogTest, ACorruptFileIsQuarantinedAndLosesNothingElse) {
  {
    auto log = Open();
    log->Add(Record("a", "/bin/one"));
    log->Add(Record("a", "/bin/two"));
  }
  auto good = ReadFile(path());
  ASSERT_TRUE(good.ok());
  std::string damaged = "this is not JSON\n" + *good +
                        "{\"violation\":{\"function\":{\"name\":\"noid\"}}}\n"  // no id
                        "{\"violation\":{\"id\":\"1\"}}\n"                      // id seen before
                        "{\"accepted\":\"2\"}\n"
                        "{\"violation\":{\"id\":\"3\",\"attempted\":\"/bin/thr";  // torn
  ASSERT_TRUE(WriteFileAtomic(path(), damaged).ok());

  ViolationLog::LoadResult r;
  auto log = Open(100, &r);
  EXPECT_EQ(r.bad_lines, 4u);
  EXPECT_EQ(r.records, 2u);
  ASSERT_NE(r.quarantined, "");
  EXPECT_THAT(r.quarantined, HasSubstr(quarantine() + "/violations.log."));
  auto kept = ReadFile(r.quarantined);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, damaged) << "the damaged file is kept as it was, for a person to look at";
  EXPECT_EQ(log->Find(1)->attempted(), "/bin/one");
  EXPECT_EQ(log->Find(2)->attempted(), "/bin/two");
  EXPECT_TRUE(log->Find(2)->accepted());
  EXPECT_EQ(log->Find(3), nullptr);
  EXPECT_GT(log->Add(Record("a")).id(), 2u);
  // The file was rewritten clean: the next start has nothing to skip.
  log.reset();
  log = Open(100, &r);
  EXPECT_EQ(r.bad_lines, 0u);
  EXPECT_EQ(r.records, 3u);
}

TEST_F(ViolationLogTest, AFileThatCannotBeWrittenKeepsTheLogInMemory) {
  ViolationLog log({10, dir_.path() + "/no/such/dir/violations.log", quarantine()});
  log.Load();
  EXPECT_EQ(log.Add(Record("a")).id(), 1u);
  EXPECT_EQ(log.Add(Record("a")).id(), 2u);
  EXPECT_EQ(log.size(), 2u);
  EXPECT_GT(log.write_errors(), 0u);
}

TEST(AddViolationItemTest, EachKindBecomesItsProfileItem) {
  v1::ContainerProfile c;
  v1::Violation v = Record("a");
  EXPECT_TRUE(AddViolationItem(c, v));
  ASSERT_EQ(c.execs_size(), 1);
  EXPECT_EQ(c.execs(0).seen().count(), 1u);
  EXPECT_FALSE(AddViolationItem(c, v)) << "held already";
  EXPECT_EQ(c.execs_size(), 1);
  v.mutable_egress()->set_protocol(v1::PROTOCOL_TCP);
  v.mutable_egress()->set_address("10.0.0.1");
  v.mutable_egress()->set_port(443);
  EXPECT_TRUE(AddViolationItem(c, v));
  EXPECT_EQ(c.egress_size(), 1);
  v.mutable_listen()->set_protocol(v1::PROTOCOL_UDP);
  v.mutable_listen()->set_port(53);
  EXPECT_TRUE(AddViolationItem(c, v));
  EXPECT_EQ(c.listen_size(), 1);
  v.mutable_syscall()->set_name("ptrace");
  v.mutable_syscall()->set_arch("x86_64");
  v.mutable_syscall()->set_nr(101);
  EXPECT_TRUE(AddViolationItem(c, v));
  EXPECT_EQ(c.syscalls_size(), 1);
  v.clear_item();
  EXPECT_FALSE(AddViolationItem(c, v));
}

}  // namespace
}  // namespace faasguard
