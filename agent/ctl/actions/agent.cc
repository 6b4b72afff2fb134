// The agent and its functions: status, version, functions, mode.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/version.h"
#include "core/abi_codec.h"
#include "ctl/actions/actions.h"
#include "ctl/format.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard::actions {
namespace {

// A flag whose value is one of two words, each standing for an enum value: nullopt when the
// flag is not given; an error naming `what` and the two words for any other value.
template <typename E>
absl::StatusOr<std::optional<E>> TwoWayFlag(const ParsedArgs& a, const std::string& flag,
                                            absl::string_view what,
                                            std::pair<absl::string_view, E> first,
                                            std::pair<absl::string_view, E> second) {
  if (!a.Has(flag)) return std::optional<E>();
  std::string v = a.Get(flag);
  if (v == first.first) return std::optional<E>(first.second);
  if (v == second.first) return std::optional<E>(second.second);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " \"", v, "\" (", first.first, " or ", second.first, ")"));
}

// --syscall-action / --sensitive-action: errno, alert, kill (or default).
absl::StatusOr<std::optional<v1::SyscallAction>> SyscallActionFlag(const ParsedArgs& a,
                                                                   const char* flag) {
  if (!a.Has(flag)) return std::optional<v1::SyscallAction>();
  if (auto act = ParseSyscallActionWord(a.Get(flag))) return std::optional(*act);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", std::string(flag) == "syscall-action" ? "syscall" : "sensitive",
                   " action \"", a.Get(flag), "\" (errno, alert, kill or default)"));
}

int DefaultMode(Invocation& in) {
  if (in.operands.size() != 1)
    return in.operands.empty() ? in.Usage("mode --default needs learn|monitor|enforce")
                               : in.Usage(absl::StrCat("unexpected argument \"", in.operands[1],
                                                       "\" for mode --default"));
  for (const char* flag : {"syscall-action", "sensitive-action", "when-agent-absent"})
    if (in.args.Has(flag)) return in.Usage(absl::StrCat("--", flag, " is for one function"));
  auto mode = ParseModeName(in.operands[0]);
  if (!mode.ok()) return in.Usage(mode.status().message());
  v1::SetDefaultModeRequest req;
  req.set_mode(*mode);
  v1::SetDefaultModeResponse r;
  if (int code = in.Call(&v1::Agent::Stub::SetDefaultMode, req, &r)) return code;
  if (in.output == "json")
    in.out << MessageToJson(r) << "\n";
  else
    in.out << "default mode for new functions: " << ModeName(r.previous()) << " -> "
           << ModeName(*mode) << "\n";
  return kExitOk;
}

}  // namespace

int ShowStatus(Invocation& in) {
  v1::GetStatusResponse r;
  if (int code = in.Call(&v1::Agent::Stub::GetStatus, v1::GetStatusRequest(), &r)) return code;
  in.out << (in.output == "json" ? MessageToJson(r) + "\n" : RenderStatus(r));
  return kExitOk;
}

int Version(Invocation& in) {
  v1::GetStatusResponse r;
  CallError e;
  const bool reached =
      in.client.Call(&v1::Agent::Stub::GetStatus, v1::GetStatusRequest(), &r, &e) == kExitOk;
  if (e.code == kExitUsage) return in.Fail(e.message, e.code);  // the flags, not the agent
  in.out << RenderVersion(kVersion, reached ? &r : nullptr, in.client.where(), in.output == "json");
  if (!reached) in.err << "faasguardctl: agent version unknown: " << e.message << "\n";
  return kExitOk;
}

int Functions(Invocation& in) {
  if (in.function) {
    v1::GetFunctionRequest req;
    *req.mutable_function() = *in.function;
    v1::FunctionSummary r;
    if (int code = in.Call(&v1::Agent::Stub::GetFunction, req, &r)) return code;
    in.out << (in.output == "json" ? MessageToJson(r) + "\n" : RenderFunction(r, absl::Now()));
    return kExitOk;
  }
  v1::ListFunctionsResponse r;
  if (int code = in.Call(&v1::Agent::Stub::ListFunctions, v1::ListFunctionsRequest(), &r))
    return code;
  if (!in.ns.empty()) {
    auto* fns = r.mutable_functions();
    fns->erase(std::remove_if(fns->begin(), fns->end(),
                              [&](const v1::FunctionSummary& f) {
                                return f.function().namespace_() != in.ns;
                              }),
               fns->end());
  }
  in.out << (in.output == "json" ? MessageToJson(r) + "\n"
                                 : RenderFunctions(r, absl::Now(), in.ns));
  return kExitOk;
}

int Mode(Invocation& in) {
  if (in.args.Has("default")) return DefaultMode(in);
  if (in.operands.size() < 2) return in.MissingOperands();
  auto id = in.Function(in.operands[0]);
  if (!id.ok()) return in.Usage(id.status().message());
  auto mode = ParseModeName(in.operands[1]);
  if (!mode.ok()) return in.Usage(mode.status().message());
  auto action = SyscallActionFlag(in.args, "syscall-action");
  if (!action.ok()) return in.Usage(action.status().message());
  auto sensitive = SyscallActionFlag(in.args, "sensitive-action");
  if (!sensitive.ok()) return in.Usage(sensitive.status().message());
  auto absent = TwoWayFlag<v1::AgentAbsence>(
      in.args, "when-agent-absent", "--when-agent-absent value",
      {"closed", v1::AGENT_ABSENCE_FAIL_CLOSED}, {"open", v1::AGENT_ABSENCE_FAIL_OPEN});
  if (!absent.ok()) return in.Usage(absent.status().message());
  v1::SetModeRequest req;
  *req.mutable_function() = *id;
  req.set_mode(*mode);
  if (*action) req.set_syscall_action(**action);
  if (*sensitive) req.set_sensitive_syscall_action(**sensitive);
  if (*absent) req.set_when_agent_absent(**absent);
  v1::SetModeResponse r;
  if (int code = in.Call(&v1::Agent::Stub::SetMode, req, &r)) return code;
  if (in.output == "json") {
    in.out << MessageToJson(r) << "\n";
  } else {
    in.out << FunctionRef(*id) << ": " << ModeName(r.previous()) << " -> " << ModeName(r.mode());
    if (r.mode() != v1::MODE_LEARN) in.out << " (" << r.rules() << " allow-list entries in force)";
    in.out << "\n";
  }
  return kExitOk;
}

}  // namespace faasguard::actions
