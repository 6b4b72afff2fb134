// The kernel's function slots and the cgroups tracked into them. A slot is one container of
// one function: fg_fn_cfg, fg_fn_state, the kernel-side sets and the allow-lists are indexed
// by it, never by cgroup, so every replica of a container shares it. The table keeps the
// kernel's fg_tracked and its own record in step (the kernel is written first), and remembers
// which allow-list generation is in force in each slot. Not thread-safe: the engine's lock
// guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bpf/kernel_maps.h"
#include "core/abi_codec.h"

namespace faasguard {

class SlotTable {
 public:
  struct Slot {
    std::string function;  // FunctionKey of the function it serves; "" while free
    std::string container;
    uint8_t gen = 0;        // allow-list generation in force (monitor / enforce)
    uint8_t cfg_flags = 0;  // FG_CFG_F_* of that allow-list (fail-open is the function's)
    absl::Time freed = absl::InfinitePast();  // a freed slot rests before reuse
    std::map<uint64_t, std::string> cgroups;  // tracked into it: cgroup id -> path
  };

  // `rest`: how long a freed slot stays unused (ring-buffer records of its last owner may
  // still be queued).
  SlotTable(KernelMaps* kernel, uint32_t size, absl::Duration rest = absl::Seconds(10));

  // Take a free, rested slot for (function, container). It starts clean (its kernel state is
  // reset); with `policy` (monitor / enforce) the allow-list is written as generation 0 before
  // the config, so the slot checks from the first cgroup tracked into it.
  absl::StatusOr<uint32_t> Allocate(const std::string& function, const std::string& container,
                                    const AllowList* policy, const ModeSettings& settings);
  // Undo an Allocate whose slot was never used: free again at once.
  void Release(uint32_t slot);
  // A function forgotten: the slot's kernel state is reset and it rests before reuse.
  void Free(uint32_t slot);
  // After an agent restart: `slot` serves (function, container) as the earlier agent left it,
  // with allow-list generation `gen` in force. False when out of range or taken.
  bool Claim(uint32_t slot, const std::string& function, const std::string& container, uint8_t gen,
             uint8_t cfg_flags);
  // A mode switch flipped `slot` to generation `gen`, whose allow-list has `cfg_flags`.
  void SetGeneration(uint32_t slot, uint8_t gen, uint8_t cfg_flags);

  // Track a cgroup into a slot (fg_tracked, with kernel flags FG_CG_F_*).
  absl::Status Track(uint64_t cgroup_id, uint32_t slot, const std::string& path, uint32_t kflags);
  // Move a tracked cgroup to another slot; its kernel flags stay.
  absl::Status Retarget(uint64_t cgroup_id, uint32_t slot, const std::string& path);
  // Stop tracking a cgroup. Its record goes even if the kernel refuses (that error is
  // returned); NOT_FOUND when it is not tracked.
  absl::Status Untrack(uint64_t cgroup_id);
  // Record a cgroup the kernel tracks already (inherited at mkdir, or kept while no agent
  // ran), with its kernel flags when known (else those recorded, or none).
  void Adopt(uint64_t cgroup_id, uint32_t slot, const std::string& path,
             std::optional<uint32_t> kflags = std::nullopt);
  // Set and clear kernel flags (FG_CG_F_*) of a tracked cgroup: the kernel first.
  absl::Status SetFlags(uint64_t cgroup_id, uint32_t set, uint32_t clear);
  // A tracked cgroup's kernel flags as last written or read (0 when not tracked). The kernel
  // may have cleared FG_CG_F_PENDING since.
  uint32_t FlagsOf(uint64_t cgroup_id) const;
  // How many tracked cgroups have none of `flags`.
  size_t CountWithout(uint32_t flags) const;
  // A kernel entry this table has no slot for (found after a restart): untrack it there.
  absl::Status DropKernelEntry(uint64_t cgroup_id);

  std::optional<uint32_t> SlotOf(uint64_t cgroup_id) const;
  std::optional<std::string> PathOf(uint64_t cgroup_id) const;
  // The cgroup registered at `path`, if any.
  std::optional<uint64_t> CgroupAt(const std::string& path) const;
  // Every tracked cgroup: (id, path).
  std::vector<std::pair<uint64_t, std::string>> Cgroups() const;
  // nullptr when out of range.
  const Slot* Get(uint32_t slot) const;
  uint32_t size() const { return static_cast<uint32_t>(slots_.size()); }
  size_t tracked() const { return cgroups_.size(); }

 private:
  KernelMaps* kernel_;
  absl::Duration rest_;
  std::vector<Slot> slots_;
  std::unordered_map<uint64_t, uint32_t> cgroups_;  // cgroup id -> slot
  std::unordered_map<uint64_t, uint32_t> kflags_;   // cgroup id -> FG_CG_F_*
};

}  // namespace faasguard
