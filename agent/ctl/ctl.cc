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
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cgroup/cgroup.h"
#include "common/args.h"
#include "common/files.h"
#include "common/unique_fd.h"
#include "common/version.h"
#include "ctl/format.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "profile/convert.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

constexpr char kDefaultSocket[] = "/run/faasguard/agent.sock";

const std::vector<FlagDef>& CtlFlags() {
  static const std::vector<FlagDef> defs = {
      {"socket", 0, true, "PATH", "the agent's Unix socket", kDefaultSocket},
      {"server", 0, true, "HOST:PORT", "reach the agent over TCP instead (mutual TLS)", ""},
      {"tls-cert", 0, true, "FILE", "--server: this client's certificate (PEM)", ""},
      {"tls-key", 0, true, "FILE", "--server: its private key (PEM)", ""},
      {"tls-ca", 0, true, "FILE", "--server: CA of the agent's certificate (PEM)", ""},
      {"insecure", 0, false, "", "--server without TLS (the agent must allow it)", ""},
      {"output", 'o', true, "table|json|yaml", "output format (yaml: profiles only)", "table"},
      {"function", 'f', true, "NAME", "run: the function name", ""},
      {"namespace", 'n', true, "NS", "run: the function's namespace", "default"},
      {"container", 'c', true, "NAME", "run: the container name", "main"},
      {"syscall-action", 0, true, "kill|alert",
       "mode: what enforce does to a syscall outside the profile", "kill"},
      {"when-agent-absent", 0, true, "closed|open",
       "mode: while no agent runs, keep enforcing (closed) or only report (open)", "closed"},
      {"default", 0, false, "", "mode: set the node's default for new functions", ""},
      {"limit", 0, true, "N", "violations: how many of the newest to show", "100"},
      {"format", 0, true, "plain|crd", "profile export: a plain profile or a FunctionProfile",
       "plain"},
      {"file", 0, true, "PATH", "profile export: write here instead of stdout", ""},
      {"merge", 0, false, "", "profile import: merge into the existing profile", ""},
      {"follow", 0, false, "", "events: keep printing new events (Ctrl-C to stop)", ""},
      {"kind", 0, true, "new|violation|lifecycle", "events: only this kind (repeatable: a,b)", ""},
      {"replay", 0, true, "N", "events: the N most recent first", "20"},
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
        "  status                  agent, kernel features, programs, counters\n"
        "  functions [NS/NAME]     the functions on this node (or one, in detail)\n"
        "  profile show NS/NAME    a function's profile (-o json|yaml for the document)\n"
        "  profile export NS/NAME [--format plain|crd] [-o json|yaml] [--file PATH]\n"
        "  profile import FILE... [--merge]\n"
        "                          plain profiles or FunctionProfile resources, JSON or YAML\n"
        "                          (several YAML documents per file; \"-\" reads stdin)\n"
        "  profile diff NS/NAME FILE\n"
        "                          what FILE has that the agent's profile has not, and back\n"
        "  profile accept NS/NAME ID\n"
        "                          add what violation ID attempted to the profile\n"
        "  profile delete NS/NAME  forget a function (no replicas may be running)\n"
        "  mode NS/NAME learn|monitor|enforce [--syscall-action kill|alert]\n"
        "                          [--when-agent-absent closed|open]\n"
        "  mode --default learn|monitor|enforce\n"
        "  violations [NS/NAME] [--limit N]\n"
        "  events [NS/NAME] [--follow] [--kind new,violation,lifecycle] [--replay N]\n\n"
        "Flags:\n"
     << FlagsHelp(CtlFlags())
     << "\nExit codes:\n"
        "  0  success (run: the command's own exit status; 128+N if it was killed by signal N)\n"
        "  1  the agent refused or failed the request\n"
        "  2  bad command line, or a request the agent found invalid\n"
        "  3  the agent cannot be reached\n"
        "  4  unknown function, cgroup or violation\n";
}

int Usage(std::ostream& err, const std::string& msg) {
  err << "faasguardctl: " << msg << "\nRun 'faasguardctl --help' for usage.\n";
  return kExitUsage;
}

class Client {
 public:
  explicit Client(const ParsedArgs& a)
      : socket_(a.Get("socket", kDefaultSocket)),
        server_(a.Get("server")),
        cert_(a.Get("tls-cert")),
        key_(a.Get("tls-key")),
        ca_(a.Get("tls-ca")),
        insecure_(a.Has("insecure")) {}

  std::string where() const { return server_.empty() ? socket_ : server_; }

  // Fails early, with a clear message, when the agent obviously cannot be reached.
  bool Check(std::ostream& err) {
    if (!server_.empty()) {
      if (!insecure_ && (cert_.empty() || key_.empty() || ca_.empty())) {
        err << "faasguardctl: --server needs --tls-cert, --tls-key and --tls-ca (the agent "
               "requires a client certificate), or --insecure\n";
        return false;
      }
      return true;
    }
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
      std::shared_ptr<grpc::Channel> ch;
      if (server_.empty()) {
        ch = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
      } else if (insecure_) {
        ch = grpc::CreateChannel(server_, grpc::InsecureChannelCredentials());
      } else {
        grpc::SslCredentialsOptions o;
        o.pem_root_certs = ReadFile(ca_).value_or("");
        o.pem_private_key = ReadFile(key_).value_or("");
        o.pem_cert_chain = ReadFile(cert_).value_or("");
        ch = grpc::CreateChannel(server_, grpc::SslCredentials(o));
      }
      stub_ = v1::Agent::NewStub(ch);
    }
    return *stub_;
  }

  std::unique_ptr<grpc::ClientContext> Ctx(bool stream = false) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!stream) c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  }

  // Prints the error and returns the exit code for a failed call.
  int Fail(const grpc::Status& s, std::ostream& err) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      err << "faasguardctl: cannot reach the faasguard agent at " << where() << ": "
          << s.error_message() << "\n";
      return kExitUnavailable;
    }
    err << "faasguardctl: " << s.error_message() << "\n";
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return kExitNotFound;
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) return kExitUsage;
    return kExitError;
  }

 private:
  std::string socket_, server_, cert_, key_, ca_;
  bool insecure_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

