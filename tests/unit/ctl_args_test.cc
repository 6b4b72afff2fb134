// faasguardctl's command line: every argument error is a usage error (exit 2), found before
// any agent is contacted. The socket given never exists, so a command that tries to reach
// the agent before checking its arguments shows up as exit 3 instead of 2.
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/version.h"
#include "ctl/commands.h"
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
        UsageCase{"YamlOutsideProfiles",
                  {"-o", "yaml", "functions"},
                  "-o yaml is not for functions (table, json); it is for profile show, profile "
                  "export"},
        UsageCase{"WideOutsideViolations", {"status", "-o", "wide"}, "-o wide is not for status"},
        UsageCase{"TableForExport",
                  {"profile", "export", "a/b", "-o", "table"},
                  "-o table is not for profile export (json, yaml)"},
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
                  "unexpected argument \"2\""},
        // global flags: the agent's address
        UsageCase{"ServerWithoutTls",
                  {"--server", "127.0.0.1:1", "functions"},
                  "--server needs --tls-cert, --tls-key and --tls-ca"},
        UsageCase{"ServerWithHalfTheTlsFlags",
                  {"--server", "127.0.0.1:1", "--tls-cert", "c.pem", "status"},
                  "--server needs --tls-cert, --tls-key and --tls-ca"},
        UsageCase{"InsecureWithoutServer", {"--insecure", "status"}, "--insecure is for --server"},
        UsageCase{"TlsFlagWithoutServer", {"--tls-ca", "ca.pem", "status"}, "--tls-ca is for"},
        UsageCase{"TimeoutZero", {"--timeout", "0", "status"}, "--timeout \"0\" is not from 1s"},
        UsageCase{"TimeoutNotADuration", {"--timeout", "soon", "status"}, "--timeout \"soon\""},
        // -n / --namespace
        UsageCase{"BadNamespaceFlag", {"-n", "Shop", "functions"}, "invalid namespace \"Shop\""},
        UsageCase{"NamespaceGivenTwoWays",
                  {"profile", "show", "-n", "shop", "other/cart"},
                  "\"other/cart\" is in namespace \"other\", but -n says \"shop\""},
        UsageCase{"NamespaceForRunConflicts",
                  {"run", "-n", "shop", "--function", "other/cart", "--", "true"},
                  "but -n says \"shop\""},
        // profile import
        UsageCase{"ImportModeAndTakeMode",
                  {"profile", "import", "--mode", "enforce", "--take-mode", "x.json"},
                  "give --mode or --take-mode, not both"},
        UsageCase{"ImportUnknownMode",
                  {"profile", "import", "--mode", "strict", "x.json"},
                  "unknown mode \"strict\""},
        UsageCase{"ImportUnreadableFile",
                  {"profile", "import", "/nonexistent/faasguard/x.json"},
                  "/nonexistent/faasguard/x.json: "},
        UsageCase{"DryRunOutsideImport",
                  {"profile", "diff", "a/b", "f", "--dry-run"},
                  "flag --dry-run is only for profile import"},
        UsageCase{"ModeFlagOutsideImport",
                  {"functions", "--mode", "learn"},
                  "flag --mode is only for profile import"},
        UsageCase{"DiffUnreadableFile",
                  {"profile", "diff", "a/b", "/nonexistent/faasguard/x.json"},
                  "/nonexistent/faasguard/x.json: "},
        // events --kind is repeatable: every value is checked
        UsageCase{"EventsSecondKindBad",
                  {"events", "--kind", "new", "--kind", "noise"},
                  "unknown event kind \"noise\""},
        // help and version
        UsageCase{"HelpOfNoCommand", {"help", "frobnicate"}, "no command \"frobnicate\""},
        UsageCase{"VersionFlagWithACommand", {"status", "--version"}, "faasguardctl version"},
        UsageCase{"ModeDefaultWithSyscallAction",
                  {"mode", "--default", "enforce", "--syscall-action", "alert"},
                  "--syscall-action is for one function"}),
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

