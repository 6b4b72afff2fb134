#include "k8s/profile_sync.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "profile/convert.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::StatusOr<Struct> ParseObject(const std::string& json) {
  Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(json, &s);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("API object: ", st.ToString()));
  return s;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

const Value* Field(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string StringAt(const Struct& s, std::initializer_list<const char*> path) {
  const Struct* cur = &s;
  const Value* v = nullptr;
  for (const char* p : path) {
    if (!cur) return "";
    v = Field(*cur, p);
    if (!v) return "";
    cur = v->kind_case() == Value::kStructValue ? &v->struct_value() : nullptr;
  }
  return v ? v->string_value() : "";
}

std::string ResourcePath(const v1::FunctionId& id) {
  return absl::StrCat(kFunctionProfilesPath, "/namespaces/", id.namespace_(), "/functionprofiles/",
                      id.name());
}

std::string CollectionPath(const v1::FunctionId& id) {
  return absl::StrCat(kFunctionProfilesPath, "/namespaces/", id.namespace_(), "/functionprofiles");
}

bool Syncable(const v1::FunctionId& id) { return id.platform() != kPlatformLocal; }

absl::StatusOr<v1::Profile> ProfileOf(const std::string& object_json) {
  auto docs = ParseProfileDocs(object_json);
  if (!docs.ok()) return docs.status();
  return docs->front();
}

}  // namespace

SpecMerge MergeIntoSpec(const v1::Profile& remote, const v1::Profile& local) {
  SpecMerge m;
  m.spec = remote;
  ProfileDiff d = DiffProfiles(remote, local);
  v1::Profile extra;
  *extra.mutable_function() = remote.function();
  for (auto& c : d.added) *extra.add_containers() = std::move(c);
  m.added = MergeProfile(m.spec, extra);
  if (local.has_updated() &&
      (!m.spec.has_updated() ||
       google::protobuf::util::TimeUtil::TimestampToNanoseconds(m.spec.updated()) <
           google::protobuf::util::TimeUtil::TimestampToNanoseconds(local.updated())) &&
      m.added)
    *m.spec.mutable_updated() = local.updated();
  NormalizeProfile(m.spec);
  return m;
}

ProfileSync::ProfileSync(ProfileHost* host, KubeClient* kube, Options opts)
    : host_(host), kube_(kube), opts_(std::move(opts)) {}

ProfileSync::~ProfileSync() { Stop(); }

void ProfileSync::Start() {
  watcher_ = std::thread([this] { WatchLoop(); });
  publisher_ = std::thread([this] { PublishLoop(); });
}

void ProfileSync::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  kube_->CancelWatch();
  if (watcher_.joinable()) watcher_.join();
  if (publisher_.joinable()) publisher_.join();
}

ProfileSync::Stats ProfileSync::stats() {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

absl::Status ProfileSync::Fail(absl::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.errors;
  stats_.last_error = std::string(s.message());
  return s;
}

void ProfileSync::PublishLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    l.unlock();
    PublishChanged();
    l.lock();
    cv_.wait_for(l, absl::ToChronoMilliseconds(opts_.interval), [&] { return stop_; });
  }
}

void ProfileSync::PublishChanged() {
  for (const v1::FunctionId& id : host_->FunctionIds()) {
    if (!Syncable(id)) continue;
    auto p = host_->GetProfile(id);
    if (!p.ok()) continue;  // forgotten meanwhile
    std::string key = FunctionKey(id);
    std::string stamp = absl::StrCat(ToJson(p->updated()), "/", p->mode());
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
      auto it = published_.find(key);
      if (it != published_.end() && it->second == stamp) continue;
    }
    absl::Status st = Publish(id);
    if (!st.ok()) {
      LogWarn("profile not published to the cluster",
              {{"function", key}, {"error", st.ToString()}});
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    published_[key] = stamp;
  }
}

