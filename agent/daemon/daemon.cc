#include "daemon/daemon.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "absl/time/clock.h"
#include "bpf/features.h"
#include "bpf/kernel_maps.h"
#include "bpf/loader.h"
#include "bpf/ringbuf.h"
#include "cgroup/cgroup.h"
#include "common/args.h"
#include "common/log.h"
#include "core/engine.h"
#include "core/status_report.h"
#include "profile/store.h"
#include "rpc/server.h"
#include "rpc/service.h"

namespace faasguard {
namespace {

const std::vector<FlagDef>& AgentFlags() {
  static const std::vector<FlagDef> defs = {
      {"state-dir", 0, true, "DIR", "where profiles are kept", "/var/lib/faasguard"},
      {"socket", 0, true, "PATH", "Unix socket of the gRPC API (mode 0600)",
       "/run/faasguard/agent.sock"},
      {"btf", 0, true, "FILE", "kernel BTF to use instead of /sys/kernel/btf/vmlinux", ""},
      {"cgroup-root", 0, true, "DIR", "cgroup v2 mount (default: found in /proc/self/mountinfo)",
       ""},
      {"ringbuf-size", 0, true, "BYTES", "event ring buffer size, a power of two", "1048576"},
      {"max-cgroups", 0, true, "N", "size of the tracked-cgroup map", "16384"},
      {"max-exec-rules", 0, true, "N", "size of the exec allow-list map (all functions)", "16384"},
      {"max-net-rules", 0, true, "N", "size of the network allow-list map (all functions)",
       "16384"},
      {"sync-interval", 0, true, "SECONDS", "how often kernel sets are folded into profiles", "2"},
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
        "and serves the gRPC API that faasguardctl uses. Runs as root.\n\nFlags:\n"
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
  uint32_t ringbuf, max_cgroups, sync_s, max_exec_rules, max_net_rules;
  if (!ParseU32(a, "ringbuf-size", 1u << 20, &ringbuf) ||
      !ParseU32(a, "max-cgroups", 16384, &max_cgroups) ||
      !ParseU32(a, "max-exec-rules", 16384, &max_exec_rules) ||
      !ParseU32(a, "max-net-rules", 16384, &max_net_rules) ||
      !ParseU32(a, "sync-interval", 2, &sync_s))
    return 2;
  std::string state_dir = a.Get("state-dir", "/var/lib/faasguard");
  std::string socket = a.Get("socket", "/run/faasguard/agent.sock");

  if (::geteuid() != 0) {
    std::cerr << "faasguard-agent: must run as root: it loads eBPF programs and attaches them "
                 "to the cgroup v2 root (running as uid "
              << ::geteuid() << ")\n";
    return 1;
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
  auto programs = BpfPrograms::LoadAndAttach(lo);
  if (!programs.ok()) return Fatal("cannot load the eBPF programs", programs.status());
  for (const auto& p : (*programs)->attached())
    LogInfo("program attached", {{"name", p.name}, {"type", p.type}, {"target", p.target}});

  BpfKernelMaps kernel((*programs)->map_fds());
  Engine::Options eo;
  eo.hash_seed = lo.hash_seed;
  eo.limits.max_exec_rules = max_exec_rules;
  eo.limits.max_net_rules = max_net_rules;
  Engine engine(&kernel, &store, eo);
  engine.LoadProfiles();

  auto reader = EventReader::Create((*programs)->ringbuf_fd(),
                                    [&engine](const Event& ev) { engine.HandleEvent(ev); });
  if (!reader.ok()) return Fatal("cannot read events", reader.status());

  StatusSources sources{mount,           state_dir, started, &features,
                        programs->get(), &kernel,   &engine, reader->get()};
  AgentService service(
      &engine,
      [mount](const std::string& path) -> absl::StatusOr<std::pair<std::string, uint64_t>> {
        auto dir = ResolveCgroupPath(mount, path);
        if (!dir.ok()) return dir.status();
        auto id = CgroupIdOf(*dir);
        if (!id.ok()) return absl::NotFoundError(absl::StrCat("cgroup ", *dir, " does not exist"));
        return std::make_pair(*dir, *id);
      },
      [&sources] { return BuildStatus(sources); });
  auto server = StartUnixServer(socket, &service);
  if (!server.ok()) return Fatal("cannot serve the API", server.status());

  std::atomic<bool> stop{false};
  std::thread reader_thread([&] { (*reader)->Run(stop); });
  std::mutex mu;
  std::condition_variable cv;
  std::thread maintenance([&] {
    std::unique_lock<std::mutex> l(mu);
    while (!stop.load()) {
      cv.wait_for(l, std::chrono::seconds(sync_s), [&] { return stop.load(); });
      if (stop.load()) break;
      l.unlock();
      engine.SyncFromKernel();
      engine.DropVanishedCgroups([](uint64_t id, const std::string& path) {
        auto now = CgroupIdOf(path);
        return now.ok() && *now == id;
      });
      engine.SaveDirty();
      l.lock();
    }
  });

  LogInfo("agent ready", {{"socket", socket},
                          {"state_dir", state_dir},
                          {"cgroup2", mount},
                          {"programs", static_cast<uint64_t>((*programs)->attached().size())}});

  int sig = 0;
  sigwait(&sigs, &sig);
  LogInfo("shutting down", {{"signal", sig}});
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  {
    std::lock_guard<std::mutex> l(mu);
    stop.store(true);
  }
  cv.notify_all();
  reader_thread.join();
  maintenance.join();
  engine.SyncFromKernel();
  engine.SaveDirty();
  ::unlink(socket.c_str());
  LogInfo("agent stopped");
  return 0;
}

}  // namespace faasguard
