// Profile documents: JSON and YAML, plain or as a FunctionProfile custom resource (apiVersion
// faasguard.dev/v1alpha1). faasguardctl reads and writes them; the cluster sync (k8s/) too.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

inline constexpr char kCrdApiVersion[] = "faasguard.dev/v1alpha1";
inline constexpr char kCrdKind[] = "FunctionProfile";

// Any JSON document as YAML (block style), and YAML as JSON. Plain YAML scalars that read as
// numbers, booleans or null become those; quoted ones stay strings.
absl::StatusOr<std::string> JsonToYaml(absl::string_view json);
absl::StatusOr<std::string> YamlToJson(absl::string_view yaml);

enum class DocFormat { kJson, kYaml };
enum class DocShape { kPlain, kCrd };

// A profile as a document.
absl::StatusOr<std::string> RenderProfileDoc(const v1::Profile& p, DocFormat format,
                                             DocShape shape);

// Every profile in a text: JSON or YAML (several YAML documents separated by "---"), each
// plain or a FunctionProfile resource. Each profile is validated.
absl::StatusOr<std::vector<v1::Profile>> ParseProfileDocs(absl::string_view text);

}  // namespace faasguard
