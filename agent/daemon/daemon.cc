#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bpf/bpffs.h"
#include "bpf/features.h"
#include "bpf/kernel_maps.h"
#include "bpf/loader.h"
#include "bpf/ringbuf.h"
#include "cgroup/cgroup.h"
#include "common/args.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "core/engine.h"
#include "core/event_hub.h"
#include "core/status_report.h"
#include "k8s/cri_source.h"
#include "k8s/kube_client.h"
#include "k8s/profile_sync.h"
#include "k8s/tracker.h"
#include "profile/store.h"
#include "rpc/call_counter.h"
#include "rpc/metrics.h"
#include "rpc/server.h"
#include "rpc/service.h"

namespace faasguard {
namespace {

const std::vector<FlagDef>& AgentFlags() {
  static const std::vector<FlagDef> defs = {
      {"state-dir", 0, true, "DIR", "where profiles are kept", "/var/lib/faasguard"},
      {"socket", 0, true, "PATH", "Unix socket of the gRPC API (mode 0600); \"off\": none",
       "/run/faasguard/agent.sock"},
      {"listen-tcp", 0, true, "HOST:PORT", "also serve the API on TCP (mutual TLS)", ""},
      {"tls-cert", 0, true, "FILE", "TCP: the server certificate (PEM)", ""},
      {"tls-key", 0, true, "FILE", "TCP: its private key (PEM)", ""},
      {"tls-client-ca", 0, true, "FILE", "TCP: CA that client certificates must chain to", ""},
      {"insecure-tcp", 0, false, "", "TCP without TLS: any client may do anything", ""},
      {"metrics-addr", 0, true, "HOST:PORT", "Prometheus /metrics and /healthz; \"off\": none",
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
      {"bpf-pin-dir", 0, true, "DIR|off",
       "pin programs and maps here (bpf filesystem): enforcement outlives the agent, and the "
       "next agent takes over; off: everything goes with the agent",
       "/sys/fs/bpf/faasguard"},
      {"fail-open-after", 0, true, "DURATION",
       "while no agent runs, functions set to fail open stop blocking after this long "
       "(faasguardctl mode --when-agent-absent open)",
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

void Usage(std::ostream& os) {
  os << "Usage: faasguard-agent [flags]\n\n"
        "The faasguard node agent: loads the eBPF programs, learns per-function profiles,\n"
        "enforces them, and serves the gRPC API that faasguardctl uses. Runs as root.\n\nFlags:\n"
     << FlagsHelp(AgentFlags());
}

bool ParseU32(const ParsedArgs& a, const char* name, uint32_t def, uint32_t* out) {
  std::string v = a.Get(name);
  if (v.empty()) {
    *out = def;
    return true;
  }
  if (!absl::SimpleAtoi(v, out) || *out == 0) {
    std::cerr << "faasguard-agent: --" << name << " must be a positive integer, got \"" << v
              << "\"\n";
    return false;
  }
  return true;
}

bool ParseMode(const std::string& v, bool allow_off, v1::Mode* out) {
  if (v == "learn")
    *out = v1::MODE_LEARN;
  else if (v == "monitor")
    *out = v1::MODE_MONITOR;
  else if (v == "enforce")
    *out = v1::MODE_ENFORCE;
  else if (allow_off && v == "off")
    *out = v1::MODE_UNSPECIFIED;
  else
    return false;
  return true;
}

// "600" (seconds), or an absl duration ("10m", "90s", "1h30m").
bool ParseDurationFlag(const std::string& v, absl::Duration* out) {
  int64_t secs;
  if (absl::SimpleAtoi(v, &secs) && secs >= 0) {
    *out = absl::Seconds(secs);
    return true;
  }
  return absl::ParseDuration(v, out) && *out >= absl::ZeroDuration();
}

// One agent per pin directory: two would adopt (and attach) the same programs. The lock is the
// directory's own (bpffs holds no regular files); it goes with the process, however it ends.
absl::StatusOr<UniqueFd> LockPinDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, absl::StrCat("create pin directory ", dir,
                                           " (is a bpf filesystem mounted there? or use "
                                           "--bpf-pin-dir off)"));
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open pin directory ", dir));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return absl::FailedPreconditionError(absl::StrCat(
          "another faasguard-agent is running with --bpf-pin-dir ", dir, ": stop it first"));
    return ErrnoStatus(errno, absl::StrCat("lock pin directory ", dir));
  }
  return fd;
}

int Fatal(const std::string& what, const absl::Status& s) {
  LogError(what, {{"error", s.ToString()}});
  std::cerr << "faasguard-agent: " << what << ": " << s.message() << "\n";
  return 1;
}

}  // namespace

