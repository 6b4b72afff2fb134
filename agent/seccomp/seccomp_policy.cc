#include "seccomp/seccomp_policy.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "core/abi_codec.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "profile/files.h"
#include "profile/profile.h"
#include "profile/socket_items.h"
#include "syscalls/syscall_classes.h"
#include "syscalls/syscall_table.h"

namespace faasguard {
namespace {

// clone() flags that make new namespaces (CLONE_NEWTIME shares its bit with the exit signal in
// clone() and exists only for clone3 and unshare).
constexpr uint64_t kCloneNsFlags[] = {0x00020000, 0x02000000, 0x04000000, 0x08000000,
                                      0x10000000, 0x20000000, 0x40000000};
constexpr uint64_t kCloneNsMask = 0x7E020000;
constexpr uint64_t kPersonalityQuery = 0xffffffff;

// Names the filter handles apart from the plain allow-list.
bool Special(const std::string& n) { return n == "clone" || n == "clone3" || n == "personality"; }

// Read-only files (SeccompPolicy::read_only_files): the opens whose flags a filter sees, with
// the index of the flags argument (-1: creat, which always writes), and the flags that write,
// create or truncate (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC: the same on x86 and the generic ABI).
struct FileOpen {
  const char* name;
  int flags_arg;
};
constexpr FileOpen kFileOpens[] = {
    {"open", 1}, {"openat", 2}, {"open_by_handle_at", 2}, {"creat", -1}};
// O_WRONLY, O_RDWR, O_CREAT, O_TRUNC: an open that may change a file.
constexpr uint64_t kWriteFlags[] = {01, 02, 0100, 01000};
constexpr uint64_t kWriteMask = [] {
  uint64_t m = 0;
  for (uint64_t b : kWriteFlags) m |= b;
  return m;
}();

bool FileOpenSpecial(const SeccompPolicy& p, const std::string& n) {
  if (!p.read_only_files) return false;
  for (const auto& f : kFileOpens)
    if (n == f.name) return true;
  return false;
}

uint32_t ScmpAction(SeccompVerdict v, int err = EPERM) {
  switch (v) {
    case SeccompVerdict::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompVerdict::kErrno:
      return SCMP_ACT_ERRNO(static_cast<uint16_t>(err));
    case SeccompVerdict::kKill:
      return SCMP_ACT_KILL_PROCESS;
  }
  return SCMP_ACT_KILL_PROCESS;
}

const char* OciAction(SeccompVerdict v) {
  switch (v) {
    case SeccompVerdict::kAllow:
      return "SCMP_ACT_ALLOW";
    case SeccompVerdict::kErrno:
      return "SCMP_ACT_ERRNO";
    case SeccompVerdict::kKill:
      return "SCMP_ACT_KILL_PROCESS";
  }
  return "SCMP_ACT_KILL_PROCESS";
}

// The sensitive names the filter must treat apart: not allowed, and killed (not the signal
// calls, which a filter cannot tell apart from signalling oneself: those take the default).
std::vector<std::string> SensitiveRefused(const std::set<std::string>& allowed) {
  std::vector<std::string> out;
  for (const auto& s : SensitiveSyscalls()) {
    if (s.other_process_only || allowed.count(s.name) || Special(s.name)) continue;
    out.emplace_back(s.name);
  }
  return out;
}

// Whether socket(2) is allowed by its family only (the section learned socket kinds).
bool SocketByFamily(const std::set<std::string>& allowed, const SeccompPolicy& p) {
  return !p.socket_families.empty() && allowed.count("socket");
}

bool CloneAllowed(const std::set<std::string>& allowed) {
  return allowed.count("clone") || allowed.count("clone3");
}

// One architecture's rules into a libseccomp context that holds only that architecture.
absl::Status AddRules(scmp_filter_ctx ctx, uint32_t arch, const std::set<std::string>& allowed,
                      const SeccompPolicy& p) {
  // The number on this architecture; negative when it has no such syscall (libseccomp gives
  // pseudo numbers, below zero, for syscalls of other architectures).
  auto resolve = [arch](const std::string& name) -> int {
    if (name.rfind("syscall_", 0) == 0) {  // a number the syscall table had no name for
      auto n = SyscallNumber(SyscallArch::kNative, name);
      return n ? static_cast<int>(*n) : -1;
    }
    return seccomp_syscall_resolve_name_arch(arch, name.c_str());
  };
  auto add = [&](const std::string& name, uint32_t action, std::vector<scmp_arg_cmp> args = {}) {
    int nr = resolve(name);
    if (nr < 0) return absl::OkStatus();                             // not on this architecture
    if (action == ScmpAction(p.unlearned)) return absl::OkStatus();  // the default already
    int rc = seccomp_rule_add_exact_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                          args.empty() ? nullptr : args.data());
    if (rc != 0)
      return absl::InternalError(absl::StrCat("seccomp rule for ", name, ": ", strerror(-rc)));
    return absl::OkStatus();
  };
  const uint32_t sens = ScmpAction(p.sensitive);
  const bool by_family = SocketByFamily(allowed, p) && arch == seccomp_arch_native();
  for (const auto& n : allowed) {
    if (Special(n) || FileOpenSpecial(p, n) || (by_family && n == "socket")) continue;
    FG_RETURN_IF_ERROR(add(n, SCMP_ACT_ALLOW));
  }
  if (by_family)
    for (uint32_t f : p.socket_families)
      FG_RETURN_IF_ERROR(add("socket", SCMP_ACT_ALLOW, {SCMP_A0(SCMP_CMP_EQ, f)}));
  // Read-only files: an allowed open runs when it only reads; asking to write is EPERM.
  for (const auto& f : kFileOpens) {
    if (!p.read_only_files || !allowed.count(f.name)) continue;
    const auto i = static_cast<unsigned>(f.flags_arg);
    if (f.flags_arg >= 0)
      FG_RETURN_IF_ERROR(
          add(f.name, SCMP_ACT_ALLOW, {SCMP_CMP(i, SCMP_CMP_MASKED_EQ, kWriteMask, 0)}));
    for (uint64_t b : kWriteFlags) {
      if (f.flags_arg < 0) break;
      FG_RETURN_IF_ERROR(
          add(f.name, SCMP_ACT_ERRNO(EPERM), {SCMP_CMP(i, SCMP_CMP_MASKED_EQ, b, b)}));
    }
    if (f.flags_arg < 0) FG_RETURN_IF_ERROR(add(f.name, SCMP_ACT_ERRNO(EPERM)));
  }
  for (const auto& n : SensitiveRefused(allowed)) FG_RETURN_IF_ERROR(add(n, sens));
  // clone: namespace flags are the sensitive part.
  if (CloneAllowed(allowed)) {
    FG_RETURN_IF_ERROR(
        add("clone", SCMP_ACT_ALLOW, {SCMP_A0(SCMP_CMP_MASKED_EQ, kCloneNsMask, 0)}));
    FG_RETURN_IF_ERROR(add("clone3", SCMP_ACT_ERRNO(ENOSYS)));
  }
  if (sens != ScmpAction(p.unlearned)) {
    for (uint64_t f : kCloneNsFlags)
      FG_RETURN_IF_ERROR(add("clone", sens, {SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)}));
  }
  // personality: asking for the current persona changes nothing.
  if (allowed.count("personality")) {
    FG_RETURN_IF_ERROR(add("personality", SCMP_ACT_ALLOW));
  } else {
    FG_RETURN_IF_ERROR(
        add("personality", SCMP_ACT_ALLOW, {SCMP_A0(SCMP_CMP_EQ, kPersonalityQuery)}));
    if (sens != ScmpAction(p.unlearned)) {
      FG_RETURN_IF_ERROR(add("personality", sens, {SCMP_A0(SCMP_CMP_NE, kPersonalityQuery)}));
    }
  }
  return absl::OkStatus();
}

