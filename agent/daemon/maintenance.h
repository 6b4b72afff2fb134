// The agent's upkeep, on its own thread, once per --sync-interval: the kernel's heartbeat and
// task marks, folding the kernel sets into the profiles, the check for vanished cgroups (the
// safety net for lost rmdir events, every 30 s rather than every pass), the learning lifecycle
// and the profile saves.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "core/engine.h"

namespace faasguard {

class MaintenanceLoop {
 public:
  // Renews the kernel's heartbeat and repairs task marks (BpfPrograms, in the agent).
  using KernelUpkeep = std::function<void()>;
  // Whether cgroup `id` is still the one at `path`.
  using CgroupAlive = std::function<bool(uint64_t id, const std::string& path)>;

  struct Options {
    absl::Duration interval = absl::Seconds(2);
    absl::Duration vanished_check = absl::Seconds(30);  // at least every pass
  };

  MaintenanceLoop(Engine* engine, KernelUpkeep upkeep, CgroupAlive alive, Options opts);
  ~MaintenanceLoop();  // Stop()
  MaintenanceLoop(const MaintenanceLoop&) = delete;
  MaintenanceLoop& operator=(const MaintenanceLoop&) = delete;

  // A pass every interval (the first one interval from now) until Stop.
  void Start();
  // Wakes the thread up and waits for the pass in progress, if any. Idempotent.
  void Stop();
  // One pass, on the caller's thread.
  void RunPass();

  uint64_t passes();

 private:
  Engine* const engine_;
  const KernelUpkeep upkeep_;
  const CgroupAlive alive_;
  const Options opts_;
  const uint64_t vanished_every_;  // passes

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t passes_ = 0;
  std::thread thread_;
};

}  // namespace faasguard
