// What the node tracker needs from the container runtime (CRI runtime.v1): an interface, so
// the tracker's logic is unit-tested with a fake; CriSourceFromClient (cri_source.cc) is the
// real one over a CriClient.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace faasguard {

struct CriPod {
  std::string id;  // sandbox id
  std::string uid;
  std::string namespace_;
  std::string name;
  std::map<std::string, std::string> labels;
  bool ready = false;
};

struct CriContainer {
  enum class State { kCreated, kRunning, kExited, kUnknown };
  std::string id;
  std::string pod_sandbox_id;
  std::string name;
  State state = State::kUnknown;
};

class CriSource {
 public:
  virtual ~CriSource() = default;
  virtual std::string endpoint() const = 0;
  // "containerd 1.6.20 (CRI v1)"
  virtual absl::StatusOr<std::string> Version() = 0;
  virtual absl::StatusOr<std::vector<CriPod>> ListPods() = 0;
  virtual absl::StatusOr<std::vector<CriContainer>> ListContainers() = 0;
  // The seccomp filter the runtime gave a container: the OCI LinuxSeccomp object of its
  // runtime spec (ContainerStatus verbose; containerd puts the spec in info["info"]), as JSON;
  // "" when the container runs without one, or the runtime does not say.
  virtual absl::StatusOr<std::string> ContainerSeccomp(const std::string& id) {
    (void)id;
    return std::string();
  }
  // GetContainerEvents: calls on_event(container id) for each event until the stream ends or
  // CancelWatch() is called (from another thread); returns why it ended (UNIMPLEMENTED when
  // the runtime has no event stream, as containerd 1.6).
  virtual absl::Status WatchEvents(const std::function<void(const std::string&)>& on_event) {
    (void)on_event;
    return absl::UnimplementedError("no event stream");
  }
  virtual void CancelWatch() {}
};

// Connects to a CRI endpoint; nullptr-free: errors come back as a Status.
using CriConnector = std::function<absl::StatusOr<std::unique_ptr<CriSource>>()>;

}  // namespace faasguard

namespace faasguard {

// The real CriSource over the CRI at `endpoint` ("" : the first default endpoint that exists,
// checked again at every connection attempt).
CriConnector MakeCriConnector(std::string endpoint, absl::Duration call_timeout);

}  // namespace faasguard
