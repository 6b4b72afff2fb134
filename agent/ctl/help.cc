#include "ctl/help.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/actions/actions.h"
#include "ctl/format.h"

namespace faasguard {
namespace {

// Help lines stay narrower than this (a terminal, a review).
constexpr size_t kHelpWidth = 100;

constexpr char kExitCodes[] =
    "Exit codes:\n"
    "  0  success (run: the command's own exit status; 128+N if it was killed by signal N;\n"
    "     127 if it was not found, 126 if it could not be executed)\n"
    "  1  the agent refused or failed the request (profile diff: the two differ)\n"
    "  2  bad command line, or a request the agent found invalid\n"
    "  3  the agent cannot be reached (not running, permission, TLS, timeout)\n"
    "  4  unknown function, cgroup or violation\n"
    "  5  profile diff only: the agent failed the request\n";

std::vector<FlagDef> FlagsNamed(const std::vector<std::string>& names) {
  std::vector<FlagDef> out;
  for (const auto& n : names)
    for (const auto& d : CtlFlags())
      if (d.name == n) out.push_back(d);
  return out;
}

std::vector<FlagDef> GlobalFlags() {
  std::vector<FlagDef> out;
  for (const auto& d : CtlFlags())
    if (IsGlobalFlag(d.name)) out.push_back(d);
  return out;
}

std::string Synopsis(const Command& c) {
  std::string s = absl::StrCat("faasguardctl ", c.name);
  if (!c.operands.empty()) absl::StrAppend(&s, " ", c.operands);
  absl::StrAppend(&s, " [flags]");
  if (c.command_after_dashes) absl::StrAppend(&s, " -- CMD [ARGS...]");
  return s;
}

}  // namespace

std::string GlobalHelp() {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : Commands()) rows.push_back({"  " + c.name, c.summary});
  return absl::StrCat(
      "Usage: faasguardctl [flags] COMMAND [ARGS]\n\n"
      "Drives the faasguard agent of this node: functions, their profiles and modes,\n"
      "violations and events.\n\nCommands:\n",
      RenderTable(rows), "\nGlobal flags (every command takes them):\n",
      FlagsHelp(GlobalFlags(), kHelpWidth),
      "\nNS/NAME may be written NAME: the namespace is then -n's (default \"default\").\n\n",
      kExitCodes, "\nRun 'faasguardctl COMMAND --help' for a command's flags and examples.\n");
}

std::string GroupHelp(const std::string& group) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : Commands())
    if (absl::StartsWith(c.name, group + " ")) rows.push_back({"  " + c.name, c.summary});
  return absl::StrCat("Usage: faasguardctl ", group, " COMMAND [ARGS] [flags]\n\nCommands:\n",
                      RenderTable(rows), "\nRun 'faasguardctl ", group,
                      " COMMAND --help' for a command's flags "
                      "and examples.\n");
}

std::string CommandHelp(const Command& c) {
  std::string o =
      absl::StrCat("Usage: ", Synopsis(c), "\n\n", c.help.empty() ? c.summary : c.help, "\n");
  if (!c.flags.empty())
    absl::StrAppend(&o, "\nFlags:\n", FlagsHelp(FlagsNamed(c.flags), kHelpWidth));
  if (c.outputs.size() > 1)
    absl::StrAppend(&o, "\nOutput (-o): ", absl::StrJoin(c.outputs, ", "), " (default ",
                    c.outputs.front(), ")\n");
  if (!c.examples.empty()) {
    absl::StrAppend(&o, "\nExamples:\n");
    for (const auto& e : c.examples) absl::StrAppend(&o, "  ", e, "\n");
  }
  absl::StrAppend(&o, "\nExit codes: ", c.exit_codes.empty() ? kUsualExitCodes : c.exit_codes,
                  "\nGlobal flags (--socket, -n, -o, ...): faasguardctl --help\n");
  return o;
}

const Command* FindCommand(const std::vector<std::string>& words, size_t* used) {
  if (words.empty()) return nullptr;
  for (const auto& c : Commands()) {
    if (c.name == words[0]) {
      *used = 1;
      return &c;
    }
    if (words.size() > 1 && c.name == absl::StrCat(words[0], " ", words[1])) {
      *used = 2;
      return &c;
    }
  }
  return nullptr;
}

std::string GroupCommands(const std::string& word) {
  std::vector<std::string> subs;
  for (const auto& c : Commands())
    if (absl::StartsWith(c.name, word + " ")) subs.push_back(c.name.substr(word.size() + 1));
  return absl::StrJoin(subs, ", ");
}

namespace actions {

int Help(Invocation& in) {
  size_t used = 0;
  if (in.operands.empty()) {
    in.out << GlobalHelp();
  } else if (const Command* c = FindCommand(in.operands, &used); c && used == in.operands.size()) {
    in.out << CommandHelp(*c);
  } else if (in.operands.size() == 1 && !GroupCommands(in.operands[0]).empty()) {
    in.out << GroupHelp(in.operands[0]);
  } else {
    return in.Usage(absl::StrCat("no command \"", absl::StrJoin(in.operands, " "), "\""));
  }
  return kExitOk;
}

}  // namespace actions
}  // namespace faasguard