struct CtxDeleter {
  void operator()(void* c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

absl::StatusOr<Ctx> NewCtx(const SeccompPolicy& p, uint32_t arch, bool nnp) {
  Ctx ctx(seccomp_init(ScmpAction(p.unlearned)));
  if (!ctx) return absl::InternalError("seccomp_init failed");
  auto attr = [&](scmp_filter_attr a, uint32_t v, const char* what) -> absl::Status {
    int rc = seccomp_attr_set(ctx.get(), a, v);
    if (rc != 0) return absl::InternalError(absl::StrCat("seccomp ", what, ": ", strerror(-rc)));
    return absl::OkStatus();
  };
  FG_RETURN_IF_ERROR(attr(SCMP_FLTATR_CTL_NNP, nnp ? 1 : 0, "no_new_privs"));
  FG_RETURN_IF_ERROR(attr(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "bad arch"));
  if (arch != SCMP_ARCH_NATIVE && arch != seccomp_arch_native()) {
    int rc = seccomp_arch_add(ctx.get(), arch);
    if (rc == 0) rc = seccomp_arch_remove(ctx.get(), SCMP_ARCH_NATIVE);
    if (rc != 0) return absl::InternalError(absl::StrCat("seccomp arch: ", strerror(-rc)));
  }
  return ctx;
}

bool HasCapSysAdmin() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1;
}

uint32_t CompatArch() {
  switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
      return SCMP_ARCH_X86;
    case SCMP_ARCH_AARCH64:
      return SCMP_ARCH_ARM;
    default:
      return 0;
  }
}