template <typename Req, typename Resp, typename Method>
grpc::Status Call(Client& c, Method m, const Req& req, Resp* resp) {
  auto ctx = c.Ctx();
  return (c.stub().*m)(ctx.get(), req, resp);
}

int CmdFunctions(Client& c, const std::optional<v1::FunctionId>& id, const std::string& output,
                 std::ostream& out, std::ostream& err) {
  if (id) {
    v1::GetFunctionRequest req;
    *req.mutable_function() = *id;
    v1::FunctionSummary r;
    grpc::Status s = Call(c, &v1::Agent::Stub::GetFunction, req, &r);
    if (!s.ok()) return c.Fail(s, err);
    out << (output == "json" ? MessageToJson(r) + "\n" : RenderFunction(r, absl::Now()));
    return kExitOk;
  }
  v1::ListFunctionsResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::ListFunctions, v1::ListFunctionsRequest(), &r);
  if (!s.ok()) return c.Fail(s, err);
  out << (output == "json" ? MessageToJson(r) + "\n" : RenderFunctions(r, absl::Now()));
  return kExitOk;
}

absl::StatusOr<v1::Profile> FetchProfile(Client& c, const v1::FunctionId& id, int* code,
                                         std::ostream& err) {
  v1::GetProfileRequest req;
  *req.mutable_function() = id;
  v1::GetProfileResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::GetProfile, req, &r);
  if (!s.ok()) {
    *code = c.Fail(s, err);
    return absl::UnknownError("reported");
  }
  return r.profile();
}

