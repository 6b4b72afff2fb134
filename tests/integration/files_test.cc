// Integration (root): the files a function opens, learned in the kernel (files.bpf.c) and, in
// monitor and enforce mode, checked on the file the kernel opened. Every attack is first run
// untracked, where it works.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/files.h"
#include "profile/path_rule.h"
#include "profile/profile.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

using testing::AgentCore;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunCapture;
using testing::TempDir;
using testing::TestCgroup;

constexpr char kWorkload[] = FG_WORKLOAD_PATH;

v1::FunctionId Fn(const std::string& name) { return testing::FunctionIdOf("local", "files", name); }

std::string Real(const std::string& p) { return std::filesystem::canonical(p).string(); }

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

[[maybe_unused]] bool Exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// The learned file items of a profile's "main" section, by path.
std::map<std::string, v1::FileEntry> Files(const v1::Profile& p) {
  std::map<std::string, v1::FileEntry> out;
  for (const auto& c : p.containers())
    if (c.name() == "main")
      for (const auto& f : c.files()) out[f.path()] = f;
  return out;
}

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    core_ = std::make_unique<AgentCore>();
    cg_ = std::make_unique<TestCgroup>("files");
    dir_ = Real(tmp_.path());
    ASSERT_TRUE(core_->engine->RegisterCgroup(Fn(name_), "main", cg_->id(), cg_->path()).ok());
  }

  testing::RunResult Run(const std::vector<std::string>& steps, const std::string& cg = "") {
    std::vector<std::string> argv = {kWorkload};
    argv.insert(argv.end(), steps.begin(), steps.end());
    return RunCapture(cg.empty() ? cg_->path() : cg, argv);
  }

  v1::Profile Profile() {
    core_->Settle();
    auto p = core_->engine->GetProfile(Fn(name_));
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : v1::Profile();
  }

  std::string name_ = "fn";
  TempDir tmp_;
  std::string dir_;
  std::unique_ptr<AgentCore> core_;
  std::unique_ptr<TestCgroup> cg_;
};

TEST_F(FilesTest, LearnsTheFilesOpenedAndHow) {
  ASSERT_TRUE(core_->programs->file_hook_attached()) << "a learning function profiles files";
  const std::string data = dir_ + "/data.txt", out = dir_ + "/out.txt", old = dir_ + "/old.txt";
  WriteText(data, "data");
  WriteText(old, "old contents");
  auto r = Run({"read", data, "write", out, "try-open", old, "rdonly,trunc", "try-proc-self"});
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("open " + old + ": exit 0"));
  EXPECT_EQ(ReadText(old), "") << "O_RDONLY | O_TRUNC truncates";

  auto files = Files(Profile());
  ASSERT_TRUE(files.count(data)) << ProfileToJson(Profile());
  EXPECT_EQ(FileAccessWords(FileAccessMask(files[data])), "read");
  // Created in a directory of data (it read data.txt there): exact, not a scratch directory.
  ASSERT_TRUE(files.count(out));
  EXPECT_EQ(FileAccessWords(FileAccessMask(files[out])), "write,create");
  ASSERT_TRUE(files.count(old));
  EXPECT_EQ(FileAccessWords(FileAccessMask(files[old])), "read,truncate");
  EXPECT_TRUE(files.count("/etc/ld.so.cache")) << "the dynamic loader's opens are the function's";
  // /proc/<own pid>/status and /proc/self/status are one item.
  ASSERT_TRUE(files.count("/proc/self/status")) << ProfileToJson(Profile());
  for (const auto& [path, f] : files)
    EXPECT_FALSE(absl::StartsWith(path, "/proc/") && std::isdigit(path[6])) << path;
}

