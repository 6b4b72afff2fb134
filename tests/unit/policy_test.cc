// The policy compiler (a profile section -> kernel allow-list keys) and the address parser it
// uses for network rules. Pure functions: no kernel.
#include "core/policy.h"

#include <arpa/inet.h>

#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "core/abi_codec.h"
#include "dns/dns_message.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/address.h"
#include "profile/names.h"
#include "syscalls/syscall_table.h"

namespace faasguard {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint64_t kSeed = 0x5eed1234abcdULL;
constexpr char kNative[] = "";  // the profile's default arch

// --- Profile builders --------------------------------------------------------------------

v1::ContainerProfile Section() {
  v1::ContainerProfile c;
  c.set_name("main");
  return c;
}

void AddSyscallRule(v1::ContainerProfile& c, const std::string& name, const std::string& arch) {
  v1::SyscallEntry* e = c.add_syscalls();
  e->set_name(name);
  e->set_arch(arch);
}

v1::ExecEntry* AddExecRule(v1::ContainerProfile& c, const std::string& path,
                           const std::string& parent) {
  v1::ExecEntry* x = c.add_execs();
  x->set_path(path);
  x->set_parent(parent);
  return x;
}

void AddEgressRule(v1::ContainerProfile& c, v1::Protocol proto, const std::string& address,
                   uint32_t port) {
  v1::NetEntry* n = c.add_egress();
  n->set_protocol(proto);
  n->set_address(address);
  n->set_port(port);
}

void AddListenRule(v1::ContainerProfile& c, v1::Protocol proto, uint32_t port) {
  v1::NetEntry* n = c.add_listen();
  n->set_protocol(proto);
  n->set_port(port);
}

CompiledPolicy MustCompile(const v1::ContainerProfile& c, const PolicyLimits& limits = {}) {
  absl::StatusOr<CompiledPolicy> p = CompilePolicy(c, kSeed, limits);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : CompiledPolicy{};
}

// The error of a compile that must fail.
absl::Status CompileError(const v1::ContainerProfile& c, const PolicyLimits& limits = {}) {
  absl::StatusOr<CompiledPolicy> p = CompilePolicy(c, kSeed, limits);
  EXPECT_FALSE(p.ok()) << c.ShortDebugString();
  return p.ok() ? absl::OkStatus() : p.status();
}

bool BitSet(const __u64* words, uint32_t nr) { return (words[nr / 64] >> (nr % 64)) & 1; }

size_t Bits(const __u64* words) {
  size_t n = 0;
  for (int i = 0; i < FG_SYS_WORDS; ++i) n += std::popcount(words[i]);
  return n;
}

const __u64* Words(const CompiledPolicy& p, SyscallArch arch) {
  return arch == SyscallArch::kCompat ? p.sys.sys_compat : p.sys.sys;
}

uint32_t Nr(SyscallArch arch, const std::string& name) {
  std::optional<uint32_t> nr = SyscallNumber(arch, name);
  EXPECT_TRUE(nr.has_value()) << name;
  return nr.value_or(0);
}

const std::vector<std::string> kAlwaysAllowed = {
    "exit",          "exit_group",      "rt_sigreturn",    "restart_syscall",
    "sigreturn",     "nanosleep",       "clock_nanosleep", "clock_nanosleep_time64",
    "clock_gettime", "clock_gettime64", "clock_getres",    "gettimeofday",
    "time",          "sched_yield",     "mremap",          "madvise",
    "getpid",        "gettid",          "getcwd"};

// --- Syscalls ----------------------------------------------------------------------------

TEST(CompilePolicyTest, EmptyProfileAllowsOnlyLeavingAndSignalReturn) {
  CompiledPolicy p = MustCompile(Section());
  for (SyscallArch arch : {SyscallArch::kNative, SyscallArch::kCompat}) {
    size_t expected = 0;
    for (const std::string& name : kAlwaysAllowed) {
      std::optional<uint32_t> nr = SyscallNumber(arch, name);
      if (!nr) continue;  // not every architecture has every one
      ++expected;
      EXPECT_TRUE(BitSet(Words(p, arch), *nr)) << ArchName(arch) << " " << name;
    }
    EXPECT_EQ(Bits(Words(p, arch)), expected) << ArchName(arch);
  }
  // The native ones exist on every architecture we build for.
  for (const char* name : {"exit", "exit_group"})
    EXPECT_TRUE(BitSet(p.sys.sys, Nr(SyscallArch::kNative, name))) << name;
  EXPECT_THAT(p.exec, IsEmpty());
  EXPECT_THAT(p.net, IsEmpty());
  EXPECT_EQ(p.cfg_flags, 0);
  EXPECT_EQ(p.rules(), 1u);  // the syscall bitmap entry
}

TEST(CompilePolicyTest, EveryAlwaysAllowedSyscallIsInTheBitmaps) {
  // AlwaysAllowedSyscall() promises these whatever the profile says; the compiled bitmaps are
  // what the kernel checks, so each of them that the architecture has must be set there.
  for (const std::string& name : kAlwaysAllowed) EXPECT_TRUE(AlwaysAllowedSyscall(name)) << name;
  EXPECT_FALSE(AlwaysAllowedSyscall("read"));
  EXPECT_FALSE(AlwaysAllowedSyscall("ptrace"));
  EXPECT_FALSE(AlwaysAllowedSyscall(""));

  CompiledPolicy p = MustCompile(Section());
  for (SyscallArch arch : {SyscallArch::kNative, SyscallArch::kCompat}) {
    for (uint32_t nr = 0; nr < FG_SYS_MAX; ++nr) {
      std::string name = SyscallName(arch, nr);
      if (!AlwaysAllowedSyscall(name)) continue;
      EXPECT_TRUE(BitSet(Words(p, arch), nr))
          << ArchName(arch) << " " << name << " (" << nr
          << ") is always allowed by AlwaysAllowedSyscall() but not in the compiled bitmap";
    }
  }
}

TEST(CompilePolicyTest, NamedSyscallSetsItsBitInItsArchBitmap) {
  v1::ContainerProfile c = Section();
  AddSyscallRule(c, "openat", kNative);
  AddSyscallRule(c, "read", std::string(ArchName(SyscallArch::kNative)));
  CompiledPolicy base = MustCompile(Section());
  CompiledPolicy p = MustCompile(c);

  const uint32_t openat = Nr(SyscallArch::kNative, "openat");
  const uint32_t read = Nr(SyscallArch::kNative, "read");
  EXPECT_TRUE(BitSet(p.sys.sys, openat));
  EXPECT_TRUE(BitSet(p.sys.sys, read));
  EXPECT_EQ(Bits(p.sys.sys), Bits(base.sys.sys) + 2);
  // Nothing went to the compat bitmap.
  EXPECT_EQ(std::memcmp(p.sys.sys_compat, base.sys.sys_compat, sizeof p.sys.sys_compat), 0);
  EXPECT_FALSE(BitSet(p.sys.sys, Nr(SyscallArch::kNative, "ptrace")));
#if defined(__x86_64__)
  EXPECT_EQ(openat, 257u);
  EXPECT_EQ(read, 0u);
#endif
  EXPECT_THAT(p.exec, IsEmpty());
  EXPECT_THAT(p.net, IsEmpty());
}

#if defined(__x86_64__)
TEST(CompilePolicyTest, CompatSyscallGoesToTheCompatBitmap) {
  v1::ContainerProfile c = Section();
  AddSyscallRule(c, "execve", "i386");
  CompiledPolicy base = MustCompile(Section());
  CompiledPolicy p = MustCompile(c);
  EXPECT_TRUE(BitSet(p.sys.sys_compat, 11));  // i386 execve
  EXPECT_FALSE(BitSet(p.sys.sys, 11));        // native 11 is munmap: not allowed by this
  EXPECT_FALSE(BitSet(p.sys.sys, 59));        // native execve neither
  EXPECT_EQ(Bits(p.sys.sys_compat), Bits(base.sys.sys_compat) + 1);
  EXPECT_EQ(std::memcmp(p.sys.sys, base.sys.sys, sizeof p.sys.sys), 0);
}
#endif

TEST(CompilePolicyTest, SyscallByNumberName) {
  v1::ContainerProfile c = Section();
  AddSyscallRule(c, "syscall_500", kNative);  // how the profile names a number without a name
  CompiledPolicy p = MustCompile(c);
  EXPECT_TRUE(BitSet(p.sys.sys, 500));
}

TEST(CompilePolicyTest, UnknownSyscallIsAnErrorNamingIt) {
  v1::ContainerProfile c = Section();
  AddSyscallRule(c, "read", kNative);
  AddSyscallRule(c, "frobnicate", kNative);
  absl::Status s = CompileError(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"frobnicate\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("main"));  // the container
}

TEST(CompilePolicyTest, UnknownArchIsAnError) {
  v1::ContainerProfile c = Section();
  AddSyscallRule(c, "read", "vax");
  absl::Status s = CompileError(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"vax\""));
}

TEST(CompilePolicyTest, SyscallBeyondTheKernelTableIsAnError) {
  v1::ContainerProfile c = Section();
  AddSyscallRule(c, "syscall_" + std::to_string(FG_SYS_MAX), kNative);
  absl::Status s = CompileError(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("beyond"));
}

// --- Exec rules --------------------------------------------------------------------------

TEST(CompilePolicyTest, ExactExecRuleHashesPathAndParent) {
  v1::ContainerProfile c = Section();
  AddExecRule(c, "/usr/bin/curl", "/bin/sh");
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.exec, SizeIs(1));
  const fg_exec_rule_key& k = p.exec[0];
  EXPECT_EQ(k.bin_hash, PathHash("/usr/bin/curl", 0, kSeed));
  EXPECT_EQ(k.parent_hash, PathHash("/bin/sh", 0, kSeed));
  EXPECT_EQ(k.script_hash, 0u);
  EXPECT_EQ(k.kind, 0);
  EXPECT_EQ(k.prefix_len, 0);
  EXPECT_EQ(k.fn_id, 0u);  // filled in by WritePolicy
  EXPECT_EQ(k.gen, 0);
  EXPECT_EQ(p.cfg_flags, 0);
  EXPECT_EQ(p.rules(), 2u);
}

