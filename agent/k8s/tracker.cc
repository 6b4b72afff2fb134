#include "k8s/tracker.h"

#include <sys/stat.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "cgroup/cgroup.h"
#include "common/files.h"
#include "common/log.h"
#include "k8s/cgroup_layout.h"
#include "k8s/identity.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {

NodeTracker::NodeTracker(CgroupRegistry* registry, CriConnector connect, Options opts)
    : registry_(registry), connect_(std::move(connect)), opts_(std::move(opts)) {}

NodeTracker::~NodeTracker() { Stop(); }

void NodeTracker::Start() {
  ScanCgroupsNow();
  thread_ = std::thread([this] { Run(); });
  watcher_ = std::thread([this] { Watch(); });
}

void NodeTracker::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    if (watch_source_) watch_source_->CancelWatch();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (watcher_.joinable()) watcher_.join();
}

// Runtimes with GetContainerEvents (containerd 1.7+, CRI-O) tell us at once; each event asks
// for a reconcile. Without it (containerd 1.6) cgroup events and the periodic resync do.
void NodeTracker::Watch() {
  for (;;) {
    auto src = connect_();
    {
      std::unique_lock<std::mutex> l(mu_);
      if (stop_) return;
      if (!src.ok()) {
        cv_.wait_for(l, absl::ToChronoNanoseconds(opts_.retry), [&] { return stop_; });
        continue;
      }
      watch_source_ = std::move(*src);
    }
    absl::Status st = watch_source_->WatchEvents([this](const std::string&) {
      {
        std::lock_guard<std::mutex> l(mu_);
        dirty_ = true;
        events_ = true;
      }
      cv_.notify_all();
    });
    std::unique_lock<std::mutex> l(mu_);
    watch_source_.reset();
    if (stop_) return;
    if (st.code() == absl::StatusCode::kUnimplemented) {
      LogInfo("the runtime has no CRI event stream: following cgroup events and listing instead",
              {{"detail", st.ToString()}});
      return;
    }
    cv_.wait_for(l, absl::ToChronoNanoseconds(opts_.retry), [&] { return stop_; });
  }
}

void NodeTracker::OnCgroupEvent(const CgroupEvent& e) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.size() > 100000) return;  // a runaway: the periodic resync catches up
    queue_.push_back(e);
  }
  cv_.notify_all();
}

void NodeTracker::IndexLocked(const std::string& rel, uint64_t id) {
  auto k = ParseKubeCgroup(rel);
  if (!k || k->nested) return;  // crun's "container" child: its parent is the container
  CgroupRef r{id, opts_.cgroup2_mount + rel, k->pod_uid, k->container_id};
  cgroups_[id] = r;
  if (r.container_id.empty())
    by_pod_[r.pod_uid] = id;
  else
    by_container_[r.container_id] = id;
}

void NodeTracker::DropLocked(uint64_t id) {
  auto it = cgroups_.find(id);
  if (it != cgroups_.end()) {
    if (it->second.container_id.empty()) {
      by_pod_.erase(it->second.pod_uid);
    } else {
      by_container_.erase(it->second.container_id);
      spec_read_.erase(it->second.container_id);
    }
    cgroups_.erase(it);
  }
  if (registered_.erase(id)) (void)registry_->UnregisterCgroup(id, "removed");
}

void NodeTracker::ScanCgroupsNow() {
  std::lock_guard<std::mutex> l(mu_);
  std::function<void(const std::string&, int)> walk = [&](const std::string& rel, int depth) {
    if (depth > 8) return;
    std::string dir = opts_.cgroup2_mount + rel;
    auto subs = ListDir(dir, DirEntries::kDirectories);
    if (!subs.ok()) return;
    for (const auto& s : *subs) {
      std::string child = rel + "/" + s;
      if (depth == 0 && s.rfind("kubepods", 0) != 0) continue;  // only the kubelet's tree
      if (auto id = CgroupIdOf(opts_.cgroup2_mount + child); id.ok()) IndexLocked(child, *id);
      walk(child, depth + 1);
    }
  };
  walk("", 0);
}

