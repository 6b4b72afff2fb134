// The measuring process of the syscall-cost benchmark. One long-lived process, pinned to one
// CPU by bench/run, so that every configuration (no eBPF; the floor; bpftrace; faasguard with
// this process untracked, or tracked in learn / monitor / enforce) is measured by the same
// process, interleaved, on the same CPU. It moves itself into the cgroup a configuration
// needs for the duration of one measurement and back to its home cgroup (untracked) after.
//
// Inside a tracked cgroup it makes only the syscalls measured plus one write (the move back):
// every one of them is learned while the function is in learn mode, so monitor and enforce
// see nothing outside the profile.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench.h"
#include "fg_bench_floor.skel.h"

namespace faasguard::bench {
namespace {

// The floor program: loaded once, attached and detached on request.
class Floor {
 public:
  ~Floor() {
    Off();
    if (skel_) fg_bench_floor__destroy(skel_);
  }
  // The empty sys_enter program, and with `exit_too` the empty sys_exit one as well.
  std::string On(bool exit_too = false) {
    if (exit_too && !exit_link_) {
      std::string err = On();
      if (!err.empty()) return err;
      exit_link_ = bpf_program__attach(skel_->progs.fg_bench_floor_exit);
      if (!exit_link_)
        return absl::StrCat("attaching the sys_exit floor program: ", std::strerror(errno));
      return "";
    }
    if (link_) return "";
    if (!skel_) {
      skel_ = fg_bench_floor__open_and_load();
      if (!skel_) return absl::StrCat("loading the floor program: ", std::strerror(errno));
    }
    link_ = bpf_program__attach(skel_->progs.fg_bench_floor);
    if (!link_) return absl::StrCat("attaching the floor program: ", std::strerror(errno));
    return "";
  }
  void Off() {
    if (link_) bpf_link__destroy(link_);
    if (exit_link_) bpf_link__destroy(exit_link_);
    link_ = nullptr;
    exit_link_ = nullptr;
  }

 private:
  fg_bench_floor* skel_ = nullptr;
  bpf_link* link_ = nullptr;
  bpf_link* exit_link_ = nullptr;
};

// One batch: `iters` iterations of the operation, in ns per iteration.
double Batch(const std::string& op, long iters) {
  double t0 = NowNs();
  if (op == "getppid") {
    for (long i = 0; i < iters; ++i) ::syscall(SYS_getppid);
  } else {
    for (long i = 0; i < iters; ++i) {
      int fd = ::openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
      ::close(fd);
    }
  }
  return (NowNs() - t0) / static_cast<double>(iters);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int RunSyscallSession(const ParsedArgs& a) {
  std::string home = a.Get("home");
  if (home.empty()) {
    std::cerr << "fg-bench syscalls: --home DIR is required\n";
    return 2;
  }
  int home_fd = OpenProcs(home);
  if (home_fd < 0 || !EnterCgroup(home_fd)) {
    std::cerr << "fg-bench syscalls: cannot enter " << home << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  Floor floor;
  std::map<std::string, int> procs;  // cgroup dir -> open cgroup.procs (opened outside it)
  std::string line;
  std::cout << "{\"ready\":true}" << std::endl;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    if (cmd == "floor") {
      std::string arg;
      in >> arg;
      std::string err;
      if (arg == "on" || arg == "both") {
        if (arg == "on") floor.Off();
        err = floor.On(arg == "both");
      } else
        floor.Off();
      std::cout << (err.empty() ? "{\"ok\":true}" : "{\"error\":" + JsonString(err) + "}")
                << std::endl;
      continue;
    }
    if (cmd != "measure") {
      std::cout << "{\"error\":" << JsonString("unknown command: " + line) << "}" << std::endl;
      continue;
    }
    std::string label, op, cgroup;
    long iters = 0, batches = 0;
    in >> label >> op >> iters >> batches >> cgroup;
    if (!in || (op != "getppid" && op != "openat") || iters <= 0 || batches <= 0 ||
        batches > 10000) {
      std::cout << "{\"error\":" << JsonString("bad measure: " + line) << "}" << std::endl;
      continue;
    }
    int fd = -1;
    if (cgroup != "-") {
      auto it = procs.find(cgroup);
      if (it == procs.end()) it = procs.emplace(cgroup, OpenProcs(cgroup)).first;
      fd = it->second;
      if (fd < 0) {
        procs.erase(it);
        std::cout << "{\"error\":" << JsonString("cannot open " + cgroup + "/cgroup.procs") << "}"
                  << std::endl;
        continue;
      }
    }
    // The measured part: enter, warm up, time the batches, leave. No allocation in between
    // (the vector's room is reserved first), so the syscalls made are only the measured ones.
    std::vector<double> ns;
    ns.reserve(static_cast<size_t>(batches));
    bool moved = fd < 0 || EnterCgroup(fd);
    int move_errno = errno;
    if (moved) {
      Batch(op, std::max(1L, iters / 4));
      for (long b = 0; b < batches; ++b) ns.push_back(Batch(op, iters));
      if (fd >= 0) EnterCgroup(home_fd);
    }
    if (!moved) {
      std::cout << "{\"error\":"
                << JsonString(
                       absl::StrCat("cannot enter ", cgroup, ": ", std::strerror(move_errno)))
                << "}" << std::endl;
      continue;
    }
    std::vector<std::string> parts;
    for (double v : ns) parts.push_back(absl::StrCat(static_cast<int64_t>(v * 10) / 10.0));
    std::cout << "{\"label\":" << JsonString(label) << ",\"op\":" << JsonString(op)
              << ",\"iters\":" << iters << ",\"median_ns\":" << Median(ns) << ",\"batches_ns\":["
              << absl::StrJoin(parts, ",") << "]}" << std::endl;
  }
  return 0;
}

}  // namespace faasguard::bench
