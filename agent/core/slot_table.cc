#include "core/slot_table.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"

namespace faasguard {

SlotTable::SlotTable(KernelMaps* kernel, uint32_t size, absl::Duration rest)
    : kernel_(kernel), rest_(rest), slots_(size) {}

absl::StatusOr<uint32_t> SlotTable::Allocate(const std::string& function,
                                             const std::string& container, const AllowList* policy,
                                             const ModeSettings& settings) {
  const absl::Time rested = absl::Now() - rest_;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].function.empty() || slots_[i].freed > rested) continue;
    // Whatever a previous owner left in the kernel is dropped.
    FG_RETURN_IF_ERROR(kernel_->ResetFn(i));
    if (policy) {
      FG_RETURN_IF_ERROR(kernel_->WritePolicy(i, 0, *policy));
    }
    const uint8_t flags = policy ? policy->cfg_flags : uint8_t{0};
    FG_RETURN_IF_ERROR(kernel_->SetFnConfig(i, KernelConfig(settings, 0, flags)));
    slots_[i] = Slot{function, container, 0, flags, absl::InfinitePast(), {}};
    return i;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", slots_.size(), " function slots are in use"));
}

void SlotTable::Release(uint32_t slot) {
  if (slot >= slots_.size()) return;
  for (const auto& [id, path] : slots_[slot].cgroups) cgroups_.erase(id);
  slots_[slot] = Slot{};
}

void SlotTable::Free(uint32_t slot) {
  if (slot >= slots_.size()) return;
  (void)kernel_->ResetFn(slot);
  Release(slot);
  slots_[slot].freed = absl::Now();
}

bool SlotTable::Claim(uint32_t slot, const std::string& function, const std::string& container,
                      uint8_t gen, uint8_t cfg_flags) {
  if (slot >= slots_.size() || !slots_[slot].function.empty()) return false;
  slots_[slot] =
      Slot{function, container, static_cast<uint8_t>(gen & 1), cfg_flags, absl::InfinitePast(), {}};
  return true;
}

void SlotTable::SetGeneration(uint32_t slot, uint8_t gen, uint8_t cfg_flags) {
  if (slot >= slots_.size()) return;
  slots_[slot].gen = gen & 1;
  slots_[slot].cfg_flags = cfg_flags;
}

absl::Status SlotTable::Track(uint64_t cgroup_id, uint32_t slot, const std::string& path,
                              uint32_t kflags) {
  if (slot >= slots_.size()) return absl::OutOfRangeError(absl::StrCat("no slot ", slot));
  FG_RETURN_IF_ERROR(kernel_->TrackCgroup(cgroup_id, slot, kflags));
  Adopt(cgroup_id, slot, path, kflags);
  return absl::OkStatus();
}

absl::Status SlotTable::Retarget(uint64_t cgroup_id, uint32_t slot, const std::string& path) {
  if (slot >= slots_.size()) return absl::OutOfRangeError(absl::StrCat("no slot ", slot));
  FG_RETURN_IF_ERROR(kernel_->RetargetCgroup(cgroup_id, slot));
  Adopt(cgroup_id, slot, path);
  return absl::OkStatus();
}

absl::Status SlotTable::Untrack(uint64_t cgroup_id) {
  auto it = cgroups_.find(cgroup_id);
  if (it == cgroups_.end())
    return absl::NotFoundError(absl::StrCat("cgroup id ", cgroup_id, " is not registered"));
  absl::Status st = kernel_->UntrackCgroup(cgroup_id);
  slots_[it->second].cgroups.erase(cgroup_id);
  cgroups_.erase(it);
  kflags_.erase(cgroup_id);
  return st;
}

void SlotTable::Adopt(uint64_t cgroup_id, uint32_t slot, const std::string& path,
                      std::optional<uint32_t> kflags) {
  if (slot >= slots_.size()) return;
  if (auto it = cgroups_.find(cgroup_id); it != cgroups_.end())
    slots_[it->second].cgroups.erase(cgroup_id);
  cgroups_[cgroup_id] = slot;
  slots_[slot].cgroups[cgroup_id] = path;
  if (kflags)
    kflags_[cgroup_id] = *kflags;
  else
    kflags_.try_emplace(cgroup_id, 0);
}

absl::Status SlotTable::SetFlags(uint64_t cgroup_id, uint32_t set, uint32_t clear) {
  if (!cgroups_.count(cgroup_id))
    return absl::NotFoundError(absl::StrCat("cgroup id ", cgroup_id, " is not registered"));
  FG_RETURN_IF_ERROR(kernel_->SetCgroupFlags(cgroup_id, set, clear));
  kflags_[cgroup_id] = (kflags_[cgroup_id] | set) & ~clear;
  return absl::OkStatus();
}

uint32_t SlotTable::FlagsOf(uint64_t cgroup_id) const {
  auto it = kflags_.find(cgroup_id);
  return it == kflags_.end() ? 0 : it->second;
}

size_t SlotTable::CountWithout(uint32_t flags) const {
  size_t n = 0;
  for (const auto& [id, slot] : cgroups_)
    if (!(FlagsOf(id) & flags)) ++n;
  return n;
}

absl::Status SlotTable::DropKernelEntry(uint64_t cgroup_id) {
  return kernel_->UntrackCgroup(cgroup_id);
}

std::optional<uint32_t> SlotTable::SlotOf(uint64_t cgroup_id) const {
  auto it = cgroups_.find(cgroup_id);
  if (it == cgroups_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> SlotTable::PathOf(uint64_t cgroup_id) const {
  auto it = cgroups_.find(cgroup_id);
  if (it == cgroups_.end()) return std::nullopt;
  return slots_[it->second].cgroups.at(cgroup_id);
}

std::optional<uint64_t> SlotTable::CgroupAt(const std::string& path) const {
  for (const Slot& s : slots_)
    for (const auto& [id, p] : s.cgroups)
      if (p == path) return id;
  return std::nullopt;
}

std::vector<std::pair<uint64_t, std::string>> SlotTable::Cgroups() const {
  std::vector<std::pair<uint64_t, std::string>> out;
  out.reserve(cgroups_.size());
  for (const Slot& s : slots_)
    for (const auto& [id, p] : s.cgroups) out.emplace_back(id, p);
  return out;
}

const SlotTable::Slot* SlotTable::Get(uint32_t slot) const {
  return slot < slots_.size() ? &slots_[slot] : nullptr;
}

}  // namespace faasguard
