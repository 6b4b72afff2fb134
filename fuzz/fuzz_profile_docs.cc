// libFuzzer: profile documents as faasguardctl import and the cluster sync read them: JSON or
// YAML (several documents), plain profiles or FunctionProfile resources (CRD). A document it
// accepts renders (JSON and YAML, plain and CRD) into documents it accepts again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "profile/convert.h"

using faasguard::DocFormat;
using faasguard::DocShape;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  auto docs = faasguard::ParseProfileDocs(in);
  if (!docs.ok()) return 0;
  for (const auto& p : *docs) {
    for (DocFormat f : {DocFormat::kJson, DocFormat::kYaml}) {
      for (DocShape s : {DocShape::kPlain, DocShape::kCrd}) {
        auto text = faasguard::RenderProfileDoc(p, f, s);
        if (!text.ok()) continue;
        auto back = faasguard::ParseProfileDocs(*text);
        if (!back.ok() || back->size() != 1) std::abort();
      }
    }
  }
  return 0;
}