TEST(CompilePolicyTest, ExecHashesDependOnTheSeed) {
  v1::ContainerProfile c = Section();
  AddExecRule(c, "/usr/bin/curl", "/bin/sh");
  absl::StatusOr<CompiledPolicy> a = CompilePolicy(c, 1);
  absl::StatusOr<CompiledPolicy> b = CompilePolicy(c, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->exec[0].bin_hash, PathHash("/usr/bin/curl", 0, 1));
  EXPECT_EQ(b->exec[0].bin_hash, PathHash("/usr/bin/curl", 0, 2));
  EXPECT_NE(a->exec[0].bin_hash, b->exec[0].bin_hash);
}

TEST(CompilePolicyTest, DeletedAndAnonymousPathsHashWithTheKernelFlags) {
  v1::ContainerProfile c = Section();
  v1::ExecEntry* deleted = AddExecRule(c, "/tmp/dropper", "/bin/sh");
  deleted->set_kind(v1::PATH_KIND_DELETED);
  v1::ExecEntry* anon = AddExecRule(c, "memfd:payload", "/tmp/gone");
  anon->set_kind(v1::PATH_KIND_ANONYMOUS);
  anon->set_parent_kind(v1::PATH_KIND_DELETED);
  v1::ExecEntry* anon_parent = AddExecRule(c, "/bin/true", "memfd:loader");
  anon_parent->set_parent_kind(v1::PATH_KIND_ANONYMOUS);
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.exec, SizeIs(3));

  EXPECT_EQ(p.exec[0].bin_hash, PathHash("/tmp/dropper", FG_PATH_F_UNLINKED, kSeed));
  EXPECT_NE(p.exec[0].bin_hash, PathHash("/tmp/dropper", 0, kSeed));
  EXPECT_EQ(p.exec[0].parent_hash, PathHash("/bin/sh", 0, kSeed));

  EXPECT_EQ(p.exec[1].bin_hash,
            PathHash("/memfd:payload", FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED, kSeed));
  EXPECT_EQ(p.exec[1].parent_hash, PathHash("/tmp/gone", FG_PATH_F_UNLINKED, kSeed));

  EXPECT_EQ(p.exec[2].bin_hash, PathHash("/bin/true", 0, kSeed));
  EXPECT_EQ(p.exec[2].parent_hash,
            PathHash("/memfd:loader", FG_PATH_F_UNLINKED | FG_PATH_F_DETACHED, kSeed));
  for (const auto& k : p.exec) EXPECT_EQ(k.kind, 0) << k.bin_hash;
}

