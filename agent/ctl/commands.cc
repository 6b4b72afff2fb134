#include "ctl/commands.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "ctl/actions/actions.h"
#include "profile/names.h"

namespace faasguard {
namespace {

// The flags every command takes; CtlFlags() lists them first.
constexpr size_t kGlobalFlags = 11;

}  // namespace

const std::vector<FlagDef>& CtlFlags() {
  static const std::vector<FlagDef> defs = {
      // Global.
      {"socket", 0, true, "PATH", "the agent's Unix socket", kDefaultSocket},
      {"server", 0, true, "HOST:PORT", "reach the agent over TCP instead (mutual TLS)", ""},
      {"tls-cert", 0, true, "FILE", "--server: this client's certificate (PEM)", ""},
      {"tls-key", 0, true, "FILE", "--server: its private key (PEM)", ""},
      {"tls-ca", 0, true, "FILE", "--server: CA of the agent's certificate (PEM)", ""},
      {"insecure", 0, false, "", "--server without TLS (the agent must allow it)", ""},
      {"timeout", 0, true, "DURATION", "how long a call may take (e.g. 30s, 2m)", "30s"},
      {"output", 'o', true, "FORMAT", "table, json, or what the command lists", "table"},
      {"namespace", 'n', true, "NS", "of a function named NAME; alone: only this namespace",
       "default"},
      {"help", 'h', false, "", "show the help (of a command: COMMAND --help)", ""},
      {"version", 0, false, "", "print faasguardctl's version", ""},
      // run
      {"function", 'f', true, "NAME", "the function's name", ""},
      {"container", 'c', true, "NAME", "the container's name", "main"},
      // mode
      {"syscall-action", 0, true, "errno|alert|kill",
       "enforce, an unlearned syscall: refused, reported, or kills", "errno"},
      {"sensitive-action", 0, true, "kill|errno|alert",
       "enforce, an unlearned sensitive syscall: kills, refused, or reported", "kill"},
      {"when-agent-absent", 0, true, "closed|open", "with no agent: enforce (closed) or report",
       "closed"},
      {"default", 0, false, "", "set the node's default mode for new functions", ""},
      // violations
      {"limit", 0, true, "N", "how many of the newest to show (1 to 10000)", "100"},
      // profile export / import
      {"format", 0, true, "plain|crd", "a plain profile or a FunctionProfile resource", "plain"},
      {"file", 0, true, "PATH", "write here instead of stdout", ""},
      {"merge", 0, false, "", "merge into the existing profile instead of replacing it", ""},
      {"mode", 0, true, "learn|monitor|enforce", "also set the function's mode", ""},
      {"take-mode", 0, false, "", "take mode and enforcement settings from the document", ""},
      {"dry-run", 0, false, "", "print what would change, change nothing", ""},
      // events
      {"follow", 0, false, "", "keep printing new events (Ctrl-C to stop)", ""},
      {"kind", 0, true, "new|violation|lifecycle", "only these kinds (also a,b)", "",
       /*repeatable=*/true},
      {"replay", 0, true, "N", "the N most recent events first (0 to 1000)", "20"},
  };
  return defs;
}

bool IsGlobalFlag(const std::string& name) {
  const auto& defs = CtlFlags();
  return std::any_of(defs.begin(), defs.begin() + kGlobalFlags,
                     [&](const FlagDef& d) { return d.name == name; });
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> table = {
      {.name = "run",
       .operands = "--function NAME",
       .flags = {"function", "container"},
       .outputs = {"table"},
       .command_after_dashes = true,
       .summary = "run a command in a fresh cgroup, tracked as a function",
       .help = "Runs CMD in a fresh cgroup registered as the function (namespace -n, default\n"
               "\"default\"; container -c, default \"main\"), so that it is learned or enforced\n"
               "from its first instruction. Signals are passed on to CMD and its exit status\n"
               "is faasguardctl's. A command that cannot be run (127: not found, 126: not\n"
               "executable) leaves nothing behind: no function is created.",
       .examples = {"faasguardctl run --function hello -- python3 handler.py 8080",
                    "faasguardctl run -n shop -f cart -c web -- ./server --port 9000"},
       .exit_codes = "the command's (128+N: signal N), 127 not found, 126 not executable, 2 usage, "
                     "3 no agent",
       .action = actions::Run},
      {.name = "status",
       .summary = "the agent: kernel features, programs, counters",
       .help = "What the agent runs with: its version, the kernel features it found, the\n"
               "programs it attached, its counters, and the Kubernetes and cluster sync state.",
       .examples = {"faasguardctl status", "faasguardctl status -o json"},
       .action = actions::ShowStatus},
      {.name = "version",
       .summary = "faasguardctl's version, and the agent's when it can be reached",
       .help = "Prints faasguardctl's version, then the agent's (from its status) when the\n"
               "agent can be reached; when it cannot, says why on stderr and still exits 0.",
       .examples = {"faasguardctl version", "faasguardctl version -o json"},
       .exit_codes = "0 (also when the agent cannot be reached), 2 usage",
       .action = actions::Version},
      {.name = "functions",
       .operands = "[NS/NAME]",
       .max_operands = 1,
       .names_function = true,
       .summary = "the functions on this node (or one, in detail)",
       .help = "Lists the functions the agent knows: mode, containers, replicas, what was\n"
               "learned and when something was last new. With -n, only that namespace's. With\n"
               "a function: its details, the learning lifecycle and its violations.",
       .examples = {"faasguardctl functions", "faasguardctl functions -n shop",
                    "faasguardctl functions shop/cart -o json"},
       .action = actions::Functions},
      {.name = "profile show",
       .operands = "NS/NAME",
       .min_operands = 1,
       .max_operands = 1,
       .names_function = true,
       .outputs = {"table", "json", "yaml"},
       .summary = "a function's profile (-o json|yaml for the document)",
       .help = "What a function did while it learned, per container: syscalls, programs\n"
               "executed, listening ports, egress and ingress.",
       .examples = {"faasguardctl profile show default/hello",
                    "faasguardctl profile show -n shop cart -o yaml"},
       .action = actions::ProfileShow},
      {.name = "profile export",
       .operands = "NS/NAME",
       .min_operands = 1,
       .max_operands = 1,
       .names_function = true,
       .flags = {"format", "file"},
       .outputs = {"json", "yaml"},
       .summary = "a profile as a document, plain or a FunctionProfile resource",
       .help = "Writes a function's profile as a document that `profile import` and the\n"
               "cluster (the FunctionProfile resource, --format crd) read.",
       .examples = {"faasguardctl profile export default/hello --file hello.json",
                    "faasguardctl profile export shop/cart --format crd -o yaml > cart.yaml"},
       .action = actions::ProfileExport},
      {.name = "profile import",
       .operands = "FILE...",
       .min_operands = 1,
       .max_operands = kAnyNumber,
       .needs = "one or more files",
       .flags = {"merge", "mode", "take-mode", "dry-run"},
       .summary = "profiles from files (JSON or YAML, plain or FunctionProfile)",
       .help = "Sends profiles to the agent: each replaces the function's profile (--merge:\n"
               "is merged into it). Every file is read and checked first: a bad file imports\n"
               "nothing. \"-\" reads stdin; a YAML file may hold several documents.\n"
               "An import never changes a function's mode unless asked: --mode sets one,\n"
               "--take-mode takes the document's (with its syscall action and\n"
               "when-agent-absent). A change is printed (\"mode: enforce -> learn\").\n"
               "--dry-run prints what each import would add (+) and remove (-) and the mode it\n"
               "would end in, and changes nothing.",
       .examples =
           {"faasguardctl profile import hello.json",
            "faasguardctl profile import --dry-run --merge extra-rules.yaml",
            "faasguardctl profile import --mode enforce cart.yaml",
            "ssh node2 faasguardctl profile export shop/cart | faasguardctl profile import -"},
       .action = actions::ProfileImport},
      {.name = "profile diff",
       .operands = "NS/NAME FILE",
       .min_operands = 2,
       .max_operands = 2,
       .names_function = true,
       .summary = "what FILE has that the agent's profile has not, and back",
       .help = "Compares the items of a function's profile with a document's (counts and\n"
               "times are not compared). Exits 0 when they hold the same items and 1 when\n"
               "they differ, as `diff` and `kubectl diff` do; an error is 2 or more (a\n"
               "failure of the agent, exit 1 elsewhere, is 5 here).",
       .examples = {"faasguardctl profile diff default/hello hello.json",
                    "faasguardctl profile diff -n shop cart cart.yaml || echo changed"},
       .exit_codes =
           "0 identical, 1 they differ, 2 usage, 3 agent unreachable, 4 unknown function, 5 failed",
       .action = actions::ProfileDiff},
      {.name = "profile accept",
       .operands = "NS/NAME ID",
       .min_operands = 2,
       .max_operands = 2,
       .names_function = true,
       .summary = "add what violation ID attempted to the profile",
       .help = "Adds the item a violation attempted (see `violations`) to the function's\n"
               "profile; in monitor or enforce mode it is allowed from then on.",
       .examples = {"faasguardctl profile accept default/hello 7"},
       .action = actions::ProfileAccept},
      {.name = "profile delete",
       .operands = "NS/NAME",
       .min_operands = 1,
       .max_operands = 1,
       .names_function = true,
       .outputs = {"table"},
       .summary = "forget a function (no replicas may be running)",
       .help = "Forgets a function and its profile. Refused while replicas of it are tracked.",
       .examples = {"faasguardctl profile delete default/hello"},
       .action = actions::ProfileDelete},
      {.name = "mode",
       .operands = "NS/NAME learn|monitor|enforce",
       .min_operands = 1,
       .max_operands = 2,
       .needs = "NS/NAME and learn|monitor|enforce",
       .flags = {"syscall-action", "sensitive-action", "when-agent-absent", "default"},
       .summary = "switch a function's mode (or --default: the node's)",
       .help = "learn records what the function does; monitor reports what its profile does\n"
               "not hold; enforce refuses it. The switch is all or nothing. With --default\n"
               "MODE: the mode of functions seen for the first time on this node.\n"
               "Under the function's seccomp filter a refused syscall never runs; where only\n"
               "sys_enter checks (no filter) a kill comes after it and errno only reports.",
       .examples = {"faasguardctl mode default/hello enforce",
                    "faasguardctl mode -n shop cart enforce --syscall-action alert",
                    "faasguardctl mode --default monitor"},
       .action = actions::Mode},
      {.name = "violations",
       .operands = "[NS/NAME]",
       .max_operands = 1,
       .names_function = true,
       .flags = {"limit"},
       .outputs = {"table", "wide", "json"},
       .summary = "what functions attempted outside their profiles",
       .help = "The newest violations, oldest first: of every function, of one namespace\n"
               "(-n) or of one function. -o wide adds the parent process and full paths.",
       .examples = {"faasguardctl violations", "faasguardctl violations default/hello --limit 10",
                    "faasguardctl violations -n shop -o wide"},
       .action = actions::Violations},
      {.name = "events",
       .operands = "[NS/NAME]",
       .max_operands = 1,
       .names_function = true,
       .flags = {"follow", "kind", "replay"},
       .summary = "new behaviour, violations and lifecycle events, live",
       .help = "The agent's recent events, then (with --follow) new ones as they happen, of\n"
               "every function, one namespace (-n) or one function.",
       .examples = {"faasguardctl events --follow",
                    "faasguardctl events default/hello --kind violation --kind lifecycle",
                    "faasguardctl events -n shop --replay 100 -o json"},
       .action = actions::Events},
      {.name = "help",
       .operands = "[COMMAND]",
       .max_operands = 2,
       .outputs = {"table"},
       .summary = "the help of faasguardctl or of a command",
       .examples = {"faasguardctl help profile import"},
       .action = actions::Help},
  };
  return table;
}

int Invocation::Usage(absl::string_view msg) const {
  err << "faasguardctl: " << msg << "\nRun 'faasguardctl " << row.name << " --help' for usage.\n";
  return kExitUsage;
}

int Invocation::MissingOperands() const {
  return Usage(absl::StrCat(row.name, " needs ", row.needs.empty() ? row.operands : row.needs));
}

int Invocation::Fail(absl::string_view msg, int code) const {
  err << "faasguardctl: " << msg << "\n";
  return code;
}

absl::StatusOr<v1::FunctionId> Invocation::Function(const std::string& ref) const {
  if (ref.find('/') == std::string::npos)
    return ParseFunctionRef(absl::StrCat(ns.empty() ? kDefaultNamespace : ns, "/", ref));
  auto id = ParseFunctionRef(ref);
  if (id.ok() && !ns.empty() && id->namespace_() != ns)
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", ref, "\" is in namespace \"", id->namespace_(), "\", but -n says \"", ns, "\""));
  return id;
}

int Invocation::CheckFunctionExists(const v1::FunctionId& id) const {
  v1::GetFunctionRequest req;
  *req.mutable_function() = id;
  v1::FunctionSummary r;
  return Call(&v1::Agent::Stub::GetFunction, req, &r);
}

}  // namespace faasguard
