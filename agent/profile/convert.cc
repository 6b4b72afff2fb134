#include "profile/convert.h"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/status.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Emits a node parsed from JSON as block YAML, keeping key order. Strings that YAML would
// read as something else (numbers, booleans, null, or with ": " / " #") are quoted.
void EmitNode(YAML::Emitter& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& kv : n) {
        out << YAML::Key << kv.first.as<std::string>() << YAML::Value;
        EmitNode(out, kv.second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& e : n) EmitNode(out, e);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "?") {  // a JSON number, boolean or null: plain
        out << s;
        break;
      }
      static const std::regex kSpecial(
          R"(^(|true|false|yes|no|on|off|y|n|null|~|[-+.0-9].*|.*(: | #|:$).*|[\[\]{}&*!|>'"%@`,?].*)$)",
          std::regex::icase);
      if (std::regex_match(s, kSpecial))
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    default:
      out << YAML::Null;
  }
}

void NodeToJson(const YAML::Node& n, std::string* out) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      *out += "null";
      break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      static const std::regex kNumber(R"(^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$)");
      if (n.Tag() == "?") {  // a plain scalar: it may be a number, a boolean or null
        if (s == "true" || s == "false") {
          *out += s;
          break;
        }
        if (s == "null" || s == "~") {
          *out += "null";
          break;
        }
        if (std::regex_match(s, kNumber)) {
          *out += s[0] == '+' ? s.substr(1) : s;
          break;
        }
      }
      absl::StrAppend(out, "\"", JsonEscape(s), "\"");
      break;
    }
    case YAML::NodeType::Sequence: {
      *out += "[";
      bool first = true;
      for (const auto& e : n) {
        if (!first) *out += ",";
        first = false;
        NodeToJson(e, out);
      }
      *out += "]";
      break;
    }
    case YAML::NodeType::Map: {
      *out += "{";
      bool first = true;
      for (const auto& kv : n) {
        if (!first) *out += ",";
        first = false;
        // StrAppend, not `"\"" + ...`: GCC 12 at -O3 reports a false -Wrestrict there.
        absl::StrAppend(out, "\"", JsonEscape(kv.first.as<std::string>()), "\":");
        NodeToJson(kv.second, out);
      }
      *out += "}";
      break;
    }
  }
}

absl::StatusOr<Value> ParseJsonValue(absl::string_view json) {
  Value v;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &v);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("JSON: ", st.ToString()));
  return v;
}

std::string ValueToJson(const Value& v) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

// The documents of a YAML stream: split at lines that start a document ("---", alone or
// followed by a space) and after lines that end one ("..."). A marker at column 0 always
// starts or ends a document, in block scalars too.
std::vector<std::string> SplitYamlDocuments(absl::string_view text) {
  std::vector<std::string> docs(1);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    bool start = absl::StartsWith(line, "---") &&
                 (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    bool end = absl::StartsWith(line, "...") &&
               (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (start) {
      if (!absl::StripAsciiWhitespace(docs.back()).empty()) docs.emplace_back();
      docs.back() = std::string(line.substr(3));  // "--- {a: 1}": content on the marker line
      docs.back() += '\n';
      continue;
    }
    if (end) {
      docs.emplace_back();
      continue;
    }
    absl::StrAppend(&docs.back(), line, "\n");
  }
  std::vector<std::string> out;
  for (auto& d : docs)
    if (!absl::StripAsciiWhitespace(d).empty()) out.push_back(std::move(d));
  return out;
}

// One document (as JSON) -> a profile: plain, or the spec of a FunctionProfile resource.
absl::StatusOr<v1::Profile> ProfileFromDoc(const std::string& json) {
  FG_ASSIGN_OR_RETURN(Value v, ParseJsonValue(json));
  if (v.kind_case() != Value::kStructValue)
    return absl::InvalidArgumentError("a profile document must be an object");
  const auto& fields = v.struct_value().fields();
  auto kind = fields.find("kind");
  if (kind == fields.end()) return ProfileFromJson(json);
  if (kind->second.string_value() != kCrdKind)
    return absl::InvalidArgumentError(
        absl::StrCat("kind \"", kind->second.string_value(), "\" is not ", kCrdKind));
  auto api = fields.find("apiVersion");
  if (api == fields.end() || api->second.string_value() != kCrdApiVersion)
    return absl::InvalidArgumentError(
        absl::StrCat("a ", kCrdKind, " must have apiVersion ", kCrdApiVersion));
  auto spec = fields.find("spec");
  if (spec == fields.end() || spec->second.kind_case() != Value::kStructValue)
    return absl::InvalidArgumentError(absl::StrCat("the ", kCrdKind, " has no spec"));
  Value s = spec->second;
  auto meta = fields.find("metadata");
  if (meta != fields.end() && !s.struct_value().fields().count("function")) {
    // The function is named by the resource's metadata when the spec leaves it out.
    const auto& m = meta->second.struct_value().fields();
    Value fn;
    auto* f = fn.mutable_struct_value()->mutable_fields();
    if (m.count("namespace")) (*f)["namespace"] = m.at("namespace");
    if (m.count("name")) (*f)["name"] = m.at("name");
    (*s.mutable_struct_value()->mutable_fields())["function"] = fn;
  }
  FG_ASSIGN_OR_RETURN(v1::Profile p, ProfileFromJson(ValueToJson(s)));
  if (meta != fields.end()) {
    const auto& m = meta->second.struct_value().fields();
    if ((m.count("name") && m.at("name").string_value() != p.function().name()) ||
        (m.count("namespace") && m.at("namespace").string_value() != p.function().namespace_()))
      return absl::InvalidArgumentError(
          "the resource's metadata and spec.function name different functions");
  }
  return p;
}

}  // namespace

absl::StatusOr<std::string> JsonToYaml(absl::string_view json) {
  try {
    YAML::Node n = YAML::Load(std::string(json));  // JSON is YAML: key order is kept
    YAML::Emitter out;
    EmitNode(out, n);
    if (!out.good()) return absl::InternalError(absl::StrCat("YAML: ", out.GetLastError()));
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("JSON: ", e.what()));
  }
}

absl::StatusOr<std::string> YamlToJson(absl::string_view yaml) {
  try {
    YAML::Node n = YAML::Load(std::string(yaml));
    std::string out;
    NodeToJson(n, &out);
    return out;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML: ", e.what()));
  }
}

absl::StatusOr<std::string> RenderProfileDoc(const v1::Profile& in, DocFormat format,
                                             DocShape shape) {
  v1::Profile p = in;
  NormalizeProfile(p);
  std::string json = MessageToJson(p, true);
  if (shape == DocShape::kCrd) {
    // Composed as text so the resource's fields keep the order people expect.
    std::string platform = p.function().platform().empty() ? "local" : p.function().platform();
    json = absl::StrCat("{\n \"apiVersion\": \"", kCrdApiVersion, "\",\n \"kind\": \"", kCrdKind,
                        "\",\n \"metadata\": {\n  \"name\": \"", JsonEscape(p.function().name()),
                        "\",\n  \"namespace\": \"", JsonEscape(p.function().namespace_()),
                        "\",\n  \"labels\": {\"faasguard.dev/platform\": \"", JsonEscape(platform),
                        "\"}\n },\n \"spec\": ", json, "\n}");
  }
  if (format == DocFormat::kYaml) return JsonToYaml(json);
  return json;
}

absl::StatusOr<std::vector<v1::Profile>> ParseProfileDocs(absl::string_view text) {
  std::vector<v1::Profile> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == absl::string_view::npos) return absl::InvalidArgumentError("the document is empty");
  if (text[first] == '{') {  // JSON
    FG_ASSIGN_OR_RETURN(v1::Profile p, ProfileFromDoc(std::string(text)));
    out.push_back(std::move(p));
    return out;
  }
  std::vector<YAML::Node> docs;
  try {
    // Not YAML::LoadAll: yaml-cpp 0.7's loops forever on a stray "," (an empty document that
    // consumes nothing, again and again; found by fuzz/fuzz_profile_docs). Documents are split
    // at their "---" markers here and each is loaded on its own.
    for (const std::string& d : SplitYamlDocuments(text)) docs.push_back(YAML::Load(d));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML: ", e.what()));
  }
  int i = 0;
  for (const auto& d : docs) {
    ++i;
    if (d.IsNull()) continue;
    std::string json;
    try {
      NodeToJson(d, &json);  // throws on what JSON cannot say (a mapping as a mapping's key)
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          docs.size() > 1 ? absl::StrCat("document ", i, ": ") : "", "YAML: ", e.what()));
    }
    auto p = ProfileFromDoc(json);
    if (!p.ok())
      return absl::InvalidArgumentError(absl::StrCat(
          docs.size() > 1 ? absl::StrCat("document ", i, ": ") : "", p.status().message()));
    out.push_back(std::move(*p));
  }
  if (out.empty()) return absl::InvalidArgumentError("no profile in the document");
  return out;
}

}  // namespace faasguard