int RunAgent(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseArgs(AgentFlags(), args);
  if (!parsed.ok()) {
    std::cerr << "faasguard-agent: " << parsed.status().message() << "\n\n";
    Usage(std::cerr);
    return 2;
  }
  const ParsedArgs& a = *parsed;
  if (a.Has("help")) {
    Usage(std::cout);
    return 0;
  }
  if (a.Has("version")) {
    std::cout << "faasguard-agent " << kVersion << "\n";
    return 0;
  }
  if (!a.positional.empty() || a.double_dash) {
    std::cerr << "faasguard-agent: unexpected argument \""
              << (a.positional.empty() ? "--" : a.positional[0]) << "\"\n";
    return 2;
  }
  std::string log_format = a.Get("log-format", "json");
  if (log_format != "json" && log_format != "text") {
    std::cerr << "faasguard-agent: --log-format must be json or text\n";
    return 2;
  }
  SetLogHuman(log_format == "text");
  std::string level = a.Get("log-level", "info");
  if (level == "debug")
    SetLogLevel(LogLevel::kDebug);
  else if (level == "warn")
    SetLogLevel(LogLevel::kWarn);
  else if (level == "error")
    SetLogLevel(LogLevel::kError);
  else if (level != "info") {
    std::cerr << "faasguard-agent: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  uint32_t ringbuf, max_cgroups, sync_s, max_exec_rules, max_net_rules, min_obs, event_buffer,
      cri_resync, kube_interval;
  if (!ParseU32(a, "ringbuf-size", 1u << 20, &ringbuf) ||
      !ParseU32(a, "max-cgroups", 16384, &max_cgroups) ||
      !ParseU32(a, "max-exec-rules", 16384, &max_exec_rules) ||
      !ParseU32(a, "max-net-rules", 16384, &max_net_rules) ||
      !ParseU32(a, "sync-interval", 2, &sync_s) ||
      !ParseU32(a, "stable-min-observations", 100, &min_obs) ||
      !ParseU32(a, "event-buffer", 1024, &event_buffer) ||
      !ParseU32(a, "cri-resync", 10, &cri_resync) ||
      !ParseU32(a, "kube-sync-interval", 10, &kube_interval))
    return 2;
  std::string kube_sync = a.Get("kube-sync", "auto");
  if (kube_sync != "auto" && kube_sync != "on" && kube_sync != "off") {
    std::cerr << "faasguard-agent: --kube-sync must be auto, on or off\n";
    return 2;
  }
  Engine::Options eo;
  if (!ParseMode(a.Get("default-mode", "learn"), false, &eo.default_mode)) {
    std::cerr << "faasguard-agent: --default-mode must be learn, monitor or enforce\n";
    return 2;
  }
  if (!ParseMode(a.Get("auto-promote", "off"), true, &eo.auto_promote) ||
      eo.auto_promote == v1::MODE_LEARN) {
    std::cerr << "faasguard-agent: --auto-promote must be off, monitor or enforce\n";
    return 2;
  }
  if (!ParseDurationFlag(a.Get("stable-window", "10m"), &eo.stable_window)) {
    std::cerr << "faasguard-agent: --stable-window must be a duration such as 10m or 600s\n";
    return 2;
  }
  eo.stable_min_observations = min_obs;
  std::string state_dir = a.Get("state-dir", "/var/lib/faasguard");
  ServerOptions so;
  so.unix_socket = a.Get("socket", "/run/faasguard/agent.sock");
  if (so.unix_socket == "off") so.unix_socket.clear();
  so.tcp_addr = a.Get("listen-tcp");
  so.tls_cert = a.Get("tls-cert");
  so.tls_key = a.Get("tls-key");
  so.tls_client_ca = a.Get("tls-client-ca");
  so.insecure_tcp = a.Has("insecure-tcp");
  std::string metrics_addr = a.Get("metrics-addr", "127.0.0.1:9464");
  std::string pin_dir = a.Get("bpf-pin-dir", "/sys/fs/bpf/faasguard");
  if (pin_dir == "off") pin_dir.clear();
  while (pin_dir.size() > 1 && pin_dir.back() == '/') pin_dir.pop_back();
  if (!pin_dir.empty() && pin_dir[0] != '/') {
    std::cerr << "faasguard-agent: --bpf-pin-dir must be an absolute path or off\n";
    return 2;
  }
  absl::Duration fail_open_after;
  if (!ParseDurationFlag(a.Get("fail-open-after", "15s"), &fail_open_after) ||
      fail_open_after < absl::Seconds(2 * sync_s)) {
    std::cerr << "faasguard-agent: --fail-open-after must be a duration of at least twice "
                 "--sync-interval (the heartbeat is renewed once per sync), e.g. 15s\n";
    return 2;
  }

  if (::geteuid() != 0) {
    std::cerr << "faasguard-agent: must run as root: it loads eBPF programs and attaches them "
                 "to the cgroup v2 root (running as uid "
              << ::geteuid() << ")\n";
    return 1;
  }

  UniqueFd pin_lock;
  if (!pin_dir.empty()) {
    struct stat pst;
    if (a.Has("cleanup") && ::stat(pin_dir.c_str(), &pst) != 0 && errno == ENOENT) {
      std::cout << "nothing is pinned at " << pin_dir << "\n";
      return 0;
    }
    auto fs = EnsureBpfFs(pin_dir);
    if (!fs.ok()) return Fatal("cannot use the pin directory", fs.status());
    if (fs->mounted) LogInfo("mounted a bpf filesystem: none was mounted", {{"at", fs->root}});
    auto l = LockPinDir(pin_dir);
    if (!l.ok()) return Fatal("cannot use the pin directory", l.status());
    pin_lock = std::move(*l);
  }
  if (a.Has("cleanup")) {
    if (pin_dir.empty()) {
      std::cerr << "faasguard-agent: --cleanup needs a --bpf-pin-dir\n";
      return 2;
    }
    std::vector<std::string> removed;
    absl::Status st = BpfPrograms::RemovePinned(pin_dir, &removed);
    for (const auto& r : removed) std::cout << "unpinned " << r << "\n";
    if (!st.ok()) return Fatal("cleanup incomplete", st);
    if (::rmdir(pin_dir.c_str()) != 0)
      return Fatal("cleanup incomplete", ErrnoStatus(errno, pin_dir));
    std::cout << "removed " << pin_dir << ": " << removed.size()
              << " pinned objects; faasguard's programs are detached\n";
    return 0;
  }

  // Signals are taken by sigwait in this thread only.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  InstallLibbpfLogger();
  absl::Time started = absl::Now();

  std::string mount = a.Get("cgroup-root");
  if (mount.empty()) {
    auto m = DiscoverCgroup2Mount();
    if (!m.ok()) return Fatal("cannot find the cgroup v2 hierarchy", m.status());
    mount = *m;
  }

  ProfileStore store(state_dir);
  if (absl::Status s = store.Init(); !s.ok()) return Fatal("cannot use the state directory", s);

  KernelFeatures features = ProbeKernelFeatures(a.Get("btf"));
  for (const auto& f : features.list)
    LogInfo("kernel feature", {{"name", f.name}, {"available", f.available}, {"detail", f.detail}});

  LoaderOptions lo;
  lo.btf_path = a.Get("btf");
  lo.cgroup2_mount = mount;
  lo.ringbuf_bytes = ringbuf;
  lo.max_cgroups = max_cgroups;
  lo.max_exec_rules = max_exec_rules;
  lo.max_net_rules = max_net_rules;
  lo.hash_seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  lo.features = features;
  lo.pin_dir = pin_dir;
  lo.fail_open_after_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(fail_open_after));
  auto programs = BpfPrograms::LoadAndAttach(lo);
  if (!programs.ok()) return Fatal("cannot load the eBPF programs", programs.status());
  for (const auto& p : (*programs)->attached())
    LogInfo("program attached",
            {{"name", p.name}, {"type", p.type}, {"target", p.target}, {"link", p.link}});

  BpfKernelMaps kernel((*programs)->map_fds());
  eo.hash_seed = (*programs)->hash_seed();  // an adopted state keeps its seed
  if (!pin_dir.empty()) eo.kernel_state_path = state_dir + "/kernel-state.pb";
  eo.violation_log_path = state_dir + "/violations.log";
  eo.limits.max_exec_rules = max_exec_rules;
  eo.limits.max_net_rules = max_net_rules;
  Engine engine(&kernel, &store, eo);
  EventHub hub(/*history=*/1000, event_buffer);
  engine.SetEventSink([&hub](v1::AgentEvent e) { hub.Publish(std::move(e)); });
  engine.LoadProfiles();
  if ((*programs)->adopted()) {
    // The earlier agent's slots, and what the kernel kept and learned while none ran.
    v1::KernelState record;
    auto bytes = ReadFile(eo.kernel_state_path);
    bool usable = bytes.ok() && record.ParseFromString(*bytes) &&
                  record.abi_version() == FG_ABI_VERSION && record.hash_seed() == eo.hash_seed;
    if (!usable) {
      LogWarn(
          "no usable record of the pinned slots: the kernel's tracked cgroups are dropped "
          "and registered again as they are found",
          {{"file", eo.kernel_state_path},
           {"error", bytes.ok() ? "another pinned state or corrupt" : bytes.status().ToString()}});
      record.Clear();
    }
    UniqueFd root(::open(mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto report =
        engine.RestoreKernelState(record, [&root](uint64_t id) -> std::optional<std::string> {
          auto p = CgroupPathById(root.get(), id);
          if (p.ok()) return *p;
          return std::nullopt;
        });
    LogInfo("took over from the earlier agent", {{"slots", report.slots},
                                                 {"cgroups", report.cgroups},
                                                 {"dropped", report.dropped},
                                                 {"modes_reapplied", report.modes_reapplied}});
  }

  // Kubernetes: pods and containers through the CRI, cgroups through the kernel's events.
  std::unique_ptr<NodeTracker> tracker;
  std::string cri = a.Get("cri-endpoint", "auto");
  if (cri != "off") {
    NodeTracker::Options to;
    to.cgroup2_mount = mount;
    to.custom_label = a.Get("function-label", "faasguard.dev/function");
    to.resync = absl::Seconds(cri_resync);
    tracker = std::make_unique<NodeTracker>(
        &engine, MakeCriConnector(cri == "auto" ? "" : cri, absl::Seconds(5)), to);
  }

  // Profiles across nodes: FunctionProfile resources through the API server.
  std::unique_ptr<KubeClient> kube;
  std::unique_ptr<ProfileSync> profile_sync;
  bool in_pod = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  if (kube_sync == "on" || (kube_sync == "auto" && (in_pod || !a.Get("kube-api").empty()))) {
    auto kc = InClusterConfig(
        a.Get("kube-api"),
        a.Get("kube-token-file", "/var/run/secrets/kubernetes.io/serviceaccount/token"),
        a.Get("kube-ca-file", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
    if (!kc.ok()) return Fatal("cannot share profiles through the API server", kc.status());
    auto k = KubeClient::Create(*kc);
    if (!k.ok()) return Fatal("cannot share profiles through the API server", k.status());
    kube = std::move(*k);
    ProfileSync::Options po;
    po.node = a.Get("node-name");
    if (po.node.empty() && std::getenv("NODE_NAME")) po.node = std::getenv("NODE_NAME");
    if (po.node.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      po.node = host;
    }
    po.interval = absl::Seconds(kube_interval);
    po.agent_version = kVersion;
    profile_sync = std::make_unique<ProfileSync>(&engine, kube.get(), po);
    LogInfo("sharing profiles through the API server",
            {{"server", kc->server}, {"node", po.node}, {"interval_s", kube_interval}});
  }

  auto reader = EventReader::Create((*programs)->ringbuf_fd(), [&](const Event& ev) {
    if (auto* c = std::get_if<CgroupEvent>(&ev)) {
      // A removed cgroup is untracked at once; NotFound (most cgroups of the node are not
      // tracked, or faasguardctl run unregistered it first) is the normal case.
      if (c->op == FG_CGROUP_RMDIR) (void)engine.UnregisterCgroup(c->hdr.cgroup_id, "removed");
      if (tracker) tracker->OnCgroupEvent(*c);
      return;
    }
    engine.HandleEvent(ev);
  });
  if (!reader.ok()) return Fatal("cannot read events", reader.status());

  std::vector<std::string> listening;
  StatusSources sources;
  sources.cgroup2_mount = mount;
  sources.state_dir = state_dir;
  sources.started = started;
  sources.features = &features;
  sources.programs = programs->get();
  sources.kernel = &kernel;
  sources.engine = &engine;
  sources.reader = reader->get();
  sources.auto_promote = eo.auto_promote;
  sources.metrics_addr = metrics_addr;
  sources.fail_open_after_seconds = static_cast<uint32_t>(absl::ToInt64Seconds(fail_open_after));
  if (tracker) sources.kubernetes = [&tracker] { return tracker->Status(); };
  if (profile_sync) {
    sources.cluster_sync = [&profile_sync, server = kube->config().server] {
      ProfileSync::Stats st = profile_sync->stats();
      v1::ClusterSyncStatus c;
      c.set_server(server);
      c.set_node(profile_sync->node());
      c.set_published(st.published);
      c.set_unchanged(st.unchanged);
      c.set_conflicts(st.conflicts);
      c.set_taken(st.taken);
      c.set_relists(st.relists);
      c.set_errors(st.errors);
      c.set_last_error(st.last_error);
      c.set_resource_version(st.resource_version);
      return c;
    };
  }
  CallCounter calls;
  so.counter = &calls;
  AgentService service(
      &engine, &hub,
      [mount](const std::string& path) -> absl::StatusOr<std::pair<std::string, uint64_t>> {
        auto dir = ResolveCgroupPath(mount, path);
        if (!dir.ok()) return dir.status();
        auto id = CgroupIdOf(*dir);
        if (!id.ok()) return absl::NotFoundError(absl::StrCat("cgroup ", *dir, " does not exist"));
        return std::make_pair(*dir, *id);
      },
      [&sources, &listening] {
        v1::GetStatusResponse r = BuildStatus(sources);
        for (const auto& l : listening) r.add_listen(l);
        return r;
      });
  auto server = StartServer(so, &service, &listening);
  if (!server.ok()) return Fatal("cannot serve the API", server.status());

  if (tracker) tracker->Start();
  if (profile_sync) profile_sync->Start();
  std::atomic<bool> stop{false};
  std::atomic<bool> reader_alive{true};
  std::thread reader_thread([&] {
    (*reader)->Run(stop);
    reader_alive.store(false);
  });

  std::unique_ptr<MetricsServer> metrics;
  if (metrics_addr != "off") {
    auto m = MetricsServer::Start(
        metrics_addr, [&] { return RenderAgentMetrics(sources, &calls, &hub); },
        [&](std::string* why) {
          if (!reader_alive.load()) {
            *why = "the event reader stopped";
            return false;
          }
          return true;
        });
    if (!m.ok()) {
      stop.store(true);
      reader_thread.join();
      return Fatal("cannot serve metrics", m.status());
    }
    metrics = std::move(*m);
    sources.metrics_addr = metrics->address();
  }

  std::mutex mu;
  std::condition_variable cv;
  std::thread maintenance([&] {
    // Removed cgroups are untracked on their rmdir event; walking every tracked path is the
    // safety net for lost events, every 30 s rather than every sync (1,000 path walks).
    const uint32_t vanished_every = std::max<uint32_t>(1, 30 / sync_s);
    uint32_t syncs = 0;
    std::unique_lock<std::mutex> l(mu);
    while (!stop.load()) {
      cv.wait_for(l, std::chrono::seconds(sync_s), [&] { return stop.load(); });
      if (stop.load()) break;
      l.unlock();
      if (absl::Status hb = (*programs)->Heartbeat(); !hb.ok())
        LogWarn("heartbeat not written", {{"error", hb.ToString()}});
      if (auto r = (*programs)->RepairTaskMarks(); !r.ok())
        LogWarn("task marks not repaired", {{"error", r.status().ToString()}});
      else if (*r > 0)
        LogWarn("the kernel could not mark tasks of tracked cgroups: marked again",
                {{"failures", *r}});
      engine.SyncFromKernel();
      if (++syncs % vanished_every == 0) {
        engine.DropVanishedCgroups([](uint64_t id, const std::string& path) {
          auto now = CgroupIdOf(path);
          return now.ok() && *now == id;
        });
      }
      engine.CheckLifecycle();
      engine.SaveDirty();
      l.lock();
    }
  });

  LogInfo("agent ready", {{"listen", absl::StrJoin(listening, ",")},
                          {"metrics", metrics ? metrics->address() : "off"},
                          {"state_dir", state_dir},
                          {"cgroup2", mount},
                          {"pin_dir", pin_dir.empty() ? "off" : pin_dir},
                          {"adopted", (*programs)->adopted()},
                          {"programs", static_cast<uint64_t>((*programs)->attached().size())}});

  int sig = 0;
  sigwait(&sigs, &sig);
  LogInfo("shutting down", {{"signal", sig}});
  service.Shutdown();
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  metrics.reset();
  {
    std::lock_guard<std::mutex> l(mu);
    stop.store(true);
  }
  cv.notify_all();
  reader_thread.join();
  maintenance.join();
  if (tracker) tracker->Stop();
  if (profile_sync) profile_sync->Stop();
  engine.SyncFromKernel();
  engine.SaveDirty();
  if (!so.unix_socket.empty()) ::unlink(so.unix_socket.c_str());
  LogInfo("agent stopped");
  return 0;
}

}  // namespace faasguard
