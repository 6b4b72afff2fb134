// fg-bench: see bench.h and docs/benchmarks.md.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench.h"

namespace faasguard::bench {

const std::vector<FlagDef>& BenchFlags() {
  static const std::vector<FlagDef> defs = {
      {"socket", 0, true, "PATH", "the agent's Unix socket", "/run/faasguard/agent.sock"},
      {"home", 0, true, "DIR", "syscalls: the (untracked) cgroup the session lives in", ""},
      {"cgroup", 0, true, "DIR", "storms: the cgroup the measured process runs in", ""},
      {"cgroup-parent", 0, true, "DIR", "register/cold-start: where cgroups are created", ""},
      {"prefix", 0, true, "NAME", "register/cold-start: function name prefix", "bench-other"},
      {"count", 0, true, "N", "register/unregister: how many cgroups", "500"},
      {"functions", 0, true, "N", "register: replicas of N functions (default: one each)", ""},
      {"samples", 0, true, "N", "cold-start: how many cold starts", "10"},
      {"seconds", 0, true, "S", "storms: how long to run", "2"},
      {"workers", 0, true, "N", "exec-storm: parallel fork+exec loops", "2"},
      {"port", 0, true, "PORT", "connect-storm: the loopback port to connect to", "47011"},
      {"server-cpu", 0, true, "CPU", "connect-storm: pin the accepting server here", "-1"},
      {"binary", 0, true, "PATH", "exec-storm: what to exec", "/bin/true"},
      {"help", 'h', false, "", "show this help", ""},
  };
  return defs;
}

double NowNs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

bool EnterCgroup(int procs_fd) { return ::write(procs_fd, "0", 1) == 1; }

int OpenProcs(const std::string& dir) {
  return ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
}

double NumFlag(const ParsedArgs& a, const std::string& name, double def) {
  if (!a.Has(name)) return def;
  double v;
  if (!absl::SimpleAtod(a.Get(name), &v)) {
    std::cerr << "fg-bench: --" << name << " must be a number\n";
    std::exit(2);
  }
  return v;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

void Usage(std::ostream& os) {
  os << "Usage: fg-bench COMMAND [flags]   (run by bench/run; prints JSON)\n\n"
        "Commands:\n"
        "  syscalls --home DIR      a syscall-loop session driven on stdin:\n"
        "                             floor on|both|off (both: sys_enter and sys_exit)\n"
        "                             measure LABEL getppid|openat ITERS BATCHES CGROUP|-\n"
        "                             quit\n"
        "  exec-storm --cgroup DIR [--seconds S] [--workers N] [--binary PATH]\n"
        "  connect-storm --cgroup DIR [--seconds S] [--port P] [--server-cpu C]\n"
        "  unix-storm --cgroup DIR [--seconds S] [--server-cpu C]\n"
        "  register --cgroup-parent DIR --prefix NAME --count N [--socket S]\n"
        "  unregister --cgroup-parent DIR --prefix NAME --count N [--socket S]\n"
        "  cold-start --cgroup-parent DIR --prefix NAME --samples N [--socket S]\n\n"
        "Flags:\n"
     << FlagsHelp(BenchFlags());
}

}  // namespace
}  // namespace faasguard::bench

int main(int argc, char** argv) {
  using namespace faasguard::bench;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = faasguard::ParseArgs(BenchFlags(), args);
  if (!parsed.ok()) {
    std::cerr << "fg-bench: " << parsed.status().message() << "\n";
    return 2;
  }
  const faasguard::ParsedArgs& a = *parsed;
  if (a.Has("help") || a.positional.empty()) {
    Usage(a.Has("help") ? std::cout : std::cerr);
    return a.Has("help") ? 0 : 2;
  }
  const std::string& cmd = a.positional[0];
  if (cmd == "syscalls") return RunSyscallSession(a);
  if (cmd == "exec-storm") return RunExecStorm(a);
  if (cmd == "connect-storm") return RunConnectStorm(a);
  if (cmd == "unix-storm") return RunUnixStorm(a);
  if (cmd == "register") return RunRegister(a);
  if (cmd == "unregister") return RunUnregister(a);
  if (cmd == "cold-start") return RunColdStart(a);
  std::cerr << "fg-bench: unknown command \"" << cmd << "\"\n";
  return 2;
}
