// faasguardctl's command line: every argument error is a usage error (exit 2), found before
// any agent is contacted. The socket given never exists, so a command that tries to reach
// the agent before checking its arguments shows up as exit 3 instead of 2.
#include <sstream>
#include <string>
#include <vector>

#include "ctl/ctl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNoSocket[] = "/nonexistent/faasguard-unit-test/agent.sock";

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", kNoSocket});
  std::ostringstream out, err;
  int code = RunCtl(args, out, err);
  return {code, out.str(), err.str()};
}

struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string expect;  // a part of the message
};

void PrintTo(const UsageCase& c, std::ostream* os) { *os << c.name; }

class CtlUsageTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(CtlUsageTest, IsAUsageErrorWithoutContactingTheAgent) {
  const UsageCase& c = GetParam();
  Result r = Ctl(c.args);
  EXPECT_EQ(r.code, kExitUsage) << r.err;
  EXPECT_THAT(r.err, HasSubstr(c.expect));
  EXPECT_THAT(r.err, HasSubstr("faasguardctl: "));
  EXPECT_THAT(r.err, Not(HasSubstr("cannot reach")));
  EXPECT_THAT(r.err, Not(HasSubstr(kNoSocket)));
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Args, CtlUsageTest,
    ::testing::Values(
        UsageCase{"NoCommand", {}, "no command given"},
        UsageCase{"UnknownCommand", {"frobnicate"}, "unknown command \"frobnicate\""},
        UsageCase{"UnknownFlag", {"--bogus", "functions"}, "unknown flag --bogus"},
        UsageCase{"FlagWithoutValue", {"functions", "-o"}, "flag --output needs a value"},
        UsageCase{"RunWithoutFunction", {"run", "--", "true"}, "run needs --function"},
        UsageCase{"RunWithoutDoubleDash", {"run", "--function", "x"}, "after \"--\""},
        UsageCase{"RunWithCommandBeforeDoubleDash",
                  {"run", "--function", "x", "true"},
                  "unexpected argument \"true\""},
        UsageCase{"RunWithEmptyCommand", {"run", "--function", "x", "--"}, "after \"--\""},
        UsageCase{"RunWithBadFunctionName",
                  {"run", "--function", "Bad_Name", "--", "true"},
                  "invalid function name \"Bad_Name\""},
        UsageCase{"RunWithBadNamespace",
                  {"run", "--function", "x", "--namespace", "NS", "--", "true"},
                  "invalid namespace \"NS\""},
        UsageCase{"RunWithBadContainer",
                  {"run", "--function", "x", "--container", "Main", "--", "true"},
                  "invalid container name \"Main\""},
        UsageCase{"ProfileWithoutSubcommand", {"profile"}, "profile needs a subcommand"},
        UsageCase{
            "ProfileUnknownSubcommand", {"profile", "list"}, "unknown profile subcommand \"list\""},
        UsageCase{"ProfileShowWithoutRef", {"profile", "show"}, "profile show needs NS/NAME"},
        UsageCase{"ProfileShowBadRef", {"profile", "show", "a/B"}, "invalid function name \"B\""},
        UsageCase{"ProfileShowExtraArgument",
                  {"profile", "show", "a/b", "c"},
                  "unexpected argument \"c\""},
        UsageCase{"UnknownOutputFormat", {"-o", "xml", "functions"}, "\"xml\""},
        // "functions NS/NAME" shows one function; a second argument is one too many.
        UsageCase{"FunctionsWithExtraArgument",
                  {"functions", "a/b", "extra"},
                  "unexpected argument \"extra\" for functions"},
        UsageCase{"FunctionsWithBadName", {"functions", "Bad_Name"}, "invalid function name"},
        UsageCase{"YamlOutsideProfiles", {"-o", "yaml", "functions"}, "-o yaml is for profiles"},
        UsageCase{"ExportBadFormat",
                  {"profile", "export", "a/b", "--format", "helm"},
                  "unknown export format"},
        UsageCase{"ImportWithoutFiles", {"profile", "import"}, "needs one or more files"},
        UsageCase{"DiffWithoutFile", {"profile", "diff", "a/b"}, "needs NS/NAME FILE"},
        UsageCase{"DeleteWithoutName", {"profile", "delete"}, "needs NS/NAME"},
        UsageCase{"MergeOutsideImport", {"--merge", "functions"}, "only for profile import"},
        UsageCase{"FollowOutsideEvents", {"--follow", "status"}, "only for events"},
        UsageCase{"EventsBadKind", {"events", "--kind", "noise"}, "unknown event kind"},
        UsageCase{"EventsBadReplay", {"events", "--replay", "5000"}, "--replay must be"},
        UsageCase{"DefaultModeBogus", {"mode", "--default", "strict"}, "unknown mode"},
        UsageCase{"RunOverTcp",
                  {"--server", "127.0.0.1:1", "run", "--function", "x", "--", "true"},
                  "run works on this machine only"},
        UsageCase{"FunctionsWithDoubleDash", {"functions", "--", "x"}, "functions takes no"},
        UsageCase{"StatusWithExtraArgument", {"status", "now"}, "unexpected argument \"now\""},
        UsageCase{"FunctionFlagOutsideRun",
                  {"--function", "x", "functions"},
                  "flag --function is only for run"},
        UsageCase{"ContainerFlagOutsideRun",
                  {"profile", "show", "a/b", "-c", "main"},
                  "flag --container is only for run"},
        // mode
        UsageCase{"ModeWithoutArguments", {"mode"}, "mode needs NS/NAME and learn|monitor|enforce"},
        UsageCase{"ModeWithoutMode", {"mode", "a/b"}, "mode needs NS/NAME and"},
        UsageCase{"ModeUnknownMode", {"mode", "a/b", "bogus"}, "unknown mode \"bogus\""},
        UsageCase{"ModeBadFunctionName",
                  {"mode", "Bad_Name", "enforce"},
                  "invalid function name \"Bad_Name\""},
        UsageCase{"ModeBadNamespace", {"mode", "NS/b", "enforce"}, "invalid namespace \"NS\""},
        UsageCase{"ModeExtraArgument",
                  {"mode", "a/b", "enforce", "now"},
                  "unexpected argument \"now\" for mode"},
        UsageCase{"ModeUnknownSyscallAction",
                  {"mode", "a/b", "enforce", "--syscall-action", "maybe"},
                  "unknown syscall action \"maybe\""},
        UsageCase{"ModeUnknownWhenAgentAbsent",
                  {"mode", "a/b", "enforce", "--when-agent-absent", "ajar"},
                  "unknown --when-agent-absent value \"ajar\" (closed or open)"},
        UsageCase{"WhenAgentAbsentIsForModeOnly",
                  {"functions", "--when-agent-absent", "open"},
                  "--when-agent-absent"},
        UsageCase{"ModeSyscallActionWithoutValue",
                  {"mode", "a/b", "enforce", "--syscall-action"},
                  "flag --syscall-action needs a value"},
        UsageCase{"ModeWithDoubleDash", {"mode", "a/b", "enforce", "--"}, "mode takes no"},
        UsageCase{"SyscallActionFlagOutsideMode",
                  {"--syscall-action", "kill", "functions"},
                  "flag --syscall-action is only for mode"},
        UsageCase{"SyscallActionFlagWithViolations",
                  {"violations", "--syscall-action", "alert"},
                  "flag --syscall-action is only for mode"},
        // violations
        UsageCase{"ViolationsExtraArgument",
                  {"violations", "a/b", "extra"},
                  "unexpected argument \"extra\" for violations"},
        UsageCase{"ViolationsBadFunctionName",
                  {"violations", "a/Bad_Name"},
                  "invalid function name \"Bad_Name\""},
        UsageCase{"ViolationsLimitZero", {"violations", "--limit", "0"}, "--limit must be"},
        UsageCase{"ViolationsLimitNotANumber", {"violations", "--limit", "x"}, "--limit must be"},
        UsageCase{"ViolationsLimitTooLarge",
                  {"violations", "--limit", "10001"},
                  "--limit must be a number from 1 to 10000"},
        UsageCase{"LimitFlagOutsideViolations",
                  {"--limit", "5", "functions"},
                  "flag --limit is only for violations"},
        UsageCase{"LimitFlagWithMode",
                  {"mode", "a/b", "learn", "--limit", "5"},
                  "flag --limit is only for violations"},
        // profile accept
        UsageCase{"AcceptWithoutRef", {"profile", "accept"}, "profile accept needs NS/NAME"},
        UsageCase{
            "AcceptWithoutId", {"profile", "accept", "a/b"}, "profile accept needs NS/NAME ID"},
        UsageCase{"AcceptIdZero",
                  {"profile", "accept", "a/b", "0"},
                  "violation id \"0\" is not a positive number"},
        UsageCase{"AcceptIdNotANumber",
                  {"profile", "accept", "a/b", "x"},
                  "violation id \"x\" is not a positive number"},
        UsageCase{
            "AcceptIdNotAnInteger", {"profile", "accept", "a/b", "1.5"}, "violation id \"1.5\""},
        UsageCase{"AcceptBadRef", {"profile", "accept", "a/B", "1"}, "invalid function name \"B\""},
        UsageCase{"AcceptExtraArgument",
                  {"profile", "accept", "a/b", "1", "2"},
                  "unexpected argument \"2\""}),
    [](const ::testing::TestParamInfo<UsageCase>& info) { return info.param.name; });

