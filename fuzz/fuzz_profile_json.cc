// libFuzzer: the profile JSON parser (profile files on disk, PutProfile's JSON form). Any
// input: an error or a profile; a profile it accepts prints to JSON that it accepts again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "profile/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = faasguard::ProfileFromJson(in);
  if (!p.ok()) return 0;
  (void)faasguard::ValidateProfile(*p);
  faasguard::NormalizeProfile(*p);
  auto again = faasguard::ProfileFromJson(faasguard::ProfileToJson(*p));
  if (!again.ok()) std::abort();  // what we print, we must read back
  return 0;
}
