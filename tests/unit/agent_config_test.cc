// faasguard-agent's command line: every flag, the defaults, every refusal, the --help text,
// and docs/api.md's list of the flags (both ways).
#include "daemon/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using ::testing::HasSubstr;

AgentConfig MustParse(const std::vector<std::string>& args) {
  absl::StatusOr<AgentConfig> c = ParseAgentConfig(args);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : AgentConfig{};
}

TEST(AgentConfigTest, Defaults) {
  AgentConfig c = MustParse({});
  EXPECT_EQ(c.action, AgentConfig::Action::kRun);
  EXPECT_FALSE(c.log_text);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.state_dir, "/var/lib/faasguard");
  EXPECT_EQ(c.unix_socket, "/run/faasguard/agent.sock");
  EXPECT_EQ(c.listen_tcp, "");
  EXPECT_EQ(c.tls_cert, "");
  EXPECT_EQ(c.tls_key, "");
  EXPECT_EQ(c.tls_client_ca, "");
  EXPECT_FALSE(c.insecure_tcp);
  EXPECT_EQ(c.metrics_addr, "127.0.0.1:9464");
  EXPECT_EQ(c.default_mode, v1::MODE_LEARN);
  EXPECT_EQ(c.auto_promote, v1::MODE_UNSPECIFIED);
  EXPECT_EQ(c.stable_window, absl::Minutes(10));
  EXPECT_EQ(c.stable_min_observations, 100u);
  EXPECT_EQ(c.event_buffer, 1024u);
  EXPECT_TRUE(c.track_pods);
  EXPECT_EQ(c.cri_endpoint, "");
  EXPECT_EQ(c.function_label, "faasguard.dev/function");
  EXPECT_EQ(c.cri_resync, absl::Seconds(10));
  EXPECT_EQ(c.node_name, "");
  EXPECT_EQ(c.kube_sync, AgentConfig::KubeSync::kAuto);
  EXPECT_EQ(c.kube_api, "");
  EXPECT_EQ(c.kube_token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(c.kube_ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  EXPECT_EQ(c.kube_sync_interval, absl::Seconds(10));
  EXPECT_EQ(c.bpf_pin_dir, "/sys/fs/bpf/faasguard");
  EXPECT_EQ(c.fail_open_after, absl::Seconds(15));
  EXPECT_EQ(c.btf, "");
  EXPECT_EQ(c.cgroup_root, "");
  EXPECT_EQ(c.ringbuf_size, 1u << 20);
  EXPECT_EQ(c.max_cgroups, 16384u);
  EXPECT_EQ(c.max_exec_rules, 16384u);
  EXPECT_EQ(c.max_net_rules, 16384u);
  EXPECT_EQ(c.max_dns_rules, 16384u);
  EXPECT_EQ(c.max_dns_bindings, 8192u);
  EXPECT_EQ(c.sync_interval, absl::Seconds(2));
}

// One case per flag: its arguments and what they must set. A flag of the table without a case
// fails EveryFlagHasACase.
struct FlagCase {
  std::string flag;
  std::vector<std::string> args;
  std::function<void(const AgentConfig&)> check;
};

const std::vector<FlagCase>& FlagCases() {
  using A = AgentConfig;
  static const std::vector<FlagCase> cases = {
      {"state-dir", {"--state-dir", "/s"}, [](const A& c) { EXPECT_EQ(c.state_dir, "/s"); }},
      {"socket", {"--socket", "/x.sock"}, [](const A& c) { EXPECT_EQ(c.unix_socket, "/x.sock"); }},
      {"socket", {"--socket=off"}, [](const A& c) { EXPECT_EQ(c.unix_socket, ""); }},
      {"listen-tcp",
       {"--listen-tcp", "127.0.0.1:9443"},
       [](const A& c) { EXPECT_EQ(c.listen_tcp, "127.0.0.1:9443"); }},
      {"tls-cert", {"--tls-cert", "c.pem"}, [](const A& c) { EXPECT_EQ(c.tls_cert, "c.pem"); }},
      {"tls-key", {"--tls-key", "k.pem"}, [](const A& c) { EXPECT_EQ(c.tls_key, "k.pem"); }},
      {"tls-client-ca",
       {"--tls-client-ca", "ca.pem"},
       [](const A& c) { EXPECT_EQ(c.tls_client_ca, "ca.pem"); }},
      {"insecure-tcp", {"--insecure-tcp"}, [](const A& c) { EXPECT_TRUE(c.insecure_tcp); }},
      // A switch given =false is off (it used to count as given).
      {"insecure-tcp", {"--insecure-tcp=false"}, [](const A& c) { EXPECT_FALSE(c.insecure_tcp); }},
      {"metrics-addr",
       {"--metrics-addr", "[::1]:0"},
       [](const A& c) { EXPECT_EQ(c.metrics_addr, "[::1]:0"); }},
      {"metrics-addr",
       {"--metrics-addr", "off"},
       [](const A& c) { EXPECT_EQ(c.metrics_addr, ""); }},
      {"default-mode",
       {"--default-mode", "enforce"},
       [](const A& c) { EXPECT_EQ(c.default_mode, v1::MODE_ENFORCE); }},
      {"default-mode",
       {"--default-mode", "monitor"},
       [](const A& c) { EXPECT_EQ(c.default_mode, v1::MODE_MONITOR); }},
      {"stable-window",
       {"--stable-window", "1h30m"},
       [](const A& c) { EXPECT_EQ(c.stable_window, absl::Minutes(90)); }},
      {"stable-window",
       {"--stable-window", "90"},
       [](const A& c) { EXPECT_EQ(c.stable_window, absl::Seconds(90)); }},
      {"stable-min-observations",
       {"--stable-min-observations", "7"},
       [](const A& c) { EXPECT_EQ(c.stable_min_observations, 7u); }},
      {"auto-promote",
       {"--auto-promote", "monitor"},
       [](const A& c) { EXPECT_EQ(c.auto_promote, v1::MODE_MONITOR); }},
      {"auto-promote",
       {"--auto-promote", "enforce"},
       [](const A& c) { EXPECT_EQ(c.auto_promote, v1::MODE_ENFORCE); }},
      {"cri-endpoint",
       {"--cri-endpoint", "/run/x.sock"},
       [](const A& c) {
         EXPECT_TRUE(c.track_pods);
         EXPECT_EQ(c.cri_endpoint, "/run/x.sock");
       }},
      {"cri-endpoint", {"--cri-endpoint", "off"}, [](const A& c) { EXPECT_FALSE(c.track_pods); }},
      {"function-label",
       {"--function-label", "example.com/fn"},
       [](const A& c) { EXPECT_EQ(c.function_label, "example.com/fn"); }},
      {"cri-resync",
       {"--cri-resync", "3"},
       [](const A& c) { EXPECT_EQ(c.cri_resync, absl::Seconds(3)); }},
      {"node-name", {"--node-name", "n1"}, [](const A& c) { EXPECT_EQ(c.node_name, "n1"); }},
      {"cluster-cidr",
       {"--cluster-cidr", "10.244.0.0/16, fd00::/64"},
       [](const A& c) {
         ASSERT_EQ(c.cluster_cidrs.size(), 2u);
         EXPECT_EQ(c.cluster_cidrs[0].family, 4);
         EXPECT_EQ(c.cluster_cidrs[0].prefix, 16u);
         EXPECT_EQ(c.cluster_cidrs[0].addr[0], 10);
         EXPECT_EQ(c.cluster_cidrs[0].addr[1], 244);
         EXPECT_EQ(c.cluster_cidrs[1].family, 6);
         EXPECT_EQ(c.cluster_cidrs[1].prefix, 64u);
       }},
      {"kube-sync",
       {"--kube-sync", "on"},
       [](const A& c) { EXPECT_EQ(c.kube_sync, AgentConfig::KubeSync::kOn); }},
      {"kube-sync",
       {"--kube-sync", "off"},
       [](const A& c) { EXPECT_EQ(c.kube_sync, AgentConfig::KubeSync::kOff); }},
      {"kube-api",
       {"--kube-api", "https://k:6443"},
       [](const A& c) { EXPECT_EQ(c.kube_api, "https://k:6443"); }},
      {"kube-token-file",
       {"--kube-token-file", "/t"},
       [](const A& c) { EXPECT_EQ(c.kube_token_file, "/t"); }},
      {"kube-ca-file",
       {"--kube-ca-file", "/ca"},
       [](const A& c) { EXPECT_EQ(c.kube_ca_file, "/ca"); }},
      {"kube-sync-interval",
       {"--kube-sync-interval", "30"},
       [](const A& c) { EXPECT_EQ(c.kube_sync_interval, absl::Seconds(30)); }},
      {"bpf-pin-dir",
       {"--bpf-pin-dir", "/sys/fs/bpf/x//"},
       [](const A& c) { EXPECT_EQ(c.bpf_pin_dir, "/sys/fs/bpf/x"); }},
      {"bpf-pin-dir", {"--bpf-pin-dir", "off"}, [](const A& c) { EXPECT_EQ(c.bpf_pin_dir, ""); }},
      {"seccomp-root",
       {"--seccomp-root", "/var/lib/k/seccomp"},
       [](const A& c) { EXPECT_EQ(c.seccomp_root, "/var/lib/k/seccomp"); }},
      {"seccomp-root",
       {"--seccomp-root", "off"},
       [](const A& c) { EXPECT_EQ(c.seccomp_root, ""); }},
      {"files", {}, [](const A& c) { EXPECT_TRUE(c.files); }},
      {"files", {"--files", "off"}, [](const A& c) { EXPECT_FALSE(c.files); }},
      {"webhook-addr",
       {"--webhook-addr", "0.0.0.0:9443", "--webhook-cert", "c", "--webhook-key", "k"},
       [](const A& c) {
         EXPECT_EQ(c.webhook_addr, "0.0.0.0:9443");
         EXPECT_EQ(c.webhook_cert, "c");
         EXPECT_EQ(c.webhook_key, "k");
       }},
      {"webhook-addr",
       {"--webhook-addr", "off"},
       [](const A& c) { EXPECT_EQ(c.webhook_addr, ""); }},
      {"webhook-cert", {"--webhook-cert", "c"}, [](const A& c) { EXPECT_EQ(c.webhook_cert, "c"); }},
      {"webhook-key", {"--webhook-key", "k"}, [](const A& c) { EXPECT_EQ(c.webhook_key, "k"); }},
      {"fail-open-after",
       {"--fail-open-after", "1m"},
       [](const A& c) { EXPECT_EQ(c.fail_open_after, absl::Minutes(1)); }},
      {"cleanup", {"--cleanup"}, [](const A& c) { EXPECT_EQ(c.action, A::Action::kCleanup); }},
      {"cleanup", {"--cleanup=false"}, [](const A& c) { EXPECT_EQ(c.action, A::Action::kRun); }},
      {"btf", {"--btf", "/b"}, [](const A& c) { EXPECT_EQ(c.btf, "/b"); }},
      {"cgroup-root",
       {"--cgroup-root", "/cg"},
       [](const A& c) { EXPECT_EQ(c.cgroup_root, "/cg"); }},
      {"ringbuf-size",
       {"--ringbuf-size", "4096"},
       [](const A& c) { EXPECT_EQ(c.ringbuf_size, 4096u); }},
      {"max-cgroups", {"--max-cgroups", "8"}, [](const A& c) { EXPECT_EQ(c.max_cgroups, 8u); }},
      {"max-exec-rules",
       {"--max-exec-rules", "9"},
       [](const A& c) { EXPECT_EQ(c.max_exec_rules, 9u); }},
      {"max-net-rules",
       {"--max-net-rules", "10"},
       [](const A& c) { EXPECT_EQ(c.max_net_rules, 10u); }},
      {"max-dns-rules",
       {"--max-dns-rules", "11"},
       [](const A& c) { EXPECT_EQ(c.max_dns_rules, 11u); }},
      {"max-dns-bindings",
       {"--max-dns-bindings", "12"},
       [](const A& c) { EXPECT_EQ(c.max_dns_bindings, 12u); }},
      {"sync-interval",
       {"--sync-interval", "1"},
       [](const A& c) { EXPECT_EQ(c.sync_interval, absl::Seconds(1)); }},
      {"event-buffer", {"--event-buffer", "5"}, [](const A& c) { EXPECT_EQ(c.event_buffer, 5u); }},
      {"log-format", {"--log-format", "text"}, [](const A& c) { EXPECT_TRUE(c.log_text); }},
      {"log-level",
       {"--log-level", "debug"},
       [](const A& c) { EXPECT_EQ(c.log_level, LogLevel::kDebug); }},
      {"log-level",
       {"--log-level", "warn"},
       [](const A& c) { EXPECT_EQ(c.log_level, LogLevel::kWarn); }},
      {"log-level",
       {"--log-level", "error"},
       [](const A& c) { EXPECT_EQ(c.log_level, LogLevel::kError); }},
      {"help", {"--help"}, [](const A& c) { EXPECT_EQ(c.action, A::Action::kHelp); }},
      {"help", {"-h"}, [](const A& c) { EXPECT_EQ(c.action, A::Action::kHelp); }},
      {"version", {"--version"}, [](const A& c) { EXPECT_EQ(c.action, A::Action::kVersion); }},
  };
  return cases;
}

TEST(AgentConfigTest, EveryFlag) {
  for (const auto& fc : FlagCases()) {
    SCOPED_TRACE(testing::PrintToString(fc.args));
    fc.check(MustParse(fc.args));
  }
}

TEST(AgentConfigTest, EveryFlagHasACase) {
  std::set<std::string> tested, table;
  for (const auto& fc : FlagCases()) tested.insert(fc.flag);
  for (const auto& d : AgentFlags()) table.insert(d.name);
  EXPECT_EQ(tested, table);
}

TEST(AgentConfigTest, TheLastOfARepeatedFlagWins) {
  EXPECT_EQ(MustParse({"--metrics-addr", "127.0.0.1:1", "--metrics-addr=off"}).metrics_addr, "");
}

TEST(AgentConfigTest, HelpAndVersionComeBeforeAnyOtherCheck) {
  EXPECT_EQ(MustParse({"--log-format", "xml", "--help", "extra"}).action,
            AgentConfig::Action::kHelp);
  EXPECT_EQ(MustParse({"--sync-interval", "0", "--version"}).action, AgentConfig::Action::kVersion);
}

struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string expect;  // the whole message
};