const char* OciArchName(uint32_t arch) {
  switch (arch) {
    case SCMP_ARCH_X86_64:
      return "SCMP_ARCH_X86_64";
    case SCMP_ARCH_X86:
      return "SCMP_ARCH_X86";
    case SCMP_ARCH_AARCH64:
      return "SCMP_ARCH_AARCH64";
    case SCMP_ARCH_ARM:
      return "SCMP_ARCH_ARM";
    default:
      return nullptr;
  }
}

std::string Quoted(const std::vector<std::string>& names) {
  std::vector<std::string> q;
  for (const auto& n : names) q.push_back(absl::StrCat("\"", n, "\""));
  return absl::StrCat("[", absl::StrJoin(q, ", "), "]");
}

}  // namespace

SeccompPolicy SeccompPolicyFor(const v1::ContainerProfile& c, SeccompVerdict unlearned,
                               SeccompVerdict sensitive) {
  SeccompPolicy p;
  p.unlearned = unlearned;
  p.sensitive = sensitive;
  for (absl::string_view n : AlwaysAllowedSyscalls()) {
    p.native.emplace(n);
  }
  p.native.insert("execve");
  // Files: a section with file rules that never allow writing, creating or truncating.
  bool writes = false;
  for (const auto& f : c.files()) writes = writes || (FileAccessMask(f) & ~FG_FILE_READ);
  p.read_only_files = c.files_size() > 0 && !writes;
  // Thread-directed signals: what raise(), abort(), Go's preemption and Node's exit on SIGTERM
  // send to their own threads. A filter cannot see the target; refusing them breaks a runtime
  // on a path learning rarely sees (a signal-driven exit). sys_enter, where it runs, kills a
  // signal that reaches another process; under the filter the kernel's permission checks and
  // the PID namespace bound them (docs/security.md).
  p.native.insert("tgkill");
  p.native.insert("tkill");
  for (const auto& s : c.syscalls()) {
    auto arch = ParseArch(s.arch());
    if (arch && *arch == SyscallArch::kCompat)
      p.compat.insert(s.name());
    else
      p.native.insert(s.name());
  }
  if (!p.compat.empty()) {
    for (absl::string_view n : AlwaysAllowedSyscalls()) p.compat.emplace(n);
    for (const char* n : {"execve", "tgkill", "tkill"}) p.compat.insert(n);
  }
  if (c.sockets_size() > 0) {
    p.socket_families = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK};
    for (const auto& k : c.sockets())
      if (auto f = ParseFamily(k.family())) p.socket_families.insert(*f);
  }
  return p;
}

void AddRuntimeBaseline(SeccompPolicy* p) {
  static constexpr const char* kRuntime[] = {
      // runc's init, measured: with and without no_new_privs.
      "capget", "capset", "chdir", "close", "close_range", "epoll_ctl", "epoll_pwait", "execve",
      "faccessat2", "fchdir", "fcntl", "fstat", "fstatfs", "futex", "getcwd", "getdents64",
      "getpid", "getppid", "newfstatat", "openat", "prctl", "read", "setgid", "setgroups", "setuid",
      "write", "nanosleep",
      // Its Go runtime, at any moment: memory, signals, threads.
      "mmap", "munmap", "madvise", "mprotect", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
      "clone", "gettid", "sched_yield", "set_robust_list", "rseq", "exit", "exit_group"};
  for (const char* n : kRuntime) p->native.insert(n);
  p->read_only_files = false;  // runc's init opens its exec fifo O_WRONLY under the filter
}