// A script is learned by its resolved absolute path, and its rule matches only that path.
TEST(CompilePolicyTest, ScriptRuleHashesTheScriptPath) {
  v1::ContainerProfile c = Section();
  v1::ExecEntry* x = AddExecRule(c, "/usr/bin/python3", "/bin/sh");
  x->set_script("/srv/app/app.py");
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.exec, SizeIs(1));
  EXPECT_EQ(p.exec[0].bin_hash, PathHash("/usr/bin/python3", 0, kSeed));
  EXPECT_EQ(p.exec[0].parent_hash, PathHash("/bin/sh", 0, kSeed));
  EXPECT_EQ(p.exec[0].script_hash, PathHash("/srv/app/app.py", 0, kSeed));
  EXPECT_EQ(p.exec[0].kind, 0);
}

// A relative name (a profile learned before scripts were resolved) matches the name as given
// to exec, and only that: its rule is of kind FG_EXEC_RULE_SCRIPT_NAME, and a mark with every
// hash 0 tells the kernel to look such rules up.
TEST(CompilePolicyTest, RelativeScriptRuleHashesTheNameAndIsMarked) {
  v1::ContainerProfile c = Section();
  v1::ExecEntry* x = AddExecRule(c, "/usr/bin/python3", "/bin/sh");
  x->set_script("./app.py");
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.exec, SizeIs(2));
  EXPECT_EQ(p.exec[0].bin_hash, PathHash("/usr/bin/python3", 0, kSeed));
  EXPECT_EQ(p.exec[0].parent_hash, PathHash("/bin/sh", 0, kSeed));
  EXPECT_EQ(p.exec[0].script_hash, PathHash("./app.py", 0, kSeed));
  EXPECT_EQ(p.exec[0].kind, FG_EXEC_RULE_SCRIPT_NAME);
  EXPECT_EQ(p.exec[1].kind, FG_EXEC_RULE_SCRIPT_NAME);
  EXPECT_EQ(p.exec[1].bin_hash, 0u);
  EXPECT_EQ(p.exec[1].parent_hash, 0u);
  EXPECT_EQ(p.exec[1].script_hash, 0u);
}

