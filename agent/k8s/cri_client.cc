#include "k8s/cri_client.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace faasguard {
namespace {

namespace cri = ::runtime::v1;

constexpr char kUnixScheme[] = "unix://";
// The kubelet's limit for CRI answers (a node with many containers lists a lot).
constexpr int kMaxMessageBytes = 16 << 20;

// "/run/x.sock" or "unix:///run/x.sock" -> "/run/x.sock".
std::string SocketPath(const std::string& endpoint) {
  if (absl::StartsWith(endpoint, kUnixScheme)) return endpoint.substr(sizeof(kUnixScheme) - 1);
  if (absl::StartsWith(endpoint, "unix:")) return endpoint.substr(5);
  return endpoint;
}

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

bool IsSocket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

std::vector<std::string> CriClient::DefaultEndpoints() {
  return {"/run/containerd/containerd.sock", "/run/crio/crio.sock",
          "/run/k3s/containerd/containerd.sock"};
}

absl::StatusOr<std::string> CriClient::DefaultEndpoint(const std::vector<std::string>& candidates) {
  for (const std::string& c : candidates) {
    std::string path = SocketPath(c);
    if (IsSocket(path)) return path;
  }
  return absl::NotFoundError(absl::StrCat("no CRI socket found (tried ",
                                          absl::StrJoin(candidates, ", "),
                                          "); is containerd or CRI-O running on this node?"));
}

absl::Status CriCallStatus(const grpc::Status& status, const char* call,
                           const std::string& endpoint, absl::Duration deadline) {
  if (status.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("CRI ", call, " on ", endpoint, ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    absl::StrAppend(&msg, " (no answer within ", absl::FormatDuration(deadline), ")");
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED)
    absl::StrAppend(&msg, " (the runtime does not implement ", call, ")");
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), msg);
}

// ---- CriEventStream ----

CriEventStream::CriEventStream(std::string endpoint, absl::Duration deadline)
    : endpoint_(std::move(endpoint)) {
  if (deadline != absl::InfiniteDuration()) context_.set_deadline(Deadline(deadline));
}

CriEventStream::~CriEventStream() {
  if (!finished_) (void)Finish();
}

bool CriEventStream::Read(cri::ContainerEventResponse* event) {
  if (finished_ || ended_ || !reader_) return false;
  if (!reader_->Read(event)) ended_ = true;
  return !ended_;
}

absl::Status CriEventStream::Finish() {
  if (finished_) return status_;
  finished_ = true;
  if (!reader_) return status_;
  if (!ended_) {
    // Finish blocks until the server ends the call: a caller that stops early cancels it.
    context_.TryCancel();
    cri::ContainerEventResponse drain;
    while (reader_->Read(&drain)) {
    }
  }
  status_ =
      CriCallStatus(reader_->Finish(), "GetContainerEvents", endpoint_, absl::InfiniteDuration());
  return status_;
}

void CriEventStream::Cancel() { context_.TryCancel(); }

// ---- CriClient ----

absl::StatusOr<std::unique_ptr<CriClient>> CriClient::Connect(const std::string& endpoint,
                                                              absl::Duration timeout) {
  std::string path = SocketPath(endpoint);
  std::string uri = absl::StrCat(kUnixScheme, path);
  if (path.empty() || path[0] != '/')
    return absl::InvalidArgumentError(
        absl::StrCat("CRI endpoint \"", endpoint, "\" must be an absolute socket path"));
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return absl::InvalidArgumentError(absl::StrCat("CRI endpoint ", uri, " is longer than ",
                                                   sizeof(sockaddr_un{}.sun_path) - 1,
                                                   " characters (a Unix socket's limit)"));
  if (!IsSocket(path))
    return absl::NotFoundError(absl::StrCat("CRI endpoint ", uri, ": no socket at ", path));

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  auto channel = grpc::CreateCustomChannel(uri, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(Deadline(timeout)))
    return absl::UnavailableError(absl::StrCat("CRI endpoint ", uri, ": cannot connect within ",
                                               absl::FormatDuration(timeout),
                                               " (is the runtime up and is this its socket?)"));
  return std::unique_ptr<CriClient>(new CriClient(uri, std::move(channel)));
}

CriClient::CriClient(std::string endpoint, std::shared_ptr<grpc::Channel> channel)
    : endpoint_(std::move(endpoint)),
      channel_(std::move(channel)),
      stub_(cri::RuntimeService::NewStub(channel_)),
      images_(cri::ImageService::NewStub(channel_)) {}

void CriClient::set_call_timeout(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  call_timeout_ = timeout;
}

absl::Duration CriClient::call_timeout() const {
  absl::MutexLock lock(&mu_);
  return call_timeout_;
}

void CriClient::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(Deadline(call_timeout()));
}

absl::Status CriClient::Check(const grpc::Status& status, const char* call) const {
  return CriCallStatus(status, call, endpoint_, call_timeout());
}

absl::StatusOr<cri::VersionResponse> CriClient::Version() {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::VersionRequest req;
  req.set_version("v1");
  cri::VersionResponse resp;
  if (auto s = Check(stub_->Version(&ctx, req, &resp), "Version"); !s.ok()) return s;
  return resp;
}