TEST(CtlTest, UsageErrorsPointAtHelp) {
  Result r = Ctl({"frobnicate"});
  EXPECT_THAT(r.err, HasSubstr("faasguardctl --help"));
}

TEST(CtlTest, HelpPrintsUsageWithExitCodes) {
  for (const char* flag : {"--help", "-h"}) {
    Result r = Ctl({flag});
    EXPECT_EQ(r.code, kExitOk) << flag;
    EXPECT_THAT(r.out, HasSubstr("Usage: faasguardctl"));
    EXPECT_THAT(r.out, HasSubstr("Exit codes"));
    EXPECT_THAT(r.out, HasSubstr("--socket PATH"));
    EXPECT_EQ(r.err, "");
  }
}

TEST(CtlTest, Version) {
  Result r = Ctl({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("faasguardctl"));
}

TEST(CtlTest, MissingSocketIsUnavailable) {
  for (std::vector<std::string> args : {std::vector<std::string>{"functions"},
                                        {"-o", "json", "functions"},
                                        {"status"},
                                        {"profile", "show", "default/hello"},
                                        {"run", "--function", "hello", "--", "true"},
                                        {"mode", "a/b", "enforce"},
                                        {"mode", "a/b", "learn"},
                                        {"mode", "b", "monitor", "--syscall-action", "alert"},
                                        {"mode", "a/b", "enforce", "--syscall-action", "kill"},
                                        {"violations"},
                                        {"violations", "a/b", "--limit", "5"},
                                        {"violations", "--limit", "10000"},
                                        {"profile", "accept", "a/b", "3"}}) {
    Result r = Ctl(args);
    EXPECT_EQ(r.code, kExitUnavailable) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(kNoSocket)) << args[0];
    EXPECT_THAT(r.err, HasSubstr("cannot reach the faasguard agent")) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
  }
}

}  // namespace
}  // namespace faasguard
