// The shared command-line parser.
#include "common/args.h"

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::vector<FlagDef>& Defs() {
  static const std::vector<FlagDef> defs = {
      {"socket", 0, true, "PATH", "the agent's socket", "/run/x.sock"},
      {"output", 'o', true, "", "output format", "table"},
      {"verbose", 'v', false, "", "say more", ""},
      {"dry-run", 0, false, "", "do nothing", ""},
      {"kind", 'k', true, "KIND", "only this kind", "", /*repeatable=*/true},
  };
  return defs;
}

ParsedArgs MustParse(const std::vector<std::string>& argv) {
  absl::StatusOr<ParsedArgs> a = ParseArgs(Defs(), argv);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : ParsedArgs{};
}

std::string ErrorOf(const std::vector<std::string>& argv) {
  absl::StatusOr<ParsedArgs> a = ParseArgs(Defs(), argv);
  EXPECT_FALSE(a.ok());
  if (a.ok()) return "";
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(a.status().message());
}

TEST(ParseArgsTest, Empty) {
  ParsedArgs a = MustParse({});
  EXPECT_THAT(a.values, IsEmpty());
  EXPECT_THAT(a.positional, IsEmpty());
  EXPECT_THAT(a.rest, IsEmpty());
  EXPECT_FALSE(a.double_dash);
}

TEST(ParseArgsTest, LongFlagWithEquals) {
  ParsedArgs a = MustParse({"--socket=/tmp/a.sock", "status"});
  EXPECT_EQ(a.Get("socket"), "/tmp/a.sock");
  EXPECT_THAT(a.positional, ElementsAre("status"));
}

TEST(ParseArgsTest, LongFlagWithSeparateValue) {
  ParsedArgs a = MustParse({"status", "--socket", "/tmp/a.sock"});
  EXPECT_EQ(a.Get("socket"), "/tmp/a.sock");
  EXPECT_THAT(a.positional, ElementsAre("status"));
}

TEST(ParseArgsTest, ValuesMayContainEqualsOrBeEmptyOrLookLikeFlags) {
  EXPECT_EQ(MustParse({"--socket=a=b"}).Get("socket"), "a=b");
  ParsedArgs empty = MustParse({"--socket="});
  EXPECT_TRUE(empty.Has("socket"));
  EXPECT_EQ(empty.Get("socket", "default"), "");
  EXPECT_EQ(MustParse({"--socket", "-weird"}).Get("socket"), "-weird");
}

TEST(ParseArgsTest, ShortFlag) {
  ParsedArgs a = MustParse({"-o", "json", "functions"});
  EXPECT_EQ(a.Get("output"), "json");  // stored under the long name
  EXPECT_FALSE(a.Has("o"));
  EXPECT_THAT(a.positional, ElementsAre("functions"));
}

TEST(ParseArgsTest, BooleanFlags) {
  ParsedArgs a = MustParse({"--verbose", "x", "--dry-run"});
  EXPECT_EQ(a.Get("verbose"), "true");
  EXPECT_EQ(a.Get("dry-run"), "true");
  EXPECT_THAT(a.positional, ElementsAre("x"));  // a boolean does not eat the next word

  EXPECT_EQ(MustParse({"-v"}).Get("verbose"), "true");
  EXPECT_EQ(MustParse({"--verbose=false"}).Get("verbose"), "false");
  EXPECT_EQ(MustParse({"--verbose=true"}).Get("verbose"), "true");
  EXPECT_THAT(ErrorOf({"--verbose=yes"}), HasSubstr("--verbose takes no value"));
}

TEST(ParseArgsTest, GetAndHas) {
  ParsedArgs a = MustParse({"-o", "json"});
  EXPECT_TRUE(a.Has("output"));
  EXPECT_FALSE(a.Has("socket"));
  EXPECT_EQ(a.Get("socket", "/run/x.sock"), "/run/x.sock");
  EXPECT_EQ(a.Get("socket"), "");
}

TEST(ParseArgsTest, RepeatableFlagKeepsEveryValueInOrder) {
  ParsedArgs a = MustParse({"--kind", "new", "x", "-k", "violation", "--kind=new"});
  EXPECT_THAT(a.GetAll("kind"), ElementsAre("new", "violation", "new"));
  EXPECT_EQ(a.Get("kind"), "new");  // Get: the last one
  EXPECT_THAT(a.positional, ElementsAre("x"));
  EXPECT_THAT(MustParse({}).GetAll("kind"), IsEmpty());
}