// Paths at the limits and files with no plain path are recorded as what they are: a deleted
// file, a memfd, a pipe, a path too long or too deep for the kernel side (its tail, flagged), a
// file on another mount, in a private mount namespace, in an overlayfs from its lower layer.
TEST_F(FilesTest, UnusualFilesAreRecordedAsSuchNeverAsAnotherPath) {
  // A path of about 4,000 bytes (20 components of 199 bytes) and one 70 directories deep.
  std::string longp = dir_, deep = dir_;
  for (int i = 0; i < 20; ++i)
    longp += "/" + std::string(198, 'a' + i % 26) + std::to_string(i % 10);
  for (int i = 0; i < 70; ++i) deep += "/d";
  std::filesystem::create_directories(longp);
  std::filesystem::create_directories(deep);
  longp += "/f";
  deep += "/f";
  ASSERT_LT(longp.size(), 4096u);
  ASSERT_GT(longp.size(), 3900u);
  WriteText(longp, "long");
  WriteText(deep, "deep");
  // Another mount (a tmpfs) and, in a mount namespace of its own, a bind mount and an overlay.
  const std::string mnt = dir_ + "/mnt";
  std::filesystem::create_directories(mnt);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  WriteText(mnt + "/on-tmpfs", "tmpfs");
  // The file it creates, in a directory of its own: a directory the function creates files in
  // folds into one rule (profile-format.md), which would cover the files this test names.
  for (const char* d : {"/real", "/view", "/lower", "/upper", "/work", "/merged", "/scratch"})
    std::filesystem::create_directories(dir_ + d);
  WriteText(dir_ + "/real/f", "real");
  WriteText(dir_ + "/lower/from-lower", "lower");
  auto r = Run({"try-deleted", dir_ + "/scratch/vanishing", "try-reopen", "memfd", "try-reopen",
                "pipe", "try-reopen", "eventfd", "try-read", longp, "try-read", deep, "try-read",
                mnt + "/on-tmpfs"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("got " + dir_ + "/scratch/vanishing: gone"));
  EXPECT_THAT(r.out, HasSubstr("got memfd: mem"));
  EXPECT_THAT(r.out, HasSubstr("got pipe: piped"));
  EXPECT_THAT(r.out, HasSubstr("got " + longp + ": long"));
  EXPECT_THAT(r.out, HasSubstr("got " + deep + ": deep"));
  const std::string script = absl::StrCat(
      "mount --bind ", dir_, "/real ", dir_, "/view && mount -t overlay overlay -o lowerdir=", dir_,
      "/lower,upperdir=", dir_, "/upper,workdir=", dir_, "/work ", dir_, "/merged && exec ",
      kWorkload, " try-read ", dir_, "/view/f try-read ", dir_, "/merged/from-lower");
  auto ns = RunCapture(
      cg_->path(), {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script});
  ::umount2(mnt.c_str(), MNT_DETACH);
  EXPECT_EQ(ns.status, 0) << ns.out;
  EXPECT_THAT(ns.out, HasSubstr("got " + dir_ + "/view/f: real"));
  EXPECT_THAT(ns.out, HasSubstr("got " + dir_ + "/merged/from-lower: lower"));

  auto files = Files(Profile());
  auto kind_of = [&](const std::string& p) {
    return files.count(p) ? v1::PathKind_Name(files[p].kind()) : std::string("absent");
  };
  EXPECT_EQ(kind_of(dir_ + "/scratch/vanishing"), "PATH_KIND_DELETED");
  EXPECT_EQ(kind_of("memfd:scratch"), "PATH_KIND_ANONYMOUS");
  EXPECT_EQ(kind_of("pipefs:"), "PATH_KIND_ANONYMOUS");
  if (r.out.find("got eventfd") != std::string::npos) {
    EXPECT_EQ(kind_of("[eventfd]"), "PATH_KIND_ANONYMOUS");
  }
  EXPECT_EQ(kind_of(mnt + "/on-tmpfs"), "PATH_KIND_FILE");
  EXPECT_EQ(kind_of(dir_ + "/view/f"), "PATH_KIND_FILE") << "as seen in its mount namespace";
  EXPECT_EQ(kind_of(dir_ + "/real/f"), "absent");
  EXPECT_EQ(kind_of(dir_ + "/merged/from-lower"), "PATH_KIND_FILE") << "the overlay's path";
  EXPECT_EQ(kind_of(dir_ + "/lower/from-lower"), "absent");
  // Too long, too deep: the tail the kernel kept, flagged, never a plain path.
  int truncated = 0;
  for (const auto& [path, f] : files) {
    if (f.kind() != v1::PATH_KIND_TRUNCATED) {
      EXPECT_FALSE(absl::EndsWith(longp, path) || absl::EndsWith(deep, path)) << path;
      continue;
    }
    ++truncated;
    EXPECT_LE(path.size(), 1023u);
    EXPECT_TRUE(absl::EndsWith(longp, path) || absl::EndsWith(deep, path)) << path;
  }
  EXPECT_EQ(truncated, 2);
}

// A function that learned: reading data.txt and ten varied files of cache/ (folded into
// "cache/*", read), writing eight varied files of out/ (folded into "out/*"), and every way of
// opening it is attacked through (openat2, io_uring, open_by_handle_at, O_PATH + /proc/self/fd),
// on data.txt. Syscalls are enforced too, so each of these is learned: what a test tries must
// fail for the file it opens, not for a syscall it never made.
class FilesEnforceTest : public FilesTest {
 protected:
  void SetUp() override {
    FilesTest::SetUp();
    if (HasFatalFailure()) return;
    data_ = dir_ + "/data.txt";
    token_ = dir_ + "/secrets/token";
    WriteText(data_, "benign data");
    std::filesystem::create_directories(dir_ + "/cache");
    std::filesystem::create_directories(dir_ + "/out");
    std::filesystem::create_directories(dir_ + "/secrets");
    std::filesystem::create_directories(dir_ + "/cron.d");
    WriteText(token_, "TOKEN-s3cr3t");
    std::vector<std::string> learn = {"read", data_};
    for (int i = 0; i < 10; ++i) {
      std::string f = absl::StrCat(dir_, "/cache/entry-", i, (i % 2) ? ".json" : ".bin");
      WriteText(f, "cached");
      learn.insert(learn.end(), {"read", f});
    }
    for (int i = 0; i < 8; ++i)
      learn.insert(learn.end(), {"write", absl::StrCat(dir_, "/out/r", i)});
    for (const char* how : {"try-read", "try-openat2", "try-uring-open", "try-uring-direct",
                            "try-by-handle", "try-procfd"})
      learn.insert(learn.end(), {how, data_});
    learn.insert(learn.end(), {"try-write", dir_ + "/out/r0", "again", "try-proc-self",
                               "try-deleted", dir_ + "/scratch", "try-reopen", "pipe", "memfd"});
    auto r = Run(learn);
    ASSERT_EQ(r.status, 0) << r.out;
    ASSERT_THAT(r.out, Not(HasSubstr("signal"))) << r.out;
    learned_ = Profile();
  }

  void Mode(v1::Mode m) {
    auto r = core_->engine->SetMode(Fn(name_), m, std::nullopt);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::vector<v1::Violation> Violations() {
    core_->Settle();
    v1::FunctionId id = Fn(name_);
    auto r = core_->engine->ListViolations(&id, 10000);
    return {r.violations().begin(), r.violations().end()};
  }

  const v1::Violation* Find(const std::vector<v1::Violation>& vs, const std::string& attempted) {
    for (const auto& v : vs)
      if (v.kind() == "file" && v.attempted() == attempted) return &v;
    return nullptr;
  }

  // The same steps outside any tracked cgroup: the attacks work there.
  testing::RunResult Untracked(const std::vector<std::string>& steps) {
    std::vector<std::string> argv = {kWorkload};
    argv.insert(argv.end(), steps.begin(), steps.end());
    return RunCapture("", argv);
  }

  std::string data_, token_;
  v1::Profile learned_;
};

TEST_F(FilesEnforceTest, LearnedDirectoriesAreFoldedIntoRules) {
  auto files = Files(learned_);
  ASSERT_TRUE(files.count(EscapeRulePath(dir_ + "/cache") + "/*")) << ProfileToJson(learned_);
  EXPECT_EQ(FileAccessWords(FileAccessMask(files[EscapeRulePath(dir_ + "/cache") + "/*"])), "read");
  ASSERT_TRUE(files.count(EscapeRulePath(dir_ + "/out") + "/*"));
  // Every file it opened in out/ it created (a scratch directory): writing out/r0 again,
  // which truncated it, is the rule's too.
  EXPECT_EQ(FileAccessWords(FileAccessMask(files[EscapeRulePath(dir_ + "/out") + "/*"])),
            "write,create,truncate");
  EXPECT_FALSE(files.count(dir_ + "/out/r0"));
  EXPECT_TRUE(files.count(data_));
  for (const auto& [path, f] : files)
    EXPECT_FALSE(absl::StartsWith(path, dir_ + "/cache/entry")) << "folded: " << path;
}

TEST_F(FilesEnforceTest, ReadsOfAFileOutsideTheProfileAreKilledEveryWay) {
  const std::string link = dir_ + "/innocent-link", good_link = dir_ + "/data-link";
  const std::string hard = dir_ + "/cache/entry-99.json", other = dir_ + "/secrets/other";
  WriteText(other, "TOKEN-other");
  ASSERT_EQ(::symlink(token_.c_str(), link.c_str()), 0);
  ASSERT_EQ(::symlink(data_.c_str(), good_link.c_str()), 0);
  ASSERT_EQ(::link(other.c_str(), hard.c_str()), 0) << "a hard link inside a folded directory";
  const std::vector<std::string> attacks = {
      "try-read",         token_,  // the plain read
      "try-read",         link,    // through a symlink
      "try-read",         hard,    // through a hard link where "cache/*" allows reading
      "try-procfd",       token_,  // O_PATH, then /proc/self/fd/N
      "try-openat2",      token_,  //
      "try-uring-open",   token_,  // io_uring's openat
      "try-uring-direct", token_,  // io_uring's openat into the fixed-file table
      "try-by-handle",    token_,  // open_by_handle_at
  };
  // Untracked, every one of them reads the token.
  auto u = Untracked(attacks);
  EXPECT_EQ(u.status, 0) << u.out;
  for (const char* what :
       {"read ", "procfd ", "openat2 ", "uring-open ", "uring-direct ", "by-handle "})
    EXPECT_THAT(u.out, HasSubstr(std::string(what))) << u.out;
  EXPECT_EQ(Count(u.out, "TOKEN-"), 8u) << u.out;

  Mode(v1::MODE_ENFORCE);
  auto r = Run(attacks);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("TOKEN"))) << "a process got to use the file: " << r.out;
  for (const std::string& line :
       {"read " + token_, "read " + link, "read " + hard, "procfd " + token_, "openat2 " + token_,
        "uring-open " + token_, "uring-direct " + token_, "by-handle " + token_})
    EXPECT_THAT(r.out, HasSubstr(line + ": signal 9")) << r.out;

  // Benign traffic: what was learned, a new file of a folded directory, a symlink to an
  // allowed file.
  auto b = Run({"try-read", data_, "try-read", dir_ + "/cache/entry-3.json", "try-read", good_link,
                "try-write", dir_ + "/out/r1", "fresh"});
  EXPECT_THAT(b.out, HasSubstr("got " + data_ + ": benign data")) << b.out;
  EXPECT_THAT(b.out, HasSubstr("got " + dir_ + "/cache/entry-3.json: cached")) << b.out;
  EXPECT_THAT(b.out, HasSubstr("got " + good_link + ": benign data")) << b.out;
  EXPECT_THAT(b.out, HasSubstr("write " + dir_ + "/out/r1: exit 0")) << b.out;

  auto vs = Violations();
  const v1::Violation* v = Find(vs, token_ + " (read)");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "killed");
  EXPECT_EQ(v->file().path(), token_);
  EXPECT_EQ(FileAccessWords(FileAccessMask(v->file())), "read");
  EXPECT_EQ(v->binary(), Real(kWorkload));
  EXPECT_NE(Find(vs, hard + " (read, hard-linked)"), nullptr) << "the hard link is its own path";
}

