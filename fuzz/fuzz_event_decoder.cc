// libFuzzer: the ring-buffer record decoder. Records come from the kernel, but a decoder bug
// (or a mismatched object) must be an error, never a read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bpf/events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes: ASan sees any read past the record.
  std::vector<uint8_t> rec(data, data + size);
  (void)faasguard::DecodeEvent(rec.data(), rec.size());
  return 0;
}