void PrintTo(const UsageCase& c, std::ostream* os) { *os << c.name; }

class AgentUsageTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(AgentUsageTest, IsRefusedWithAMessageNamingTheFlag) {
  const UsageCase& c = GetParam();
  absl::StatusOr<AgentConfig> r = ParseAgentConfig(c.args);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), c.expect);
}

INSTANTIATE_TEST_SUITE_P(
    Args, AgentUsageTest,
    ::testing::Values(
        UsageCase{"UnknownFlag", {"--bogus"}, "unknown flag --bogus"},
        UsageCase{"MissingValue", {"--state-dir"}, "flag --state-dir needs a value (DIR)"},
        UsageCase{"SwitchWithAValue",
                  {"--cleanup=yes"},
                  "flag --cleanup takes no value (or "
                  "true/false)"},
        UsageCase{"Positional", {"run"}, "unexpected argument \"run\""},
        UsageCase{"WebhookWithoutCert",
                  {"--webhook-addr", "0.0.0.0:9443"},
                  "--webhook-addr needs --webhook-cert and --webhook-key"},
        UsageCase{"WebhookWithoutSeccompRoot",
                  {"--webhook-addr", "0.0.0.0:9443", "--webhook-cert", "c", "--webhook-key", "k",
                   "--seccomp-root", "off"},
                  "--webhook-addr needs a --seccomp-root: the profiles it names are written there"},
        UsageCase{"SeccompRootRelative",
                  {"--seccomp-root", "rel"},
                  "--seccomp-root must be an absolute directory, or off"},
        UsageCase{"DoubleDash", {"--", "x"}, "unexpected argument \"--\""},
        UsageCase{"LogFormat", {"--log-format", "xml"}, "--log-format must be json or text"},
        UsageCase{"Files", {"--files", "yes"}, "--files must be on or off"},
        UsageCase{
            "LogLevel", {"--log-level", "trace"}, "--log-level must be debug, info, warn or error"},
        UsageCase{"RingbufNotANumber",
                  {"--ringbuf-size", "1M"},
                  "--ringbuf-size must be a positive integer, got \"1M\""},
        UsageCase{"MaxCgroupsZero",
                  {"--max-cgroups", "0"},
                  "--max-cgroups must be a positive integer, got \"0\""},
        UsageCase{"MaxExecRulesNegative",
                  {"--max-exec-rules", "-1"},
                  "--max-exec-rules must be a positive integer, got \"-1\""},
        UsageCase{"MaxNetRulesTooLarge",
                  {"--max-net-rules", "4294967296"},
                  "--max-net-rules must be a positive integer, got \"4294967296\""},
        UsageCase{"StableMinObservations",
                  {"--stable-min-observations", "x"},
                  "--stable-min-observations must be a positive integer, got \"x\""},
        UsageCase{"EventBuffer",
                  {"--event-buffer", "0"},
                  "--event-buffer must be a positive integer, got \"0\""},
        UsageCase{"SyncInterval",
                  {"--sync-interval", "0"},
                  "--sync-interval must be a positive integer, got \"0\""},
        UsageCase{"CriResync",
                  {"--cri-resync", "2s"},
                  "--cri-resync must be a positive integer, got \"2s\""},
        UsageCase{"KubeSyncInterval",
                  {"--kube-sync-interval", ""},
                  "--kube-sync-interval must be a positive integer, got \"\""},
        UsageCase{"KubeSync", {"--kube-sync", "yes"}, "--kube-sync must be auto, on or off"},
        UsageCase{"DefaultMode",
                  {"--default-mode", "off"},
                  "--default-mode must be learn, monitor or enforce"},
        UsageCase{"AutoPromoteToLearn",
                  {"--auto-promote", "learn"},
                  "--auto-promote must be off, monitor or enforce"},
        UsageCase{"AutoPromoteUnknown",
                  {"--auto-promote", "strict"},
                  "--auto-promote must be off, monitor or enforce"},
        UsageCase{"StableWindow",
                  {"--stable-window", "-5m"},
                  "--stable-window must be a duration such as 10m or 600s"},
        UsageCase{"PinDirRelative",
                  {"--bpf-pin-dir", "bpf/x"},
                  "--bpf-pin-dir must be an absolute path or off"},
        UsageCase{"FailOpenNotADuration",
                  {"--fail-open-after", "soon"},
                  "--fail-open-after must be a duration of at least twice --sync-interval (the "
                  "heartbeat is renewed once per sync), e.g. 15s"},
        UsageCase{"FailOpenBelowTwoSyncs",
                  {"--sync-interval", "10", "--fail-open-after", "19s"},
                  "--fail-open-after must be a duration of at least twice --sync-interval (the "
                  "heartbeat is renewed once per sync), e.g. 15s"},
        UsageCase{"MetricsAddrWithoutPort",
                  {"--metrics-addr", "localhost"},
                  "--metrics-addr must be HOST:PORT or off, e.g. 127.0.0.1:9464"},
        UsageCase{"MetricsAddrPortTooLarge",
                  {"--metrics-addr", "127.0.0.1:65536"},
                  "--metrics-addr must be HOST:PORT or off, e.g. 127.0.0.1:9464"},
        UsageCase{"CleanupWithoutPins",
                  {"--cleanup", "--bpf-pin-dir", "off"},
                  "--cleanup needs a --bpf-pin-dir"}));

