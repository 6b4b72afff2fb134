#include "core/mode_switch.h"

namespace faasguard {

absl::Status ModeSwitch::ToAllowLists(const std::vector<std::pair<uint32_t, AllowList>>& todo,
                                      const ModeSettings& from, const ModeSettings& to) {
  auto gen = [&](uint32_t slot) { return slots_->Get(slot)->gen; };
  // Phase 1: write each slot's inactive generation; on failure remove them all again.
  for (size_t i = 0; i < todo.size(); ++i) {
    const uint32_t slot = todo[i].first;
    absl::Status st = kernel_->ClearPolicy(slot, gen(slot) ^ 1);
    if (st.ok()) st = kernel_->WritePolicy(slot, gen(slot) ^ 1, todo[i].second);
    if (!st.ok()) {
      for (size_t j = 0; j < i; ++j)
        (void)kernel_->ClearPolicy(todo[j].first, gen(todo[j].first) ^ 1);
      return st;
    }
  }
  // Phase 2: flip each slot to its new generation.
  for (size_t i = 0; i < todo.size(); ++i) {
    const uint32_t slot = todo[i].first;
    absl::Status st =
        kernel_->SetFnConfig(slot, KernelConfig(to, gen(slot) ^ 1, todo[i].second.cfg_flags));
    if (!st.ok()) {
      // Put back the slots already flipped; the rest never moved.
      for (size_t j = 0; j < i; ++j) {
        const SlotTable::Slot& o = *slots_->Get(todo[j].first);
        (void)kernel_->SetFnConfig(todo[j].first, KernelConfig(from, o.gen, o.cfg_flags));
      }
      for (const auto& [s, policy] : todo) (void)kernel_->ClearPolicy(s, gen(s) ^ 1);
      return st;
    }
  }
  // Phase 3: the old generations go.
  for (const auto& [slot, policy] : todo) {
    const uint8_t old = gen(slot);
    (void)kernel_->ClearPolicy(slot, old);
    slots_->SetGeneration(slot, old ^ 1, policy.cfg_flags);
  }
  return absl::OkStatus();
}

absl::Status ModeSwitch::ToLearn(const std::vector<uint32_t>& slots, const ModeSettings& from,
                                 const ModeSettings& to) {
  // Flip every slot to learn; if one cannot be, put back those already flipped. Only then free
  // the allow-lists (learn mode checks nothing).
  for (size_t i = 0; i < slots.size(); ++i) {
    absl::Status st =
        kernel_->SetFnConfig(slots[i], KernelConfig(to, slots_->Get(slots[i])->gen, 0));
    if (!st.ok()) {
      for (size_t j = 0; j < i; ++j) {
        const SlotTable::Slot& o = *slots_->Get(slots[j]);
        (void)kernel_->SetFnConfig(slots[j], KernelConfig(from, o.gen, o.cfg_flags));
      }
      return st;
    }
  }
  for (uint32_t slot : slots) {
    const uint8_t gen = slots_->Get(slot)->gen;
    (void)kernel_->ClearPolicy(slot, gen);
    slots_->SetGeneration(slot, gen, 0);
  }
  return absl::OkStatus();
}

}  // namespace faasguard