absl::Status ProfileSync::Publish(const v1::FunctionId& id) {
  if (!Syncable(id))
    return absl::InvalidArgumentError(
        absl::StrCat(FunctionKey(id), " is a local function: it is not published"));
  auto local = host_->GetProfile(id);
  if (!local.ok()) return local.status();
  const std::string path = ResourcePath(id);
  std::string object;  // the resource as the server last answered it
  for (int attempt = 0;; ++attempt) {
    if (attempt > opts_.conflict_retries)
      return Fail(absl::AbortedError(
          absl::StrCat(path, ": still conflicting after ", opts_.conflict_retries, " retries")));
    auto got = kube_->Request("GET", path);
    if (!got.ok()) return Fail(got.status());
    if (got->status == 404) {
      auto doc = RenderProfileDoc(*local, DocFormat::kJson, DocShape::kCrd);
      if (!doc.ok()) return Fail(doc.status());
      auto created = kube_->Request("POST", CollectionPath(id), *doc);
      if (!created.ok()) return Fail(created.status());
      if (created->status == 409) {  // another node created it first: merge into theirs
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.conflicts;
        continue;
      }
      if (!created->ok())
        return Fail(absl::UnavailableError(
            absl::StrCat("create ", path, ": ", KubeErrorMessage(*created))));
      LogInfo("function profile created in the cluster", {{"function", FunctionKey(id)}});
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.published;
      object = created->body;
      break;
    }
    if (!got->ok())
      return Fail(absl::UnavailableError(absl::StrCat("get ", path, ": ", KubeErrorMessage(*got))));
    auto remote = ProfileOf(got->body);
    if (!remote.ok())
      return Fail(absl::DataLossError(absl::StrCat(
          path, ": the cluster's resource is not a profile: ", remote.status().message())));
    if (remote->function().platform() != local->function().platform())
      return Fail(absl::FailedPreconditionError(
          absl::StrCat(path, " names a ", remote->function().platform(), " function; this node's ",
                       FunctionKey(id), " is ", local->function().platform())));
    SpecMerge m = MergeIntoSpec(*remote, *local);
    if (m.added == 0) {
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.unchanged;
      object = got->body;
      break;
    }
    auto obj = ParseObject(got->body);
    if (!obj.ok()) return Fail(obj.status());
    Value spec;
    if (auto st = google::protobuf::util::JsonStringToMessage(MessageToJson(m.spec, false), &spec);
        !st.ok())
      return Fail(absl::InternalError(st.ToString()));
    (*obj->mutable_fields())["spec"] = spec;
    // metadata.resourceVersion stays the one read: the server refuses the write (409) when the
    // resource changed since.
    auto put = kube_->Request("PUT", path, ToJson(*obj));
    if (!put.ok()) return Fail(put.status());
    if (put->status == 409) {
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.conflicts;
      continue;
    }
    if (!put->ok())
      return Fail(
          absl::UnavailableError(absl::StrCat("update ", path, ": ", KubeErrorMessage(*put))));
    LogInfo("function profile merged into the cluster's",
            {{"function", FunctionKey(id)}, {"items_added", m.added}});
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.published;
    object = put->body;
    break;
  }
  // What the cluster has that this node lacks comes back through the watch; take it now too.
  FG_RETURN_IF_ERROR(Take(object));
  return PublishStatus(path, object, *local);
}

