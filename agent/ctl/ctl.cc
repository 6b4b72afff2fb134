#include "ctl/ctl.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cgroup/cgroup.h"
#include "common/args.h"
#include "common/unique_fd.h"
#include "ctl/format.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

constexpr char kDefaultSocket[] = "/run/faasguard/agent.sock";

const std::vector<FlagDef>& CtlFlags() {
  static const std::vector<FlagDef> defs = {
      {"socket", 0, true, "PATH", "the agent's Unix socket", kDefaultSocket},
      {"output", 'o', true, "table|json", "output format", "table"},
      {"function", 'f', true, "NAME", "run: the function name", ""},
      {"namespace", 'n', true, "NS", "run: the function's namespace", "default"},
      {"container", 'c', true, "NAME", "run: the container name", "main"},
      {"syscall-action", 0, true, "kill|alert",
       "mode: what enforce does to a syscall outside the profile", "kill"},
      {"limit", 0, true, "N", "violations: how many of the newest to show", "100"},
      {"help", 'h', false, "", "show this help", ""},
      {"version", 0, false, "", "print the version", ""},
  };
  return defs;
}

void Usage(std::ostream& os) {
  os << "Usage: faasguardctl [flags] COMMAND [ARGS]\n\n"
        "Commands:\n"
        "  run --function NAME [--namespace NS] [--container C] -- CMD [ARGS...]\n"
        "                          run CMD in a fresh cgroup tracked as that function\n"
        "  functions               list the functions on this node\n"
        "  profile show NS/NAME    show a function's learned profile\n"
        "  profile accept NS/NAME ID\n"
        "                          add what violation ID attempted to the profile\n"
        "  mode NS/NAME learn|monitor|enforce [--syscall-action kill|alert]\n"
        "                          switch a function (all its replicas at once)\n"
        "  violations [NS/NAME] [--limit N]\n"
        "                          what functions did outside their profile\n"
        "  status                  agent version, kernel features, programs, counters\n\n"
        "Flags:\n"
     << FlagsHelp(CtlFlags())
     << "\nExit codes:\n"
        "  0  success (run: the command's own exit status; 128+N if it was killed by signal N)\n"
        "  1  the agent refused or failed the request\n"
        "  2  bad command line\n"
        "  3  the agent cannot be reached\n"
        "  4  unknown function or cgroup\n";
}

int Usage(std::ostream& err, const std::string& msg) {
  err << "faasguardctl: " << msg << "\nRun 'faasguardctl --help' for usage.\n";
  return kExitUsage;
}

class Client {
 public:
  explicit Client(std::string socket) : socket_(std::move(socket)) {}

  // Fails early, with a clear message, when no agent socket exists.
  bool Check(std::ostream& err) {
    struct stat st;
    if (::stat(socket_.c_str(), &st) != 0) {
      err << "faasguardctl: cannot reach the faasguard agent at " << socket_ << ": "
          << std::strerror(errno) << " (is faasguard-agent running? use --socket)\n";
      return false;
    }
    return true;
  }

  v1::Agent::Stub& stub() {
    if (!stub_) {
      auto ch = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
      stub_ = v1::Agent::NewStub(ch);
    }
    return *stub_;
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  }

  // Prints the error and returns the exit code for a failed call.
  int Fail(const grpc::Status& s, std::ostream& err) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      err << "faasguardctl: cannot reach the faasguard agent at " << socket_ << ": "
          << s.error_message() << "\n";
      return kExitUnavailable;
    }
    err << "faasguardctl: " << s.error_message() << "\n";
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return kExitNotFound;
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) return kExitUsage;
    return kExitError;
  }

 private:
  std::string socket_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

