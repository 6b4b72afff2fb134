#include "k8s/cgroup_layout.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace faasguard {
namespace {

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A pod UID as the kubelet writes it: 8-4-4-4-12 hex (systemd: '_' for '-').
bool IsUid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// "pod<uid>", "kubepods-pod<uid>.slice", "kubepods-burstable-pod<uid>.slice" -> uid.
std::optional<std::string> PodUidOf(absl::string_view c) {
  absl::string_view s = c;
  if (absl::ConsumeSuffix(&s, ".slice")) {
    auto at = s.rfind("-pod");
    if (at == absl::string_view::npos) return std::nullopt;
    s = s.substr(at + 4);
    std::string uid = absl::StrReplaceAll(s, {{"_", "-"}});
    if (!IsUid(uid)) return std::nullopt;
    return uid;
  }
  if (!absl::ConsumePrefix(&s, "pod")) return std::nullopt;
  if (!IsUid(s)) return std::nullopt;
  return std::string(s);
}

// The container component: "<id>", "cri-containerd-<id>.scope", "crio-<id>.scope",
// "crio-<id>", "docker-<id>.scope". conmon cgroups are not containers.
std::optional<std::pair<std::string, std::string>> ContainerOf(absl::string_view c) {
  absl::string_view s = c;
  absl::ConsumeSuffix(&s, ".scope");
  if (absl::StartsWith(s, "crio-conmon-")) return std::nullopt;
  std::string runtime;
  if (absl::ConsumePrefix(&s, "cri-containerd-"))
    runtime = "containerd";
  else if (absl::ConsumePrefix(&s, "crio-"))
    runtime = "crio";
  else if (absl::ConsumePrefix(&s, "docker-"))
    runtime = "docker";
  if (!IsHex64(s)) return std::nullopt;
  return std::make_pair(std::string(s), runtime);
}

}  // namespace

std::optional<KubeCgroup> ParseKubeCgroup(absl::string_view path) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  // Find the pod component; the QoS class is named by the components before it.
  for (size_t i = 0; i < parts.size(); ++i) {
    auto uid = PodUidOf(parts[i]);
    if (!uid) continue;
    bool under_kubepods = false;
    KubeCgroup k;
    k.pod_uid = *uid;
    for (size_t j = 0; j <= i; ++j) {
      absl::string_view p = parts[j];
      if (absl::StartsWith(p, "kubepods")) under_kubepods = true;
      if (absl::StrContains(p, "burstable")) k.qos = QosClass::kBurstable;
      if (absl::StrContains(p, "besteffort")) k.qos = QosClass::kBestEffort;
    }
    if (!under_kubepods) return std::nullopt;
    if (i + 1 == parts.size()) return k;  // the pod-level cgroup
    auto ctr = ContainerOf(parts[i + 1]);
    if (!ctr) return std::nullopt;
    k.container_id = ctr->first;
    k.runtime = ctr->second;
    if (i + 2 == parts.size()) return k;
    if (i + 3 == parts.size() && parts[i + 2] == "container") {  // crun's child cgroup
      k.nested = true;
      return k;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace faasguard
