// faasguard-agent's command line: the flag table, and a pure function from the arguments to
// the agent's configuration or a usage error (exit 2). Nothing here touches the machine.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/args.h"
#include "common/log.h"
#include "faasguard/v1/profile.pb.h"
#include "profile/address.h"

namespace faasguard {

// --help lines are at most this wide.
inline constexpr size_t kAgentHelpWidth = 99;

struct AgentConfig {
  enum class Action { kRun, kHelp, kVersion, kCleanup };
  enum class KubeSync { kAuto, kOn, kOff };

  Action action = Action::kRun;

  // Logs.
  bool log_text = false;
  LogLevel log_level = LogLevel::kInfo;

  // Where the agent keeps and serves things ("" for a socket or address: none).
  std::string state_dir;
  std::string unix_socket;
  std::string listen_tcp;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  bool insecure_tcp = false;
  std::string metrics_addr;
  std::string seccomp_root;  // "": no Localhost profiles written
  bool files = true;         // --files: learn and check files
  std::string webhook_addr;  // "": no admission webhook served
  std::string webhook_cert;
  std::string webhook_key;

  // Functions: modes and the end of learning.
  v1::Mode default_mode = v1::MODE_LEARN;
  v1::Mode auto_promote = v1::MODE_UNSPECIFIED;  // unspecified: off
  absl::Duration stable_window;
  uint32_t stable_min_observations = 0;
  uint32_t event_buffer = 0;

  // Kubernetes: pods through the CRI, profiles through the API server.
  bool track_pods = true;
  std::string cri_endpoint;  // "": the first known socket that exists
  std::string function_label;
  absl::Duration cri_resync;
  std::string node_name;  // "": $NODE_NAME, else the host name (found at start)
  KubeSync kube_sync = KubeSync::kAuto;
  std::string kube_api;  // "": from KUBERNETES_SERVICE_HOST / _PORT
  std::string kube_token_file;
  std::string kube_ca_file;
  absl::Duration kube_sync_interval;
  // The cluster's pod and service CIDRs: inbound peers there are of class "cluster".
  std::vector<ParsedAddress> cluster_cidrs;

  // The kernel side.
  std::string bpf_pin_dir;  // "": nothing pinned
  absl::Duration fail_open_after;
  std::string btf;          // "": /sys/kernel/btf/vmlinux
  std::string cgroup_root;  // "": found in /proc/self/mountinfo
  uint32_t ringbuf_size = 0;
  uint32_t max_cgroups = 0;
  uint32_t max_exec_rules = 0;
  uint32_t max_net_rules = 0;
  uint32_t max_dns_rules = 0;
  uint32_t max_dns_bindings = 0;
  absl::Duration sync_interval;
};

// Every flag of the agent, with its help text and default.
const std::vector<FlagDef>& AgentFlags();

// The --help text.
void AgentUsage(std::ostream& os);

// The arguments after the program name. Errors are usage errors whose message names the flag
// and what it accepts.
absl::StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args);

}  // namespace faasguard