int CmdProfileShow(Client& c, const v1::FunctionId& id, const std::string& output,
                   std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  auto p = FetchProfile(c, id, &code, err);
  if (!p.ok()) return code;
  if (output == "table") {
    out << RenderProfile(*p);
    return kExitOk;
  }
  auto doc = RenderProfileDoc(*p, output == "yaml" ? DocFormat::kYaml : DocFormat::kJson,
                              DocShape::kPlain);
  if (!doc.ok()) {
    err << "faasguardctl: " << doc.status().message() << "\n";
    return kExitError;
  }
  out << *doc << (output == "json" ? "\n" : "");
  return kExitOk;
}

int CmdProfileExport(Client& c, const v1::FunctionId& id, const ParsedArgs& a, std::ostream& out,
                     std::ostream& err) {
  std::string output = a.Get("output", "table");
  std::string format = a.Get("format", "plain");
  int code = kExitOk;
  auto p = FetchProfile(c, id, &code, err);
  if (!p.ok()) return code;
  auto doc = RenderProfileDoc(*p, output == "yaml" ? DocFormat::kYaml : DocFormat::kJson,
                              format == "crd" ? DocShape::kCrd : DocShape::kPlain);
  if (!doc.ok()) {
    err << "faasguardctl: " << doc.status().message() << "\n";
    return kExitError;
  }
  std::string text = *doc + (doc->empty() || doc->back() != '\n' ? "\n" : "");
  if (a.Has("file")) {
    if (absl::Status s = WriteFileAtomic(a.Get("file"), text, 0600); !s.ok()) {
      err << "faasguardctl: " << s.message() << "\n";
      return kExitError;
    }
    err << "exported " << FunctionRef(id) << " to " << a.Get("file") << "\n";
  } else {
    out << text;
  }
  return kExitOk;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return text;
}

int CmdProfileImport(Client& c, const std::vector<std::string>& files, bool merge,
                     const std::string& output, std::ostream& out, std::ostream& err) {
  // Read and check every document first: a bad file imports nothing.
  std::vector<std::pair<std::string, v1::Profile>> todo;
  for (const auto& f : files) {
    auto text = ReadInput(f);
    if (!text.ok()) {
      err << "faasguardctl: " << f << ": " << text.status().message() << "\n";
      return kExitUsage;
    }
    auto profiles = ParseProfileDocs(*text);
    if (!profiles.ok()) {
      err << "faasguardctl: " << f << ": " << profiles.status().message() << "\n";
      return kExitUsage;
    }
    for (auto& p : *profiles) todo.emplace_back(f, std::move(p));
  }
  int code = kExitOk;
  size_t i = 0;
  for (const auto& [file, p] : todo) {
    ++i;
    v1::PutProfileRequest req;
    *req.mutable_profile() = p;
    req.set_merge(merge);
    v1::PutProfileResponse r;
    grpc::Status s = Call(c, &v1::Agent::Stub::PutProfile, req, &r);
    // Progress on stderr, one line per profile.
    err << "[" << i << "/" << todo.size() << "] " << FunctionRef(p.function()) << " from " << file
        << ": ";
    if (!s.ok()) {
      err << "FAILED\n";
      code = c.Fail(s, err);
      continue;
    }
    err << (r.created() ? "created"
            : merge     ? "merged"
                        : "replaced")
        << ", " << r.items() << " items, mode " << ModeName(r.mode()) << "\n";
    if (output == "json") out << MessageToJson(r, false) << "\n";
  }
  return code;
}

int CmdProfileDiff(Client& c, const v1::FunctionId& id, const std::string& file,
                   const std::string& output, std::ostream& out, std::ostream& err) {
  auto text = ReadInput(file);
  if (!text.ok()) {
    err << "faasguardctl: " << file << ": " << text.status().message() << "\n";
    return kExitUsage;
  }
  auto profiles = ParseProfileDocs(*text);
  if (!profiles.ok() || profiles->size() != 1) {
    err << "faasguardctl: " << file << ": "
        << (profiles.ok() ? "holds several profiles; give one" : profiles.status().message())
        << "\n";
    return kExitUsage;
  }
  v1::DiffProfileRequest req;
  *req.mutable_function() = id;
  *req.mutable_profile() = profiles->front();
  v1::DiffProfileResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::DiffProfile, req, &r);
  if (!s.ok()) return c.Fail(s, err);
  out << (output == "json" ? MessageToJson(r) + "\n" : RenderDiff(r, FunctionRef(id), file));
  return kExitOk;
}

