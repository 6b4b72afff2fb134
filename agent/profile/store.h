// The profile store: one JSON file per function under <state-dir>/profiles, written
// atomically; files that cannot be read are moved to <state-dir>/quarantine.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

class ProfileStore {
 public:
  explicit ProfileStore(std::string state_dir);

  // Create the directories (0700).
  absl::Status Init();

  absl::Status Save(const v1::Profile& p);
  absl::Status Remove(const v1::FunctionId& id);

  struct LoadResult {
    std::vector<v1::Profile> profiles;
    std::vector<std::string> quarantined;  // where each unreadable file was moved
    size_t stale_temporaries = 0;          // unfinished writes of an earlier agent, removed
  };
  // Read every profile. A corrupt file is moved aside (and logged), never deleted.
  LoadResult LoadAll();

  std::string PathFor(const v1::FunctionId& id) const;
  const std::string& profiles_dir() const { return profiles_dir_; }
  const std::string& quarantine_dir() const { return quarantine_dir_; }

 private:
  std::string profiles_dir_;
  std::string quarantine_dir_;
};

}  // namespace faasguard
