// The switch of a function's slots to another mode: all or nothing (docs/architecture.md,
// "Mode switches are all or nothing"). Monitor / enforce: each slot's new allow-list is written
// as its inactive generation, then every slot's config flips to it (one 8-byte map write
// each), then the old generations are dropped; a reader in the kernel sees either the old
// allow-list or the new one. Learn: every slot flips to learn, then its allow-list goes. Any
// failure removes what was written and puts back the slots already flipped.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "bpf/kernel_maps.h"
#include "core/abi_codec.h"
#include "core/slot_table.h"

namespace faasguard {

class ModeSwitch {
 public:
  ModeSwitch(KernelMaps* kernel, SlotTable* slots) : kernel_(kernel), slots_(slots) {}

  // `from`: the settings in force (written back on failure); `to`: the new ones, a monitor or
  // enforce mode. `todo`: every slot of the function with its compiled allow-list.
  absl::Status ToAllowLists(const std::vector<std::pair<uint32_t, AllowList>>& todo,
                            const ModeSettings& from, const ModeSettings& to);
  // `to` is a learn mode: every slot of `slots` stops checking.
  absl::Status ToLearn(const std::vector<uint32_t>& slots, const ModeSettings& from,
                       const ModeSettings& to);

 private:
  KernelMaps* kernel_;
  SlotTable* slots_;
};

}  // namespace faasguard
