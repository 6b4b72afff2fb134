// Kernel timestamps (CLOCK_BOOTTIME, as bpf_ktime_get_boot_ns) to wall-clock time.
#pragma once

#include <time.h>

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace faasguard {

inline uint64_t BootNsNow() {
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline absl::Time BootNsToTime(uint64_t boot_ns) {
  if (boot_ns == 0) return absl::UnixEpoch();
  uint64_t now = BootNsNow();
  absl::Time wall = absl::Now();
  return boot_ns <= now ? wall - absl::Nanoseconds(now - boot_ns)
                        : wall + absl::Nanoseconds(boot_ns - now);
}

}  // namespace faasguard