int CmdProfileDelete(Client& c, const v1::FunctionId& id, std::ostream& out, std::ostream& err) {
  v1::DeleteProfileRequest req;
  *req.mutable_function() = id;
  v1::DeleteProfileResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::DeleteProfile, req, &r);
  if (!s.ok()) return c.Fail(s, err);
  out << "deleted " << FunctionRef(id) << "\n";
  return kExitOk;
}

int CmdStatus(Client& c, const std::string& output, std::ostream& out, std::ostream& err) {
  v1::GetStatusResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::GetStatus, v1::GetStatusRequest(), &r);
  if (!s.ok()) return c.Fail(s, err);
  out << (output == "json" ? MessageToJson(r) + "\n" : RenderStatus(r));
  return kExitOk;
}

int CmdMode(Client& c, const v1::FunctionId& id, v1::Mode mode,
            std::optional<v1::SyscallAction> action, std::optional<v1::AgentAbsence> absent,
            const std::string& output, std::ostream& out, std::ostream& err) {
  v1::SetModeRequest req;
  *req.mutable_function() = id;
  req.set_mode(mode);
  if (action) req.set_syscall_action(*action);
  if (absent) req.set_when_agent_absent(*absent);
  v1::SetModeResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::SetMode, req, &r);
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

int CmdDefaultMode(Client& c, v1::Mode mode, std::ostream& out, std::ostream& err) {
  v1::SetDefaultModeRequest req;
  req.set_mode(mode);
  v1::SetDefaultModeResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::SetDefaultMode, req, &r);
  if (!s.ok()) return c.Fail(s, err);
  out << "default mode for new functions: " << ModeName(r.previous()) << " -> " << ModeName(mode)
      << "\n";
  return kExitOk;
}

int CmdViolations(Client& c, const v1::FunctionId* id, uint32_t limit, const std::string& output,
                  std::ostream& out, std::ostream& err) {
  v1::ListViolationsRequest req;
  if (id) *req.mutable_function() = *id;
  req.set_limit(limit);
  v1::ListViolationsResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::ListViolations, req, &r);
  if (!s.ok()) return c.Fail(s, err);
  out << (output == "json" ? MessageToJson(r) + "\n" : RenderViolations(r, absl::Now()));
  return kExitOk;
}

int CmdAccept(Client& c, const v1::FunctionId& id, uint64_t vid, const std::string& output,
              std::ostream& out, std::ostream& err) {
  v1::AcceptViolationRequest req;
  *req.mutable_function() = id;
  req.set_id(vid);
  v1::AcceptViolationResponse r;
  grpc::Status s = Call(c, &v1::Agent::Stub::AcceptViolation, req, &r);
  if (!s.ok()) return c.Fail(s, err);
  if (output == "json")
    out << MessageToJson(r) << "\n";
  else
    out << "violation " << vid << " (" << r.violation().kind() << " " << r.violation().attempted()
        << ") " << (r.added() ? "added to the profile of " : "was already in the profile of ")
        << FunctionRef(id) << "\n";
  return kExitOk;
}

volatile sig_atomic_t g_stop_events = 0;
void StopEvents(int) { g_stop_events = 1; }

