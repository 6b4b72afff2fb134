#include "k8s/admission.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "k8s/identity.h"

namespace faasguard {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Field(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

const Struct* Obj(const Struct& s, const std::string& name) {
  const Value* v = Field(s, name);
  return v && v->has_struct_value() ? &v->struct_value() : nullptr;
}

std::string Str(const Struct* s, const std::string& name) {
  if (!s) return "";
  const Value* v = Field(*s, name);
  return v && v->has_string_value() ? v->string_value() : "";
}

// "Localhost" or "Unconfined" set by the user: theirs to keep.
bool UserChoseProfile(const Struct* security_context) {
  const Struct* sp = security_context ? Obj(*security_context, "seccompProfile") : nullptr;
  std::string type = Str(sp, "type");
  return type == "Localhost" || type == "Unconfined";
}

std::string JsonString(const std::string& s) {
  Value v;
  v.set_string_value(s);
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReviewPodAdmission(const std::string& review_json,
                                               const SeccompProfileFor& profile_for,
                                               const AdmissionOptions& options) {
  Struct review;
  if (!google::protobuf::util::JsonStringToMessage(review_json, &review).ok())
    return absl::InvalidArgumentError("the request body is not JSON");
  if (Str(&review, "kind") != "AdmissionReview")
    return absl::InvalidArgumentError("the request is not an AdmissionReview");
  const Struct* req = Obj(review, "request");
  std::string uid = Str(req, "uid");
  if (!req || uid.empty())
    return absl::InvalidArgumentError("the AdmissionReview has no request.uid");

  std::vector<std::string> ops;
  std::string note = "not a function pod";
  const Struct* pod = Obj(*req, "object");
  const Struct* meta = pod ? Obj(*pod, "metadata") : nullptr;
  const Struct* spec = pod ? Obj(*pod, "spec") : nullptr;
  const Struct* kind = Obj(*req, "kind");
  if (pod && spec && Str(kind, "kind") == "Pod" && Str(req, "operation") == "CREATE") {
    PodFacts facts;
    facts.namespace_ = Str(req, "namespace");
    if (facts.namespace_.empty()) facts.namespace_ = Str(meta, "namespace");
    facts.name = Str(meta, "name");
    if (const Struct* labels = meta ? Obj(*meta, "labels") : nullptr)
      for (const auto& [k, v] : labels->fields())
        if (v.has_string_value()) facts.labels[k] = v.string_value();
    auto fn = FunctionOfPod(facts, options.custom_label);
    if (!fn.ok()) {
      note = std::string(fn.status().message());
    } else if (fn->has_value()) {
      note = "no container of the function runs under its filter";
      const bool pod_chose = UserChoseProfile(Obj(*spec, "securityContext"));
      const Value* containers = Field(*spec, "containers");
      int i = 0;
      for (const Value& c : containers && containers->has_list_value()
                                ? containers->list_value().values()
                                : google::protobuf::RepeatedPtrField<Value>()) {
        const int index = i++;
        if (!c.has_struct_value()) continue;
        const Struct& cs = c.struct_value();
        const Struct* sc = Obj(cs, "securityContext");
        if (UserChoseProfile(sc) || (pod_chose && !(sc && Obj(*sc, "seccompProfile")))) continue;
        auto rel = profile_for(**fn, Str(&cs, "name"));
        if (!rel) continue;
        std::string profile =
            absl::StrCat("{\"type\":\"Localhost\",\"localhostProfile\":", JsonString(*rel), "}");
        std::string base = absl::StrCat("/spec/containers/", index, "/securityContext");
        if (sc)
          ops.push_back(absl::StrCat("{\"op\":\"add\",\"path\":\"", base,
                                     "/seccompProfile\",\"value\":", profile, "}"));
        else
          ops.push_back(absl::StrCat("{\"op\":\"add\",\"path\":\"", base,
                                     "\",\"value\":{\"seccompProfile\":", profile, "}}"));
      }
      if (!ops.empty())
        note = absl::StrCat(ops.size(), " container(s) under the function's filter");
    }
  }
  std::string response =
      absl::StrCat("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",",
                   "\"response\":{\"uid\":", JsonString(uid), ",\"allowed\":true");
  if (!ops.empty()) {
    std::string patch = absl::StrCat("[", absl::StrJoin(ops, ","), "]");
    absl::StrAppend(&response, ",\"patchType\":\"JSONPatch\",\"patch\":\"",
                    absl::Base64Escape(patch), "\"");
  }
  absl::StrAppend(&response, ",\"auditAnnotations\":{\"seccomp\":", JsonString(note), "}}}");
  return response;
}

}  // namespace faasguard
