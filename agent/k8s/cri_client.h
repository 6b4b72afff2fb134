// A small client of a node's container runtime through the CRI (runtime.v1) over its Unix
// socket: containerd, CRI-O, k3s. Every unary call has a deadline (default 5 s); every error
// names the call and the endpoint, so a log line says what failed where.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cri/api.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace faasguard {

// GetContainerEvents: a server stream. Not thread-safe except Cancel().
class CriEventStream {
 public:
  CriEventStream(const CriEventStream&) = delete;
  CriEventStream& operator=(const CriEventStream&) = delete;
  ~CriEventStream();

  // Blocks until the next event. false: the stream is over, Finish() says why.
  bool Read(runtime::v1::ContainerEventResponse* event);
  // The stream's final status, once Read returned false (cancels the call first if it did
  // not). UNIMPLEMENTED when the runtime has no event stream (containerd 1.6: the caller
  // should fall back to polling ListContainers).
  absl::Status Finish();
  // From any thread: ends a blocked Read (Finish then returns CANCELLED).
  void Cancel();

 private:
  friend class CriClient;
  CriEventStream(std::string endpoint, absl::Duration deadline);

  std::string endpoint_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<runtime::v1::ContainerEventResponse>> reader_;
  bool ended_ = false;     // Read returned false: the server's status is in
  bool finished_ = false;  // Finish ran: status_ holds it
  absl::Status status_;
};

class CriClient {
 public:
  static constexpr absl::Duration kDefaultCallTimeout = absl::Seconds(5);

  // Where runtimes put their CRI socket, most common first: containerd, CRI-O, k3s.
  static std::vector<std::string> DefaultEndpoints();
  // The first of `candidates` that exists and is a socket; NOT_FOUND naming every candidate
  // otherwise. Entries may be plain paths or "unix://" URIs.
  static absl::StatusOr<std::string> DefaultEndpoint(
      const std::vector<std::string>& candidates = DefaultEndpoints());

  // Connects to `endpoint` (a socket path or "unix://" URI) and waits until the channel is
  // ready, at most `timeout`. This does not call the CRI: Version() does.
  static absl::StatusOr<std::unique_ptr<CriClient>> Connect(
      const std::string& endpoint, absl::Duration timeout = kDefaultCallTimeout);

  CriClient(const CriClient&) = delete;
  CriClient& operator=(const CriClient&) = delete;

  // "unix:///run/containerd/containerd.sock"
  const std::string& endpoint() const { return endpoint_; }
  // The deadline of each unary call from now on (thread-safe).
  void set_call_timeout(absl::Duration timeout);
  absl::Duration call_timeout() const;

  // Reads.
  absl::StatusOr<runtime::v1::VersionResponse> Version();
  absl::StatusOr<std::vector<runtime::v1::PodSandbox>> ListPodSandbox(
      const runtime::v1::PodSandboxFilter& filter = {});
  absl::StatusOr<std::vector<runtime::v1::Container>> ListContainers(
      const runtime::v1::ContainerFilter& filter = {});
  // `verbose`: the runtime adds `info` (containerd: JSON with pid, runtimeSpec, ...).
  absl::StatusOr<runtime::v1::PodSandboxStatusResponse> PodSandboxStatus(const std::string& id,
                                                                         bool verbose = false);
  absl::StatusOr<runtime::v1::ContainerStatusResponse> ContainerStatus(const std::string& id,
                                                                       bool verbose = false);
  // ImageService.ImageStatus: the answer's `image` is unset when the runtime lacks it.
  absl::StatusOr<runtime::v1::ImageStatusResponse> ImageStatus(const std::string& image);
  // The event stream. `deadline` bounds the whole stream (default: none, Cancel() ends it).
  std::unique_ptr<CriEventStream> GetContainerEvents(
      absl::Duration deadline = absl::InfiniteDuration());

  // Writes (what the kubelet does; used by tests).
  absl::StatusOr<std::string> RunPodSandbox(const runtime::v1::PodSandboxConfig& config,
                                            const std::string& runtime_handler = "");
  absl::Status StopPodSandbox(const std::string& pod_sandbox_id);
  absl::Status RemovePodSandbox(const std::string& pod_sandbox_id);
  absl::StatusOr<std::string> CreateContainer(const std::string& pod_sandbox_id,
                                              const runtime::v1::ContainerConfig& config,
                                              const runtime::v1::PodSandboxConfig& sandbox_config);
  absl::Status StartContainer(const std::string& container_id);
  // `grace`: how long the runtime waits after SIGTERM before it kills (whole seconds).
  absl::Status StopContainer(const std::string& container_id,
                             absl::Duration grace = absl::Seconds(0));
  absl::Status RemoveContainer(const std::string& container_id);

 private:
  CriClient(std::string endpoint, std::shared_ptr<grpc::Channel> channel);
  void Prepare(grpc::ClientContext* context) const;
  absl::Status Check(const grpc::Status& status, const char* call) const;

  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> stub_;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
  mutable absl::Mutex mu_;
  absl::Duration call_timeout_ ABSL_GUARDED_BY(mu_) = kDefaultCallTimeout;
};

// The Status for a failed CRI call: the gRPC code kept, the message
// "CRI <call> on <endpoint>: <runtime's message>".
absl::Status CriCallStatus(const grpc::Status& status, const char* call,
                           const std::string& endpoint, absl::Duration deadline);

}  // namespace faasguard
