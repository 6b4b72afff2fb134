#include "daemon/config.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "core/abi_codec.h"
#include "rpc/metrics.h"

namespace faasguard {
namespace {

const FlagDef& Def(const std::string& name) {
  for (const auto& d : AgentFlags())
    if (d.name == name) return d;
  std::abort();  // a name missing from the table is a programming error
}

// The flag's value, or its default from the table.
std::string Value(const ParsedArgs& a, const std::string& name) {
  return a.Get(name, Def(name).default_value);
}

// A switch: given alone (or =true).
bool Switch(const ParsedArgs& a, const std::string& name) { return a.Get(name) == "true"; }

absl::Status Invalid(const std::string& name, absl::string_view must) {
  return absl::InvalidArgumentError(absl::StrCat("--", name, " must be ", must));
}

absl::StatusOr<uint32_t> Positive(const ParsedArgs& a, const std::string& name) {
  std::string v = Value(a, name);
  uint32_t n = 0;
  if (!absl::SimpleAtoi(v, &n) || n == 0)
    return Invalid(name, absl::StrCat("a positive integer, got \"", v, "\""));
  return n;
}

// "600" (seconds), or an absl duration ("10m", "90s", "1h30m").
bool ParseDuration(const std::string& v, absl::Duration* out) {
  int64_t secs;
  if (absl::SimpleAtoi(v, &secs) && secs >= 0) {
    *out = absl::Seconds(secs);
    return true;
  }
  return absl::ParseDuration(v, out) && *out >= absl::ZeroDuration();
}

bool ParseMode(const std::string& v, v1::Mode* out) {
  auto m = ParseModeWord(v);
  if (m) *out = *m;
  return m.has_value();
}

absl::Status ParseLogs(const ParsedArgs& a, AgentConfig* c) {
  std::string format = Value(a, "log-format");
  if (format != "json" && format != "text") return Invalid("log-format", "json or text");
  c->log_text = format == "text";
  std::string level = Value(a, "log-level");
  if (level == "debug")
    c->log_level = LogLevel::kDebug;
  else if (level == "info")
    c->log_level = LogLevel::kInfo;
  else if (level == "warn")
    c->log_level = LogLevel::kWarn;
  else if (level == "error")
    c->log_level = LogLevel::kError;
  else
    return Invalid("log-level", "debug, info, warn or error");
  return absl::OkStatus();
}

absl::Status ParseSizes(const ParsedArgs& a, AgentConfig* c) {
  FG_ASSIGN_OR_RETURN(c->ringbuf_size, Positive(a, "ringbuf-size"));
  FG_ASSIGN_OR_RETURN(c->max_cgroups, Positive(a, "max-cgroups"));
  FG_ASSIGN_OR_RETURN(c->max_exec_rules, Positive(a, "max-exec-rules"));
  FG_ASSIGN_OR_RETURN(c->max_net_rules, Positive(a, "max-net-rules"));
  FG_ASSIGN_OR_RETURN(c->max_dns_rules, Positive(a, "max-dns-rules"));
  FG_ASSIGN_OR_RETURN(c->max_dns_bindings, Positive(a, "max-dns-bindings"));
  FG_ASSIGN_OR_RETURN(c->stable_min_observations, Positive(a, "stable-min-observations"));
  FG_ASSIGN_OR_RETURN(c->event_buffer, Positive(a, "event-buffer"));
  FG_ASSIGN_OR_RETURN(uint32_t sync, Positive(a, "sync-interval"));
  c->sync_interval = absl::Seconds(sync);
  FG_ASSIGN_OR_RETURN(uint32_t cri_resync, Positive(a, "cri-resync"));
  c->cri_resync = absl::Seconds(cri_resync);
  FG_ASSIGN_OR_RETURN(uint32_t kube_interval, Positive(a, "kube-sync-interval"));
  c->kube_sync_interval = absl::Seconds(kube_interval);
  return absl::OkStatus();
}

absl::Status ParseFunctions(const ParsedArgs& a, AgentConfig* c) {
  if (!ParseMode(Value(a, "default-mode"), &c->default_mode))
    return Invalid("default-mode", "learn, monitor or enforce");
  std::string promote = Value(a, "auto-promote");
  c->auto_promote = v1::MODE_UNSPECIFIED;
  if (promote != "off" &&
      (!ParseMode(promote, &c->auto_promote) || c->auto_promote == v1::MODE_LEARN))
    return Invalid("auto-promote", "off, monitor or enforce");
  if (!ParseDuration(Value(a, "stable-window"), &c->stable_window))
    return Invalid("stable-window", "a duration such as 10m or 600s");
  return absl::OkStatus();
}

absl::Status ParseKubernetes(const ParsedArgs& a, AgentConfig* c) {
  std::string cri = Value(a, "cri-endpoint");
  c->track_pods = cri != "off";
  c->cri_endpoint = cri == "auto" || cri == "off" ? "" : cri;
  c->function_label = Value(a, "function-label");
  c->node_name = Value(a, "node-name");
  std::string sync = Value(a, "kube-sync");
  if (sync == "auto")
    c->kube_sync = AgentConfig::KubeSync::kAuto;
  else if (sync == "on")
    c->kube_sync = AgentConfig::KubeSync::kOn;
  else if (sync == "off")
    c->kube_sync = AgentConfig::KubeSync::kOff;
  else
    return Invalid("kube-sync", "auto, on or off");
  for (absl::string_view cidr : absl::StrSplit(Value(a, "cluster-cidr"), ',', absl::SkipEmpty())) {
    auto parsed = ParseAddressOrCidr(absl::StripAsciiWhitespace(cidr));
    if (!parsed.ok())
      return Invalid("cluster-cidr",
                     absl::StrCat("CIDRs separated by commas (", parsed.status().message(), ")"));
    c->cluster_cidrs.push_back(*parsed);
  }
  if (c->cluster_cidrs.size() > 64) return Invalid("cluster-cidr", "at most 64 CIDRs");
  c->kube_api = Value(a, "kube-api");
  c->kube_token_file = Value(a, "kube-token-file");
  c->kube_ca_file = Value(a, "kube-ca-file");
  return absl::OkStatus();
}

absl::Status ParseKernel(const ParsedArgs& a, AgentConfig* c) {
  c->bpf_pin_dir = Value(a, "bpf-pin-dir");
  if (c->bpf_pin_dir == "off") c->bpf_pin_dir.clear();
  while (c->bpf_pin_dir.size() > 1 && c->bpf_pin_dir.back() == '/') c->bpf_pin_dir.pop_back();
  if (!c->bpf_pin_dir.empty() && c->bpf_pin_dir[0] != '/')
    return Invalid("bpf-pin-dir", "an absolute path or off");
  if (!ParseDuration(Value(a, "fail-open-after"), &c->fail_open_after) ||
      c->fail_open_after < 2 * c->sync_interval)
    return Invalid("fail-open-after",
                   "a duration of at least twice --sync-interval (the heartbeat is renewed once "
                   "per sync), e.g. 15s");
  c->btf = Value(a, "btf");
  c->cgroup_root = Value(a, "cgroup-root");
  return absl::OkStatus();
}

}  // namespace

const std::vector<FlagDef>& AgentFlags() {
  static const std::vector<FlagDef> defs = {
      {"state-dir", 0, true, "DIR", "where profiles are kept", "/var/lib/faasguard"},
      {"socket", 0, true, "PATH|off", "Unix socket of the gRPC API (mode 0600)",
       "/run/faasguard/agent.sock"},
      {"listen-tcp", 0, true, "HOST:PORT", "also serve the API on TCP (mutual TLS)", ""},
      {"tls-cert", 0, true, "FILE", "TCP: the server certificate (PEM)", ""},
      {"tls-key", 0, true, "FILE", "TCP: its private key (PEM)", ""},
      {"tls-client-ca", 0, true, "FILE", "TCP: CA that client certificates must chain to", ""},
      {"insecure-tcp", 0, false, "", "TCP without TLS: any client may do anything", ""},
      {"metrics-addr", 0, true, "HOST:PORT|off", "Prometheus /metrics and /healthz",
       "127.0.0.1:9464"},
      {"default-mode", 0, true, "learn|monitor|enforce",
       "mode of functions seen for the first time", "learn"},
      {"stable-window", 0, true, "DURATION",
       "a learning function is stable after nothing new for this long (e.g. 10m, 90s)", "10m"},
      {"stable-min-observations", 0, true, "N",
       "...and at least this many observations (execs + connections + requests)", "100"},
      {"auto-promote", 0, true, "off|monitor|enforce", "switch stable functions to this mode",
       "off"},
      {"cri-endpoint", 0, true, "PATH|auto|off",
       "container runtime (CRI) socket for Kubernetes pods; auto: the first of "
       "/run/containerd/containerd.sock, /run/crio/crio.sock, /run/k3s/containerd/containerd.sock",
       "auto"},
      {"function-label", 0, true, "KEY", "pod label naming a function (besides Knative, OpenFaaS)",
       "faasguard.dev/function"},
      {"cri-resync", 0, true, "SECONDS", "how often pods and containers are listed again", "10"},
      {"node-name", 0, true, "NAME",
       "this node's name in the cluster (default: $NODE_NAME, else the host name)", ""},
      {"kube-sync", 0, true, "auto|on|off",
       "share profiles across nodes through the API server (FunctionProfile resources); auto: "
       "on inside a Kubernetes pod",
       "auto"},
      {"kube-api", 0, true, "URL", "API server (default: from KUBERNETES_SERVICE_HOST / _PORT)",
       ""},
      {"kube-token-file", 0, true, "FILE", "service-account token",
       "/var/run/secrets/kubernetes.io/serviceaccount/token"},
      {"kube-ca-file", 0, true, "FILE", "CA of the API server's certificate",
       "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
      {"kube-sync-interval", 0, true, "SECONDS", "how often changed profiles are published", "10"},
      {"cluster-cidr", 0, true, "CIDR,...",
       "the cluster's pod and service CIDRs: inbound peers there are of class \"cluster\"", ""},
      {"bpf-pin-dir", 0, true, "DIR|off",
       "pin programs and maps here (bpf filesystem): enforcement outlives the agent, and the "
       "next agent takes over; off: everything goes with the agent",
       "/sys/fs/bpf/faasguard"},
      {"files", 0, true, "on|off",
       "learn and check the files functions open; the check needs a second node-wide hook "
       "(sys_exit) while some function profiles files (docs/benchmarks.md); off: none",
       "on"},
      {"seccomp-root", 0, true, "DIR|off",
       "the kubelet's seccomp root: enforced functions' Localhost profiles are written under "
       "DIR/faasguard/<namespace>/<name>/<container>.json",
       "/var/lib/kubelet/seccomp"},
      {"webhook-addr", 0, true, "HOST:PORT|off",
       "serve the mutating admission webhook (HTTPS, POST /mutate-pods) that gives function "
       "pods their Localhost seccomp profiles",
       "off"},
      {"webhook-cert", 0, true, "FILE", "the webhook's TLS certificate (PEM)", ""},
      {"webhook-key", 0, true, "FILE", "the webhook's TLS key (PEM)", ""},
      {"fail-open-after", 0, true, "DURATION",
       "when no agent has run for this long, functions set to fail open stop blocking (set "
       "per function: faasguardctl mode --when-agent-absent open)",
       "15s"},
      {"cleanup", 0, false, "",
       "remove everything pinned under --bpf-pin-dir (programs detach) and exit", ""},
      {"btf", 0, true, "FILE", "kernel BTF to use instead of /sys/kernel/btf/vmlinux", ""},
      {"cgroup-root", 0, true, "DIR", "cgroup v2 mount (default: found in /proc/self/mountinfo)",
       ""},
      {"ringbuf-size", 0, true, "BYTES", "event ring buffer size, a power of two", "1048576"},
      {"max-cgroups", 0, true, "N", "size of the tracked-cgroup map", "16384"},
      {"max-exec-rules", 0, true, "N", "size of the exec allow-list map (all functions)", "16384"},
      {"max-net-rules", 0, true, "N", "size of the network allow-list map (all functions)",
       "16384"},
      {"max-dns-rules", 0, true, "N", "size of the DNS name allow-list map (all functions)",
       "16384"},
      {"max-dns-bindings", 0, true, "N",
       "addresses from DNS answers the kernel keeps bound to their names (all functions)", "8192"},
      {"sync-interval", 0, true, "SECONDS", "how often kernel sets are folded into profiles", "2"},
      {"event-buffer", 0, true, "N", "events queued per streaming client before it loses some",
       "1024"},
      {"log-format", 0, true, "json|text", "log lines as JSON objects or as text", "json"},
      {"log-level", 0, true, "debug|info|warn|error", "lowest level logged", "info"},
      {"help", 'h', false, "", "show this help", ""},
      {"version", 0, false, "", "print the version", ""},
  };
  return defs;
}

void AgentUsage(std::ostream& os) {
  os << "Usage: faasguard-agent [flags]\n\n"
        "The faasguard node agent: loads the eBPF programs, learns per-function profiles,\n"
        "enforces them, and serves the gRPC API that faasguardctl uses. Runs as root.\n\nFlags:\n"
     << FlagsHelp(AgentFlags(), kAgentHelpWidth);
}

absl::StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args) {
  FG_ASSIGN_OR_RETURN(ParsedArgs a, ParseArgs(AgentFlags(), args));
  AgentConfig c;
  if (Switch(a, "help")) {
    c.action = AgentConfig::Action::kHelp;
    return c;
  }
  if (Switch(a, "version")) {
    c.action = AgentConfig::Action::kVersion;
    return c;
  }
  if (!a.positional.empty() || a.double_dash)
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument \"", a.positional.empty() ? "--" : a.positional[0], "\""));
  FG_RETURN_IF_ERROR(ParseLogs(a, &c));
  FG_RETURN_IF_ERROR(ParseSizes(a, &c));
  FG_RETURN_IF_ERROR(ParseFunctions(a, &c));
  FG_RETURN_IF_ERROR(ParseKubernetes(a, &c));
  FG_RETURN_IF_ERROR(ParseKernel(a, &c));

  c.state_dir = Value(a, "state-dir");
  c.unix_socket = Value(a, "socket");
  if (c.unix_socket == "off") c.unix_socket.clear();
  c.listen_tcp = Value(a, "listen-tcp");
  c.tls_cert = Value(a, "tls-cert");
  c.tls_key = Value(a, "tls-key");
  c.tls_client_ca = Value(a, "tls-client-ca");
  c.insecure_tcp = Switch(a, "insecure-tcp");
  c.metrics_addr = Value(a, "metrics-addr");
  if (c.metrics_addr == "off") c.metrics_addr.clear();
  if (!c.metrics_addr.empty() && !ParseHostPort(c.metrics_addr).ok())
    return Invalid("metrics-addr", "HOST:PORT or off, e.g. 127.0.0.1:9464");

  const std::string files = Value(a, "files");
  if (files != "on" && files != "off") return Invalid("files", "on or off");
  c.files = files == "on";
  c.seccomp_root = Value(a, "seccomp-root");
  if (c.seccomp_root == "off") c.seccomp_root.clear();
  if (!c.seccomp_root.empty() && c.seccomp_root[0] != '/')
    return Invalid("seccomp-root", "an absolute directory, or off");
  c.webhook_addr = Value(a, "webhook-addr");
  if (c.webhook_addr == "off") c.webhook_addr.clear();
  c.webhook_cert = Value(a, "webhook-cert");
  c.webhook_key = Value(a, "webhook-key");
  if (!c.webhook_addr.empty()) {
    if (!ParseHostPort(c.webhook_addr).ok())
      return Invalid("webhook-addr", "HOST:PORT or off, e.g. 0.0.0.0:9443");
    if (c.webhook_cert.empty() || c.webhook_key.empty())
      return absl::InvalidArgumentError("--webhook-addr needs --webhook-cert and --webhook-key");
    if (c.seccomp_root.empty())
      return absl::InvalidArgumentError(
          "--webhook-addr needs a --seccomp-root: the profiles it names are written there");
  }

  if (Switch(a, "cleanup")) {
    if (c.bpf_pin_dir.empty()) return absl::InvalidArgumentError("--cleanup needs a --bpf-pin-dir");
    c.action = AgentConfig::Action::kCleanup;
  }
  return c;
}

}  // namespace faasguard
