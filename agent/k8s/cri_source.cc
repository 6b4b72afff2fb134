#include "k8s/cri_source.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "k8s/cri_client.h"

namespace faasguard {
namespace {

class ClientSource : public CriSource {
 public:
  explicit ClientSource(std::unique_ptr<CriClient> c) : client_(std::move(c)) {}

  std::string endpoint() const override { return client_->endpoint(); }

  absl::StatusOr<std::string> Version() override {
    auto v = client_->Version();
    if (!v.ok()) return v.status();
    return absl::StrCat(v->runtime_name(), " ", v->runtime_version(), " (CRI ",
                        v->runtime_api_version(), ")");
  }

  absl::StatusOr<std::vector<CriPod>> ListPods() override {
    auto l = client_->ListPodSandbox();
    if (!l.ok()) return l.status();
    std::vector<CriPod> out;
    for (const auto& p : *l) {
      CriPod c;
      c.id = p.id();
      c.uid = p.metadata().uid();
      c.namespace_ = p.metadata().namespace_();
      c.name = p.metadata().name();
      c.labels = {p.labels().begin(), p.labels().end()};
      c.ready = p.state() == runtime::v1::SANDBOX_READY;
      out.push_back(std::move(c));
    }
    return out;
  }

  absl::Status WatchEvents(const std::function<void(const std::string&)>& on_event) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (cancelled_) return absl::CancelledError("watch cancelled");
      stream_ = client_->GetContainerEvents();
    }
    runtime::v1::ContainerEventResponse ev;
    while (stream_->Read(&ev)) on_event(ev.container_id());
    return stream_->Finish();
  }

  void CancelWatch() override {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    if (stream_) stream_->Cancel();
  }

  absl::StatusOr<std::string> ContainerSeccomp(const std::string& id) override {
    auto st = client_->ContainerStatus(id, /*verbose=*/true);
    if (!st.ok()) return st.status();
    auto info = st->info().find("info");
    if (info == st->info().end()) return std::string();
    google::protobuf::Struct doc;
    if (!google::protobuf::util::JsonStringToMessage(info->second, &doc).ok())
      return absl::DataLossError(absl::StrCat("CRI ContainerStatus on ", endpoint(), ": container ",
                                              id, "'s info is not JSON"));
    const google::protobuf::Struct* at = &doc;
    for (const char* key : {"runtimeSpec", "linux", "seccomp"}) {
      auto it = at->fields().find(key);
      if (it == at->fields().end() || !it->second.has_struct_value()) return std::string();
      at = &it->second.struct_value();
    }
    std::string out;
    if (!google::protobuf::util::MessageToJsonString(*at, &out).ok())
      return absl::InternalError("cannot write a seccomp object back as JSON");
    return out;
  }

  absl::StatusOr<std::vector<CriContainer>> ListContainers() override {
    auto l = client_->ListContainers();
    if (!l.ok()) return l.status();
    std::vector<CriContainer> out;
    for (const auto& c : *l) {
      CriContainer x;
      x.id = c.id();
      x.pod_sandbox_id = c.pod_sandbox_id();
      x.name = c.metadata().name();
      switch (c.state()) {
        case runtime::v1::CONTAINER_CREATED:
          x.state = CriContainer::State::kCreated;
          break;
        case runtime::v1::CONTAINER_RUNNING:
          x.state = CriContainer::State::kRunning;
          break;
        case runtime::v1::CONTAINER_EXITED:
          x.state = CriContainer::State::kExited;
          break;
        default:
          x.state = CriContainer::State::kUnknown;
      }
      out.push_back(std::move(x));
    }
    return out;
  }

 private:
  std::unique_ptr<CriClient> client_;
  std::mutex mu_;
  std::unique_ptr<CriEventStream> stream_;
  bool cancelled_ = false;
};

}  // namespace

CriConnector MakeCriConnector(std::string endpoint, absl::Duration call_timeout) {
  return [endpoint, call_timeout]() -> absl::StatusOr<std::unique_ptr<CriSource>> {
    std::string ep = endpoint;
    if (ep.empty()) {
      auto found = CriClient::DefaultEndpoint();
      if (!found.ok()) return found.status();
      ep = *found;
    }
    auto c = CriClient::Connect(ep, call_timeout);
    if (!c.ok()) return c.status();
    (*c)->set_call_timeout(call_timeout);
    return std::unique_ptr<CriSource>(new ClientSource(std::move(*c)));
  };
}

}  // namespace faasguard
