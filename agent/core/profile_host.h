// What the cluster profile sync (k8s/profile_sync.h) needs of the engine: the node's profiles
// out, the cluster's profiles and modes in. Engine implements it; tests/fakes has a fake.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// Who changed a function's mode: named in the mode event and the log line.
enum class ModeSource { kApi, kImport, kCluster, kAutoPromote, kRestore };
// "api", "import", "cluster", "auto-promote", "restore".
absl::string_view ModeSourceWord(ModeSource s);

// A mode switch asked for: the mode, and what it leaves unset stays as it is.
struct ModeRequest {
  v1::Mode mode = v1::MODE_UNSPECIFIED;
  std::optional<v1::SyscallAction> syscall_action;
  std::optional<v1::AgentAbsence> when_agent_absent;
  std::optional<v1::SyscallAction> sensitive_syscall_action;
};

class ProfileHost {
 public:
  virtual ~ProfileHost() = default;

  // Every function on this node.
  virtual std::vector<v1::FunctionId> FunctionIds() = 0;
  // NOT_FOUND for a function the node does not have.
  virtual absl::StatusOr<v1::Profile> GetProfile(const v1::FunctionId& id) = 0;
  virtual absl::StatusOr<v1::FunctionSummary> GetFunction(const v1::FunctionId& id) = 0;
  // Import a profile (replace, or merge into the function's); creates the function if needed.
  // The request is valid (callers check).
  virtual absl::StatusOr<v1::PutProfileResponse> PutProfile(const v1::PutProfileRequest& req,
                                                            ModeSource source) = 0;
  // Switch every container of a function to a mode, all or nothing.
  virtual absl::StatusOr<v1::SetModeResponse> SetMode(const v1::FunctionId& id,
                                                      const ModeRequest& req,
                                                      ModeSource source) = 0;
};

}  // namespace faasguard
