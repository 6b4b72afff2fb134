// The admission webhook: real AdmissionReview (admission.k8s.io/v1) requests, as the API server
// sends them, over HTTPS to the server the agent runs, and the JSON patches it answers with.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <httplib.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "k8s/admission.h"
#include "k8s/webhook_server.h"
#include "temp_dir.h"

namespace faasguard {
namespace {

using google::protobuf::Struct;

// Enforced: knative shop/cart (user-container only) and openfaas openfaas-fn/figlet.
std::optional<std::string> Enforced(const v1::FunctionId& f, const std::string& container) {
  if ((f.namespace_() == "shop" && f.name() == "cart" && container == "user-container") ||
      (f.namespace_() == "openfaas-fn" && f.name() == "figlet" && container == "figlet"))
    return SeccompProfileRelPath(f, container);
  return std::nullopt;
}

std::string Review(const std::string& ns, const std::string& labels, const std::string& containers,
                   const std::string& pod_sc = "{}", const std::string& op = "CREATE") {
  return absl::StrCat(
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)",
      R"("request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",)",
      R"("kind":{"group":"","version":"v1","kind":"Pod"},)",
      R"("resource":{"group":"","version":"v1","resource":"pods"},)", R"("namespace":")", ns,
      R"(","operation":")", op, R"(",)",
      R"("object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"x-",)",
      R"("labels":)", labels, R"(},"spec":{"securityContext":)", pod_sc, R"(,"containers":)",
      containers, "}}}}");
}

Struct Parse(const std::string& json) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

// The decoded JSON patch of a response ("" when none).
std::string Patch(const std::string& response) {
  Struct r = Parse(response);
  const auto& resp = r.fields().at("response").struct_value().fields();
  EXPECT_EQ(resp.at("uid").string_value(), "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_TRUE(resp.at("allowed").bool_value());
  if (!resp.count("patch")) return "";
  EXPECT_EQ(resp.at("patchType").string_value(), "JSONPatch");
  std::string patch;
  EXPECT_TRUE(absl::Base64Unescape(resp.at("patch").string_value(), &patch));
  return patch;
}

constexpr char kKnative[] =
    R"({"serving.knative.dev/service":"cart","serving.knative.dev/revision":"cart-00001"})";
constexpr char kKnativeContainers[] =
    R"([{"name":"user-container","image":"x"},{"name":"queue-proxy","image":"y","securityContext":{"runAsNonRoot":true}}])";

TEST(AdmissionTest, EnforcedFunctionContainersGetTheirLocalhostProfile) {
  auto out = ReviewPodAdmission(Review("shop", kKnative, kKnativeContainers), Enforced);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(
      Patch(*out),
      R"([{"op":"add","path":"/spec/containers/0/securityContext","value":{"seccompProfile":)"
      R"({"type":"Localhost","localhostProfile":"faasguard/shop/cart/user-container.json"}}}])");
}

TEST(AdmissionTest, AnExistingSecurityContextGetsOnlyTheProfile) {
  auto out =
      ReviewPodAdmission(Review("openfaas-fn", R"({"faas_function":"figlet"})",
                                R"([{"name":"figlet","securityContext":{"runAsUser":1000}}])"),
                         Enforced);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(
      Patch(*out),
      R"([{"op":"add","path":"/spec/containers/0/securityContext/seccompProfile","value":)"
      R"({"type":"Localhost","localhostProfile":"faasguard/openfaas-fn/figlet/figlet.json"}}])");
}

TEST(AdmissionTest, OtherPodsAndTheUsersOwnProfilesAreLeftAlone) {
  // Not a function.
  auto out = ReviewPodAdmission(Review("shop", R"({"app":"web"})", kKnativeContainers), Enforced);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Patch(*out), "");
  // A function that is not enforced.
  out = ReviewPodAdmission(
      Review("shop", R"({"serving.knative.dev/service":"search"})", kKnativeContainers), Enforced);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Patch(*out), "");
  // The user chose Unconfined for the container, or Localhost for the pod.
  out = ReviewPodAdmission(
      Review(
          "shop", kKnative,
          R"([{"name":"user-container","securityContext":{"seccompProfile":{"type":"Unconfined"}}}])"),
      Enforced);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Patch(*out), "");
  out = ReviewPodAdmission(
      Review("shop", kKnative, kKnativeContainers,
             R"({"seccompProfile":{"type":"Localhost","localhostProfile":"mine.json"}})"),
      Enforced);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Patch(*out), "");
  // RuntimeDefault is replaced: the learned profile is narrower.
  out = ReviewPodAdmission(Review("shop", kKnative, kKnativeContainers,
                                  R"({"seccompProfile":{"type":"RuntimeDefault"}})"),
                           Enforced);
  ASSERT_TRUE(out.ok());
  EXPECT_NE(Patch(*out), "");
  // Not a CREATE.
  out = ReviewPodAdmission(Review("shop", kKnative, kKnativeContainers, "{}", "UPDATE"), Enforced);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Patch(*out), "");
}

TEST(AdmissionTest, BadRequestsAreErrorsNotCrashes) {
  for (const char* bad : {"", "{", "[]", R"({"kind":"Pod"})", R"({"kind":"AdmissionReview"})",
                          R"({"kind":"AdmissionReview","request":{"uid":""}})",
                          R"({"kind":"AdmissionReview","request":[]})"}) {
    auto out = ReviewPodAdmission(bad, Enforced);
    EXPECT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // Well-formed but odd: containers not a list, labels not strings, an invalid function name.
  for (const std::string& odd :
       {Review("shop", kKnative, "7"), Review("shop", R"({"serving.knative.dev/service":1})", "[]"),
        Review("shop", R"({"serving.knative.dev/service":"Not_A_Name"})", kKnativeContainers)}) {
    auto out = ReviewPodAdmission(odd, Enforced);
    ASSERT_TRUE(out.ok()) << odd;
    EXPECT_EQ(Patch(*out), "") << odd;
  }
}

void Shell(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

TEST(WebhookServerTest, AnswersAdmissionReviewsOverHttps) {
  TempDir t;
  Shell(absl::StrCat("cd ", t.path(),
                     " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                     " -keyout tls.key -out tls.crt -days 1 -subj /CN=faasguard-webhook"
                     " -addext subjectAltName=IP:127.0.0.1 2>/dev/null"));
  auto w = WebhookServer::Start("127.0.0.1:0", t.Sub("tls.crt"), t.Sub("tls.key"), Enforced, {});
  ASSERT_TRUE(w.ok()) << w.status();
  auto colon = (*w)->address().rfind(':');
  httplib::SSLClient cli("127.0.0.1", std::stoi((*w)->address().substr(colon + 1)));
  cli.set_ca_cert_path(t.Sub("tls.crt").c_str());
  cli.enable_server_certificate_verification(true);
  auto r =
      cli.Post("/mutate-pods", Review("shop", kKnative, kKnativeContainers), "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(Patch(r->body).find("faasguard/shop/cart/user-container.json"), std::string::npos);
  r = cli.Post("/mutate-pods", "not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ((*w)->reviews(), 2u);
  // A bad certificate is a clear error at start.
  auto bad = WebhookServer::Start("127.0.0.1:0", t.Sub("nope.crt"), t.Sub("tls.key"), Enforced, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--webhook-cert"), std::string::npos);
}

}  // namespace
}  // namespace faasguard