absl::Status ProfileSync::PublishStatus(const std::string& path, std::string object_json,
                                        const v1::Profile& local) {
  ProfileCounts n = CountItems(local);
  auto summary = host_->GetFunction(local.function());
  for (int attempt = 0;; ++attempt) {
    if (attempt > opts_.conflict_retries)
      return Fail(absl::AbortedError(absl::StrCat(path, "/status: still conflicting")));
    auto obj = ParseObject(object_json);
    if (!obj.ok()) return Fail(obj.status());
    Struct mine;
    auto& f = *mine.mutable_fields();
    f["node"].set_string_value(opts_.node);
    f["observedAt"].set_string_value(
        google::protobuf::util::TimeUtil::ToString(ToProtoTime(absl::Now())));
    f["mode"].set_string_value(v1::Mode_Name(local.mode()));
    f["syscalls"].set_number_value(static_cast<double>(n.syscalls));
    f["execs"].set_number_value(static_cast<double>(n.execs));
    f["egress"].set_number_value(static_cast<double>(n.egress));
    f["listen"].set_number_value(static_cast<double>(n.listen));
    f["ingress"].set_number_value(static_cast<double>(n.ingress));
    f["violations"].set_number_value(summary.ok() ? static_cast<double>(summary->violations())
                                                  : 0.0);
    if (!opts_.agent_version.empty()) f["agentVersion"].set_string_value(opts_.agent_version);

    Value& status = (*obj->mutable_fields())["status"];
    if (status.kind_case() != Value::kStructValue) status.mutable_struct_value();
    Value& nodes = (*status.mutable_struct_value()->mutable_fields())["nodes"];
    if (nodes.kind_case() != Value::kListValue) nodes.mutable_list_value();
    auto* list = nodes.mutable_list_value()->mutable_values();
    auto it = std::find_if(list->begin(), list->end(), [&](const Value& v) {
      return v.kind_case() == Value::kStructValue &&
             StringAt(v.struct_value(), {"node"}) == opts_.node;
    });
    Value entry;
    *entry.mutable_struct_value() = mine;
    if (it != list->end())
      *it = entry;
    else
      *list->Add() = entry;
    auto put = kube_->Request("PUT", path + "/status", ToJson(*obj));
    if (!put.ok()) return Fail(put.status());
    if (put->ok()) return absl::OkStatus();
    if (put->status != 409)
      return Fail(absl::UnavailableError(
          absl::StrCat("update ", path, "/status: ", KubeErrorMessage(*put))));
    {
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.conflicts;
    }
    auto got = kube_->Request("GET", path);
    if (!got.ok()) return Fail(got.status());
    if (!got->ok())
      return Fail(absl::UnavailableError(absl::StrCat("get ", path, ": ", KubeErrorMessage(*got))));
    object_json = got->body;
  }
}

absl::Status ProfileSync::Take(const std::string& object_json) {
  auto remote = ProfileOf(object_json);
  if (!remote.ok())
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "a FunctionProfile from the cluster is not a profile: ", remote.status().message())));
  const v1::FunctionId& id = remote->function();
  if (!Syncable(id)) return absl::OkStatus();
  const std::string key = FunctionKey(id);
  bool changed = false;
  auto local = host_->GetProfile(id);
  if (!local.ok()) {
    if (!absl::IsNotFound(local.status())) return Fail(local.status());
    // Not on this node yet: its replicas start here with the cluster's profile and mode.
    v1::Profile p = *remote;
    for (auto& c : *p.mutable_containers()) c.clear_counters();
    v1::PutProfileRequest req;
    *req.mutable_profile() = std::move(p);
    req.set_take_mode(true);
    auto r = host_->PutProfile(req, ModeSource::kCluster);
    if (!r.ok()) return Fail(r.status());
    changed = true;
  } else {
    if (local->function().platform() != id.platform()) {
      return Fail(absl::FailedPreconditionError(
          absl::StrCat("the cluster's ", key, " is a ", id.platform(), " function; this node's is ",
                       local->function().platform(), ": not merged")));
    }
    ProfileDiff d = DiffProfiles(*local, *remote);
    if (!d.added.empty()) {
      v1::Profile extra;
      *extra.mutable_function() = local->function();
      for (auto& c : d.added) *extra.add_containers() = std::move(c);
      v1::PutProfileRequest req;
      *req.mutable_profile() = std::move(extra);
      req.set_merge(true);
      auto r = host_->PutProfile(req, ModeSource::kCluster);
      if (!r.ok()) return Fail(r.status());
      changed = true;
    }
    int last;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = remote_mode_.find(key);
      last = it == remote_mode_.end() ? -1 : it->second;
    }
    // Modes flow from the cluster: a node takes spec.mode when it first sees the resource and
    // whenever it changes there; a local change stays until the cluster's next one.
    if (remote->mode() != v1::MODE_UNSPECIFIED && remote->mode() != last &&
        (remote->mode() != local->mode() || remote->syscall_action() != local->syscall_action() ||
         remote->sensitive_syscall_action() != local->sensitive_syscall_action() ||
         remote->when_agent_absent() != local->when_agent_absent())) {
      auto r = host_->SetMode(
          id,
          ModeRequest{remote->mode(), remote->syscall_action(), remote->when_agent_absent(),
                      remote->sensitive_syscall_action()},
          ModeSource::kCluster);
      if (!r.ok()) return Fail(r.status());
      LogInfo("mode taken from the cluster",
              {{"function", key}, {"mode", v1::Mode_Name(remote->mode())}});
      changed = true;
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  remote_mode_[key] = remote->mode();
  if (changed) ++stats_.taken;
  return absl::OkStatus();
}

