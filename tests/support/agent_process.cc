#include "support/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace faasguard::testing {

absl::StatusOr<std::unique_ptr<AgentProcess>> AgentProcess::Start(
    const std::string& binary, const std::string& dir, const std::vector<std::string>& extra) {
  std::unique_ptr<AgentProcess> a(new AgentProcess());
  a->socket_ = dir + "/agent.sock";
  a->log_ = dir + "/agent.log";
  std::vector<std::string> args = {binary,        "--socket",        a->socket_,
                                   "--state-dir", dir + "/state",    "--metrics-addr",
                                   "off",         "--sync-interval", "1"};
  // Nothing outlives a test's agent unless the test asks for pinning (and cleans it up).
  if (std::find(extra.begin(), extra.end(), "--bpf-pin-dir") == extra.end())
    args.insert(args.end(), {"--bpf-pin-dir", "off"});
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  // Empty the log before the child starts: an earlier agent's "agent ready" in the same
  // directory must not pass for this one's (the child truncates it only after the fork).
  std::ofstream(a->log_, std::ios::trunc).close();
  a->pid_ = ::fork();
  if (a->pid_ < 0) return absl::InternalError("fork failed");
  if (a->pid_ == 0) {
    int fd = ::open(a->log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    if (a->Log().find("agent ready") != std::string::npos) break;
    int st;
    if (::waitpid(a->pid_, &st, WNOHANG) == a->pid_) {
      a->pid_ = -1;
      return absl::InternalError("the agent exited early:\n" + a->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (a->Log().find("agent ready") == std::string::npos) {
    std::string log = a->Log();
    ::kill(a->pid_, SIGKILL);  // the destructor of `a` reaps it
    return absl::DeadlineExceededError(
        absl::StrCat("the agent (pid ", a->pid_, ") did not get ready in 30 s:\n", log));
  }
  a->stub_ = v1::Agent::NewStub(
      grpc::CreateChannel("unix:" + a->socket_, grpc::InsecureChannelCredentials()));
  return a;
}

AgentProcess::~AgentProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st;
  ::waitpid(pid_, &st, 0);
}

void AgentProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

std::string AgentProcess::Log() const {
  std::ifstream f(log_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool AgentProcess::WaitForLog(const std::string& text, double seconds) const {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (Log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace faasguard::testing
