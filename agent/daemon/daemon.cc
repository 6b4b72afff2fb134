#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bpf/bpffs.h"
#include "cgroup/cgroup.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/version.h"
#include "daemon/agent_metrics.h"
#include "k8s/cri_source.h"

namespace faasguard {
namespace {

// `what: message`, keeping the code; OK stays OK.
absl::Status Annotated(absl::string_view what, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

int Fatal(const absl::Status& s) {
  LogError("fatal error", {{"error", s.ToString()}});
  std::cerr << "faasguard-agent: " << s.message() << "\n";
  return 1;
}

// One agent per pin directory: two would adopt (and attach) the same programs. The lock is the
// directory's own (bpffs holds no regular files); it goes with the process, however it ends.
// A bpf filesystem is mounted at the directory's root when none is there.
absl::StatusOr<UniqueFd> LockPinDir(const std::string& dir) {
  FG_ASSIGN_OR_RETURN(BpfFsReport fs, EnsureBpfFs(dir));
  if (fs.mounted) LogInfo("mounted a bpf filesystem: none was mounted", {{"at", fs.root}});
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

// --cleanup: unpin everything (the programs detach) and remove the directory.
int Cleanup(const std::string& pin_dir) {
  struct stat st;
  if (::stat(pin_dir.c_str(), &st) != 0 && errno == ENOENT) {
    std::cout << "nothing is pinned at " << pin_dir << "\n";
    return 0;
  }
  auto lock = LockPinDir(pin_dir);
  if (!lock.ok()) return Fatal(Annotated("cannot use the pin directory", lock.status()));
  std::vector<std::string> removed;
  absl::Status s = BpfPrograms::RemovePinned(pin_dir, &removed);
  for (const auto& r : removed) std::cout << "unpinned " << r << "\n";
  if (s.ok() && ::rmdir(pin_dir.c_str()) != 0) s = ErrnoStatus(errno, pin_dir);
  if (!s.ok()) return Fatal(Annotated("cleanup incomplete", s));
  std::cout << "removed " << pin_dir << ": " << removed.size()
            << " pinned objects; faasguard's programs are detached\n";
  return 0;
}

// $NODE_NAME, else the host name.
std::string DefaultNodeName() {
  if (const char* n = std::getenv("NODE_NAME"); n && *n) return n;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

Agent::Agent(AgentConfig config) : config_(std::move(config)) {}

Agent::~Agent() { Stop(); }

absl::Status Agent::Start() {
  started_ = absl::Now();
  FG_RETURN_IF_ERROR(LockPins());
  InstallLibbpfLogger();
  cgroup2_ = config_.cgroup_root;
  if (cgroup2_.empty()) {
    auto m = DiscoverCgroup2Mount();
    FG_RETURN_IF_ERROR(Annotated("cannot find the cgroup v2 hierarchy", m.status()));
    cgroup2_ = *m;
  }
  store_ = std::make_unique<ProfileStore>(config_.state_dir);
  FG_RETURN_IF_ERROR(Annotated("cannot use the state directory", store_->Init()));
  FG_RETURN_IF_ERROR(LoadPrograms());
  StartEngine();
  if (programs_->adopted()) AdoptKernelState();
  // sys_enter runs only while some tracked cgroup needs it (no filter that enforces alone).
  engine_->SetSyscallHookSink([this](bool needed) {
    std::lock_guard<std::mutex> g(programs_mu_);
    absl::Status st = programs_->SetSyscallHook(needed);
    if (!st.ok())
      LogWarn(needed ? "cannot attach sys_enter" : "cannot detach sys_enter",
              {{"error", st.ToString()}});
    else
      LogInfo(needed ? "sys_enter attached: a tracked cgroup runs without its seccomp filter"
                     : "sys_enter detached: every tracked cgroup runs under its seccomp filter",
              {});
  });
  FG_RETURN_IF_ERROR(StartKubernetes());

  auto reader =
      EventReader::Create(programs_->ringbuf_fd(), [this](const Event& ev) { Route(ev); });
  FG_RETURN_IF_ERROR(Annotated("cannot read events", reader.status()));
  reader_ = std::move(*reader);

  FG_RETURN_IF_ERROR(StartApi());
  if (tracker_) tracker_->Start();
  if (profile_sync_) profile_sync_->Start();
  reader_thread_ = std::thread([this] {
    reader_->Run(stop_reader_);
    reader_alive_.store(false);
  });
  FG_RETURN_IF_ERROR(StartMetrics());
  FG_RETURN_IF_ERROR(StartWebhook());

  MaintenanceLoop::Options mo;
  mo.interval = config_.sync_interval;
  maintenance_ = std::make_unique<MaintenanceLoop>(
      engine_.get(),
      [this] {
        std::lock_guard<std::mutex> g(programs_mu_);
        if (absl::Status hb = programs_->Heartbeat(); !hb.ok())
          LogWarn("heartbeat not written", {{"error", hb.ToString()}});
        if (auto r = programs_->RepairTaskMarks(); !r.ok())
          LogWarn("task marks not repaired", {{"error", r.status().ToString()}});
        else if (*r > 0)
          LogWarn("the kernel could not mark tasks of tracked cgroups: marked again",
                  {{"failures", *r}});
      },
      [](uint64_t id, const std::string& path) {
        auto now = CgroupIdOf(path);
        return now.ok() && *now == id;
      },
      mo);
  maintenance_->Start();

  LogInfo("agent ready", {{"listen", absl::StrJoin(listening_, ",")},
                          {"metrics", metrics_ ? metrics_->address() : "off"},
                          {"state_dir", config_.state_dir},
                          {"cgroup2", cgroup2_},
                          {"pin_dir", config_.bpf_pin_dir.empty() ? "off" : config_.bpf_pin_dir},
                          {"adopted", programs_->adopted()},
                          {"programs", static_cast<uint64_t>(programs_->attached().size())}});
  return absl::OkStatus();
}

absl::Status Agent::LockPins() {
  if (config_.bpf_pin_dir.empty()) return absl::OkStatus();
  auto lock = LockPinDir(config_.bpf_pin_dir);
  FG_RETURN_IF_ERROR(Annotated("cannot use the pin directory", lock.status()));
  pin_lock_ = std::move(*lock);
  return absl::OkStatus();
}

absl::Status Agent::LoadPrograms() {
  features_ = ProbeKernelFeatures(config_.btf);
  for (const auto& f : features_.list)
    LogInfo("kernel feature", {{"name", f.name}, {"available", f.available}, {"detail", f.detail}});
  LoaderOptions lo;
  lo.btf_path = config_.btf;
  lo.cgroup2_mount = cgroup2_;
  lo.ringbuf_bytes = config_.ringbuf_size;
  lo.max_cgroups = config_.max_cgroups;
  lo.max_exec_rules = config_.max_exec_rules;
  lo.max_net_rules = config_.max_net_rules;
  lo.max_dns_rules = config_.max_dns_rules;
  lo.max_dns_bindings = config_.max_dns_bindings;
  lo.hash_seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  lo.features = features_;
  lo.pin_dir = config_.bpf_pin_dir;
  lo.fail_open_after_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(config_.fail_open_after));
  auto programs = BpfPrograms::LoadAndAttach(lo);
  FG_RETURN_IF_ERROR(Annotated("cannot load the eBPF programs", programs.status()));
  programs_ = std::move(*programs);
  for (const auto& p : programs_->attached())
    LogInfo("program attached",
            {{"name", p.name}, {"type", p.type}, {"target", p.target}, {"link", p.link}});
  kernel_ = std::make_unique<BpfKernelMaps>(programs_->map_fds());
  std::vector<fg_cidr_key> cidrs;
  for (const auto& c : config_.cluster_cidrs) {
    fg_cidr_key k{};
    k.prefixlen = FG_CIDR_FIXED_BITS + c.prefix;
    k.family = c.family;
    std::memcpy(k.addr, c.addr, sizeof k.addr);
    cidrs.push_back(k);
  }
  return Annotated("cannot write the cluster CIDRs", programs_->SetClusterCidrs(cidrs));
}

void Agent::StartEngine() {
  Engine::Options eo;
  eo.default_mode = config_.default_mode;
  eo.auto_promote = config_.auto_promote;
  eo.stable_window = config_.stable_window;
  eo.stable_min_observations = config_.stable_min_observations;
  eo.hash_seed = programs_->hash_seed();  // an adopted state keeps its seed
  if (!config_.bpf_pin_dir.empty()) eo.kernel_state_path = config_.state_dir + "/kernel-state.pb";
  eo.violation_log_path = config_.state_dir + "/violations.log";
  eo.limits.max_exec_rules = config_.max_exec_rules;
  eo.limits.max_net_rules = config_.max_net_rules;
  eo.limits.max_dns_rules = config_.max_dns_rules;
  eo.limits.files = config_.files;
  if (!config_.seccomp_root.empty()) {
    seccomp_files_ = std::make_unique<SeccompProfileFiles>(config_.seccomp_root);
    eo.seccomp_files = seccomp_files_.get();
  }
  hub_ = std::make_unique<EventHub>(/*history=*/1000, config_.event_buffer);
  engine_ = std::make_unique<Engine>(kernel_.get(), store_.get(), eo);
  engine_->SetEventSink([hub = hub_.get()](v1::AgentEvent e) { hub->Publish(std::move(e)); });
  engine_->SetFileHook([p = programs_.get()](bool on) { return p->SetFileHook(on); },
                       programs_->file_hook_attached());  // files.bpf.c: only while needed
  engine_->LoadProfiles();
}

// The earlier agent's slots, and what the kernel kept and learned while none ran.
void Agent::AdoptKernelState() {
  const std::string& path = engine_->options().kernel_state_path;
  v1::KernelState record;
  auto bytes = ReadFile(path);
  bool usable = bytes.ok() && record.ParseFromString(*bytes) &&
                record.abi_version() == FG_ABI_VERSION &&
                record.hash_seed() == programs_->hash_seed();
  if (!usable) {
    LogWarn(
        "no usable record of the pinned slots: the kernel's tracked cgroups are dropped "
        "and registered again as they are found",
        {{"file", path},
         {"error", bytes.ok() ? "another pinned state or corrupt" : bytes.status().ToString()}});
    record.Clear();
  }
  UniqueFd root(::open(cgroup2_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto report =
      engine_->RestoreKernelState(record, [&root](uint64_t id) -> std::optional<std::string> {
        auto p = CgroupPathById(root.get(), id);
        if (p.ok()) return *p;
        return std::nullopt;
      });
  LogInfo("took over from the earlier agent", {{"slots", report.slots},
                                               {"cgroups", report.cgroups},
                                               {"dropped", report.dropped},
                                               {"modes_reapplied", report.modes_reapplied}});
}

absl::Status Agent::StartKubernetes() {
  // Pods and containers through the CRI, cgroups through the kernel's events.
  if (config_.track_pods) {
    NodeTracker::Options to;
    to.cgroup2_mount = cgroup2_;
    to.custom_label = config_.function_label;
    to.resync = config_.cri_resync;
    tracker_ = std::make_unique<NodeTracker>(
        engine_.get(), MakeCriConnector(config_.cri_endpoint, absl::Seconds(5)), to);
  }
  // Profiles across nodes: FunctionProfile resources through the API server.
  bool in_pod = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  bool share =
      config_.kube_sync == AgentConfig::KubeSync::kOn ||
      (config_.kube_sync == AgentConfig::KubeSync::kAuto && (in_pod || !config_.kube_api.empty()));
  if (!share) return absl::OkStatus();
  const char* what = "cannot share profiles through the API server";
  auto kc = InClusterConfig(config_.kube_api, config_.kube_token_file, config_.kube_ca_file);
  FG_RETURN_IF_ERROR(Annotated(what, kc.status()));
  auto k = KubeClient::Create(*kc);
  FG_RETURN_IF_ERROR(Annotated(what, k.status()));
  kube_ = std::move(*k);
  ProfileSync::Options po;
  po.node = config_.node_name.empty() ? DefaultNodeName() : config_.node_name;
  po.interval = config_.kube_sync_interval;
  po.agent_version = kVersion;
  profile_sync_ = std::make_unique<ProfileSync>(engine_.get(), kube_.get(), po);
  LogInfo("sharing profiles through the API server",
          {{"server", kc->server},
           {"node", po.node},
           {"interval_s", absl::ToInt64Seconds(po.interval)}});
  return absl::OkStatus();
}

absl::Status Agent::StartApi() {
  sources_.cgroup2_mount = cgroup2_;
  sources_.state_dir = config_.state_dir;
  sources_.started = started_;
  sources_.features = &features_;
  sources_.programs = programs_.get();
  sources_.kernel = kernel_.get();
  sources_.engine = engine_.get();
  sources_.reader = reader_.get();
  sources_.auto_promote = config_.auto_promote;
  sources_.metrics_addr = config_.metrics_addr.empty() ? "off" : config_.metrics_addr;
  sources_.seccomp_root = config_.seccomp_root;
  sources_.syscall_hook = [this] {
    std::lock_guard<std::mutex> g(programs_mu_);
    return programs_->syscall_hook_attached();
  };
  sources_.webhook_addr = [this] { return webhook_ ? webhook_->address() : std::string(); };
  sources_.fail_open_after_seconds =
      static_cast<uint32_t>(absl::ToInt64Seconds(config_.fail_open_after));
  if (tracker_) sources_.kubernetes = [this] { return tracker_->Status(); };
  if (profile_sync_) {
    sources_.cluster_sync = [this] {
      ProfileSync::Stats st = profile_sync_->stats();
      v1::ClusterSyncStatus c;
      c.set_server(kube_->config().server);
      c.set_node(profile_sync_->node());
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
  service_ = std::make_unique<AgentService>(
      engine_.get(), hub_.get(),
      [mount =
           cgroup2_](const std::string& path) -> absl::StatusOr<std::pair<std::string, uint64_t>> {
        FG_ASSIGN_OR_RETURN(std::string dir, ResolveCgroupPath(mount, path));
        auto id = CgroupIdOf(dir);
        if (!id.ok()) return absl::NotFoundError(absl::StrCat("cgroup ", dir, " does not exist"));
        return std::make_pair(dir, *id);
      },
      [this] {
        v1::GetStatusResponse r = BuildStatus(sources_);
        for (const auto& l : listening_) r.add_listen(l);
        return r;
      });
  ServerOptions so;
  so.unix_socket = config_.unix_socket;
  so.tcp_addr = config_.listen_tcp;
  so.tls_cert = config_.tls_cert;
  so.tls_key = config_.tls_key;
  so.tls_client_ca = config_.tls_client_ca;
  so.insecure_tcp = config_.insecure_tcp;
  so.counter = &calls_;
  auto server = StartServer(so, service_.get(), &listening_);
  FG_RETURN_IF_ERROR(Annotated("cannot serve the API", server.status()));
  server_ = std::move(*server);
  return absl::OkStatus();
}

absl::Status Agent::StartMetrics() {
  if (config_.metrics_addr.empty()) return absl::OkStatus();
  auto m = MetricsServer::Start(
      config_.metrics_addr, [this] { return RenderAgentMetrics(sources_, &calls_, hub_.get()); },
      [this](std::string* why) {
        if (reader_alive_.load()) return true;
        *why = "the event reader stopped";
        return false;
      });
  FG_RETURN_IF_ERROR(Annotated("cannot serve metrics", m.status()));
  metrics_ = std::move(*m);
  sources_.metrics_addr = metrics_->address();
  return absl::OkStatus();
}

void Agent::Route(const Event& ev) {
  if (auto* c = std::get_if<CgroupEvent>(&ev)) {
    // NotFound (most cgroups of the node are not tracked, or faasguardctl run unregistered it
    // first) is the normal case.
    if (c->op == FG_CGROUP_RMDIR) (void)engine_->UnregisterCgroup(c->hdr.cgroup_id, "removed");
    if (tracker_) tracker_->OnCgroupEvent(*c);
    return;
  }
  engine_->HandleEvent(ev);
}

absl::Status Agent::StartWebhook() {
  if (config_.webhook_addr.empty()) return absl::OkStatus();
  AdmissionOptions ao;
  ao.custom_label = config_.function_label;
  auto w = WebhookServer::Start(
      config_.webhook_addr, config_.webhook_cert, config_.webhook_key,
      [this](const v1::FunctionId& id, const std::string& container) {
        return engine_->SeccompProfileForAdmission(id, container);
      },
      ao);
  FG_RETURN_IF_ERROR(Annotated("cannot serve the admission webhook", w.status()));
  webhook_ = std::move(*w);
  LogInfo("admission webhook serving", {{"address", webhook_->address()}});
  return absl::OkStatus();
}

void Agent::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (service_) service_->Shutdown();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  metrics_.reset();
  webhook_.reset();
  if (maintenance_) maintenance_->Stop();
  stop_reader_.store(true);
  if (reader_thread_.joinable()) reader_thread_.join();
  if (tracker_) tracker_->Stop();
  if (profile_sync_) profile_sync_->Stop();
  if (engine_) {
    engine_->SyncFromKernel();
    engine_->SaveDirty();
  }
  if (server_ && !config_.unix_socket.empty()) ::unlink(config_.unix_socket.c_str());
}

int RunAgent(const AgentConfig& config) {
  switch (config.action) {
    case AgentConfig::Action::kHelp:
      AgentUsage(std::cout);
      return 0;
    case AgentConfig::Action::kVersion:
      std::cout << "faasguard-agent " << kVersion << "\n";
      return 0;
    case AgentConfig::Action::kCleanup:
    case AgentConfig::Action::kRun:
      break;
  }
  SetLogHuman(config.log_text);
  SetLogLevel(config.log_level);
  if (::geteuid() != 0) {
    std::cerr << "faasguard-agent: must run as root: it loads eBPF programs and attaches them "
                 "to the cgroup v2 root (running as uid "
              << ::geteuid() << ")\n";
    return 1;
  }
  if (config.action == AgentConfig::Action::kCleanup) return Cleanup(config.bpf_pin_dir);

  // Signals are taken by sigwait in this thread only: every thread started later inherits
  // the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Agent agent(config);
  if (absl::Status s = agent.Start(); !s.ok()) return Fatal(s);
  int sig = 0;
  sigwait(&sigs, &sig);
  LogInfo("shutting down", {{"signal", sig}});
  agent.Stop();
  LogInfo("agent stopped");
  return 0;
}

}  // namespace faasguard
