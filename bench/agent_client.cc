// The bench's gRPC client of the agent: registering many cgroups at once (faasguardctl has no
// bulk command) and timing cold starts, from the creation of a tracked cgroup to its first
// syscall being attributed.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench.h"
#include "cgroup/cgroup.h"
#include "faasguard/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace faasguard::bench {
namespace {

class AgentClient {
 public:
  explicit AgentClient(const std::string& socket)
      : stub_(v1::Agent::NewStub(
            grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()))) {}

  grpc::Status Register(const std::string& name, const std::string& dir) {
    v1::RegisterCgroupRequest req;
    req.mutable_function()->set_namespace_("default");
    req.mutable_function()->set_name(name);
    req.set_container("main");
    req.set_cgroup_path(dir);
    v1::RegisterCgroupResponse resp;
    auto ctx = Ctx();
    return stub_->RegisterCgroup(ctx.get(), req, &resp);
  }

  grpc::Status Unregister(const std::string& dir) {
    v1::UnregisterCgroupRequest req;
    req.set_cgroup_path(dir);
    v1::UnregisterCgroupResponse resp;
    auto ctx = Ctx();
    return stub_->UnregisterCgroup(ctx.get(), req, &resp);
  }

  // Whether the function's profile holds the syscall `name` yet.
  grpc::Status HasSyscall(const std::string& fn, const std::string& name, bool* has) {
    v1::GetProfileRequest req;
    req.mutable_function()->set_namespace_("default");
    req.mutable_function()->set_name(fn);
    v1::GetProfileResponse resp;
    auto ctx = Ctx();
    grpc::Status s = stub_->GetProfile(ctx.get(), req, &resp);
    *has = false;
    if (!s.ok()) return s;
    for (const auto& c : resp.profile().containers())
      for (const auto& sc : c.syscalls())
        if (sc.name() == name) *has = true;
    return s;
  }

 private:
  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  }
  std::unique_ptr<v1::Agent::Stub> stub_;
};

bool NeedFlags(const ParsedArgs& a, const char* who) {
  if (a.Get("cgroup-parent").empty()) {
    std::cerr << "fg-bench " << who << ": --cgroup-parent DIR is required\n";
    return false;
  }
  return true;
}