absl::StatusOr<std::string> OciSeccompProfile(const SeccompPolicy& p) {
  const char* native = OciArchName(seccomp_arch_native());
  if (native == nullptr) return absl::UnimplementedError("seccomp: unsupported architecture");
  std::vector<std::string> arches = {absl::StrCat("\"", native, "\"")};
  if (!p.compat.empty() && OciArchName(CompatArch()))
    arches.push_back(absl::StrCat("\"", OciArchName(CompatArch()), "\""));
  std::set<std::string> allowed = p.native;
  allowed.insert(p.compat.begin(), p.compat.end());

  std::vector<std::string> rules;
  auto rule = [&](const std::vector<std::string>& names, const char* action,
                  const std::string& extra = "") {
    if (names.empty()) return;
    rules.push_back(absl::StrCat("    {\"names\": ", Quoted(names), ", \"action\": \"", action,
                                 "\"", extra, "}"));
  };
  auto arg = [](uint64_t value, uint64_t two, const char* op) {
    return absl::StrCat(", \"args\": [{\"index\": 0, \"value\": ", value, ", \"valueTwo\": ", two,
                        ", \"op\": \"", op, "\"}]");
  };
  const bool by_family = SocketByFamily(p.native, p);
  std::vector<std::string> plain;
  for (const auto& n : allowed)
    if (!Special(n) && !FileOpenSpecial(p, n) && n.rfind("syscall_", 0) != 0 &&
        !(by_family && n == "socket"))
      plain.push_back(n);
  rule(plain, "SCMP_ACT_ALLOW");
  if (by_family)
    for (uint32_t f : p.socket_families)
      rule({"socket"}, "SCMP_ACT_ALLOW", arg(f, 0, "SCMP_CMP_EQ"));
  for (const auto& f : kFileOpens) {
    if (!p.read_only_files || !allowed.count(f.name)) continue;
    auto argi = [&](uint64_t value, uint64_t two) {
      return absl::StrCat(", \"args\": [{\"index\": ", f.flags_arg, ", \"value\": ", value,
                          ", \"valueTwo\": ", two, ", \"op\": \"SCMP_CMP_MASKED_EQ\"}]");
    };
    if (f.flags_arg < 0) {
      rule({f.name}, "SCMP_ACT_ERRNO", ", \"errnoRet\": 1");
      continue;
    }
    rule({f.name}, "SCMP_ACT_ALLOW", argi(kWriteMask, 0));
    for (uint64_t b : kWriteFlags)
      rule({f.name}, "SCMP_ACT_ERRNO", absl::StrCat(argi(b, b), ", \"errnoRet\": 1"));
  }
  const bool sens_differs = p.sensitive != p.unlearned;
  const char* sens = OciAction(p.sensitive);
  const std::string sens_errno = p.sensitive == SeccompVerdict::kErrno ? ", \"errnoRet\": 1" : "";
  if (sens_differs) rule(SensitiveRefused(allowed), sens, sens_errno);
  if (CloneAllowed(allowed)) {
    rule({"clone"}, "SCMP_ACT_ALLOW", arg(kCloneNsMask, 0, "SCMP_CMP_MASKED_EQ"));
    rule({"clone3"}, "SCMP_ACT_ERRNO", ", \"errnoRet\": 38");
  }
  if (sens_differs)
    for (uint64_t f : kCloneNsFlags)
      rule({"clone"}, sens, absl::StrCat(arg(f, f, "SCMP_CMP_MASKED_EQ"), sens_errno));
  if (allowed.count("personality")) {
    rule({"personality"}, "SCMP_ACT_ALLOW");
  } else {
    rule({"personality"}, "SCMP_ACT_ALLOW", arg(kPersonalityQuery, 0, "SCMP_CMP_EQ"));
    if (sens_differs)
      rule({"personality"}, sens,
           absl::StrCat(arg(kPersonalityQuery, 0, "SCMP_CMP_NE"), sens_errno));
  }
  std::string def = absl::StrCat("  \"defaultAction\": \"", OciAction(p.unlearned), "\",\n");
  if (p.unlearned == SeccompVerdict::kErrno) absl::StrAppend(&def, "  \"defaultErrnoRet\": 1,\n");
  return absl::StrCat("{\n", def, "  \"architectures\": [", absl::StrJoin(arches, ", "),
                      "],\n  \"syscalls\": [\n", absl::StrJoin(rules, ",\n"), "\n  ]\n}\n");
}