// Writes: a new file outside the learned directories is never written (the process dies
// before its open returns: the create itself happened, the file stays empty); a truncation of
// a file it may only read kills too, after the fact (the open ran); its own directories work.
TEST_F(FilesEnforceTest, WritesOutsideTheLearnedDirectoriesAreKilled) {
  const std::string cron = dir_ + "/cron.d/backdoor", shell = dir_ + "/cache/shell.php";
  const std::vector<std::string> attacks = {"try-write", cron,  "* * * * * root sh",
                                            "try-write", shell, "<?php system($_GET[c]);"};
  auto u = Untracked(attacks);
  EXPECT_EQ(u.status, 0) << u.out;
  EXPECT_EQ(ReadText(cron), "* * * * * root sh") << "untracked, the write works";
  EXPECT_EQ(ReadText(shell), "<?php system($_GET[c]);");
  std::filesystem::remove(cron);
  std::filesystem::remove(shell);

  Mode(v1::MODE_ENFORCE);
  auto r = Run(attacks);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("write " + cron + ": signal 9"));
  EXPECT_THAT(r.out, HasSubstr("write " + shell + ": signal 9")) << "cache/* is read-only";
  EXPECT_THAT(r.out, Not(HasSubstr("wrote")));
  EXPECT_EQ(ReadText(cron), "") << "never written (the open created it before the kill)";
  EXPECT_EQ(ReadText(shell), "");

  // O_RDONLY | O_TRUNC of a file it may read: the open truncates, then the kill.
  auto t = Run({"try-open", data_, "rdonly,trunc"});
  EXPECT_THAT(t.out, HasSubstr("open " + data_ + ": signal 9")) << t.out;

  auto ok = Run(
      {"try-write", dir_ + "/out/new-report", "report", "try-write", dir_ + "/out/r2", "again"});
  EXPECT_THAT(ok.out, HasSubstr("write " + dir_ + "/out/new-report: exit 0")) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("write " + dir_ + "/out/r2: exit 0")) << "create allows O_TRUNC";
  EXPECT_EQ(ReadText(dir_ + "/out/new-report"), "report");

  auto vs = Violations();
  const v1::Violation* v = Find(vs, cron + " (write,create)");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "killed");
  EXPECT_NE(Find(vs, shell + " (write,create)"), nullptr);
  EXPECT_NE(Find(vs, data_ + " (read,truncate)"), nullptr);
}