// --help: every flag, lines under 100 characters, and a wrapped line never reads as a flag.
TEST(AgentUsageTextTest, FitsIn100ColumnsAndListsEveryFlag) {
  std::ostringstream os;
  AgentUsage(os);
  std::vector<std::string> lines = absl::StrSplit(os.str(), '\n');
  const std::regex flag_line(R"(^  (-\w, |    )--([a-z0-9-]+))");
  std::set<std::string> listed;
  for (const auto& l : lines) {
    EXPECT_LT(l.size(), 100u) << l;
    std::smatch m;
    if (std::regex_search(l, m, flag_line)) {
      listed.insert(m[2]);
    } else {
      EXPECT_FALSE(l.find_first_not_of(' ') != std::string::npos &&
                   l[l.find_first_not_of(' ')] == '-')
          << "a continuation line starts with a dash: " << l;
    }
  }
  std::set<std::string> table;
  for (const auto& d : AgentFlags()) table.insert(d.name);
  EXPECT_EQ(listed, table);
}

// docs/api.md, "## faasguard-agent flags": one table row per flag, "| `--name VALUE` |
// default | meaning |", the default in backquotes when the flag has one.
struct DocRow {
  std::string usage;     // "--name VALUE"
  std::string default_;  // "" when the cell is not a `literal`
};