namespace {

// The policy's filter, both architectures, in one libseccomp context.
absl::StatusOr<Ctx> BuildCtx(const SeccompPolicy& p, bool nnp) {
  auto ctx = NewCtx(p, SCMP_ARCH_NATIVE, nnp);
  if (!ctx.ok()) return ctx.status();
  FG_RETURN_IF_ERROR(AddRules(ctx->get(), seccomp_arch_native(), p.native, p));
  if (!p.compat.empty() && CompatArch() != 0) {
    auto compat = NewCtx(p, CompatArch(), nnp);
    if (!compat.ok()) return compat.status();
    FG_RETURN_IF_ERROR(AddRules(compat->get(), CompatArch(), p.compat, p));
    int rc = seccomp_merge(ctx->get(), compat->release());
    if (rc != 0) return absl::InternalError(absl::StrCat("seccomp merge: ", strerror(-rc)));
  }
  return ctx;
}

SeccompVerdict VerdictOf(v1::SyscallAction a) {
  switch (a) {
    case v1::SYSCALL_ACTION_ALERT:
      return SeccompVerdict::kAllow;
    case v1::SYSCALL_ACTION_KILL:
      return SeccompVerdict::kKill;
    default:
      return SeccompVerdict::kErrno;
  }
}

// 64-bit FNV-1a: names a document, not a secret.
std::string Digest(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[i] = kHex[h & 0xf];
  return out;
}

}  // namespace

absl::Status InstallSeccompFilter(const SeccompPolicy& p) {
  auto ctx = BuildCtx(p, !HasCapSysAdmin());
  if (!ctx.ok()) return ctx.status();
  int rc = seccomp_load(ctx->get());
  if (rc != 0) return absl::InternalError(absl::StrCat("seccomp load: ", strerror(-rc)));
  return absl::OkStatus();
}

absl::StatusOr<CompiledFilter> CompileSeccompFilter(const SeccompPolicy& p) {
  CompiledFilter out;
  out.no_new_privs = !HasCapSysAdmin();
  // The program is set apart from loading (no_new_privs is the caller's, at load time).
  auto ctx = BuildCtx(p, false);
  if (!ctx.ok()) return ctx.status();
  UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "fg-seccomp", MFD_CLOEXEC)));
  if (!mem.valid()) return ErrnoStatus(errno, "memfd_create");
  int rc = seccomp_export_bpf(ctx->get(), mem.get());
  if (rc != 0) return absl::InternalError(absl::StrCat("seccomp export: ", strerror(-rc)));
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS)
    return absl::InternalError(absl::StrCat("seccomp export: a program of ", size, " bytes"));
  out.program.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), out.program.data(), static_cast<size_t>(size), 0) != size)
    return ErrnoStatus(errno, "read the exported seccomp program");
  return out;
}