void NodeTracker::EnsureConnectedLocked() {
  if (cri_) return;
  auto c = connect_();
  if (!c.ok()) {
    if (last_error_ != c.status().ToString())
      LogWarn("CRI unavailable: tracking only what it can name, retrying",
              {{"error", c.status().ToString()}});
    last_error_ = c.status().ToString();
    return;
  }
  auto v = (*c)->Version();
  if (!v.ok()) {
    last_error_ = v.status().ToString();
    LogWarn("CRI does not answer", {{"endpoint", (*c)->endpoint()}, {"error", last_error_}});
    return;
  }
  cri_ = std::move(*c);
  runtime_ = *v;
  last_error_.clear();
  LogInfo("CRI connected", {{"endpoint", cri_->endpoint()}, {"runtime", runtime_}});
}

void NodeTracker::ReconcileLocked() {
  EnsureConnectedLocked();
  if (!cri_) return;
  auto pods = cri_->ListPods();
  auto ctrs =
      pods.ok() ? cri_->ListContainers() : absl::StatusOr<std::vector<CriContainer>>(pods.status());
  if (!pods.ok() || !ctrs.ok()) {
    last_error_ = (pods.ok() ? ctrs.status() : pods.status()).ToString();
    LogWarn("CRI list failed: will reconnect", {{"error", last_error_}});
    cri_.reset();
    return;
  }
  last_error_.clear();
  last_sync_ = absl::Now();
  pods_ = static_cast<uint32_t>(pods->size());
  function_pods_ = 0;
  std::map<std::string, std::pair<v1::FunctionId, const CriPod*>> by_sandbox;
  std::set<std::string> sandbox_ids;
  for (const CriPod& p : *pods) {
    sandbox_ids.insert(p.id);
    PodFacts facts{p.uid, p.namespace_, p.name, p.labels};
    auto fn = FunctionOfPod(facts, opts_.custom_label);
    if (!fn.ok()) {
      if (warned_.insert(p.uid).second)
        LogWarn("pod not tracked: bad function label", {{"error", fn.status().ToString()}});
      continue;
    }
    if (!fn->has_value()) continue;
    ++function_pods_;
    by_sandbox[p.id] = {**fn, &p};
    // The pod-level cgroup first: new container cgroups under it are covered in the kernel.
    auto pit = by_pod_.find(p.uid);
    if (pit != by_pod_.end() && !registered_.count(pit->second)) {
      RegisterOptions o;
      o.pod_level = true;
      auto r = registry_->RegisterCgroup(**fn, std::string(kPodSection), pit->second,
                                         cgroups_[pit->second].path, o);
      if (r.ok())
        registered_.insert(pit->second);
      else
        LogWarn("cannot register pod cgroup",
                {{"pod", p.namespace_ + "/" + p.name}, {"error", r.status().ToString()}});
    }
  }
  bool rescanned = false;
  for (const CriContainer& c : *ctrs) {
    auto sit = by_sandbox.find(c.pod_sandbox_id);
    if (sit == by_sandbox.end() || c.state == CriContainer::State::kExited) continue;
    // The engine takes valid names only: the runtime's container name becomes a section name.
    if (absl::Status bad = ValidateLabel(c.name, "container name"); !bad.ok()) {
      if (warned_.insert(c.id).second)
        LogWarn("container not tracked: bad name", {{"id", c.id}, {"error", bad.ToString()}});
      continue;
    }
    auto cit = by_container_.find(c.id);
    if (cit == by_container_.end() && !rescanned) {
      // Created before we saw its directory (or we missed the event): look again, once.
      mu_.unlock();
      ScanCgroupsNow();
      mu_.lock();
      rescanned = true;
      cit = by_container_.find(c.id);
    }
    if (cit == by_container_.end()) continue;
    auto owner = registry_->CgroupOwner(cit->second);
    const bool named = owner && owner->second == c.name;
    if (named && spec_read_.count(c.id)) {
      registered_.insert(cit->second);
      continue;
    }
    RegisterOptions o;
    o.pending = c.state == CriContainer::State::kCreated;
    // The filter the runtime gave it: when it is the function's policy in force, sys_enter
    // need not check it. Read once; a CRI error leaves it to the next pass.
    if (auto spec = cri_->ContainerSeccomp(c.id); spec.ok()) {
      o.seccomp_spec = *spec;
      spec_read_.insert(c.id);
    } else {
      LogWarn("cannot read a container's seccomp filter: sys_enter checks it",
              {{"container", c.name}, {"id", c.id}, {"error", spec.status().ToString()}});
    }
    auto r = registry_->RegisterCgroup(sit->second.first, c.name, cit->second,
                                       cgroups_[cit->second].path, o);
    if (r.ok())
      registered_.insert(cit->second);
    else
      LogWarn("cannot register container cgroup",
              {{"container", c.name}, {"id", c.id}, {"error", r.status().ToString()}});
  }
  // A sandbox (pause) container's cgroup is not a function container: if the kernel covered
  // it through its pod, let it go.
  for (const auto& sid : sandbox_ids) {
    auto cit = by_container_.find(sid);
    if (cit == by_container_.end()) continue;
    auto owner = registry_->CgroupOwner(cit->second);
    if (owner && owner->second == kPodSection)
      (void)registry_->UnregisterCgroup(cit->second, "sandbox ignored");
  }
}