std::map<std::string, DocRow> DocumentedFlags() {
  std::ifstream in(FG_SOURCE_DIR "/docs/api.md");
  EXPECT_TRUE(in.good()) << "cannot read docs/api.md";
  std::map<std::string, DocRow> rows;
  bool in_section = false;
  const std::regex row(R"(^\| `(--([a-z0-9-]+)[^`]*)` \| ([^|]*) \|)");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) in_section = line == "## faasguard-agent flags";
    std::smatch m;
    if (!in_section || !std::regex_search(line, m, row)) continue;
    std::string def = m[3];
    DocRow r{absl::StrReplaceAll(m[1].str(), {{"\\|", "|"}}), ""};  // "a\|b" in a table
    if (def.size() > 2 && def.front() == '`' && def.back() == '`')
      r.default_ = def.substr(1, def.size() - 2);
    EXPECT_TRUE(rows.emplace(m[2], r).second) << "documented twice: --" << m[2];
  }
  return rows;
}

TEST(AgentFlagsDocTest, ApiMdListsEveryFlagAndNoOther) {
  std::map<std::string, DocRow> docs = DocumentedFlags();
  ASSERT_FALSE(docs.empty()) << "no flag table under \"## faasguard-agent flags\" in docs/api.md";
  for (const auto& d : AgentFlags()) {
    SCOPED_TRACE("--" + d.name);
    auto it = docs.find(d.name);
    if (it == docs.end()) {
      ADD_FAILURE() << "docs/api.md does not document --" << d.name;
      continue;
    }
    std::string usage = "--" + d.name + (d.has_value ? " " + d.value_name : "");
    EXPECT_EQ(it->second.usage, usage);
    EXPECT_EQ(it->second.default_, d.default_value);
    docs.erase(it);
  }
  for (const auto& [name, row] : docs)
    ADD_FAILURE() << "docs/api.md documents --" << name << ", which the agent does not have";
}

}  // namespace
}  // namespace faasguard

namespace faasguard {
namespace {

TEST(AgentConfigTest, BadClusterCidrIsRefusedNamingTheFlag) {
  absl::StatusOr<AgentConfig> r = ParseAgentConfig({"--cluster-cidr", "10.244.0.0/16,pods"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("--cluster-cidr"));
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("CIDRs separated by commas"));
}

}  // namespace
}  // namespace faasguard
