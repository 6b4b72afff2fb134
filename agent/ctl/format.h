// Human-readable rendering of API answers for faasguardctl.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// "learn", "monitor", "enforce".
std::string ModeName(v1::Mode m);
// "12s ago", "3m ago", "-" for an unset time.
std::string Ago(const google::protobuf::Timestamp& t, absl::Time now);
// Columns padded to the widest cell; the first row is the header.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows);

std::string RenderFunctions(const v1::ListFunctionsResponse& r, absl::Time now);
std::string RenderProfile(const v1::Profile& p);
std::string RenderStatus(const v1::GetStatusResponse& s);
std::string RenderViolations(const v1::ListViolationsResponse& r, absl::Time now);
std::string RenderFunction(const v1::FunctionSummary& f, absl::Time now);
std::string RenderDiff(const v1::DiffProfileResponse& d, const std::string& agent_side,
                       const std::string& file_side);
std::string RenderEvent(const v1::AgentEvent& e);

}  // namespace faasguard
