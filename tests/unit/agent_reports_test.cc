// What the agent reports about itself: GetStatus (status_report) and /metrics (agent_metrics),
// from an engine over the in-memory kernel. The metrics are checked against Prometheus' rules
// (what `promtool check metrics` lints; the e2e test runs promtool on a live agent).
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/version.h"
#include "core/event_hub.h"
#include "daemon/agent_metrics.h"
#include "daemon/status_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/call_counter.h"
#include "unit/fake_engine.h"

namespace faasguard {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class AgentReportsTest : public FakeEngineTest {
 protected:
  void SetUp() override {
    FakeEngineTest::SetUp();
    sources_.cgroup2_mount = "/sys/fs/cgroup";
    sources_.state_dir = dir_.path();
    sources_.started = absl::FromUnixSeconds(1700000000);
    sources_.kernel = &kernel_;
    sources_.engine = engine_.get();
    sources_.metrics_addr = "127.0.0.1:9464";
    sources_.fail_open_after_seconds = 15;
    sources_.auto_promote = v1::MODE_ENFORCE;
  }

  // shop/cart with one replica and a syscall violation, default/idle with none.
  void TwoFunctions() {
    uint32_t slot = Register("shop", "cart", 11);
    Register("default", "idle", 12);
    ASSERT_TRUE(engine_->UnregisterCgroup(12, "test").ok());
    kernel_.State(slot).viol[FG_VIOL_SYSCALL] = 3;
    engine_->SyncFromKernel();
  }

  StatusSources sources_;
};

// --- GetStatus ---------------------------------------------------------------------------

TEST_F(AgentReportsTest, StatusSaysWhatTheAgentIsAndHasEveryCounter) {
  TwoFunctions();
  kernel_.stats[FG_STAT_MAP_FULL] = 4;
  bool kubernetes_asked = false;
  sources_.kubernetes = [&] {
    kubernetes_asked = true;
    v1::KubernetesStatus k;
    k.set_endpoint("/run/containerd/containerd.sock");
    return k;
  };
  v1::GetStatusResponse r = BuildStatus(sources_);
  EXPECT_EQ(r.version(), kVersion);
  EXPECT_EQ(r.cgroup2_mount(), "/sys/fs/cgroup");
  EXPECT_EQ(r.state_dir(), dir_.path());
  EXPECT_EQ(r.metrics_addr(), "127.0.0.1:9464");
  EXPECT_EQ(r.fail_open_after_seconds(), 15u);
  EXPECT_EQ(r.auto_promote(), "enforce");
  EXPECT_EQ(r.started().seconds(), 1700000000);
  EXPECT_EQ(r.functions(), 2u);
  EXPECT_EQ(r.tracked_cgroups(), 1u);
  EXPECT_EQ(r.default_mode(), v1::MODE_LEARN);
  EXPECT_EQ(r.stable_window_seconds(), 600u);
  EXPECT_EQ(r.stable_min_observations(), 100u);
  EXPECT_TRUE(kubernetes_asked);
  EXPECT_EQ(r.kubernetes().endpoint(), "/run/containerd/containerd.sock");
  EXPECT_FALSE(r.has_cluster_sync());

  std::map<std::string, uint64_t> counters;
  for (const auto& c : r.counters()) counters[c.name()] = c.value();
  for (int i = 0; i < FG_STAT_COUNT_; ++i) EXPECT_EQ(counters.count(KernelStat(i).name), 1u);
  EXPECT_EQ(counters["kernel_map_full"], 4u);
  for (const char* agent : {"agent_events_syscall", "agent_new_behaviours", "agent_kernel_syncs",
                            "agent_policy_errors"})
    EXPECT_EQ(counters.count(agent), 1u) << agent;
}

TEST_F(AgentReportsTest, StatusLeavesOutWhatDoesNotRun) {
  StatusSources none;
  v1::GetStatusResponse r = BuildStatus(none);
  EXPECT_EQ(r.version(), kVersion);
  EXPECT_EQ(r.counters_size(), 0);
  EXPECT_EQ(r.programs_size(), 0);
  EXPECT_FALSE(r.has_kubernetes());
  EXPECT_EQ(r.auto_promote(), "");
}

TEST(KernelStatTest, EveryCounterHasItsOwnNameAndHelp) {
  std::set<std::string> names;
  for (int i = 0; i < FG_STAT_COUNT_; ++i) {
    KernelStatInfo k = KernelStat(i);
    EXPECT_TRUE(std::string(k.name).starts_with("kernel_")) << k.name;
    EXPECT_STRNE(k.help, "");
    EXPECT_TRUE(names.insert(k.name).second) << k.name;
  }
  EXPECT_STREQ(KernelStat(FG_STAT_RB_RESERVE_FAIL).name, "kernel_events_lost");
  EXPECT_STREQ(KernelStat(FG_STAT_COUNT_).name, "kernel_unknown");
}

// --- /metrics ----------------------------------------------------------------------------

struct Family {
  std::string type;
  std::string help;
  std::vector<std::string> samples;  // the sample lines, in order
};

// Parses the text format strictly: a family's HELP and TYPE come once, before its samples,
// and its samples are contiguous.
std::map<std::string, Family> ParseFamilies(const std::string& text) {
  std::map<std::string, Family> fams;
  std::string current;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  for (const auto& line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::string l(line);
    std::vector<std::string> f = absl::StrSplit(l, absl::MaxSplits(' ', 3));
    if (l.starts_with("# HELP ")) {
      EXPECT_EQ(fams.count(f[2]), 0u) << "family declared twice: " << f[2];
      current = f[2];
      fams[current].help = f.size() > 3 ? f[3] : "";
    } else if (l.starts_with("# TYPE ")) {
      EXPECT_EQ(f[2], current) << "TYPE without its HELP: " << l;
      fams[current].type = f[3];
    } else {
      std::smatch m;
      EXPECT_TRUE(std::regex_match(l, m, sample)) << "not a sample: " << l;
      EXPECT_EQ(m[1], current) << "sample outside its family: " << l;
      fams[current].samples.push_back(l);
    }
  }
  return fams;
}

TEST_F(AgentReportsTest, MetricsFollowPrometheusNaming) {
  TwoFunctions();
  CallCounter calls;
  calls.Add("/faasguard.v1.Agent/GetStatus", "OK");
  EventHub hub;
  std::map<std::string, Family> fams = ParseFamilies(RenderAgentMetrics(sources_, &calls, &hub));
  ASSERT_GT(fams.size(), 10u);
  const std::regex name_rule("^faasguard_[a-z0-9_]+$");
  for (const auto& [name, f] : fams) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(std::regex_match(name, name_rule));
    EXPECT_THAT((std::set<std::string>{"counter", "gauge"}), Contains(f.type));
    EXPECT_FALSE(f.help.empty());
    // _total on counters only; no type names in names (promtool's lint).
    EXPECT_EQ(name.ends_with("_total"), f.type == "counter");
    for (const char* t : {"counter", "gauge", "histogram", "summary"})
      EXPECT_EQ(name.find(t), std::string::npos);
  }
  // Every kernel counter is its own counter family.
  for (int i = 0; i < FG_STAT_COUNT_; ++i)
    EXPECT_EQ(fams.count(std::string("faasguard_") + KernelStat(i).name + "_total"), 1u);
}

