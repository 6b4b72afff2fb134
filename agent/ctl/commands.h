// faasguardctl's commands as a table: name, operands, flags, help and examples, and the action
// that runs each (ctl/actions/). RunCtl (ctl.cc) checks a command line against its row before
// the action runs, so an action gets well-formed input and only validates values.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/args.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

struct Invocation;

inline constexpr char kUsualExitCodes[] =
    "0 success, 1 the agent failed, 2 usage, 3 agent unreachable, 4 unknown function";

inline constexpr size_t kAnyNumber = static_cast<size_t>(-1);

struct Command {
  std::string name{};      // "profile show": a word, or a group and a word
  std::string operands{};  // synopsis: "NS/NAME FILE"
  size_t min_operands = 0;
  size_t max_operands = 0;  // kAnyNumber: no limit
  // The error when operands are missing: "<name> needs <needs>" (default: the synopsis).
  std::string needs{};
  bool names_function = false;       // its first operand is NS/NAME (or NAME, with -n)
  std::vector<std::string> flags{};  // its own flags (the global ones are accepted everywhere)
  std::vector<std::string> outputs = {"table", "json"};  // -o values; the first is the default
  bool command_after_dashes = false;                     // run: "-- CMD [ARGS...]"
  std::string summary{};                                 // one line for the command list
  std::string help{};                                    // the long help
  std::vector<std::string> examples{};
  std::string exit_codes{};  // when not the usual ones (kUsualExitCodes)
  int (*action)(Invocation&) = nullptr;
};

// What an action gets: the command line, checked against its command's row, and the agent.
struct Invocation {
  const Command& row;
  const ParsedArgs& args;                    // every flag given
  std::vector<std::string> operands;         // the words after the command's name
  std::string output;                        // -o, one of the command's outputs
  std::string ns;                            // -n, or "" when not given
  std::optional<v1::FunctionId> function{};  // the first operand, when the row names_function
  Client& client;
  std::ostream& out;
  std::ostream& err;

  // Prints "faasguardctl: msg" and a pointer to the command's help; returns kExitUsage.
  int Usage(absl::string_view msg) const;
  // "<command> needs <operands>": a usage error.
  int MissingOperands() const;
  // Prints "faasguardctl: msg"; returns `code`.
  int Fail(absl::string_view msg, int code = kExitError) const;
  // A function named on the command line: "NS/NAME", or "NAME" in the namespace of -n
  // ("default" without it). A namespace given both ways must agree.
  absl::StatusOr<v1::FunctionId> Function(const std::string& ref) const;

  // Calls the agent: 0, or the exit code after the error was printed.
  template <typename Req, typename Resp, typename Method>
  int Call(Method method, const Req& req, Resp* resp) const {
    CallError e;
    int code = client.Call(method, req, resp, &e);
    if (code != kExitOk) Fail(e.message, code);
    return code;
  }
  // Checks that a function exists (exit 4 when not), as GetFunction does.
  int CheckFunctionExists(const v1::FunctionId& id) const;
};

// Every flag: the global ones first (kGlobalFlags), then the commands' own.
const std::vector<FlagDef>& CtlFlags();
bool IsGlobalFlag(const std::string& name);

// The command table, in the order help lists it.
const std::vector<Command>& Commands();

}  // namespace faasguard