TEST(ParseArgsTest, AnotherFlagGivenTwiceKeepsItsLastValue) {
  ParsedArgs a = MustParse({"-o", "json", "--output", "yaml"});
  EXPECT_EQ(a.Get("output"), "yaml");
  EXPECT_THAT(a.GetAll("output"), ElementsAre("yaml"));
  EXPECT_THAT(a.lists, IsEmpty());
}

TEST(ParseArgsTest, DoubleDashEndsTheFlags) {
  ParsedArgs a = MustParse({"run", "-o", "json", "--", "sh", "-c", "--socket", "--", "x"});
  EXPECT_TRUE(a.double_dash);
  EXPECT_THAT(a.positional, ElementsAre("run"));
  EXPECT_THAT(a.rest, ElementsAre("sh", "-c", "--socket", "--", "x"));
  EXPECT_EQ(a.Get("output"), "json");
  EXPECT_FALSE(a.Has("socket"));  // after "--": not a flag
}

TEST(ParseArgsTest, DoubleDashLast) {
  ParsedArgs a = MustParse({"run", "--"});
  EXPECT_TRUE(a.double_dash);
  EXPECT_THAT(a.rest, IsEmpty());
}

TEST(ParseArgsTest, LoneDashIsPositional) {
  EXPECT_THAT(MustParse({"-"}).positional, ElementsAre("-"));
}

TEST(ParseArgsTest, UnknownFlagIsNamed) {
  EXPECT_EQ(ErrorOf({"--bogus"}), "unknown flag --bogus");
  EXPECT_EQ(ErrorOf({"--bogus=1"}), "unknown flag --bogus");
  EXPECT_EQ(ErrorOf({"-x"}), "unknown flag -x");
  EXPECT_EQ(ErrorOf({"-oj"}), "unknown flag -oj");
  EXPECT_EQ(ErrorOf({"status", "--sock", "/x"}), "unknown flag --sock");
}

TEST(ParseArgsTest, MissingValueIsNamed) {
  EXPECT_EQ(ErrorOf({"--socket"}), "flag --socket needs a value (PATH)");
  EXPECT_EQ(ErrorOf({"status", "--socket", "--", "x"}), "flag --socket needs a value (PATH)");
  EXPECT_EQ(ErrorOf({"-o"}), "flag --output needs a value");
}

TEST(FlagsHelpTest, ListsFlagsWithValuesAndDefaults) {
  std::string help = FlagsHelp(Defs());
  EXPECT_THAT(help, HasSubstr("--socket PATH"));
  EXPECT_THAT(help, HasSubstr("(default: /run/x.sock)"));
  EXPECT_THAT(help, HasSubstr("-o, --output VALUE"));
  EXPECT_THAT(help, HasSubstr("-v, --verbose"));
  EXPECT_THAT(help, ::testing::Not(HasSubstr("--verbose VALUE")));
  EXPECT_THAT(help, HasSubstr("only this kind (repeatable)"));
  // One line per flag, help texts aligned in one column.
  std::vector<size_t> columns;
  size_t start = 0;
  int lines = 0;
  for (size_t nl; (nl = help.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = help.substr(start, nl - start);
    ++lines;
    for (const auto& d : Defs())
      if (line.find("--" + d.name + " ") != std::string::npos || line.ends_with("--" + d.name))
        columns.push_back(line.find(d.help));
  }
  EXPECT_EQ(lines, static_cast<int>(Defs().size()));
  ASSERT_EQ(columns.size(), Defs().size());
  for (size_t c : columns) EXPECT_EQ(c, columns[0]);
}

TEST(FlagsHelpTest, WrapsLongHelpTextsInTheirColumn) {
  std::string help = FlagsHelp(Defs(), 40);
  // The help column starts at 22: 18 characters are left for the text.
  EXPECT_EQ(help.substr(0, help.find('\n', help.find('\n') + 1)),
            "      --socket PATH   the agent's socket\n"
            "                      (default:");
  std::vector<std::string> lines = absl::StrSplit(help, '\n', absl::SkipEmpty());
  for (const auto& l : lines) EXPECT_LE(l.size(), 40u) << l;
  // A word longer than the column is not cut.
  EXPECT_THAT(help, HasSubstr("\n                      /run/x.sock)\n"));
  // Nothing is lost or reordered: without the line breaks it is the unwrapped text.
  std::string unwrapped = FlagsHelp(Defs());
  EXPECT_EQ(absl::StrReplaceAll(help, {{"\n                      ", " "}}), unwrapped);
}

}  // namespace
}  // namespace faasguard