int LoadCompiledFilter(const CompiledFilter& f) {
  if (f.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  sock_fprog prog{static_cast<unsigned short>(f.program.size()),
                  const_cast<sock_filter*>(f.program.data())};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

absl::StatusOr<v1::SeccompPolicy> SeccompPolicyMessage(const v1::Profile& p,
                                                       const std::string& container,
                                                       bool runtime_baseline) {
  v1::SeccompPolicy m;
  m.set_enforce(p.mode() == v1::MODE_ENFORCE);
  m.set_unlearned(EffectiveUnlearnedAction(p.syscall_action()));
  m.set_sensitive(EffectiveSensitiveAction(p.sensitive_syscall_action()));
  const v1::ContainerProfile* c = FindContainer(p, container);
  SeccompPolicy policy = SeccompPolicyFor(c ? *c : v1::ContainerProfile(), VerdictOf(m.unlearned()),
                                          VerdictOf(m.sensitive()));
  if (runtime_baseline) AddRuntimeBaseline(&policy);
  for (const auto& n : policy.native) m.add_native(n);
  for (const auto& n : policy.compat) m.add_compat(n);
  m.set_read_only_files(policy.read_only_files);
  auto doc = OciSeccompProfile(policy);
  if (!doc.ok()) return doc.status();
  m.set_revision(Digest(*doc));
  m.set_oci_profile(std::move(*doc));
  return m;
}

SeccompPolicy SeccompPolicyFromMessage(const v1::SeccompPolicy& m) {
  SeccompPolicy p;
  p.native.insert(m.native().begin(), m.native().end());
  p.compat.insert(m.compat().begin(), m.compat().end());
  p.unlearned = VerdictOf(m.unlearned());
  p.sensitive = VerdictOf(m.sensitive());
  p.read_only_files = m.read_only_files();
  return p;
}

bool FilterEnforcesAlone(const v1::SeccompPolicy& m) {
  return m.enforce() && VerdictOf(m.unlearned()) != SeccompVerdict::kAllow &&
         VerdictOf(m.sensitive()) != SeccompVerdict::kAllow;
}

namespace {

using google::protobuf::Value;

const Value* FieldOf(const google::protobuf::Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string NumberText(const Value* v) {
  if (v == nullptr || v->kind_case() != Value::kNumberValue) return "-";
  const double d = v->number_value();
  if (d >= 0 && d < 18446744073709551616.0 && d == static_cast<double>(static_cast<uint64_t>(d)))
    return absl::StrCat(static_cast<uint64_t>(d));
  return absl::StrCat(d);
}

std::string TextOf(const Value* v) {
  return v != nullptr && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}

// An errno action without its number refuses with EPERM (runc, crun): the same filter.
std::string ErrnoOf(const std::string& action, const Value* ret) {
  if (action != "SCMP_ACT_ERRNO" && action != "SCMP_ACT_TRACE") return "-";
  std::string n = NumberText(ret);
  return n == "-" && action == "SCMP_ACT_ERRNO" ? "1" : n;
}

std::vector<std::string> SortedStrings(const Value* v) {
  std::vector<std::string> out;
  if (v != nullptr && v->kind_case() == Value::kListValue)
    for (const auto& e : v->list_value().values()) out.push_back(TextOf(&e));
  std::sort(out.begin(), out.end());
  return out;
}

// One line per (syscall, action, errno, arguments), sorted: the filter, not its spelling.
absl::StatusOr<std::string> CanonicalSeccomp(const std::string& json) {
  google::protobuf::Struct s;
  if (!google::protobuf::util::JsonStringToMessage(json, &s).ok())
    return absl::InvalidArgumentError("a seccomp profile must be a JSON object");
  const std::string def = TextOf(FieldOf(s, "defaultAction"));
  if (def.empty()) return absl::InvalidArgumentError("a seccomp profile needs a defaultAction");
  std::vector<std::string> lines;
  const Value* rules = FieldOf(s, "syscalls");
  if (rules != nullptr && rules->kind_case() == Value::kListValue) {
    for (const auto& r : rules->list_value().values()) {
      if (r.kind_case() != Value::kStructValue)
        return absl::InvalidArgumentError("a seccomp rule must be an object");
      const auto& rs = r.struct_value();
      const std::string action = TextOf(FieldOf(rs, "action"));
      std::vector<std::string> args;
      const Value* a = FieldOf(rs, "args");
      if (a != nullptr && a->kind_case() == Value::kListValue)
        for (const auto& x : a->list_value().values()) {
          if (x.kind_case() != Value::kStructValue) continue;
          const auto& xs = x.struct_value();
          const Value* two = FieldOf(xs, "valueTwo");
          args.push_back(absl::StrCat(NumberText(FieldOf(xs, "index")), ":",
                                      NumberText(FieldOf(xs, "value")), ":",
                                      two ? NumberText(two) : "0", ":", TextOf(FieldOf(xs, "op"))));
        }
      std::sort(args.begin(), args.end());
      const std::string tail =
          absl::StrCat(" ", action, " ", ErrnoOf(action, FieldOf(rs, "errnoRet")), " [",
                       absl::StrJoin(args, ","), "]");
      for (const auto& n : SortedStrings(FieldOf(rs, "names"))) lines.push_back(n + tail);
    }
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  return absl::StrCat("default ", def, " ", ErrnoOf(def, FieldOf(s, "defaultErrnoRet")),
                      "\narchitectures ",
                      absl::StrJoin(SortedStrings(FieldOf(s, "architectures")), ","), "\nflags ",
                      absl::StrJoin(SortedStrings(FieldOf(s, "flags")), ","), "\nlistener ",
                      TextOf(FieldOf(s, "listenerPath")), "\n", absl::StrJoin(lines, "\n"));
}

}  // namespace

absl::StatusOr<bool> SameSeccompFilter(const std::string& runtime_spec,
                                       const std::string& oci_profile) {
  auto a = CanonicalSeccomp(runtime_spec);
  if (!a.ok()) return a.status();
  auto b = CanonicalSeccomp(oci_profile);
  if (!b.ok()) return b.status();
  return *a == *b;
}

}  // namespace faasguard
