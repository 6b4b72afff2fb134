// Human-readable rendering of API answers for faasguardctl.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// "learn", "monitor", "enforce".
std::string ModeName(v1::Mode m);
// " (syscalls: errno, sensitive: kill)" when a function's syscall actions are not the defaults.
std::string SyscallActionsNote(v1::SyscallAction unlearned, v1::SyscallAction sensitive);
// The other way; an error naming the three for any other word.
absl::StatusOr<v1::Mode> ParseModeName(absl::string_view name);
// "new", "violation", "lifecycle" (events --kind).
absl::StatusOr<v1::EventKind> ParseEventKind(absl::string_view name);
// "12s ago", "3m ago", "-" for an unset time.
std::string Ago(const google::protobuf::Timestamp& t, absl::Time now);
// Columns padded to the widest cell; the first row is the header.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows);

// `ns`: the namespace the list was filtered to ("" for none), named when the list is empty.
std::string RenderFunctions(const v1::ListFunctionsResponse& r, absl::Time now,
                            const std::string& ns = "");
std::string RenderProfile(const v1::Profile& p);
std::string RenderStatus(const v1::GetStatusResponse& s);
// Narrow by default (BY: the program that did it; long cells cut at the front; ACTION says
// "(accepted)"); `wide` adds uid, full binary and parent paths, and an ACCEPTED column.
std::string RenderViolations(const v1::ListViolationsResponse& r, absl::Time now,
                             bool wide = false);
std::string RenderFunction(const v1::FunctionSummary& f, absl::Time now);
std::string RenderDiff(const v1::DiffProfileResponse& d, const std::string& agent_side,
                       const std::string& file_side);
std::string RenderEvent(const v1::AgentEvent& e);

// An import's result: "replaced, 62 items, mode: enforce -> learn"; after a dry run "would
// replace, ...".
std::string RenderImportResult(const v1::PutProfileResponse& r, bool merge);
// A dry run's diff (what the import adds and removes) and the mode it would end in.
std::string RenderImportPreview(const v1::PutProfileResponse& r, const std::string& agent_side,
                                const std::string& file_side);
// `version`: faasguardctl's version and, when `agent` is set, the agent's (at `where`).
std::string RenderVersion(absl::string_view client_version, const v1::GetStatusResponse* agent,
                          const std::string& where, bool json);

}  // namespace faasguard
