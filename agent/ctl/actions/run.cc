// run: a command in a fresh cgroup, registered before its first instruction; when it ends,
// whatever it left in the cgroup is killed, then the cgroup is unregistered and removed.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cgroup/cgroup.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "ctl/actions/actions.h"
#include "profile/names.h"
#include "seccomp/seccomp_policy.h"

namespace faasguard::actions {
namespace {

// execvp's search path when PATH is not set (confstr _CS_PATH).
constexpr char kDefaultPath[] = "/bin:/usr/bin";

volatile sig_atomic_t g_child = 0;

void ForwardSignal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

// 127 for a command that is not there, 126 for one that cannot be executed, as a shell says.
int ExitFor(absl::StatusCode code) { return code == absl::StatusCode::kNotFound ? 127 : 126; }

// OK when `file` can be executed; NotFound / PermissionDenied (a directory, no permission),
// the message saying why without naming the file.
absl::Status CheckExecutable(const std::string& file) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    absl::Status s = ErrnoStatus(errno, "");
    return absl::Status(s.code(), absl::StripPrefix(s.message(), ": "));
  }
  if (S_ISDIR(st.st_mode)) return absl::PermissionDeniedError("it is a directory");
  if (::access(file.c_str(), X_OK) != 0)
    return absl::PermissionDeniedError("not executable (no execute permission)");
  return absl::OkStatus();
}

// What the child reports when it cannot exec the command: the step that failed and errno.
struct ChildFailure {
  enum Step : int { kCgroup = 1, kSeccomp = 2, kExec = 3 };
  int step = 0;
  int err = 0;
};

// The child: joins the cgroup (before its first instruction as the command), installs the
// function's seccomp filter when it is enforced, then execs. Only async-signal-safe calls. A
// failure is reported through `report` (close-on-exec: a successful exec closes it without a
// word); the command never runs without the filter it should have.
[[noreturn]] void ExecInCgroup(int procs, int report, const std::string& program,
                               std::vector<char*>& argv, const CompiledFilter* filter) {
  ChildFailure f;
  if (::write(procs, "0", 1) != 1) {
    f = {ChildFailure::kCgroup, errno};
  } else if (filter != nullptr && (f.err = LoadCompiledFilter(*filter)) != 0) {
    f.step = ChildFailure::kSeccomp;
  } else {
    ::execvp(program.c_str(), argv.data());  // a path: no search; a script without #! runs in sh
    f = {ChildFailure::kExec, errno};
  }
  (void)!::write(report, &f, sizeof f);
  ::_exit(f.step == ChildFailure::kExec && f.err == ENOENT ? 127 : 126);
}

// The command's exit status: its own, 128+N when signal N killed it. Reaps with __WALL until
// the command itself is reaped: if a thread of it made itself a tracee of ours
// (PTRACE_TRACEME) before it was killed, only __WALL lets it go, and the command's own exit
// status waits for it.
int WaitFor(pid_t pid) {
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(-1, &st, __WALL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return kExitError;
    if (r != pid) continue;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return kExitError;
  }
}

// Twice at most: when the agent restarted while the command ran, the first call fails on the
// old connection (UNAVAILABLE) and the second one reaches the new agent. (Failing both, the
// agent still untracks the cgroup when the cgroup is removed.)
void Unregister(Invocation& in, const std::string& dir, uint64_t cgroup_id) {
  v1::UnregisterCgroupRequest req;
  req.set_cgroup_path(dir);
  req.set_cgroup_id(cgroup_id);
  v1::UnregisterCgroupResponse resp;
  grpc::Status s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto ctx = in.client.Context();
    if (attempt > 0) {  // a new agent may still be starting: wait for it, briefly
      ctx->set_wait_for_ready(true);
      ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
    s = in.client.stub().UnregisterCgroup(ctx.get(), req, &resp);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  if (!s.ok())
    in.err << "faasguardctl: warning: unregister " << dir << ": " << s.error_message() << "\n";
}

// A function this run created and whose command never ran: forgotten again, so that a typo
// leaves nothing behind.
void Forget(Invocation& in, const v1::FunctionId& id) {
  v1::DeleteProfileRequest req;
  *req.mutable_function() = id;
  v1::DeleteProfileResponse resp;
  CallError e;
  if (in.client.Call(&v1::Agent::Stub::DeleteProfile, req, &resp, &e) != kExitOk)
    in.err << "faasguardctl: warning: could not delete " << FunctionRef(id)
           << ", which this run created: " << e.message << "\n";
}

}  // namespace

