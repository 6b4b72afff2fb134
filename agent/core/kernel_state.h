// The kernel-state record, <state-dir>/kernel-state.pb (v1::KernelState, binary protobuf):
// which (function, container) each slot serves, its cgroups and how much of the kernel's
// running counts the profiles already hold. The kernel keeps its maps pinned across agent
// restarts but not this; the next agent that adopts the maps reads it (Engine::
// RestoreKernelState). Written atomically, and only when it changed.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/kernel_fold.h"
#include "faasguard/v1/state.pb.h"

namespace faasguard {

class KernelStateRecord {
 public:
  explicit KernelStateRecord(std::string path) : path_(std::move(path)) {}  // "": nowhere

  // Write `st` unless it is what was written last.
  absl::Status Write(const v1::KernelState& st);
  // Forget what was written: the next Write writes.
  void Reset() { written_.clear(); }
  bool enabled() const { return !path_.empty(); }

 private:
  std::string path_;
  std::string written_;  // the record as last written
};

// A slot's folded counts into its record, and back (malformed entries are skipped).
void RecordFoldBase(const FoldBase& base, v1::SlotState* ss);
FoldBase FoldBaseFromRecord(const v1::SlotState& ss);

}  // namespace faasguard
