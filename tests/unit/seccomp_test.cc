// The seccomp filter compiled from a profile, loaded for real into a forked child (no root
// needed: without CAP_SYS_ADMIN the filter sets no_new_privs): an unlearned syscall is refused
// with EPERM before it runs and the child goes on; an unlearned sensitive one kills it before
// it runs; neither leaves a side effect. And the OCI profile the runtimes load.
#include "seccomp/seccomp_policy.h"

#include "seccomp/profile_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <set>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "syscalls/syscall_classes.h"
#include "syscalls/syscall_table.h"
#include "temp_dir.h"

namespace faasguard {
namespace {

// A profile that learned every syscall of the native table except `except`.
v1::ContainerProfile AllBut(std::initializer_list<const char*> except) {
  v1::ContainerProfile c;
  for (uint32_t nr = 0; nr < 512; ++nr) {
    std::string name = SyscallName(SyscallArch::kNative, nr);
    if (name.rfind("syscall_", 0) == 0) continue;
    bool skip = false;
    for (const char* e : except) skip = skip || name == e;
    if (skip) continue;
    auto* s = c.add_syscalls();
    s->set_name(name);
    s->set_arch(std::string(ArchName(SyscallArch::kNative)));
  }
  return c;
}

// A profile that learned exactly `names` (native).
v1::ContainerProfile Only(std::initializer_list<const char*> names) {
  v1::ContainerProfile c;
  for (const char* n : names) {
    auto* s = c.add_syscalls();
    s->set_name(n);
    s->set_arch("x86_64");
  }
  return c;
}

// Runs `body` in a child under the filter; returns its wait status.
template <typename F>
int UnderFilter(const SeccompPolicy& p, F body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (absl::Status s = InstallSeccompFilter(p); !s.ok()) {
      fprintf(stderr, "install: %s\n", s.ToString().c_str());
      _exit(100);
    }
    _exit(body());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

TEST(SeccompPolicyTest, AlwaysAllowedAndExecveAreInEveryPolicy) {
  v1::ContainerProfile c;
  auto p = SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill);
  EXPECT_TRUE(p.native.count("execve"));
  EXPECT_TRUE(p.native.count("exit_group"));
  EXPECT_TRUE(p.native.count("rt_sigreturn"));
  EXPECT_TRUE(p.compat.empty());
  auto* s = c.add_syscalls();
  s->set_name("read");
  s->set_arch("i386");
  p = SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill);
  EXPECT_TRUE(p.compat.count("read"));
  EXPECT_FALSE(p.native.count("read"));
}

TEST(SeccompPolicyTest, UnlearnedSyscallsAreRefusedBeforeTheyRunAndTheProcessGoesOn) {
  TempDir t;
  const std::string victim = t.Sub("victim"), target = t.Sub("target");
  for (const auto& f : {victim, target}) {
    int fd = ::open(f.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  pid_t other = fork();
  if (other == 0) {
    pause();
    _exit(0);
  }
  auto p = SeccompPolicyFor(AllBut({"unlink", "unlinkat", "chmod", "fchmodat", "fchmodat2",
                                    "rename", "renameat", "renameat2", "kill"}),
                            SeccompVerdict::kErrno, SeccompVerdict::kKill);
  int st = UnderFilter(p, [&] {
    int fails = 0;
    if (::unlink(victim.c_str()) != -1 || errno != EPERM) fails |= 1;
    if (::chmod(victim.c_str(), 04777) != -1 || errno != EPERM) fails |= 2;
    if (::rename(victim.c_str(), target.c_str()) != -1 || errno != EPERM) fails |= 4;
    if (::kill(other, SIGTERM) != -1 || errno != EPERM) fails |= 8;
    return fails;  // and it is still running
  });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0) << "bits: 1 unlink, 2 chmod, 4 rename, 8 kill ran";
  struct stat sb;
  ASSERT_EQ(::stat(victim.c_str(), &sb), 0) << "the file was unlinked or renamed";
  EXPECT_EQ(sb.st_mode & 07777, 0644u);
  EXPECT_EQ(::kill(other, 0), 0) << "the other process was killed";
  ::kill(other, SIGKILL);
  waitpid(other, nullptr, 0);
}

TEST(SeccompPolicyTest, UnlearnedSensitiveSyscallKillsBeforeItRuns) {
  TempDir t;
  const std::string marker = t.Sub("marker");
  auto p = SeccompPolicyFor(AllBut({"ptrace", "unshare"}), SeccompVerdict::kErrno,
                            SeccompVerdict::kKill);
  int st = UnderFilter(p, [] {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
  // A sacrificial child gets no side effect either: unshare never ran.
  st = UnderFilter(p, [&] {
    ::unshare(CLONE_NEWUTS);
    ::close(::open(marker.c_str(), O_CREAT | O_WRONLY, 0600));  // never reached
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
}

TEST(SeccompPolicyTest, LearnedSensitiveSyscallsAndTheSignalCallsAreNotKilled) {
  auto p =
      SeccompPolicyFor(AllBut({"kill", "tgkill"}), SeccompVerdict::kErrno, SeccompVerdict::kKill);
  int st = UnderFilter(p, [] {
    // kill never learned: refused (the filter cannot see the target), never killed. Thread-
    // directed signals (raise, abort, a runtime's preemption) always pass the filter.
    if (::kill(getpid(), 0) != -1 || errno != EPERM) return 1;
    if (::syscall(SYS_tgkill, getpid(), gettid(), 0) != 0) return 2;
    // Everything else was learned, ptrace among them: it runs (and fails: not a tracer).
    if (::ptrace(PTRACE_PEEKUSER, getppid(), nullptr, nullptr) != -1 || errno != ESRCH) return 3;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(SeccompPolicyTest, CloneWithNamespaceFlagsIsSensitiveAndClone3FallsBack) {
  auto p = SeccompPolicyFor(AllBut({}), SeccompVerdict::kErrno, SeccompVerdict::kKill);
  p.native.erase("unshare");
  int st = UnderFilter(p, [] {
    // clone3 answers ENOSYS, so that the C library uses clone, whose flags the filter sees.
    if (::syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) return 1;
    pid_t c = fork();  // clone without namespace flags
    if (c == 0) _exit(7);
    int cs = 0;
    waitpid(c, &cs, 0);
    if (!WIFEXITED(cs) || WEXITSTATUS(cs) != 7) return 2;
    ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    return 3;  // never reached
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

TEST(SeccompPolicyTest, PersonalityQueryIsAllowedAChangeIsSensitive) {
  auto p = SeccompPolicyFor(AllBut({"personality"}), SeccompVerdict::kErrno, SeccompVerdict::kKill);
  int st = UnderFilter(p, [] {
    if (::syscall(SYS_personality, 0xffffffffUL) == -1) return 1;
    ::syscall(SYS_personality, 0x0040000UL);  // ADDR_NO_RANDOMIZE
    return 2;
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

TEST(SeccompPolicyTest, KillAsTheUnlearnedActionKillsAlertAllows) {
  auto kill =
      SeccompPolicyFor(AllBut({"chmod", "fchmodat"}), SeccompVerdict::kKill, SeccompVerdict::kKill);
  int st = UnderFilter(kill, [] { return ::chmod("/nonexistent", 0) == 0 ? 0 : 0; });
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS);
  auto allow = SeccompPolicyFor(AllBut({"chmod", "fchmodat"}), SeccompVerdict::kAllow,
                                SeccompVerdict::kKill);
  st = UnderFilter(allow,
                   [] { return ::chmod("/nonexistent", 0) == -1 && errno == ENOENT ? 0 : 1; });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << json;
  return s;
}

// A section whose file rules only read: an open that asks to write, create or truncate is
// refused with EPERM before it runs (nothing created, nothing truncated); reading goes on.
TEST(SeccompPolicyTest, ReadOnlyFilesRefuseWriteModeOpensBeforeTheyRun) {
  TempDir t;
  const std::string existing = t.Sub("existing"), fresh = t.Sub("fresh");
  {
    int fd = ::open(existing.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "keep", 4), 4);
    ::close(fd);
  }
  v1::ContainerProfile c = AllBut({});
  auto* f = c.add_files();
  f->set_path(existing);
  f->add_access(v1::FILE_ACCESS_READ);
  auto p = SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill);
  ASSERT_TRUE(p.read_only_files);
  int st = UnderFilter(p, [&] {
    int fd = ::open(existing.c_str(), O_RDONLY);
    if (fd < 0) return 1;
    ::close(fd);
    auto refused = [](long r) { return r == -1 && errno == EPERM; };
    if (!refused(::open(existing.c_str(), O_WRONLY | O_TRUNC))) return 2;
    if (!refused(::openat(AT_FDCWD, fresh.c_str(), O_RDONLY | O_CREAT, 0644))) return 3;
    if (!refused(::openat(AT_FDCWD, existing.c_str(), O_RDWR))) return 4;
    if (!refused(::open(existing.c_str(), O_RDONLY | O_TRUNC))) return 5;
    if (!refused(::syscall(SYS_creat, fresh.c_str(), 0644))) return 6;
    if (!refused(::syscall(SYS_open, fresh.c_str(), O_WRONLY | O_CREAT, 0644))) return 7;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
  struct stat sb;
  EXPECT_NE(::stat(fresh.c_str(), &sb), 0) << "nothing was created";
  EXPECT_EQ(::stat(existing.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_size, 4) << "nothing was truncated";

  // The OCI document says the same.
  auto json = OciSeccompProfile(p);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"({"index": 2, "value": 579, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"})"),
            std::string::npos)
      << *json;
  ParseJson(*json);
  // Not read-only: a rule that writes, no file rules at all, or runc's baseline (its init opens
  // its exec fifo for writing under the filter).
  f->add_access(v1::FILE_ACCESS_WRITE);
  EXPECT_FALSE(SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill).read_only_files);
  c.clear_files();
  EXPECT_FALSE(SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill).read_only_files);
  AddRuntimeBaseline(&p);
  EXPECT_FALSE(p.read_only_files);
  // It travels in the policy message faasguardctl run compiles (not with the runtime baseline).
  v1::Profile prof;
  prof.set_mode(v1::MODE_ENFORCE);
  v1::ContainerProfile* sec = prof.add_containers();
  *sec = AllBut({});
  sec->set_name("main");
  auto* item = sec->add_files();
  item->set_path(existing);
  item->add_access(v1::FILE_ACCESS_READ);
  auto m = SeccompPolicyMessage(prof, "main", false);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->read_only_files());
  EXPECT_TRUE(SeccompPolicyFromMessage(*m).read_only_files);
  auto oci = SeccompPolicyMessage(prof, "main", true);
  ASSERT_TRUE(oci.ok()) << oci.status();
  EXPECT_FALSE(oci->read_only_files());
}

TEST(SeccompPolicyTest, OciProfileIsTheRuntimeSpecDocument) {
  v1::ContainerProfile c = Only({"read", "write", "openat", "ptrace", "clone3"});
  auto json = OciSeccompProfile(SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill));
  ASSERT_TRUE(json.ok()) << json.status();
  auto doc = ParseJson(*json);
  const auto& f = doc.fields();
  EXPECT_EQ(f.at("defaultAction").string_value(), "SCMP_ACT_ERRNO");
  EXPECT_EQ(f.at("defaultErrnoRet").number_value(), 1);            // EPERM
  ASSERT_EQ(f.at("architectures").list_value().values_size(), 1);  // no compat syscalls learned
  EXPECT_EQ(f.at("architectures").list_value().values(0).string_value(), "SCMP_ARCH_X86_64");
  std::map<std::string, std::vector<std::string>> by_action;
  for (const auto& r : f.at("syscalls").list_value().values()) {
    const auto& rf = r.struct_value().fields();
    if (rf.count("args")) continue;
    for (const auto& n : rf.at("names").list_value().values())
      by_action[rf.at("action").string_value()].push_back(n.string_value());
  }
  auto has = [&](const std::string& action, const std::string& name) {
    const auto& v = by_action[action];
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  EXPECT_TRUE(has("SCMP_ACT_ALLOW", "read"));
  EXPECT_TRUE(has("SCMP_ACT_ALLOW", "ptrace"));  // learned: allowed
  EXPECT_TRUE(has("SCMP_ACT_ALLOW", "execve"));
  EXPECT_FALSE(has("SCMP_ACT_KILL_PROCESS", "ptrace"));
  EXPECT_TRUE(has("SCMP_ACT_KILL_PROCESS", "bpf"));
  EXPECT_TRUE(has("SCMP_ACT_KILL_PROCESS", "unshare"));
  EXPECT_FALSE(has("SCMP_ACT_KILL_PROCESS", "kill"));  // the signal calls take the default
  EXPECT_TRUE(has("SCMP_ACT_ERRNO", "clone3"));
}

// What a container runtime reports of a Localhost profile it loaded (containerd: the runtime
// spec, re-written by Go) is the same filter in another spelling: other order, valueTwo 0 and
// the default errno left out. Another rule, action or errno is another filter.
TEST(SeccompPolicyTest, TheSameFilterInARuntimesSpellingIsRecognised) {
  v1::ContainerProfile c = Only({"read", "write", "openat", "clone3", "socket"});
  c.add_sockets()->set_family("inet");
  auto json = OciSeccompProfile(SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill));
  ASSERT_TRUE(json.ok()) << json.status();
  auto respell = [&](const std::function<void(google::protobuf::Struct*)>& change) {
    google::protobuf::Struct doc = ParseJson(*json);
    auto* rules = (*doc.mutable_fields())["syscalls"].mutable_list_value()->mutable_values();
    std::reverse(rules->begin(), rules->end());
    for (auto& r : *rules) {
      auto* rf = r.mutable_struct_value()->mutable_fields();
      auto names = (*rf)["names"].mutable_list_value()->mutable_values();
      std::reverse(names->begin(), names->end());
      if (rf->count("args"))
        for (auto& a : *(*rf)["args"].mutable_list_value()->mutable_values()) {
          auto* af = a.mutable_struct_value()->mutable_fields();
          if (af->count("valueTwo") && (*af)["valueTwo"].number_value() == 0) af->erase("valueTwo");
        }
    }
    doc.mutable_fields()->erase("defaultErrnoRet");
    change(&doc);
    std::string out;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(doc, &out).ok());
    return out;
  };
  auto same = [&](const std::string& spec) {
    auto r = SameSeccompFilter(spec, *json);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r;
  };
  EXPECT_TRUE(same(*json));
  EXPECT_TRUE(same(respell([](google::protobuf::Struct*) {})));
  auto rule0 = [](google::protobuf::Struct* d) {
    return (*d->mutable_fields())["syscalls"]
        .mutable_list_value()
        ->mutable_values(0)
        ->mutable_struct_value()
        ->mutable_fields();
  };
  EXPECT_FALSE(same(respell([&](google::protobuf::Struct* d) {
    (*rule0(d))["action"].set_string_value("SCMP_ACT_LOG");
  }))) << "another action";
  EXPECT_FALSE(same(respell([&](google::protobuf::Struct* d) {
    (*d->mutable_fields())["syscalls"].mutable_list_value()->mutable_values()->RemoveLast();
  }))) << "a rule less";
  EXPECT_FALSE(same(respell([&](google::protobuf::Struct* d) {
    (*d->mutable_fields())["defaultErrnoRet"].set_number_value(38);
  }))) << "another errno";
  EXPECT_FALSE(same(respell([&](google::protobuf::Struct* d) {
    (*d->mutable_fields())["defaultAction"].set_string_value("SCMP_ACT_ALLOW");
  }))) << "allow by default";
  EXPECT_FALSE(same(respell([&](google::protobuf::Struct* d) {
    (*rule0(d))["names"].mutable_list_value()->add_values()->set_string_value("ptrace");
  }))) << "one more syscall";
  EXPECT_FALSE(same(respell([&](google::protobuf::Struct* d) {
    (*d->mutable_fields())["listenerPath"].set_string_value("/run/agent.sock");
  }))) << "a notify listener decides elsewhere";
  EXPECT_FALSE(SameSeccompFilter("not json", *json).ok());
  EXPECT_FALSE(SameSeccompFilter("{\"syscalls\": []}", *json).ok()) << "no default action";
}

TEST(SeccompPolicyTest, EverySensitiveNameIsASyscallOfThisMachine) {
  for (const auto& s : SensitiveSyscalls()) {
    bool known = SyscallNumber(SyscallArch::kNative, s.name).has_value() ||
                 SyscallNumber(SyscallArch::kCompat, s.name).has_value();
    EXPECT_TRUE(known) << s.name;
    EXPECT_GT(std::string(s.reason).size(), 10u) << s.name;
  }
}

TEST(SeccompProfileFilesTest, WritesWhereTheWebhookPointsAndRemoves) {
  TempDir t;
  SeccompProfileFiles files(t.Sub("seccomp"));
  v1::FunctionId id;
  id.set_namespace_("shop");
  id.set_name("cart");
  EXPECT_EQ(files.PathOf(id, "user-container"),
            t.Sub("seccomp") + "/faasguard/shop/cart/user-container.json");
  auto w = files.Write(id, "user-container", "{}\n");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(*w);
  w = files.Write(id, "user-container", "{}\n");
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*w) << "unchanged content is not rewritten";
  struct stat sb;
  ASSERT_EQ(::stat(files.PathOf(id, "user-container").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0644u);
  ASSERT_TRUE(files.RemoveFunction(id).ok());
  EXPECT_NE(::access(files.PathOf(id, "user-container").c_str(), F_OK), 0);
  EXPECT_TRUE(files.RemoveFunction(id).ok()) << "nothing left: not an error";
}

}  // namespace
}  // namespace faasguard

namespace faasguard {
namespace {

// A section that learned socket kinds: socket(2) only for their families and IPv4, IPv6, Unix,
// netlink; a packet socket (or any other family) is refused before it exists.
TEST(SeccompPolicyTest, SocketIsAllowedOnlyForTheFamiliesItLearned) {
  v1::ContainerProfile c = AllBut({});
  auto* k = c.add_sockets();
  k->set_family("inet");
  k->set_type("dgram");
  k->set_protocol(17);
  auto p = SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill);
  EXPECT_EQ(p.socket_families, (std::set<uint32_t>{AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}));
  // Without the filter, a family the kernel does not know fails with EAFNOSUPPORT; under it,
  // with the filter's EPERM: the family is what is checked.
  int fd = ::socket(255, SOCK_DGRAM, 0);
  ASSERT_LT(fd, 0);
  ASSERT_EQ(errno, EAFNOSUPPORT);
  const bool packet_works = [] {
    int f = ::socket(AF_PACKET, SOCK_RAW, 0);
    if (f >= 0) ::close(f);
    return f >= 0;
  }();
  int st = UnderFilter(p, [&] {
    int fails = 0;
    int f = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (f < 0) fails |= 1;
    ::close(f);
    f = ::socket(AF_NETLINK, SOCK_RAW, 0);
    if (f < 0) fails |= 2;
    ::close(f);
    if (::socket(255, SOCK_DGRAM, 0) != -1 || errno != EPERM) fails |= 4;
    if (::socket(AF_PACKET, SOCK_RAW, 0) != -1 || errno != EPERM) fails |= 8;
    return fails;
  });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0) << "bits: 1 inet, 2 netlink refused; 4, 8 not refused";
  if (!packet_works) std::fprintf(stderr, "note: AF_PACKET needs CAP_NET_RAW here anyway\n");

  // A packet socket it did learn is allowed; a section with no socket kinds (learned before
  // them) leaves socket(2) alone.
  k = c.add_sockets();
  k->set_family("packet");
  k->set_type("raw");
  p = SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill);
  EXPECT_TRUE(p.socket_families.count(AF_PACKET));
  EXPECT_TRUE(SeccompPolicyFor(AllBut({}), SeccompVerdict::kErrno, SeccompVerdict::kKill)
                  .socket_families.empty());
  if (packet_works) {
    st = UnderFilter(p, [] {
      int f = ::socket(AF_PACKET, SOCK_RAW, 0);
      return f < 0 ? 1 : 0;
    });
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  }
}

TEST(SeccompPolicyTest, OciProfileAllowsSocketByFamily) {
  v1::ContainerProfile c = Only({"read", "socket"});
  c.add_sockets()->set_family("inet");
  auto json = OciSeccompProfile(SeccompPolicyFor(c, SeccompVerdict::kErrno, SeccompVerdict::kKill));
  ASSERT_TRUE(json.ok()) << json.status();
  auto doc = ParseJson(*json);
  std::set<uint64_t> families;
  for (const auto& r : doc.fields().at("syscalls").list_value().values()) {
    const auto& rf = r.struct_value().fields();
    bool socket = false;
    for (const auto& n : rf.at("names").list_value().values())
      socket |= n.string_value() == "socket";
    if (!socket) continue;
    ASSERT_TRUE(rf.count("args")) << "socket(2) is never allowed whatever its family";
    const auto& a = rf.at("args").list_value().values(0).struct_value().fields();
    EXPECT_EQ(a.at("index").number_value(), 0);
    EXPECT_EQ(a.at("op").string_value(), "SCMP_CMP_EQ");
    families.insert(static_cast<uint64_t>(a.at("value").number_value()));
  }
  EXPECT_EQ(families, (std::set<uint64_t>{AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}));
}

}  // namespace
}  // namespace faasguard