TEST_F(FilesEnforceTest, MonitorReportsAndAnAcceptedViolationIsAllowedAfterwards) {
  Mode(v1::MODE_MONITOR);
  auto r = Run({"try-read", token_});
  EXPECT_THAT(r.out, HasSubstr("got " + token_ + ": TOKEN-s3cr3t")) << "monitor blocks nothing";
  auto vs = Violations();
  const v1::Violation* v = Find(vs, token_ + " (read)");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "reported");
  EXPECT_EQ(v->mode(), v1::MODE_MONITOR);
  EXPECT_EQ(v->file().path(), token_);

  Mode(v1::MODE_ENFORCE);
  EXPECT_THAT(Run({"try-read", token_}).out, HasSubstr("read " + token_ + ": signal 9"));
  auto a = core_->engine->AcceptViolation(Fn(name_), v->id());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->added());
  EXPECT_THAT(Run({"try-read", token_}).out, HasSubstr("got " + token_ + ": TOKEN-s3cr3t"));
  auto files = Files(Profile());
  ASSERT_TRUE(files.count(token_));
  EXPECT_EQ(FileAccessWords(FileAccessMask(files[token_])), "read");
  // Reading is what was accepted: writing is not.
  EXPECT_THAT(Run({"try-write", token_, "x"}).out, HasSubstr("write " + token_ + ": signal 9"));
}

