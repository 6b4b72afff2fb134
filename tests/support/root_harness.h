// Helpers for the root tests (labels bpf, integration): temporary directories and cgroups,
// loopback listeners, processes started inside a cgroup, and a loaded agent core.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bpf/kernel_maps.h"
#include "bpf/loader.h"
#include "bpf/ringbuf.h"
#include "core/engine.h"
#include "profile/store.h"

namespace faasguard::testing {

// Fails the current test (never skips) when not root: CI runs as root.
bool IsRoot();
#define FG_REQUIRE_ROOT() \
  ASSERT_TRUE(::faasguard::testing::IsRoot()) << "this test needs root (it loads eBPF programs)"

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A fresh cgroup v2 directory under <mount>/faasguard-test/, removed (tasks killed) at the end.
class TestCgroup {
 public:
  explicit TestCgroup(const std::string& name);
  ~TestCgroup();
  const std::string& path() const { return path_; }
  uint64_t id() const { return id_; }

 private:
  std::string path_;
  uint64_t id_ = 0;
};

std::string Cgroup2Mount();

// A loopback socket on an ephemeral port. TCP listeners accept and close in a thread.
class LoopbackServer {
 public:
  LoopbackServer(int family, int type);
  ~LoopbackServer();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// fork; the child moves itself into `cgroup_dir` (when not empty) and execs argv. With
// `stdout_fd`, the child's stdout is a pipe whose read end is returned there.
pid_t Spawn(const std::string& cgroup_dir, const std::vector<std::string>& argv,
            int* stdout_fd = nullptr);
// waitpid; returns the exit code, or 128+signal.
int Wait(pid_t pid);
// Spawn + Wait.
int RunIn(const std::string& cgroup_dir, const std::vector<std::string>& argv);

struct RunResult {
  int status = -1;  // exit code, or 128+signal
  std::string out;  // everything written to stdout
};
// Spawn with stdout captured, read it to the end, Wait.
RunResult RunCapture(const std::string& cgroup_dir, const std::vector<std::string>& argv);

// /proc/self/exe, resolved.
std::string SelfExe();

struct AgentCoreOptions {
  uint32_t ringbuf_bytes = 1u << 20;
  bool read_events = true;
  uint32_t max_net_rules = 16384;  // kernel map size
  PolicyLimits limits;             // the engine's own check
};

// The node programs loaded and attached, with a real engine over a temporary store.
struct AgentCore {
  explicit AgentCore(uint32_t ringbuf_bytes = 1u << 20, bool read_events = true);
  explicit AgentCore(const AgentCoreOptions& o);
  ~AgentCore();
  // Fold the kernel's state and wait until the ring buffer is drained.
  void Settle();

  TempDir state;
  std::unique_ptr<BpfPrograms> programs;
  std::unique_ptr<BpfKernelMaps> kernel;
  std::unique_ptr<ProfileStore> store;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<EventReader> reader;
  std::atomic<bool> stop{false};
  std::thread reader_thread;
};

// A function's id; each test file keeps to a namespace of its own ("" platform: unset).
v1::FunctionId FunctionIdOf(const std::string& platform, const std::string& ns,
                            const std::string& name);

}  // namespace faasguard::testing
