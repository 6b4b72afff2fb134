// Profile documents (agent/profile/convert.h): YAML streams, plain and CRD, and hostile input that
// the fuzzers found.
#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "profile/convert.h"

namespace faasguard {
namespace {

constexpr char kDoc[] = R"(schemaVersion: 1
function: {platform: custom, namespace: shop, name: NAME}
mode: MODE_LEARN
)";

std::string Doc(const std::string& name) {
  std::string d = kDoc;
  d.replace(d.find("NAME"), 4, name);
  return d;
}

TEST(ConvertTest, SeveralYamlDocumentsAreEachAProfile) {
  std::string text = "# two of them\n---\n" + Doc("a") + "---\n" + Doc("b") + "...\n";
  auto docs = ParseProfileDocs(text);
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].function().name(), "a");
  EXPECT_EQ((*docs)[1].function().name(), "b");
  auto one = ParseProfileDocs(Doc("c"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->size(), 1u);
}

TEST(ConvertTest, CommentsAndIndentedDashesStayInTheirDocument) {
  std::string text = Doc("a") + "# note: |\n#   --- not a marker when indented\n";
  auto docs = ParseProfileDocs(text);
  ASSERT_TRUE(docs.ok()) << docs.status();
  EXPECT_EQ(docs->size(), 1u);
}

// yaml-cpp 0.7's LoadAll never returns on these (fuzz/corpus/fuzz_profile_docs/regression-*).
TEST(ConvertTest, StrayFlowIndicatorsAreAnErrorNotAHang) {
  for (const char* text : {",", ", arch: x86_64}", "a: 1\n---\n,\n"}) {
    auto t0 = std::chrono::steady_clock::now();
    auto docs = ParseProfileDocs(text);
    EXPECT_FALSE(docs.ok()) << text;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << text;
  }
}

// A mapping used as a key: JSON cannot say it. An error, not an uncaught exception (found by
// fuzz/fuzz_profile_docs: faasguardctl aborted).
TEST(ConvertTest, ANonScalarKeyIsAnError) {
  auto docs = ParseProfileDocs(Doc("a") + "? {x: 1}\n: y\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_NE(docs.status().message().find("YAML"), std::string::npos) << docs.status();
}

}  // namespace
}  // namespace faasguard
