#include "daemon/maintenance.h"

#include <algorithm>

namespace faasguard {

MaintenanceLoop::MaintenanceLoop(Engine* engine, KernelUpkeep upkeep, CgroupAlive alive,
                                 Options opts)
    : engine_(engine),
      upkeep_(std::move(upkeep)),
      alive_(std::move(alive)),
      opts_(opts),
      vanished_every_(std::max<int64_t>(1, opts.vanished_check / opts.interval)) {}

MaintenanceLoop::~MaintenanceLoop() { Stop(); }

void MaintenanceLoop::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      cv_.wait_for(l, absl::ToChronoNanoseconds(opts_.interval), [this] { return stop_; });
      if (stop_) break;
      l.unlock();
      RunPass();
      l.lock();
    }
  });
}

void MaintenanceLoop::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MaintenanceLoop::RunPass() {
  upkeep_();
  engine_->SyncFromKernel();
  uint64_t n;
  {
    std::lock_guard<std::mutex> l(mu_);
    n = ++passes_;
  }
  if (n % vanished_every_ == 0) engine_->DropVanishedCgroups(alive_);
  engine_->CheckLifecycle();
  engine_->SaveDirty();
}

uint64_t MaintenanceLoop::passes() {
  std::lock_guard<std::mutex> l(mu_);
  return passes_;
}

}  // namespace faasguard
