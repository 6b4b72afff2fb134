// faasguard-agent: the Agent owns every component of a running node agent and brings them up
// and down in order; RunAgent is what main() runs once the command line is parsed.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bpf/events.h"
#include "bpf/features.h"
#include "bpf/kernel_maps.h"
#include "bpf/loader.h"
#include "bpf/ringbuf.h"
#include "common/unique_fd.h"
#include "core/engine.h"
#include "core/event_hub.h"
#include "daemon/config.h"
#include "daemon/maintenance.h"
#include "daemon/status_report.h"
#include "k8s/kube_client.h"
#include "k8s/profile_sync.h"
#include "k8s/tracker.h"
#include "k8s/webhook_server.h"
#include "profile/store.h"
#include "rpc/call_counter.h"
#include "rpc/metrics.h"
#include "rpc/server.h"
#include "rpc/service.h"
#include "seccomp/profile_files.h"

namespace faasguard {

class Agent {
 public:
  explicit Agent(AgentConfig config);
  ~Agent();  // Stop()
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Brings the components up, each after what it needs: the pin directory, the cgroup v2
  // mount, the profile store, the eBPF programs (adopting pinned ones), the engine (taking
  // over an earlier agent's slots), the Kubernetes sources, the event reader, the API, the
  // metrics endpoint and the maintenance loop. An error names what could not start; what did
  // start is taken down again by Stop.
  absl::Status Start();

  // Takes down what Start brought up, in reverse order, and folds and saves the profiles a
  // last time. Pinned programs and maps stay. Idempotent.
  void Stop();

 private:
  absl::Status LockPins();
  absl::Status LoadPrograms();
  void StartEngine();
  void AdoptKernelState();
  absl::Status StartKubernetes();
  absl::Status StartApi();
  absl::Status StartMetrics();
  absl::Status StartWebhook();
  // A ring-buffer record: cgroup events to the node tracker (a removed cgroup is untracked at
  // once), everything else to the engine.
  void Route(const Event& ev);

  const AgentConfig config_;
  std::string cgroup2_;
  absl::Time started_;
  UniqueFd pin_lock_;
  std::unique_ptr<ProfileStore> store_;
  KernelFeatures features_;
  std::unique_ptr<BpfPrograms> programs_;
  std::mutex programs_mu_;  // sys_enter attach / detach (engine sink) vs. the heartbeat
  std::unique_ptr<BpfKernelMaps> kernel_;
  std::unique_ptr<EventHub> hub_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<NodeTracker> tracker_;
  std::unique_ptr<KubeClient> kube_;
  std::unique_ptr<ProfileSync> profile_sync_;
  std::unique_ptr<EventReader> reader_;
  std::atomic<bool> stop_reader_{false};
  std::atomic<bool> reader_alive_{true};
  std::thread reader_thread_;
  StatusSources sources_;
  CallCounter calls_;
  std::vector<std::string> listening_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<MaintenanceLoop> maintenance_;
  std::unique_ptr<SeccompProfileFiles> seccomp_files_;
  std::unique_ptr<WebhookServer> webhook_;
  bool stopped_ = false;
};

// Everything after the command line: --help, --version, --cleanup, or the agent until SIGINT or
// SIGTERM. Returns the exit code; fatal start-up errors are one line on stderr, and logged.
int RunAgent(const AgentConfig& config);

}  // namespace faasguard