TEST(CompilePolicyTest, TrailingStarIsAPrefixRule) {
  v1::ContainerProfile c = Section();
  AddExecRule(c, "/usr/lib/python3/*", "/usr/bin/python3");
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.exec, SizeIs(1));
  const fg_exec_rule_key& k = p.exec[0];
  const std::string prefix = "/usr/lib/python3/";
  EXPECT_EQ(k.kind & FG_EXEC_RULE_PREFIX, FG_EXEC_RULE_PREFIX);
  EXPECT_EQ(k.kind & FG_EXEC_RULE_ANY_PARENT, 0);
  EXPECT_EQ(k.prefix_len, prefix.size());
  EXPECT_EQ(k.bin_hash, PathHash(prefix, 0, kSeed));
  EXPECT_EQ(k.parent_hash, PathHash("/usr/bin/python3", 0, kSeed));
  EXPECT_EQ(k.script_hash, 0u);
  EXPECT_EQ(p.cfg_flags & FG_CFG_F_EXEC_PREFIX, FG_CFG_F_EXEC_PREFIX);
}

TEST(CompilePolicyTest, PrefixFlagOnlyWithAPrefixRule) {
  v1::ContainerProfile c = Section();
  AddExecRule(c, "/usr/bin/curl", "*");
  EXPECT_EQ(MustCompile(c).cfg_flags & FG_CFG_F_EXEC_PREFIX, 0);
  AddExecRule(c, "/opt/app/*", "*");
  CompiledPolicy p = MustCompile(c);
  EXPECT_EQ(p.cfg_flags & FG_CFG_F_EXEC_PREFIX, FG_CFG_F_EXEC_PREFIX);
  ASSERT_THAT(p.exec, SizeIs(2));
  EXPECT_EQ(p.exec[0].kind & FG_EXEC_RULE_PREFIX, 0);  // the exact rule stays exact
  EXPECT_EQ(p.exec[1].kind & FG_EXEC_RULE_PREFIX, FG_EXEC_RULE_PREFIX);
}

TEST(CompilePolicyTest, AnyParent) {
  v1::ContainerProfile c = Section();
  AddExecRule(c, "/usr/bin/curl", "*");
  AddExecRule(c, "/opt/tools/*", "*");
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.exec, SizeIs(2));
  EXPECT_EQ(p.exec[0].kind, FG_EXEC_RULE_ANY_PARENT);
  EXPECT_EQ(p.exec[0].parent_hash, 0u);
  EXPECT_EQ(p.exec[0].bin_hash, PathHash("/usr/bin/curl", 0, kSeed));
  EXPECT_EQ(p.exec[1].kind, FG_EXEC_RULE_ANY_PARENT | FG_EXEC_RULE_PREFIX);
  EXPECT_EQ(p.exec[1].parent_hash, 0u);
  EXPECT_EQ(p.exec[1].prefix_len, std::string("/opt/tools/").size());
  EXPECT_EQ(p.exec[1].bin_hash, PathHash("/opt/tools/", 0, kSeed));
}

