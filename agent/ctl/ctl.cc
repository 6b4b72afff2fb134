#include "ctl/ctl.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/args.h"
#include "common/version.h"
#include "ctl/commands.h"
#include "ctl/help.h"
#include "profile/names.h"

namespace faasguard {
namespace {

int UsageError(std::ostream& err, absl::string_view msg, absl::string_view help = "") {
  err << "faasguardctl: " << msg << "\nRun 'faasguardctl " << help << (help.empty() ? "" : " ")
      << "--help' for usage.\n";
  return kExitUsage;
}

bool Takes(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The commands whose row has `v` in the list `field` picks: "profile show, profile export".
template <typename Field>
std::vector<std::string> CommandsTaking(Field field, const std::string& v) {
  std::vector<std::string> names;
  for (const auto& c : Commands())
    if (Takes(c.*field, v)) names.push_back(c.name);
  return names;
}

// What the command line says beyond the command's name, checked against its row: "" when it
// fits, else the usage error.
std::string CheckAgainstRow(const Command& c, const ParsedArgs& a, size_t operands) {
  for (const auto& [flag, value] : a.values)
    if (!IsGlobalFlag(flag) && !Takes(c.flags, flag))
      return absl::StrCat("flag --", flag, " is only for ",
                          absl::StrJoin(CommandsTaking(&Command::flags, flag), ", "));
  std::string output = a.Get("output", c.outputs.front());
  if (!Takes(c.outputs, output)) {
    std::vector<std::string> elsewhere = CommandsTaking(&Command::outputs, output);
    if (elsewhere.empty())
      return absl::StrCat("unknown output format \"", output, "\" (",
                          absl::StrJoin(c.outputs, ", "), ")");
    return absl::StrCat(
        "-o ", output, " is not for ", c.name, " (", absl::StrJoin(c.outputs, ", "), ")",
        elsewhere.size() <= 3 ? absl::StrCat("; it is for ", absl::StrJoin(elsewhere, ", ")) : "");
  }
  if (operands > c.max_operands) {
    const std::string& extra = a.positional[a.positional.size() - operands + c.max_operands];
    return absl::StrCat("unexpected argument \"", extra, "\" for ", c.name,
                        c.command_after_dashes ? ": put the command after \"--\"" : "");
  }
  if (a.double_dash && !c.command_after_dashes) return absl::StrCat(c.name, " takes no \"--\"");
  if (c.command_after_dashes && a.rest.empty())
    return absl::StrCat(c.name, " needs a command after \"--\" (faasguardctl ", c.name,
                        " --function NAME -- CMD)");
  if (a.Has("namespace")) {
    if (absl::Status s = ValidateLabel(a.Get("namespace"), "namespace"); !s.ok())
      return std::string(s.message());
  }
  if (a.Has("version")) return "--version takes no command (or: faasguardctl version)";
  return "";
}

}  // namespace

int RunCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = ParseArgs(CtlFlags(), args);
  if (!parsed.ok()) return UsageError(err, parsed.status().message());
  const ParsedArgs& a = *parsed;
  const std::vector<std::string>& words = a.positional;
  if (words.empty()) {
    if (a.Has("help")) {
      out << GlobalHelp();
      return kExitOk;
    }
    if (a.Has("version")) {
      out << "faasguardctl " << kVersion << "\n";
      return kExitOk;
    }
    return UsageError(err, "no command given");
  }
  size_t used = 0;
  const Command* c = FindCommand(words, &used);
  if (!c) {
    std::string subs = GroupCommands(words[0]);
    if (subs.empty()) return UsageError(err, absl::StrCat("unknown command \"", words[0], "\""));
    if (words.size() > 1)
      return UsageError(
          err, absl::StrCat("unknown ", words[0], " subcommand \"", words[1], "\" (", subs, ")"),
          words[0]);
    if (a.Has("help")) {
      out << GroupHelp(words[0]);
      return kExitOk;
    }
    return UsageError(err, absl::StrCat(words[0], " needs a subcommand: ", subs), words[0]);
  }
  if (a.Has("help")) {
    out << CommandHelp(*c);
    return kExitOk;
  }
  const size_t operands = words.size() - used;
  if (std::string problem = CheckAgainstRow(*c, a, operands); !problem.empty())
    return UsageError(err, problem, c->name);
  Client client(TargetFromArgs(a));
  Invocation in{.row = *c,
                .args = a,
                .operands = {words.begin() + static_cast<long>(used), words.end()},
                .output = a.Get("output", c->outputs.front()),
                .ns = a.Get("namespace"),
                .client = client,
                .out = out,
                .err = err};
  if (operands < c->min_operands) return in.MissingOperands();
  if (c->names_function && !in.operands.empty()) {
    auto id = in.Function(in.operands[0]);
    if (!id.ok()) return in.Usage(id.status().message());
    in.function = *id;
  }
  return c->action(in);
}

}  // namespace faasguard