int CmdEvents(Client& c, const std::optional<v1::FunctionId>& id, const std::vector<int>& kinds,
              uint32_t replay, bool follow, const std::string& output, std::ostream& out,
              std::ostream& err) {
  v1::StreamEventsRequest req;
  if (id) *req.mutable_function() = *id;
  for (int k : kinds) req.add_kinds(static_cast<v1::EventKind>(k));
  req.set_replay(replay);
  req.set_follow(follow);
  auto ctx = c.Ctx(/*stream=*/true);
  grpc::ClientContext* raw = ctx.get();
  struct sigaction sa {};
  sa.sa_handler = StopEvents;
  if (follow) {
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    err << "following events" << (id ? " of " + FunctionRef(*id) : std::string()) << " at "
        << c.where() << " (Ctrl-C to stop)\n";
  }
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    while (!done.load()) {
      if (g_stop_events) {
        raw->TryCancel();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto reader = c.stub().StreamEvents(raw, req);
  v1::AgentEvent e;
  uint64_t n = 0, lost = 0;
  while (reader->Read(&e)) {
    ++n;
    lost += e.dropped();
    if (output == "json")
      out << MessageToJson(e, false) << "\n";
    else
      out << RenderEvent(e);
    out.flush();
  }
  grpc::Status s = reader->Finish();
  done.store(true);
  canceller.join();
  if (follow) err << n << " events" << (lost ? absl::StrCat(", ", lost, " lost") : "") << "\n";
  if (!s.ok() && !(g_stop_events && s.error_code() == grpc::StatusCode::CANCELLED))
    return c.Fail(s, err);
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
  grpc::Status us;
  // Twice at most: when the agent restarted while the command ran, the first call fails on
  // the old connection (UNAVAILABLE) and the second one reaches the new agent. (Failing
  // both, the agent still untracks the cgroup on its rmdir below.)
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto uctx = c.Ctx();
    if (attempt > 0) {  // a new agent may still be starting: wait for it, briefly
      uctx->set_wait_for_ready(true);
      uctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
    us = c.stub().UnregisterCgroup(uctx.get(), ureq, &uresp);
    if (us.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  if (!us.ok())
    err << "faasguardctl: warning: unregister " << dir << ": " << us.error_message() << "\n";
  if (absl::Status rs = RemoveCgroup(dir); !rs.ok())
    err << "faasguardctl: warning: " << rs.message() << "\n";
  return result;
}

// A flag whose value is one of two words, each standing for an enum value: nullopt when the
// flag is not given; an error naming `what` and the two words for any other value.
template <typename E>
absl::StatusOr<std::optional<E>> TwoWayFlag(const ParsedArgs& a, const std::string& flag,
                                            absl::string_view what,
                                            std::pair<absl::string_view, E> first,
                                            std::pair<absl::string_view, E> second) {
  if (!a.Has(flag)) return std::optional<E>();
  std::string v = a.Get(flag);
  if (v == first.first) return std::optional<E>(first.second);
  if (v == second.first) return std::optional<E>(second.second);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " \"", v, "\" (", first.first, " or ", second.first, ")"));
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
    out << "faasguardctl " << kVersion << "\n";
    return kExitOk;
  }
  if (a.positional.empty()) return Usage(err, "no command given");
  std::string output = a.Get("output", "table");
  if (output != "table" && output != "json" && output != "yaml")
    return Usage(err, absl::StrCat("unknown output format \"", output, "\" (table, json, yaml)"));
  const std::string& cmd = a.positional[0];
  const std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  const bool profile_doc = cmd == "profile" && (sub == "show" || sub == "export");
  if (output == "yaml" && !profile_doc)
    return Usage(err, "-o yaml is for profiles (profile show, profile export)");
  auto extra = [&](size_t want) -> int {
    if (a.positional.size() > want)
      return Usage(err, absl::StrCat("unexpected argument \"", a.positional[want], "\" for ", cmd));
    if (a.double_dash && cmd != "run") return Usage(err, absl::StrCat(cmd, " takes no \"--\""));
    return -1;
  };
  // Flags that belong to one command only.
  struct Only {
    const char* flag;
    bool ok;
    const char* where;
  } only[] = {
      {"function", cmd == "run", "run"},
      {"namespace", cmd == "run", "run"},
      {"container", cmd == "run", "run"},
      {"syscall-action", cmd == "mode", "mode"},
      {"when-agent-absent", cmd == "mode", "mode"},
      {"default", cmd == "mode", "mode"},
      {"limit", cmd == "violations", "violations"},
      {"format", cmd == "profile" && sub == "export", "profile export"},
      {"file", cmd == "profile" && sub == "export", "profile export"},
      {"merge", cmd == "profile" && sub == "import", "profile import"},
      {"follow", cmd == "events", "events"},
      {"kind", cmd == "events", "events"},
      {"replay", cmd == "events", "events"},
  };
  for (const auto& o : only)
    if (a.Has(o.flag) && !o.ok)
      return Usage(err, absl::StrCat("flag --", o.flag, " is only for ", o.where));
  Client client(a);
  auto ref = [&](size_t i) -> absl::StatusOr<v1::FunctionId> {
    return ParseFunctionRef(a.positional[i]);
  };

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
    if (!a.Get("server").empty())
      return Usage(err, "run works on this machine only: use the agent's Unix socket");
    if (!client.Check(err)) return kExitUnavailable;
    return CmdRun(client, *id, container, a.rest, err);
  }
  if (cmd == "functions") {
    if (int r = extra(2); r >= 0) return r;
    std::optional<v1::FunctionId> id;
    if (a.positional.size() == 2) {
      auto parsed_id = ref(1);
      if (!parsed_id.ok()) return Usage(err, std::string(parsed_id.status().message()));
      id = *parsed_id;
    }
    if (!client.Check(err)) return kExitUnavailable;
    return CmdFunctions(client, id, output, out, err);
  }
  if (cmd == "status") {
    if (int r = extra(1); r >= 0) return r;
    if (!client.Check(err)) return kExitUnavailable;
    return CmdStatus(client, output, out, err);
  }
  if (cmd == "profile") {
    static const char* kSubs = "show, export, import, diff, accept or delete";
    if (sub.empty()) return Usage(err, absl::StrCat("profile needs a subcommand: ", kSubs));
    if (sub == "import") {
      if (a.positional.size() < 3) return Usage(err, "profile import needs one or more files");
      if (!client.Check(err)) return kExitUnavailable;
      return CmdProfileImport(client, {a.positional.begin() + 2, a.positional.end()},
                              a.Has("merge"), output, out, err);
    }
    if (sub != "show" && sub != "export" && sub != "diff" && sub != "accept" && sub != "delete")
      return Usage(err, absl::StrCat("unknown profile subcommand \"", sub, "\" (", kSubs, ")"));
    if (a.positional.size() < 3) return Usage(err, absl::StrCat("profile ", sub, " needs NS/NAME"));
    auto id = ref(2);
    if (!id.ok()) return Usage(err, std::string(id.status().message()));
    if (sub == "show" || sub == "export" || sub == "delete") {
      if (int r = extra(3); r >= 0) return r;
      if (std::string f = a.Get("format", "plain"); f != "plain" && f != "crd")
        return Usage(err, absl::StrCat("unknown export format \"", f, "\" (plain or crd)"));
      if (!client.Check(err)) return kExitUnavailable;
      if (sub == "show") return CmdProfileShow(client, *id, output, out, err);
      if (sub == "export") return CmdProfileExport(client, *id, a, out, err);
      return CmdProfileDelete(client, *id, out, err);
    }
    if (sub == "diff") {
      if (a.positional.size() < 4) return Usage(err, "profile diff needs NS/NAME FILE");
      if (int r = extra(4); r >= 0) return r;
      if (!client.Check(err)) return kExitUnavailable;
      return CmdProfileDiff(client, *id, a.positional[3], output, out, err);
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
    auto parse_mode = [](const std::string& m) {
      return m == "learn"     ? v1::MODE_LEARN
             : m == "monitor" ? v1::MODE_MONITOR
             : m == "enforce" ? v1::MODE_ENFORCE
                              : v1::MODE_UNSPECIFIED;
    };
    if (a.Has("default")) {
      if (a.positional.size() < 2) return Usage(err, "mode --default needs learn|monitor|enforce");
      if (int r = extra(2); r >= 0) return r;
      v1::Mode mode = parse_mode(a.positional[1]);
      if (mode == v1::MODE_UNSPECIFIED)
        return Usage(err, absl::StrCat("unknown mode \"", a.positional[1],
                                       "\" (learn, monitor or enforce)"));
      if (!client.Check(err)) return kExitUnavailable;
      return CmdDefaultMode(client, mode, out, err);
    }
    if (a.positional.size() < 3) return Usage(err, "mode needs NS/NAME and learn|monitor|enforce");
    if (int r = extra(3); r >= 0) return r;
    auto id = ref(1);
    if (!id.ok()) return Usage(err, std::string(id.status().message()));
    v1::Mode mode = parse_mode(a.positional[2]);
    if (mode == v1::MODE_UNSPECIFIED)
      return Usage(
          err, absl::StrCat("unknown mode \"", a.positional[2], "\" (learn, monitor or enforce)"));
    auto action = TwoWayFlag<v1::SyscallAction>(a, "syscall-action", "syscall action",
                                                {"kill", v1::SYSCALL_ACTION_KILL},
                                                {"alert", v1::SYSCALL_ACTION_ALERT});
    if (!action.ok()) return Usage(err, std::string(action.status().message()));
    auto absent = TwoWayFlag<v1::AgentAbsence>(a, "when-agent-absent", "--when-agent-absent value",
                                               {"closed", v1::AGENT_ABSENCE_FAIL_CLOSED},
                                               {"open", v1::AGENT_ABSENCE_FAIL_OPEN});
    if (!absent.ok()) return Usage(err, std::string(absent.status().message()));
    if (!client.Check(err)) return kExitUnavailable;
    return CmdMode(client, *id, mode, *action, *absent, output, out, err);
  }
  if (cmd == "violations") {
    if (int r = extra(2); r >= 0) return r;
    std::optional<v1::FunctionId> id;
    if (a.positional.size() == 2) {
      auto parsed_id = ref(1);
      if (!parsed_id.ok()) return Usage(err, std::string(parsed_id.status().message()));
      id = *parsed_id;
    }
    uint32_t limit = 100;
    if (a.Has("limit") &&
        (!absl::SimpleAtoi(a.Get("limit"), &limit) || limit == 0 || limit > 10000))
      return Usage(err, "--limit must be a number from 1 to 10000");
    if (!client.Check(err)) return kExitUnavailable;
    return CmdViolations(client, id ? &*id : nullptr, limit, output, out, err);
  }
  if (cmd == "events") {
    if (int r = extra(2); r >= 0) return r;
    std::optional<v1::FunctionId> id;
    if (a.positional.size() == 2) {
      auto parsed_id = ref(1);
      if (!parsed_id.ok()) return Usage(err, std::string(parsed_id.status().message()));
      id = *parsed_id;
    }
    std::vector<int> kinds;
    if (a.Has("kind")) {
      for (absl::string_view k : absl::StrSplit(a.Get("kind"), ',')) {
        if (k == "new")
          kinds.push_back(v1::EVENT_KIND_NEW_BEHAVIOUR);
        else if (k == "violation")
          kinds.push_back(v1::EVENT_KIND_VIOLATION);
        else if (k == "lifecycle")
          kinds.push_back(v1::EVENT_KIND_LIFECYCLE);
        else
          return Usage(err,
                       absl::StrCat("unknown event kind \"", k, "\" (new, violation, lifecycle)"));
      }
    }
    uint32_t replay = 20;
    if (a.Has("replay") && (!absl::SimpleAtoi(a.Get("replay"), &replay) || replay > 1000))
      return Usage(err, "--replay must be a number from 0 to 1000");
    if (!client.Check(err)) return kExitUnavailable;
    return CmdEvents(client, id, kinds, replay, a.Has("follow"), output, out, err);
  }
  return Usage(err, absl::StrCat("unknown command \"", cmd, "\""));
}

}  // namespace faasguard