absl::StatusOr<std::string> ResolveCommand(const std::string& name, const std::string& path) {
  if (name.empty()) return absl::NotFoundError("an empty command");
  if (name.find('/') != std::string::npos) {
    FG_RETURN_IF_ERROR(CheckExecutable(name));
    return name;
  }
  absl::Status denied;  // the first file found that cannot be executed
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    std::string file = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    struct stat st;
    if (::stat(file.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    absl::Status s = CheckExecutable(file);
    if (s.ok()) return file;
    if (denied.ok()) denied = absl::Status(s.code(), absl::StrCat(file, ": ", s.message()));
  }
  if (!denied.ok()) return denied;
  return absl::NotFoundError("command not found (not in PATH)");
}

int Run(Invocation& in) {
  if (!in.args.Get("server").empty())
    return in.Usage("run works on this machine only: use the agent's Unix socket");
  if (!in.args.Has("function")) return in.Usage("run needs --function NAME");
  auto id = in.Function(in.args.Get("function"));
  if (!id.ok()) return in.Usage(id.status().message());
  std::string container = in.args.Get("container", std::string(kDefaultContainer));
  if (absl::Status s = ValidateLabel(container, "container name"); !s.ok())
    return in.Usage(s.message());
  const std::vector<std::string>& cmd = in.args.rest;
  const char* path = std::getenv("PATH");
  auto program = ResolveCommand(cmd[0], path ? path : kDefaultPath);
  if (!program.ok())
    return in.Fail(absl::StrCat("cannot run ", cmd[0], ": ", program.status().message()),
                   ExitFor(program.status().code()));
  CallError e;
  if (int code = in.client.Connect(&e)) return in.Fail(e.message, code);
  auto mount = DiscoverCgroup2Mount();
  if (!mount.ok()) return in.Fail(mount.status().message());

  // Whether this run creates the function: if its command cannot be executed, it is deleted.
  v1::GetFunctionRequest get;
  *get.mutable_function() = *id;
  v1::FunctionSummary existing;
  int code = in.client.Call(&v1::Agent::Stub::GetFunction, get, &existing, &e);
  if (code != kExitOk && code != kExitNotFound) return in.Fail(e.message, code);
  const bool creates = code == kExitNotFound;

  // In enforce mode the command runs under the function's seccomp filter, compiled here (the
  // child may not allocate): its unlearned syscalls are refused before they run.
  std::optional<CompiledFilter> filter;
  std::string revision;
  if (!creates) {
    v1::GetSeccompPolicyRequest preq;
    *preq.mutable_function() = *id;
    preq.set_container(container);
    v1::SeccompPolicy policy;
    auto ctx = in.client.Context();
    grpc::Status ps = in.client.stub().GetSeccompPolicy(ctx.get(), preq, &policy);
    // An agent older than the seccomp path: sys_enter alone checks the command.
    const bool old_agent = ps.error_code() == grpc::StatusCode::UNIMPLEMENTED;
    if (!ps.ok() && !old_agent) {
      code = in.client.Check(ps, &e);
      return in.Fail(absl::StrCat("cannot get the seccomp policy: ", e.message), code);
    }
    if (ps.ok() && policy.enforce()) {
      auto compiled = CompileSeccompFilter(SeccompPolicyFromMessage(policy));
      if (!compiled.ok())
        return in.Fail(absl::StrCat("cannot compile the seccomp filter of ", FunctionRef(*id), ": ",
                                    compiled.status().message()));
      filter = std::move(*compiled);
      if (FilterEnforcesAlone(policy)) revision = policy.revision();
    }
  }

  std::string dir =
      absl::StrCat(*mount, "/faasguard/", id->namespace_(), "_", id->name(), "-", ::getpid());
  if (absl::Status s = CreateCgroup(dir); !s.ok())
    return in.Fail(
        absl::StrCat("cannot create cgroup ", dir, ": ", s.message(),
                     s.code() == absl::StatusCode::kPermissionDenied ? " (run as root)" : ""));
  v1::RegisterCgroupRequest req;
  *req.mutable_function() = *id;
  req.set_container(container);
  req.set_cgroup_path(dir);
  req.set_seccomp_revision(revision);
  v1::RegisterCgroupResponse resp;
  if ((code = in.Call(&v1::Agent::Stub::RegisterCgroup, req, &resp))) {
    (void)RemoveCgroup(dir);
    return code;
  }

  UniqueFd procs(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  int pipefd[2];
  if (!procs.valid() || ::pipe2(pipefd, O_CLOEXEC) != 0) {
    in.Fail(absl::StrCat("cannot prepare cgroup ", dir, ": ", std::strerror(errno)));
    Unregister(in, dir, resp.cgroup_id());
    (void)RemoveCgroup(dir);
    if (creates) Forget(in, *id);
    return kExitError;
  }
  UniqueFd report(pipefd[0]), report_w(pipefd[1]);
  std::vector<char*> argv;
  for (const auto& s : cmd) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0)
    ExecInCgroup(procs.get(), report_w.get(), *program, argv, filter ? &*filter : nullptr);
  report_w.Reset();
  int result = kExitError;
  bool never_ran = false;
  if (pid < 0) {
    in.Fail(absl::StrCat("fork: ", std::strerror(errno)));
    never_ran = true;
  } else {
    g_child = pid;
    struct sigaction sa {};
    sa.sa_handler = ForwardSignal;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
    ChildFailure failure;
    ssize_t n;
    do n = ::read(report.get(), &failure, sizeof failure);
    while (n < 0 && errno == EINTR);
    report.Reset();
    result = WaitFor(pid);
    g_child = 0;
    if (n == sizeof failure) {
      never_ran = true;
      const bool missing = failure.step == ChildFailure::kExec && failure.err == ENOENT;
      result = missing ? 127 : 126;
      const char* step = failure.step == ChildFailure::kCgroup ? "cannot join cgroup: "
                         : failure.step == ChildFailure::kSeccomp
                             ? "cannot install seccomp filter: "
                             : "";
      in.Fail(absl::StrCat("cannot run ", cmd[0], ": ", step, std::strerror(failure.err),
                           missing ? " (its interpreter or loader is missing?)" : ""),
              result);
    }
  }
  // What the command left in its cgroup (a daemon it double-forked, a process it forgot) is
  // killed while the cgroup is still tracked: nothing of it runs untracked for an instant.
  if (absl::Status es = EmptyCgroup(dir); !es.ok())
    in.err << "faasguardctl: warning: " << es.message() << " (left tracked)\n";
  else
    Unregister(in, dir, resp.cgroup_id());
  if (absl::Status rs = RemoveCgroup(dir); !rs.ok())
    in.err << "faasguardctl: warning: " << rs.message() << "\n";
  if (never_ran && creates) Forget(in, *id);
  return result;
}

}  // namespace faasguard::actions