// A deleted file, a memfd, a file opened through another name: never the plain path learned.
TEST_F(FilesEnforceTest, ANameTheKernelDidNotOpenNeverMatches) {
  Mode(v1::MODE_ENFORCE);
  // data.txt may be read: opened, unlinked, then reopened through /proc/self/fd, it is a
  // deleted file. A memfd reopened is anonymous; a pipe reopened was learned as one.
  auto r = Run({"try-deleted", data_, "try-reopen", "memfd", "try-reopen", "pipe"});
  EXPECT_THAT(r.out, HasSubstr("deleted " + data_ + ": signal 9")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("got pipe: piped")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("reopen memfd: signal 9")) << r.out;
  auto vs = Violations();
  const v1::Violation* d = nullptr;
  for (const auto& v : vs)
    if (v.kind() == "file" && v.file().kind() == v1::PATH_KIND_DELETED) d = &v;
  ASSERT_NE(d, nullptr) << "the deleted file is reported as deleted";
  EXPECT_EQ(d->file().path(), data_);
  EXPECT_NE(Find(vs, "anonymous memfd:scratch (read)"), nullptr);
}

// Where BPF-LSM loads, an open outside the profile fails with EPERM before its descriptor
// exists, and the process goes on. Probed: kernels that refuse lsm/ programs skip, saying so.
TEST_F(FilesEnforceTest, WithBpfLsmAnOpenOutsideTheProfileFailsWithEperm) {
  if (!core_->programs->file_lsm_active())
    GTEST_SKIP() << "BPF-LSM programs do not load on this kernel (the probe's lsm/ load failed): "
                    "the kill at sys_exit is the enforcement here (the other tests)";
  Mode(v1::MODE_ENFORCE);
  auto r = Run({"try-read", token_, "try-read", data_});
  EXPECT_THAT(r.out, HasSubstr("open " + token_ + ": EPERM")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("read " + token_ + ": exit 3")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("got " + data_ + ": benign data")) << r.out;
  const v1::Violation* v = Find(Violations(), token_ + " (read)");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action(), "denied");
}