absl::StatusOr<std::vector<cri::PodSandbox>> CriClient::ListPodSandbox(
    const cri::PodSandboxFilter& filter) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::ListPodSandboxRequest req;
  *req.mutable_filter() = filter;
  cri::ListPodSandboxResponse resp;
  if (auto s = Check(stub_->ListPodSandbox(&ctx, req, &resp), "ListPodSandbox"); !s.ok()) return s;
  return std::vector<cri::PodSandbox>(resp.items().begin(), resp.items().end());
}

absl::StatusOr<std::vector<cri::Container>> CriClient::ListContainers(
    const cri::ContainerFilter& filter) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::ListContainersRequest req;
  *req.mutable_filter() = filter;
  cri::ListContainersResponse resp;
  if (auto s = Check(stub_->ListContainers(&ctx, req, &resp), "ListContainers"); !s.ok()) return s;
  return std::vector<cri::Container>(resp.containers().begin(), resp.containers().end());
}

absl::StatusOr<cri::PodSandboxStatusResponse> CriClient::PodSandboxStatus(const std::string& id,
                                                                          bool verbose) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(id);
  req.set_verbose(verbose);
  cri::PodSandboxStatusResponse resp;
  if (auto s = Check(stub_->PodSandboxStatus(&ctx, req, &resp), "PodSandboxStatus"); !s.ok())
    return s;
  return resp;
}

absl::StatusOr<cri::ContainerStatusResponse> CriClient::ContainerStatus(const std::string& id,
                                                                        bool verbose) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(verbose);
  cri::ContainerStatusResponse resp;
  if (auto s = Check(stub_->ContainerStatus(&ctx, req, &resp), "ContainerStatus"); !s.ok())
    return s;
  return resp;
}

absl::StatusOr<cri::ImageStatusResponse> CriClient::ImageStatus(const std::string& image) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::ImageStatusRequest req;
  req.mutable_image()->set_image(image);
  cri::ImageStatusResponse resp;
  if (auto s = Check(images_->ImageStatus(&ctx, req, &resp), "ImageStatus"); !s.ok()) return s;
  return resp;
}

std::unique_ptr<CriEventStream> CriClient::GetContainerEvents(absl::Duration deadline) {
  std::unique_ptr<CriEventStream> stream(new CriEventStream(endpoint_, deadline));
  cri::GetEventsRequest req;
  stream->reader_ = stub_->GetContainerEvents(&stream->context_, req);
  return stream;
}

absl::StatusOr<std::string> CriClient::RunPodSandbox(const cri::PodSandboxConfig& config,
                                                     const std::string& runtime_handler) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::RunPodSandboxRequest req;
  *req.mutable_config() = config;
  req.set_runtime_handler(runtime_handler);
  cri::RunPodSandboxResponse resp;
  if (auto s = Check(stub_->RunPodSandbox(&ctx, req, &resp), "RunPodSandbox"); !s.ok()) return s;
  return resp.pod_sandbox_id();
}

absl::Status CriClient::StopPodSandbox(const std::string& pod_sandbox_id) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(pod_sandbox_id);
  cri::StopPodSandboxResponse resp;
  return Check(stub_->StopPodSandbox(&ctx, req, &resp), "StopPodSandbox");
}

absl::Status CriClient::RemovePodSandbox(const std::string& pod_sandbox_id) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::RemovePodSandboxRequest req;
  req.set_pod_sandbox_id(pod_sandbox_id);
  cri::RemovePodSandboxResponse resp;
  return Check(stub_->RemovePodSandbox(&ctx, req, &resp), "RemovePodSandbox");
}

absl::StatusOr<std::string> CriClient::CreateContainer(
    const std::string& pod_sandbox_id, const cri::ContainerConfig& config,
    const cri::PodSandboxConfig& sandbox_config) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::CreateContainerRequest req;
  req.set_pod_sandbox_id(pod_sandbox_id);
  *req.mutable_config() = config;
  *req.mutable_sandbox_config() = sandbox_config;
  cri::CreateContainerResponse resp;
  if (auto s = Check(stub_->CreateContainer(&ctx, req, &resp), "CreateContainer"); !s.ok())
    return s;
  return resp.container_id();
}

absl::Status CriClient::StartContainer(const std::string& container_id) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::StartContainerRequest req;
  req.set_container_id(container_id);
  cri::StartContainerResponse resp;
  return Check(stub_->StartContainer(&ctx, req, &resp), "StartContainer");
}

absl::Status CriClient::StopContainer(const std::string& container_id, absl::Duration grace) {
  grpc::ClientContext ctx;
  // The runtime waits up to `grace` before it kills: give the call that long on top.
  ctx.set_deadline(Deadline(call_timeout() + grace));
  cri::StopContainerRequest req;
  req.set_container_id(container_id);
  req.set_timeout(absl::ToInt64Seconds(grace));
  cri::StopContainerResponse resp;
  return CriCallStatus(stub_->StopContainer(&ctx, req, &resp), "StopContainer", endpoint_,
                       call_timeout() + grace);
}

absl::Status CriClient::RemoveContainer(const std::string& container_id) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  cri::RemoveContainerRequest req;
  req.set_container_id(container_id);
  cri::RemoveContainerResponse resp;
  return Check(stub_->RemoveContainer(&ctx, req, &resp), "RemoveContainer");
}

}  // namespace faasguard
