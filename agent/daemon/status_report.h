// Assembles GetStatusResponse from the parts of a running agent.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bpf/features.h"
#include "bpf/kernel_maps.h"
#include "bpf/loader.h"
#include "bpf/ringbuf.h"
#include "common/version.h"
#include "core/engine.h"
#include "faasguard/v1/agent.pb.h"

namespace faasguard {

struct StatusSources {
  std::string cgroup2_mount;
  std::string state_dir;
  absl::Time started;
  const KernelFeatures* features = nullptr;
  const BpfPrograms* programs = nullptr;
  KernelMaps* kernel = nullptr;
  Engine* engine = nullptr;
  const EventReader* reader = nullptr;
  v1::Mode auto_promote = v1::MODE_UNSPECIFIED;
  std::string metrics_addr;
  uint32_t fail_open_after_seconds = 0;
  std::string seccomp_root;                             // "": no Localhost profiles written
  std::function<bool()> syscall_hook;                   // sys_enter attached now
  std::function<std::string()> webhook_addr;            // "": not served
  std::function<v1::KubernetesStatus()> kubernetes;     // unset: no CRI tracking
  std::function<v1::ClusterSyncStatus()> cluster_sync;  // unset: profiles not shared
};

v1::GetStatusResponse BuildStatus(const StatusSources& s);

// A kernel counter (enum fg_stat): its name in GetStatus ("kernel_map_full"; the metric is
// faasguard_kernel_map_full_total) and what it counts.
struct KernelStatInfo {
  const char* name;
  const char* help;
};
KernelStatInfo KernelStat(int stat);

}  // namespace faasguard