TEST(CompilePolicyTest, BadExecRulesAreErrorsNamingTheRule) {
  struct Case {
    std::string path;
    std::string parent;
    v1::PathKind kind;
    std::string expect;
  };
  for (const Case& bad : {
           Case{"/usr/*/python", "/bin/sh", v1::PATH_KIND_FILE, "/usr/*/python"},
           Case{"/a*b", "/bin/sh", v1::PATH_KIND_FILE, "/a*b"},
           Case{"/usr/**", "/bin/sh", v1::PATH_KIND_FILE, "/usr/**"},
           Case{"usr/lib/*", "/bin/sh", v1::PATH_KIND_FILE, "absolute"},
           Case{"*", "/bin/sh", v1::PATH_KIND_FILE, "absolute"},
           Case{"/tmp/x*", "/bin/sh", v1::PATH_KIND_DELETED, "/tmp/x*"},
           Case{"/usr/bin/curl", "/usr/*", v1::PATH_KIND_FILE, "/usr/*"},
           Case{"/usr/bin/curl", "**", v1::PATH_KIND_FILE, "**"},
           Case{"", "/bin/sh", v1::PATH_KIND_FILE, "empty path"},
       }) {
    v1::ContainerProfile c = Section();
    AddExecRule(c, "/bin/ok", "/bin/sh");
    v1::ExecEntry* x = AddExecRule(c, bad.path, bad.parent);
    x->set_kind(bad.kind);
    absl::Status s = CompileError(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad.path << " " << bad.parent;
    EXPECT_THAT(std::string(s.message()), HasSubstr(bad.expect)) << bad.path << " " << bad.parent;
  }
}

// --- Network rules -----------------------------------------------------------------------

std::vector<uint8_t> Addr(const fg_net_rule_key& k) {
  return std::vector<uint8_t>(k.addr, k.addr + sizeof k.addr);
}

std::vector<uint8_t> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  std::vector<uint8_t> v(16, 0);
  v[0] = a, v[1] = b, v[2] = c, v[3] = d;
  return v;
}

std::vector<uint8_t> V6(const char* text) {
  std::vector<uint8_t> v(16, 0);
  EXPECT_EQ(inet_pton(AF_INET6, text, v.data()), 1) << text;
  return v;
}

TEST(CompilePolicyTest, EgressExactIpv4) {
  v1::ContainerProfile c = Section();
  AddEgressRule(c, v1::PROTOCOL_TCP, "10.0.0.1", 443);
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.net, SizeIs(1));
  const fg_net_rule_key& k = p.net[0];
  EXPECT_EQ(k.cls, FG_RULE_EGRESS);
  EXPECT_EQ(k.proto, 6);
  EXPECT_EQ(k.family, 4);
  EXPECT_EQ(k.port, 443);
  EXPECT_EQ(k.prefixlen, FG_NET_RULE_FIXED_BITS + 32u);
  EXPECT_EQ(Addr(k), V4(10, 0, 0, 1));  // network order, IPv4 in the first 4 bytes
  EXPECT_EQ(k.fn_id, 0u);               // filled in by WritePolicy
  EXPECT_EQ(k.gen, 0);
  EXPECT_EQ(k.pad, 0);
  EXPECT_EQ(p.rules(), 2u);
}

TEST(CompilePolicyTest, EgressIpv6AndCidrs) {
  v1::ContainerProfile c = Section();
  AddEgressRule(c, v1::PROTOCOL_UDP, "2001:db8::53", 53);
  AddEgressRule(c, v1::PROTOCOL_TCP, "10.0.0.0/8", 5432);
  AddEgressRule(c, v1::PROTOCOL_TCP, "fd00::/16", 80);
  AddEgressRule(c, v1::PROTOCOL_TCP, "::ffff:10.1.2.3", 8080);
  AddEgressRule(c, v1::PROTOCOL_TCP, "0.0.0.0/0", 0);
  AddEgressRule(c, v1::PROTOCOL_TCP, "::/0", 0);
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.net, SizeIs(6));
  for (const auto& k : p.net) EXPECT_EQ(k.cls, FG_RULE_EGRESS);

  EXPECT_EQ(p.net[0].family, 6);
  EXPECT_EQ(p.net[0].proto, 17);
  EXPECT_EQ(p.net[0].port, 53);
  EXPECT_EQ(p.net[0].prefixlen, FG_NET_RULE_FIXED_BITS + 128u);
  EXPECT_EQ(Addr(p.net[0]), V6("2001:db8::53"));

  EXPECT_EQ(p.net[1].family, 4);
  EXPECT_EQ(p.net[1].prefixlen, FG_NET_RULE_FIXED_BITS + 8u);
  EXPECT_EQ(Addr(p.net[1]), V4(10, 0, 0, 0));
  EXPECT_EQ(p.net[1].port, 5432);

  EXPECT_EQ(p.net[2].family, 6);
  EXPECT_EQ(p.net[2].prefixlen, FG_NET_RULE_FIXED_BITS + 16u);
  EXPECT_EQ(Addr(p.net[2]), V6("fd00::"));

  // An IPv4-mapped address is an IPv4 rule (the kernel stores mapped peers as IPv4).
  EXPECT_EQ(p.net[3].family, 4);
  EXPECT_EQ(p.net[3].prefixlen, FG_NET_RULE_FIXED_BITS + 32u);
  EXPECT_EQ(Addr(p.net[3]), V4(10, 1, 2, 3));

  // Any address, any port.
  EXPECT_EQ(p.net[4].family, 4);
  EXPECT_EQ(p.net[4].prefixlen, FG_NET_RULE_FIXED_BITS + 0u);
  EXPECT_EQ(p.net[4].port, 0);
  EXPECT_EQ(p.net[5].family, 6);
  EXPECT_EQ(p.net[5].prefixlen, FG_NET_RULE_FIXED_BITS + 0u);
  EXPECT_EQ(p.net[5].port, 0);
}

