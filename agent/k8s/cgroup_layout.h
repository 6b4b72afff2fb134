// Kubelet cgroup layouts: which pod and which container a cgroup directory belongs to.
//
//   systemd driver: /kubepods.slice/kubepods-burstable.slice/
//                     kubepods-burstable-pod<uid with _>.slice/cri-containerd-<id>.scope
//                   (crio-<id>.scope for CRI-O; crio-conmon-<id>.scope is CRI-O's monitor)
//   cgroupfs driver: /kubepods/burstable/pod<uid>/<id>   (CRI-O: .../pod<uid>/crio-<id>)
//   Guaranteed pods have no QoS level: /kubepods.slice/kubepods-pod<uid>.slice/...,
//   /kubepods/pod<uid>/...; BestEffort uses "besteffort". crun adds a "container" child
//   under the container's cgroup. On cgroup v1 the same names appear under each controller.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace faasguard {

enum class QosClass { kGuaranteed, kBurstable, kBestEffort };

struct KubeCgroup {
  std::string pod_uid;  // with '-' (systemd's '_' turned back)
  QosClass qos = QosClass::kGuaranteed;
  std::string container_id;  // 64 hex; empty for the pod-level cgroup itself
  std::string runtime;       // "containerd", "crio", or "" when the layout does not say
  bool nested = false;       // a child of the container cgroup (crun's "container")
};

// The pod (and container) a cgroup path names, or nullopt for a cgroup outside the kubelet's
// layout, a CRI-O conmon cgroup, or anything below a container's own cgroup but crun's child.
// `path` is relative to a hierarchy's mount ("/kubepods/..."); a v1 line's path works too.
std::optional<KubeCgroup> ParseKubeCgroup(absl::string_view path);

}  // namespace faasguard