std::string Dir(const ParsedArgs& a, int i) {
  return absl::StrCat(a.Get("cgroup-parent"), "/", a.Get("prefix", "bench-other"), "-", i);
}
// --functions N: cgroup i is a replica of function i % N (default: one function each).
std::string Name(const ParsedArgs& a, int i) {
  auto n = static_cast<int64_t>(NumFlag(a, "functions", 0));
  return absl::StrCat(a.Get("prefix", "bench-other"), "-", n > 0 ? i % n : i);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int RunRegister(const ParsedArgs& a) {
  if (!NeedFlags(a, "register")) return 2;
  int count = static_cast<int>(NumFlag(a, "count", 500));
  AgentClient c(a.Get("socket", "/run/faasguard/agent.sock"));
  double t0 = NowNs();
  for (int i = 0; i < count; ++i) {
    std::string dir = Dir(a, i);
    if (absl::Status s = CreateCgroup(dir); !s.ok()) {
      std::cerr << "fg-bench register: " << s.message() << "\n";
      return 1;
    }
    if (grpc::Status s = c.Register(Name(a, i), dir); !s.ok()) {
      std::cerr << "fg-bench register: " << dir << ": " << s.error_message() << "\n";
      return 1;
    }
  }
  double secs = (NowNs() - t0) / 1e9;
  std::cout << "{\"registered\":" << count << ",\"seconds\":" << secs << "}" << std::endl;
  return 0;
}

int RunUnregister(const ParsedArgs& a) {
  if (!NeedFlags(a, "unregister")) return 2;
  int count = static_cast<int>(NumFlag(a, "count", 500));
  AgentClient c(a.Get("socket", "/run/faasguard/agent.sock"));
  int errors = 0;
  for (int i = 0; i < count; ++i) {
    std::string dir = Dir(a, i);
    if (!c.Unregister(dir).ok()) ++errors;  // the agent may be gone already: remove anyway
    if (!RemoveCgroup(dir).ok()) ++errors;
  }
  std::cout << "{\"unregistered\":" << count << ",\"errors\":" << errors << "}" << std::endl;
  return 0;
}

// One cold start: mkdir a cgroup, register it as a new function, start a process in it whose
// first syscall is getppid, and poll the agent until that syscall is in the function's
// profile. Times are from the mkdir.
int RunColdStart(const ParsedArgs& a) {
  if (!NeedFlags(a, "cold-start")) return 2;
  int samples = static_cast<int>(NumFlag(a, "samples", 10));
  AgentClient c(a.Get("socket", "/run/faasguard/agent.sock"));
  std::vector<double> reg_us, first_us, seen_us, lag_us;
  int attributed = 0, failures = 0;
  std::string pid_tag = absl::StrCat(::getpid());
  for (int i = 0; i < samples; ++i) {
    std::string name = absl::StrCat(a.Get("prefix", "bench-cold"), "-", pid_tag, "-", i);
    std::string dir = absl::StrCat(a.Get("cgroup-parent"), "/", name);
    double t0 = NowNs();
    if (absl::Status s = CreateCgroup(dir); !s.ok()) {
      std::cerr << "fg-bench cold-start: " << s.message() << "\n";
      return 1;
    }
    grpc::Status rs = c.Register(name, dir);
    double t1 = NowNs();
    int procs = OpenProcs(dir);
    int pipefd[2];
    if (!rs.ok() || procs < 0 || ::pipe(pipefd) != 0) {
      std::cerr << "fg-bench cold-start: " << dir << ": "
                << (rs.ok() ? std::strerror(errno) : rs.error_message()) << "\n";
      ++failures;
      (void)RemoveCgroup(dir);
      continue;
    }
    pid_t child = ::fork();
    if (child == 0) {
      // Enter, then the first syscall made inside: getppid. Then report its time and wait.
      ::close(pipefd[0]);
      if (!EnterCgroup(procs)) ::_exit(1);
      ::syscall(SYS_getppid);
      double t2 = NowNs();
      (void)!::write(pipefd[1], &t2, sizeof t2);
      ::pause();
      ::_exit(0);
    }
    ::close(pipefd[1]);
    ::close(procs);
    double t2 = 0;
    bool got = ::read(pipefd[0], &t2, sizeof t2) == sizeof t2;
    ::close(pipefd[0]);
    double t3 = 0;
    bool has = false;
    if (got) {
      double give_up = NowNs() + 10e9;
      while (!has && NowNs() < give_up) {
        if (!c.HasSyscall(name, "getppid", &has).ok()) break;
        if (!has) ::usleep(200);
      }
      t3 = NowNs();
    }
    if (child > 0) {
      ::kill(child, SIGKILL);
      int st;
      ::waitpid(child, &st, 0);
    }
    (void)c.Unregister(dir);
    (void)RemoveCgroup(dir);
    if (!got || !has) {
      ++failures;
      continue;
    }
    ++attributed;
    reg_us.push_back((t1 - t0) / 1e3);
    first_us.push_back((t2 - t0) / 1e3);
    seen_us.push_back((t3 - t0) / 1e3);
    lag_us.push_back((t3 - t2) / 1e3);
  }
  auto list = [](const std::vector<double>& v) {
    std::vector<std::string> s;
    for (double x : v) s.push_back(absl::StrCat(static_cast<int64_t>(x * 10) / 10.0));
    return "[" + absl::StrJoin(s, ",") + "]";
  };
  std::cout << "{\"samples\":" << samples << ",\"attributed\":" << attributed
            << ",\"failures\":" << failures << ",\"register_us\":" << list(reg_us)
            << ",\"first_syscall_us\":" << list(first_us) << ",\"visible_us\":" << list(seen_us)
            << ",\"visible_after_syscall_us\":" << list(lag_us)
            << ",\"register_us_p50\":" << Percentile(reg_us, 0.5)
            << ",\"visible_us_p50\":" << Percentile(seen_us, 0.5) << "}" << std::endl;
  return 0;
}

}  // namespace faasguard::bench