int CmdFunctions(Client& c, const std::string& output, std::ostream& out, std::ostream& err) {
  v1::ListFunctionsResponse r;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().ListFunctions(ctx.get(), v1::ListFunctionsRequest(), &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json")
    out << MessageToJson(r) << "\n";
  else
    out << RenderFunctions(r, absl::Now());
  return kExitOk;
}

int CmdProfileShow(Client& c, const v1::FunctionId& id, const std::string& output,
                   std::ostream& out, std::ostream& err) {
  v1::GetProfileRequest req;
  *req.mutable_function() = id;
  v1::GetProfileResponse r;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().GetProfile(ctx.get(), req, &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json")
    out << ProfileToJson(r.profile()) << "\n";
  else
    out << RenderProfile(r.profile());
  return kExitOk;
}

int CmdStatus(Client& c, const std::string& output, std::ostream& out, std::ostream& err) {
  v1::GetStatusResponse r;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().GetStatus(ctx.get(), v1::GetStatusRequest(), &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json")
    out << MessageToJson(r) << "\n";
  else
    out << RenderStatus(r);
  return kExitOk;
}

int CmdMode(Client& c, const v1::FunctionId& id, v1::Mode mode,
            std::optional<v1::SyscallAction> action, const std::string& output, std::ostream& out,
            std::ostream& err) {
  v1::SetModeRequest req;
  *req.mutable_function() = id;
  req.set_mode(mode);
  if (action) req.set_syscall_action(*action);
  v1::SetModeResponse r;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().SetMode(ctx.get(), req, &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json") {
    out << MessageToJson(r) << "\n";
  } else {
    out << FunctionRef(id) << ": " << ModeName(r.previous()) << " -> " << ModeName(r.mode());
    if (r.mode() != v1::MODE_LEARN) out << " (" << r.rules() << " allow-list entries in force)";
    out << "\n";
  }
  return kExitOk;
}

int CmdViolations(Client& c, const v1::FunctionId* id, uint32_t limit, const std::string& output,
                  std::ostream& out, std::ostream& err) {
  v1::ListViolationsRequest req;
  if (id) *req.mutable_function() = *id;
  req.set_limit(limit);
  v1::ListViolationsResponse r;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().ListViolations(ctx.get(), req, &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json")
    out << MessageToJson(r) << "\n";
  else
    out << RenderViolations(r, absl::Now());
  return kExitOk;
}

int CmdAccept(Client& c, const v1::FunctionId& id, uint64_t vid, const std::string& output,
              std::ostream& out, std::ostream& err) {
  v1::AcceptViolationRequest req;
  *req.mutable_function() = id;
  req.set_id(vid);
  v1::AcceptViolationResponse r;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().AcceptViolation(ctx.get(), req, &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json")
    out << MessageToJson(r) << "\n";
  else
    out << "violation " << vid << " (" << r.violation().kind() << " " << r.violation().attempted()
        << ") " << (r.added() ? "added to the profile of " : "was already in the profile of ")
        << FunctionRef(id) << "\n";
  return kExitOk;
}

volatile sig_atomic_t g_child = 0;

void ForwardSignal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

// run: a fresh cgroup, registered before the command's first instruction, removed after.
int CmdRun(Client& c, const v1::FunctionId& id, const std::string& container,
           const std::vector<std::string>& cmd, std::ostream& err) {
  auto mount = DiscoverCgroup2Mount();
  if (!mount.ok()) {
    err << "faasguardctl: " << mount.status().message() << "\n";
    return kExitError;
  }
  std::string dir =
      absl::StrCat(*mount, "/faasguard/", id.namespace_(), "_", id.name(), "-", ::getpid());
  if (absl::Status s = CreateCgroup(dir); !s.ok()) {
    err << "faasguardctl: cannot create cgroup " << dir << ": " << s.message()
        << (s.code() == absl::StatusCode::kPermissionDenied ? " (run as root)" : "") << "\n";
    return kExitError;
  }
  v1::RegisterCgroupRequest req;
  *req.mutable_function() = id;
  req.set_container(container);
  req.set_cgroup_path(dir);
  v1::RegisterCgroupResponse resp;
  auto ctx = c.Ctx();
  grpc::Status s = c.stub().RegisterCgroup(ctx.get(), req, &resp);
  if (!s.ok()) {
    (void)RemoveCgroup(dir);
    return c.Fail(s, err);
  }

  UniqueFd procs(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  int pipefd[2];
  if (!procs.valid() || ::pipe2(pipefd, O_CLOEXEC) != 0) {
    err << "faasguardctl: cannot prepare cgroup " << dir << ": " << std::strerror(errno) << "\n";
    (void)RemoveCgroup(dir);
    return kExitError;
  }
  std::vector<char*> argv;
  for (const auto& s : cmd) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::close(pipefd[0]);
    int e = 0;
    if (::write(procs.get(), "0", 1) != 1) {
      e = errno;
    } else {
      ::execvp(argv[0], argv.data());
      e = errno;
    }
    (void)!::write(pipefd[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int result = kExitError;
  if (pid < 0) {
    err << "faasguardctl: fork: " << std::strerror(errno) << "\n";
    ::close(pipefd[0]);
  } else {
    g_child = pid;
    struct sigaction sa {};
    sa.sa_handler = ForwardSignal;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
    int child_errno = 0;
    ssize_t n;
    do n = ::read(pipefd[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    ::close(pipefd[0]);
    // Reap with __WALL until the command itself is reaped: if a thread of it made itself a
    // tracee of ours (PTRACE_TRACEME) before it was killed, only __WALL lets it go, and the
    // command's own exit status waits for it.
    int status = 0;
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(-1, &st, __WALL);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (r == pid) {
        status = st;
        break;
      }
    }
    g_child = 0;
    if (n == sizeof child_errno) {
      err << "faasguardctl: cannot run " << cmd[0] << ": " << std::strerror(child_errno) << "\n";
      result = child_errno == ENOENT ? 127 : 126;
    } else if (WIFEXITED(status)) {
      result = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result = 128 + WTERMSIG(status);
    }
  }
  v1::UnregisterCgroupRequest ureq;
  ureq.set_cgroup_path(dir);
  ureq.set_cgroup_id(resp.cgroup_id());
  v1::UnregisterCgroupResponse uresp;
  auto uctx = c.Ctx();
  grpc::Status us = c.stub().UnregisterCgroup(uctx.get(), ureq, &uresp);
  if (!us.ok())
    err << "faasguardctl: warning: unregister " << dir << ": " << us.error_message() << "\n";
  if (absl::Status rs = RemoveCgroup(dir); !rs.ok())
    err << "faasguardctl: warning: " << rs.message() << "\n";
  return result;
}

}  // namespace

int RunCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = ParseArgs(CtlFlags(), args);
  if (!parsed.ok()) return Usage(err, std::string(parsed.status().message()));
  const ParsedArgs& a = *parsed;
  if (a.Has("help")) {
    Usage(out);
    return kExitOk;
  }
  if (a.Has("version")) {
    out << "faasguardctl 0.1.0\n";
    return kExitOk;
  }
  if (a.positional.empty()) return Usage(err, "no command given");
  std::string output = a.Get("output", "table");
  if (output != "table" && output != "json")
    return Usage(err, absl::StrCat("unknown output format \"", output, "\" (table or json)"));
  const std::string& cmd = a.positional[0];
  auto extra = [&](size_t want) -> int {
    if (a.positional.size() > want)
      return Usage(err, absl::StrCat("unexpected argument \"", a.positional[want], "\" for ", cmd));
    if (a.double_dash && cmd != "run") return Usage(err, absl::StrCat(cmd, " takes no \"--\""));
    return -1;
  };
  auto only_for = [&]() -> int {
    for (const char* f : {"function", "namespace", "container"})
      if (a.Has(f) && cmd != "run")
        return Usage(err, absl::StrCat("flag --", f, " is only for run"));
    if (a.Has("syscall-action") && cmd != "mode")
      return Usage(err, "flag --syscall-action is only for mode");
    if (a.Has("limit") && cmd != "violations")
      return Usage(err, "flag --limit is only for violations");
    return -1;
  };
  if (int r = only_for(); r >= 0) return r;
  Client client(a.Get("socket", kDefaultSocket));

  if (cmd == "run") {
    if (a.positional.size() > 1)
      return Usage(err, absl::StrCat("unexpected argument \"", a.positional[1],
                                     "\": put the command after \"--\""));
    if (!a.Has("function")) return Usage(err, "run needs --function NAME");
    if (!a.double_dash || a.rest.empty())
      return Usage(err,
                   "run needs a command after \"--\" (faasguardctl run --function NAME -- CMD)");
    auto id = ParseFunctionRef(absl::StrCat(a.Get("namespace", "default"), "/", a.Get("function")));
    if (!id.ok()) return Usage(err, std::string(id.status().message()));
    std::string container = a.Get("container", "main");
    if (absl::Status s = ValidateLabel(container, "container name"); !s.ok())
      return Usage(err, std::string(s.message()));
    if (!client.Check(err)) return kExitUnavailable;
    return CmdRun(client, *id, container, a.rest, err);
  }
  if (cmd == "functions") {
    if (int r = extra(1); r >= 0) return r;
    if (!client.Check(err)) return kExitUnavailable;
    return CmdFunctions(client, output, out, err);
  }
  if (cmd == "status") {
    if (int r = extra(1); r >= 0) return r;
    if (!client.Check(err)) return kExitUnavailable;
    return CmdStatus(client, output, out, err);
  }
  if (cmd == "profile") {
    if (a.positional.size() < 2) return Usage(err, "profile needs a subcommand: show or accept");
    const std::string& sub = a.positional[1];
    if (sub != "show" && sub != "accept")
      return Usage(err, absl::StrCat("unknown profile subcommand \"", sub, "\""));
    if (a.positional.size() < 3) return Usage(err, absl::StrCat("profile ", sub, " needs NS/NAME"));
    auto id = ParseFunctionRef(a.positional[2]);
    if (!id.ok()) return Usage(err, std::string(id.status().message()));
    if (sub == "show") {
      if (int r = extra(3); r >= 0) return r;
      if (!client.Check(err)) return kExitUnavailable;
      return CmdProfileShow(client, *id, output, out, err);
    }
    if (a.positional.size() < 4) return Usage(err, "profile accept needs NS/NAME ID");
    if (int r = extra(4); r >= 0) return r;
    uint64_t vid;
    if (!absl::SimpleAtoi(a.positional[3], &vid) || vid == 0)
      return Usage(err,
                   absl::StrCat("violation id \"", a.positional[3], "\" is not a positive number"));
    if (!client.Check(err)) return kExitUnavailable;
    return CmdAccept(client, *id, vid, output, out, err);
  }
  if (cmd == "mode") {
    if (a.positional.size() < 3) return Usage(err, "mode needs NS/NAME and learn|monitor|enforce");
    if (int r = extra(3); r >= 0) return r;
    auto id = ParseFunctionRef(a.positional[1]);
    if (!id.ok()) return Usage(err, std::string(id.status().message()));
    const std::string& m = a.positional[2];
    v1::Mode mode = m == "learn"     ? v1::MODE_LEARN
                    : m == "monitor" ? v1::MODE_MONITOR
                    : m == "enforce" ? v1::MODE_ENFORCE
                                     : v1::MODE_UNSPECIFIED;
    if (mode == v1::MODE_UNSPECIFIED)
      return Usage(err, absl::StrCat("unknown mode \"", m, "\" (learn, monitor or enforce)"));
    std::optional<v1::SyscallAction> action;
    if (a.Has("syscall-action")) {
      std::string act = a.Get("syscall-action");
      if (act == "kill")
        action = v1::SYSCALL_ACTION_KILL;
      else if (act == "alert")
        action = v1::SYSCALL_ACTION_ALERT;
      else
        return Usage(err, absl::StrCat("unknown syscall action \"", act, "\" (kill or alert)"));
    }
    if (!client.Check(err)) return kExitUnavailable;
    return CmdMode(client, *id, mode, action, output, out, err);
  }
  if (cmd == "violations") {
    if (int r = extra(2); r >= 0) return r;
    std::optional<v1::FunctionId> id;
    if (a.positional.size() == 2) {
      auto parsed = ParseFunctionRef(a.positional[1]);
      if (!parsed.ok()) return Usage(err, std::string(parsed.status().message()));
      id = *parsed;
    }
    uint32_t limit = 100;
    if (a.Has("limit") &&
        (!absl::SimpleAtoi(a.Get("limit"), &limit) || limit == 0 || limit > 10000))
      return Usage(err, "--limit must be a number from 1 to 10000");
    if (!client.Check(err)) return kExitUnavailable;
    return CmdViolations(client, id ? &*id : nullptr, limit, output, out, err);
  }
  return Usage(err, absl::StrCat("unknown command \"", cmd, "\""));
}

}  // namespace faasguard