TEST_F(AgentReportsTest, MetricsNameFunctionsByNamespaceAndName) {
  TwoFunctions();
  std::map<std::string, Family> fams =
      ParseFamilies(RenderAgentMetrics(sources_, nullptr, nullptr));
  EXPECT_THAT(fams["faasguard_build_info"].samples,
              Contains(std::string("faasguard_build_info{version=\"") + kVersion + "\"} 1"));
  EXPECT_THAT(fams["faasguard_violations_total"].samples,
              Contains("faasguard_violations_total{namespace=\"shop\",function=\"cart\","
                       "kind=\"syscall\"} 3"));
  EXPECT_THAT(fams["faasguard_function_replicas"].samples,
              Contains("faasguard_function_replicas{namespace=\"shop\",function=\"cart\"} 1"));
  EXPECT_THAT(fams["faasguard_function_replicas"].samples,
              Contains("faasguard_function_replicas{namespace=\"default\",function=\"idle\"} 0"));
  EXPECT_THAT(fams["faasguard_functions"].samples,
              Contains("faasguard_functions{mode=\"learn\"} 2"));
  EXPECT_THAT(fams["faasguard_tracked_cgroups"].samples, Contains("faasguard_tracked_cgroups 1"));
  for (const auto& [name, f] : fams)
    for (const auto& s : f.samples) EXPECT_THAT(s, Not(HasSubstr("/"))) << "a ns/name label";
}

TEST_F(AgentReportsTest, MetricsOfTheKernelCallsAndStreams) {
  kernel_.stats[FG_STAT_RB_RESERVE_FAIL] = 7;
  CallCounter calls;
  calls.Add("/faasguard.v1.Agent/SetMode", "OK");
  calls.Add("/faasguard.v1.Agent/SetMode", "OK");
  calls.Add("/faasguard.v1.Agent/GetProfile", "NOT_FOUND");
  EventHub hub;
  auto sub = hub.Subscribe({}, 0, nullptr);
  hub.Publish(v1::AgentEvent());
  std::string text = RenderAgentMetrics(sources_, &calls, &hub);
  EXPECT_THAT(text, HasSubstr("\nfaasguard_kernel_events_lost_total 7\n"));
  EXPECT_THAT(text, HasSubstr("\nfaasguard_kernel_map_capacity{map=\"fg_tracked\"} 16384\n"));
  EXPECT_THAT(text, HasSubstr("\nfaasguard_api_calls_total{method=\"/faasguard.v1.Agent/"
                              "SetMode\",code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nfaasguard_event_stream_clients 1\n"));
  EXPECT_THAT(text, HasSubstr("\nfaasguard_agent_events_published_total 1\n"));
}

TEST_F(AgentReportsTest, MetricsLeaveOutWhatDoesNotRun) {
  StatusSources none;
  std::map<std::string, Family> fams = ParseFamilies(RenderAgentMetrics(none, nullptr, nullptr));
  std::set<std::string> names;
  for (const auto& [name, f] : fams) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"faasguard_build_info", "faasguard_up"}));
}

}  // namespace
}  // namespace faasguard