absl::Status ProfileSync::ListAndWatchOnce() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.relists;
  }
  const std::string collection = absl::StrCat(kFunctionProfilesPath, "/functionprofiles");
  auto list = kube_->Request("GET", collection);
  if (!list.ok()) return Fail(list.status());
  if (!list->ok())
    return Fail(
        absl::UnavailableError(absl::StrCat("list ", collection, ": ", KubeErrorMessage(*list))));
  auto obj = ParseObject(list->body);
  if (!obj.ok()) return Fail(obj.status());
  std::string rv = StringAt(*obj, {"metadata", "resourceVersion"});
  if (const Value* items = Field(*obj, "items"); items && items->kind_case() == Value::kListValue) {
    for (const Value& it : items->list_value().values()) {
      // Each item on its own: a bad one is reported and the others are still taken.
      if (absl::Status st = Take(ToJson(it)); !st.ok())
        LogWarn("cluster profile not taken", {{"error", st.ToString()}});
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    stats_.resource_version = rv;
  }
  bool relist = false;
  absl::Status bad;
  absl::Status st = kube_->Watch(
      absl::StrCat(collection, "?watch=1&allowWatchBookmarks=true&timeoutSeconds=",
                   opts_.watch_timeout_s, "&resourceVersion=", rv),
      [&](absl::string_view line) {
        auto ev = ParseObject(std::string(line));
        if (!ev.ok()) {
          bad = ev.status();
          return false;
        }
        std::string type = StringAt(*ev, {"type"});
        const Value* o = Field(*ev, "object");
        if (!o || o->kind_case() != Value::kStructValue) {
          bad = absl::InvalidArgumentError(absl::StrCat("watch event ", type, " has no object"));
          return false;
        }
        const Struct& object = o->struct_value();
        if (type == "ERROR") {
          // 410 Gone: our resourceVersion is older than the server keeps: list again.
          if (Field(object, "code") && Field(object, "code")->number_value() == 410) {
            relist = true;
            return false;
          }
          bad =
              absl::UnavailableError(absl::StrCat("watch error: ", StringAt(object, {"message"})));
          return false;
        }
        std::string erv = StringAt(object, {"metadata", "resourceVersion"});
        {
          std::lock_guard<std::mutex> l(mu_);
          if (!erv.empty()) stats_.resource_version = erv;
        }
        if (type == "ADDED" || type == "MODIFIED") {
          if (absl::Status s = Take(ToJson(object)); !s.ok())
            LogWarn("cluster profile not taken", {{"error", s.ToString()}});
        }
        // DELETED: the local profile stays (deleting a resource does not forget what a node
        // learned); BOOKMARK: only the resourceVersion.
        return true;
      });
  if (relist) return absl::OkStatus();
  if (!bad.ok()) return Fail(bad);
  if (absl::IsCancelled(st)) return st;
  if (!st.ok()) return Fail(st);
  return absl::OkStatus();
}

void ProfileSync::WatchLoop() {
  absl::Duration wait = opts_.retry;
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    l.unlock();
    absl::Status st = ListAndWatchOnce();
    l.lock();
    if (stop_) break;
    if (st.ok()) {
      wait = opts_.retry;
      continue;
    }
    LogWarn("cluster profiles: list / watch failed, retrying",
            {{"error", st.ToString()}, {"retry_in", absl::FormatDuration(wait)}});
    cv_.wait_for(l, absl::ToChronoMilliseconds(wait), [&] { return stop_; });
    wait = std::min(wait * 2, opts_.max_retry);
  }
}

}  // namespace faasguard