TEST(CompilePolicyTest, ListenRuleHoldsForBothFamilies) {
  v1::ContainerProfile c = Section();
  AddListenRule(c, v1::PROTOCOL_TCP, 8080);
  CompiledPolicy p = MustCompile(c);
  ASSERT_THAT(p.net, SizeIs(2));
  std::vector<int> families;
  for (const auto& k : p.net) {
    families.push_back(k.family);
    EXPECT_EQ(k.cls, FG_RULE_LISTEN);
    EXPECT_EQ(k.proto, 6);
    EXPECT_EQ(k.port, 8080);
    EXPECT_EQ(k.prefixlen, static_cast<uint32_t>(FG_NET_RULE_FIXED_BITS));
    EXPECT_EQ(Addr(k), std::vector<uint8_t>(16, 0));
  }
  EXPECT_THAT(families, ::testing::UnorderedElementsAre(4, 6));
  EXPECT_EQ(p.rules(), 3u);
}

TEST(CompilePolicyTest, IngressIsNotCompiled) {
  v1::ContainerProfile c = Section();
  v1::NetEntry* n = c.add_ingress();
  n->set_protocol(v1::PROTOCOL_TCP);
  n->set_address("10.1.2.3");
  n->set_port(8080);
  EXPECT_THAT(MustCompile(c).net, IsEmpty());
}

TEST(CompilePolicyTest, BadNetworkRulesAreErrors) {
  struct Case {
    std::string name;
    std::string address;
    std::string expect;
  };
  for (const Case& bad : {
           Case{"no address", "", "without an address"},
           Case{"prefix over 32", "10.0.0.0/33", "10.0.0.0/33"},
           Case{"host bits", "10.1.2.3/8", "10.1.2.3/8"},
           Case{"not an address", "300.1.1.1", "300.1.1.1"},
           Case{"a name", "example.com", "example.com"},
           Case{"prefix over 128", "fd00::/129", "fd00::/129"},
           Case{"negative prefix", "10.0.0.0/-1", "10.0.0.0/-1"},
           Case{"empty prefix", "10.0.0.0/", "10.0.0.0/"},
       }) {
    v1::ContainerProfile c = Section();
    AddEgressRule(c, v1::PROTOCOL_TCP, "10.0.0.1", 443);
    AddEgressRule(c, v1::PROTOCOL_TCP, bad.address, 443);
    absl::Status s = CompileError(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad.name;
    EXPECT_THAT(std::string(s.message()), HasSubstr(bad.expect)) << bad.name;
    EXPECT_THAT(std::string(s.message()), HasSubstr("egress")) << bad.name;
  }
}

TEST(CompilePolicyTest, BadProtocolOrPortIsAnError) {
  v1::ContainerProfile c = Section();
  AddEgressRule(c, v1::PROTOCOL_UNSPECIFIED, "10.0.0.1", 443);
  EXPECT_EQ(CompileError(c).code(), absl::StatusCode::kInvalidArgument);

  c = Section();
  AddListenRule(c, static_cast<v1::Protocol>(250), 80);
  EXPECT_THAT(std::string(CompileError(c).message()), HasSubstr("listen"));

  c = Section();
  AddEgressRule(c, v1::PROTOCOL_TCP, "10.0.0.1", 65536);
  EXPECT_THAT(std::string(CompileError(c).message()), HasSubstr("65536"));

  c = Section();
  AddListenRule(c, v1::PROTOCOL_TCP, 70000);
  EXPECT_THAT(std::string(CompileError(c).message()), HasSubstr("70000"));
}

// --- Limits ------------------------------------------------------------------------------

TEST(CompilePolicyTest, NetRulesOverTheLimitDoNotFit) {
  PolicyLimits one;
  one.max_exec_rules = 100;
  one.max_net_rules = 1;

  v1::ContainerProfile c = Section();
  AddEgressRule(c, v1::PROTOCOL_TCP, "10.0.0.1", 443);
  EXPECT_THAT(MustCompile(c, one).net, SizeIs(1));  // exactly at the limit

  AddEgressRule(c, v1::PROTOCOL_TCP, "10.0.0.2", 443);
  absl::Status s = CompileError(c, one);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("do not fit"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("main"));

  // A listen rule is two kernel entries.
  c = Section();
  AddListenRule(c, v1::PROTOCOL_TCP, 8080);
  EXPECT_EQ(CompileError(c, one).code(), absl::StatusCode::kResourceExhausted);
}

TEST(CompilePolicyTest, ExecRulesOverTheLimitDoNotFit) {
  PolicyLimits one;
  one.max_exec_rules = 1;
  one.max_net_rules = 100;
  v1::ContainerProfile c = Section();
  AddExecRule(c, "/bin/a", "/bin/sh");
  EXPECT_THAT(MustCompile(c, one).exec, SizeIs(1));
  AddExecRule(c, "/bin/b", "/bin/sh");
  absl::Status s = CompileError(c, one);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("do not fit"));
}