void NodeTracker::ReconcileNow() {
  std::lock_guard<std::mutex> l(mu_);
  ReconcileLocked();
}

void NodeTracker::Run() {
  std::unique_lock<std::mutex> l(mu_);
  absl::Time next_sync = absl::Now();
  while (!stop_) {
    // Cgroup events first: they index directories and may ask for a quick resolve.
    while (!queue_.empty()) {
      CgroupEvent e = std::move(queue_.front());
      queue_.pop_front();
      if (e.op == FG_CGROUP_MKDIR) {
        auto k = ParseKubeCgroup(e.path);
        if (!k) continue;
        IndexLocked(e.path, e.hdr.cgroup_id);
        if (e.inherited)
          registry_->AdoptInheritedCgroup(e.hdr.cgroup_id, e.parent_id,
                                          opts_.cgroup2_mount + e.path);
        chase_until_ = absl::Now() + opts_.resolve_for;
        dirty_ = true;
      } else {
        DropLocked(e.hdr.cgroup_id);
      }
    }
    absl::Time now = absl::Now();
    if (dirty_ || now >= next_sync) {
      dirty_ = false;
      ReconcileLocked();
      next_sync = now + (cri_ ? opts_.resync : opts_.retry);
    }
    // While a new kubepods cgroup is not resolved yet, ask the CRI again soon.
    absl::Duration wait = next_sync - absl::Now();
    bool chasing = absl::Now() < chase_until_;
    if (chasing) wait = std::min(wait, absl::Milliseconds(50));
    if (wait < absl::ZeroDuration()) wait = absl::ZeroDuration();
    cv_.wait_for(l, absl::ToChronoNanoseconds(wait),
                 [&] { return stop_ || dirty_ || !queue_.empty(); });
    if (chasing) dirty_ = true;
  }
}

v1::KubernetesStatus NodeTracker::Status() {
  std::lock_guard<std::mutex> l(mu_);
  v1::KubernetesStatus s;
  s.set_endpoint(cri_ ? cri_->endpoint() : "");
  s.set_connected(cri_ != nullptr);
  s.set_runtime(runtime_);
  s.set_last_error(last_error_);
  if (last_sync_ != absl::InfinitePast()) *s.mutable_last_sync() = ToProtoTime(last_sync_);
  s.set_pods(pods_);
  s.set_function_pods(function_pods_);
  s.set_kube_cgroups(static_cast<uint32_t>(cgroups_.size()));
  s.set_tracked(static_cast<uint32_t>(registered_.size()));
  s.set_event_stream(events_);
  return s;
}

}  // namespace faasguard
