// The node tracker: finds the cgroups of Kubernetes function containers and keeps the engine's
// registrations in step with the container runtime.
//
// Sources: an initial walk of the cgroup v2 tree, the kernel's cgroup mkdir/rmdir events, and
// the CRI (ListPodSandbox / ListContainers, resynced periodically and right after a kubepods
// cgroup appears). Pods of functions (Knative, OpenFaaS, a custom label) get their pod-level
// cgroup registered first (the kernel then covers every new container cgroup under it from
// its first syscall), then each container cgroup under its own section. Other pods are never
// tracked: they pay one map lookup per syscall and nothing else.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "bpf/events.h"
#include "core/cgroup_registry.h"
#include "faasguard/v1/agent.pb.h"
#include "k8s/cri_source.h"

namespace faasguard {

class NodeTracker {
 public:
  struct Options {
    std::string cgroup2_mount;
    std::string custom_label;                        // "" : none
    absl::Duration resync = absl::Seconds(10);       // full CRI resync
    absl::Duration retry = absl::Seconds(2);         // reconnect when the CRI is down
    absl::Duration resolve_for = absl::Seconds(10);  // chase a new kubepods cgroup this long
  };

  NodeTracker(CgroupRegistry* registry, CriConnector connect, Options opts);
  ~NodeTracker();

  void Start();
  void Stop();

  // From the ring-buffer thread: never blocks on the CRI.
  void OnCgroupEvent(const CgroupEvent& e);

  // One pass now (tests; the thread calls it too).
  void ReconcileNow();
  void ScanCgroupsNow();

  v1::KubernetesStatus Status();

 private:
  struct CgroupRef {
    uint64_t id = 0;
    std::string path;  // absolute
    std::string pod_uid;
    std::string container_id;  // "" for a pod-level cgroup
  };

  void Run();
  void Watch();  // the CRI event stream, where the runtime has one
  void EnsureConnectedLocked();
  void ReconcileLocked();
  void IndexLocked(const std::string& rel, uint64_t id);
  void DropLocked(uint64_t id);

  CgroupRegistry* registry_;
  CriConnector connect_;
  Options opts_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool dirty_ = false;
  std::thread thread_;
  std::thread watcher_;
  std::unique_ptr<CriSource> watch_source_;  // guarded by mu_
  bool events_ = false;                      // the runtime streams events
  std::deque<CgroupEvent> queue_;

  std::unique_ptr<CriSource> cri_;
  std::string runtime_;
  std::string last_error_;
  absl::Time last_sync_ = absl::InfinitePast();
  absl::Time chase_until_ = absl::InfinitePast();
  uint32_t pods_ = 0, function_pods_ = 0;

  std::map<uint64_t, CgroupRef> cgroups_;         // every kubepods cgroup seen, by id
  std::map<std::string, uint64_t> by_container_;  // container id -> cgroup id
  std::map<std::string, uint64_t> by_pod_;        // pod uid -> pod-level cgroup id
  std::set<uint64_t> registered_;                 // cgroups this tracker registered
  std::set<std::string> warned_;  // pod uids and container ids warned about (bad names)
  // Containers whose runtime spec was read (its seccomp filter told to the registry): once
  // per container, whose filter never changes.
  std::set<std::string> spec_read_;
};

}  // namespace faasguard