// The file hooks are attached while some function profiles files, and only then; other
// cgroups are never affected.
TEST_F(FilesEnforceTest, TheHooksFollowWhatFunctionsNeedAndNobodyElseIsTouched) {
  Mode(v1::MODE_ENFORCE);
  EXPECT_TRUE(core_->programs->file_hook_attached());
  auto other =
      RunCapture("", {kWorkload, "try-read", token_, "try-write", dir_ + "/elsewhere", "x"});
  EXPECT_THAT(other.out, HasSubstr("got " + token_ + ": TOKEN-s3cr3t"));
  EXPECT_THAT(other.out, HasSubstr("wrote " + dir_ + "/elsewhere"));
  EXPECT_TRUE(Violations().empty());

  // No replica left: nothing needs the hooks.
  ASSERT_TRUE(core_->engine->UnregisterCgroup(cg_->id()).ok());
  EXPECT_FALSE(core_->programs->file_hook_attached());
  // A replica of the enforced function comes back: attached before it is tracked.
  TestCgroup again("files-again");
  ASSERT_TRUE(core_->engine->RegisterCgroup(Fn(name_), "main", again.id(), again.path()).ok());
  EXPECT_TRUE(core_->programs->file_hook_attached());
  EXPECT_THAT(Run({"try-read", token_}, again.path()).out, HasSubstr("signal 9"));
  // A function enforced with a profile from before files were learned is not checked for
  // files, and needs no hook.
  v1::Profile p = *core_->engine->GetProfile(Fn(name_));
  for (auto& c : *p.mutable_containers()) c.clear_files();
  v1::PutProfileRequest put;
  *put.mutable_profile() = p;
  ASSERT_TRUE(core_->engine->PutProfile(put, ModeSource::kApi).ok());
  EXPECT_FALSE(core_->programs->file_hook_attached());
  EXPECT_THAT(Run({"try-read", token_}, again.path()).out, HasSubstr("got " + token_));
}

}  // namespace
}  // namespace faasguard