// --- ParseAddressOrCidr ------------------------------------------------------------------

TEST(ParseAddressOrCidrTest, Addresses) {
  absl::StatusOr<ParsedAddress> a = ParseAddressOrCidr("1.2.3.4");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family, 4);
  EXPECT_EQ(a->prefix, 32u);
  EXPECT_EQ(std::vector<uint8_t>(a->addr, a->addr + 16), V4(1, 2, 3, 4));

  a = ParseAddressOrCidr("::1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family, 6);
  EXPECT_EQ(a->prefix, 128u);
  EXPECT_EQ(std::vector<uint8_t>(a->addr, a->addr + 16), V6("::1"));

  a = ParseAddressOrCidr("::ffff:10.1.2.3");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family, 4);
  EXPECT_EQ(a->prefix, 32u);
  EXPECT_EQ(std::vector<uint8_t>(a->addr, a->addr + 16), V4(10, 1, 2, 3));
}

TEST(ParseAddressOrCidrTest, Prefixes) {
  struct Case {
    std::string text;
    uint8_t family;
    uint32_t prefix;
    std::vector<uint8_t> addr;
  };
  for (const Case& c : {
           Case{"10.0.0.0/8", 4, 8, V4(10, 0, 0, 0)},
           Case{"192.168.1.0/24", 4, 24, V4(192, 168, 1, 0)},
           Case{"10.1.2.3/32", 4, 32, V4(10, 1, 2, 3)}, Case{"0.0.0.0/0", 4, 0, V4(0, 0, 0, 0)},
           Case{"fd00::/16", 6, 16, V6("fd00::")}, Case{"2001:db8::/32", 6, 32, V6("2001:db8::")},
           Case{"::/0", 6, 0, V6("::")},
           Case{"::ffff:10.0.0.0/104", 4, 8, V4(10, 0, 0, 0)},  // mapped: 96 bits fewer
       }) {
    absl::StatusOr<ParsedAddress> a = ParseAddressOrCidr(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.status();
    EXPECT_EQ(a->family, c.family) << c.text;
    EXPECT_EQ(a->prefix, c.prefix) << c.text;
    EXPECT_EQ(std::vector<uint8_t>(a->addr, a->addr + 16), c.addr) << c.text;
  }
}

TEST(ParseAddressOrCidrTest, Errors) {
  for (const char* bad : {"", "10.0.0.0/33", "10.1.2.3/8", "10.0.0.1/31", "300.1.1.1", "1.2.3",
                          "example.com", "::/129", "fd00::1/16", "10.0.0.0/", "10.0.0.0/x",
                          "10.0.0.0/-1", "/8", "1.2.3.4 ", "10.0.0.0/8/8"}) {
    absl::StatusOr<ParsedAddress> a = ParseAddressOrCidr(bad);
    ASSERT_FALSE(a.ok()) << "\"" << bad << "\" parsed";
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (*bad) {
      EXPECT_THAT(std::string(a.status().message()), HasSubstr(bad)) << bad;
    }
  }
}

// --- Sections of a profile ----------------------------------------------------------------

TEST(CompileSectionTest, EachContainerItsOwnThePodWideSectionTheUnion) {
  v1::Profile p;
  v1::ContainerProfile* main = p.add_containers();
  *main = Section();
  AddExecRule(*main, "/usr/bin/curl", "/bin/sh");
  AddEgressRule(*main, v1::PROTOCOL_TCP, "10.0.0.1", 443);
  v1::ContainerProfile* proxy = p.add_containers();
  proxy->set_name("queue-proxy");
  AddExecRule(*proxy, "/ko-app/queue", "/pause");
  AddListenRule(*proxy, v1::PROTOCOL_TCP, 8012);

  auto m = CompileSection(p, "main", kSeed, {});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->exec.size(), 1u);
  EXPECT_EQ(m->exec[0].bin_hash, PathHash("/usr/bin/curl", 0, kSeed));
  auto pod = CompileSection(p, kPodSection, kSeed, {});
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->exec.size(), 2u);
  EXPECT_EQ(pod->net.size(), m->net.size() + 2) << "the egress rule and the listen rule (v4, v6)";
  // A container the profile has never seen: only what every function may do.
  auto none = CompileSection(p, "sidecar", kSeed, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->exec.empty());
  EXPECT_TRUE(none->net.empty());
  EXPECT_EQ(p.containers_size(), 2) << "the profile is left as it is";
  // The limits hold for the union too.
  PolicyLimits tight;
  tight.max_exec_rules = 1;
  EXPECT_EQ(CompileSection(p, kPodSection, kSeed, tight).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// --- Names (egress by DNS name, DNS queries) ----------------------------------------------

uint64_t NameHash(const std::string& name) {
  auto h = HashDnsName(name, kSeed);
  EXPECT_TRUE(h.has_value()) << name;
  return h ? h->hash : 0;
}

bool HasDnsRule(const CompiledPolicy& p, uint8_t kind, uint8_t proto, uint16_t port,
                uint64_t hash) {
  for (const auto& k : p.dns)
    if (k.kind == kind && k.proto == proto && k.port == port && k.hash == hash) return true;
  return false;
}

TEST(CompilePolicyTest, NamedEgressAllowsTheNameOnItsPortAndItsQuery) {
  v1::ContainerProfile c = Section();
  auto* n = c.add_named_egress();
  n->set_name("api.example.com");
  n->set_protocol(v1::PROTOCOL_TCP);
  n->set_port(443);
  n->add_addresses("192.0.2.1");  // evidence only: no address rule
  c.add_dns_queries()->set_name("nope.example.com");
  CompiledPolicy p = MustCompile(c);
  const uint64_t api = NameHash("api.example.com");
  EXPECT_TRUE(HasDnsRule(p, FG_DNS_RULE_EGRESS, IPPROTO_TCP, 443, api));
  EXPECT_TRUE(HasDnsRule(p, FG_DNS_RULE_QUERY, 0, 0, api));
  EXPECT_TRUE(HasDnsRule(p, FG_DNS_RULE_QUERY, 0, 0, NameHash("nope.example.com")));
  EXPECT_THAT(p.dns, SizeIs(3));
  EXPECT_THAT(p.net, IsEmpty());
  EXPECT_EQ(p.cfg_flags & FG_CFG_F_DNS_WILDCARD, 0);
}

TEST(CompilePolicyTest, NamesCompareWithoutCase) {
  v1::ContainerProfile c = Section();
  c.add_dns_queries()->set_name("API.Example.COM");
  CompiledPolicy p = MustCompile(c);
  EXPECT_TRUE(HasDnsRule(p, FG_DNS_RULE_QUERY, 0, 0, NameHash("api.example.com")));
}

TEST(CompilePolicyTest, WildcardNameRuleHashesItsBaseAndSetsTheFlag) {
  v1::ContainerProfile c = Section();
  auto* n = c.add_named_egress();
  n->set_name("*.example.com");
  n->set_protocol(v1::PROTOCOL_TCP);
  n->set_port(0);
  CompiledPolicy p = MustCompile(c);
  const uint64_t base = NameHash("example.com");
  EXPECT_TRUE(HasDnsRule(p, FG_DNS_RULE_EGRESS | FG_DNS_RULE_WILDCARD, IPPROTO_TCP, 0, base));
  EXPECT_TRUE(HasDnsRule(p, FG_DNS_RULE_QUERY | FG_DNS_RULE_WILDCARD, 0, 0, base));
  EXPECT_FALSE(HasDnsRule(p, FG_DNS_RULE_EGRESS, IPPROTO_TCP, 0, base));  // not the base itself
  EXPECT_NE(p.cfg_flags & FG_CFG_F_DNS_WILDCARD, 0);
}

TEST(CompilePolicyTest, BadNameRulesAreErrorsNamingTheRule) {
  const std::vector<std::string> bads = {"a.*.example.com", "*", "x..y",
                                         std::string(64, 'a') + ".com", "*.a.b.c.d.e.f.g.h.i"};
  for (const std::string& bad : bads) {
    v1::ContainerProfile c = Section();
    c.add_dns_queries()->set_name(bad);
    absl::Status st = CompileError(c);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(st.message()), HasSubstr("DNS name")) << bad;
  }
  v1::ContainerProfile c = Section();
  auto* n = c.add_named_egress();
  n->set_name("api.example.com");
  n->set_protocol(v1::PROTOCOL_UNSPECIFIED);
  EXPECT_THAT(std::string(CompileError(c).message()), HasSubstr("protocol"));
}

TEST(CompilePolicyTest, NameRulesThatDoNotFitAreRefused) {
  v1::ContainerProfile c = Section();
  for (int i = 0; i < 5; ++i) c.add_dns_queries()->set_name("n" + std::to_string(i) + ".test");
  PolicyLimits limits;
  limits.max_dns_rules = 4;
  EXPECT_EQ(CompileError(c, limits).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace faasguard