// Help is read in a terminal: no line wider than 100 columns.
void ExpectNarrow(const std::string& text, const std::string& what) {
  for (absl::string_view line : absl::StrSplit(text, '\n'))
    EXPECT_LE(line.size(), 100u) << what << ": " << line;
}

TEST(CtlHelpTest, GlobalHelpListsEveryCommand) {
  Result r = Ctl({"--help"});
  for (const Command& c : Commands()) EXPECT_THAT(r.out, HasSubstr("  " + c.name + " ")) << c.name;
  EXPECT_THAT(r.out, HasSubstr("-n, --namespace NS"));
  EXPECT_THAT(r.out, HasSubstr("5  profile diff only"));
  ExpectNarrow(r.out, "--help");
}

TEST(CtlHelpTest, EveryCommandHasItsOwnHelpWithExamples) {
  for (const Command& c : Commands()) {
    std::vector<std::string> args = absl::StrSplit(c.name, ' ');
    args.push_back("--help");
    Result r = Ctl(args);
    EXPECT_EQ(r.code, kExitOk) << c.name;
    EXPECT_EQ(r.err, "") << c.name;
    EXPECT_THAT(r.out, ::testing::StartsWith("Usage: faasguardctl " + c.name + " ")) << c.name;
    EXPECT_THAT(r.out, HasSubstr("\nExamples:\n  faasguardctl ")) << c.name;
    EXPECT_THAT(r.out, HasSubstr("\nExit codes: ")) << c.name;
    EXPECT_THAT(r.out, Not(HasSubstr("Commands:"))) << c.name;  // not the global help
    for (const std::string& flag : c.flags) EXPECT_THAT(r.out, HasSubstr("--" + flag)) << c.name;
    ExpectNarrow(r.out, c.name);
    // "help COMMAND" says the same.
    std::vector<std::string> help = absl::StrSplit(c.name, ' ');
    help.insert(help.begin(), "help");
    EXPECT_EQ(Ctl(help).out, r.out) << c.name;
  }
}

TEST(CtlHelpTest, ProfileHelpListsItsSubcommands) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"profile", "--help"}, {"profile", "-h"}, {"help", "profile"}}) {
    Result r = Ctl(args);
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_THAT(r.out, HasSubstr("Usage: faasguardctl profile COMMAND"));
    for (const char* sub : {"show", "export", "import", "diff", "accept", "delete"})
      EXPECT_THAT(r.out, HasSubstr("profile " + std::string(sub)));
    EXPECT_THAT(r.out, Not(HasSubstr("violations")));
  }
}

TEST(CtlHelpTest, CommandHelpShowsItsExitCodes) {
  EXPECT_THAT(Ctl({"profile", "diff", "--help"}).out, HasSubstr("1 they differ"));
  EXPECT_THAT(Ctl({"run", "--help"}).out, HasSubstr("127 not found, 126 not executable"));
  EXPECT_THAT(Ctl({"profile", "import", "--help"}).out, HasSubstr("--dry-run"));
}

TEST(CtlTest, VersionCommandWithoutAnAgentPrintsTheClientsAndSaysWhy) {
  Result r = Ctl({"version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, std::string("Client: faasguardctl ") + kVersion + "\n");
  EXPECT_THAT(r.err, HasSubstr("agent version unknown: the agent is not running"));
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
                                        {"profile", "accept", "a/b", "3"},
                                        {"events", "a/b", "--kind", "new", "--kind", "violation"},
                                        {"functions", "-n", "shop"},
                                        {"profile", "show", "-n", "shop", "cart"}}) {
    Result r = Ctl(args);
    EXPECT_EQ(r.code, kExitUnavailable) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(kNoSocket)) << args[0];
    EXPECT_THAT(r.err, HasSubstr("the agent is not running (no socket at ")) << args[0];
    EXPECT_THAT(r.err, HasSubstr("start faasguard-agent")) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
  }
}

}  // namespace
}  // namespace faasguard
