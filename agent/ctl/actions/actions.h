// One action per faasguardctl command (the rows of ctl/commands.cc). Each gets a command line
// already checked against its row: it validates values, calls the agent and renders the answer.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/args.h"
#include "ctl/commands.h"
#include "faasguard/v1/agent.pb.h"

namespace faasguard::actions {

int Run(Invocation& in);         // run.cc
int ShowStatus(Invocation& in);  // agent.cc
int Version(Invocation& in);
int Functions(Invocation& in);
int Mode(Invocation& in);
int Violations(Invocation& in);  // violations.cc
int Events(Invocation& in);
int ProfileShow(Invocation& in);  // profile.cc
int ProfileExport(Invocation& in);
int ProfileImport(Invocation& in);
int ProfileDiff(Invocation& in);
int ProfileAccept(Invocation& in);
int ProfileDelete(Invocation& in);
int Help(Invocation& in);  // ctl/help.cc

// profile import's flags, and the request for one document.
struct ImportOptions {
  bool merge = false;
  bool take_mode = false;
  v1::Mode mode = v1::MODE_UNSPECIFIED;  // --mode
  bool dry_run = false;
};
absl::StatusOr<ImportOptions> ImportOptionsFromArgs(const ParsedArgs& a);
v1::PutProfileRequest ImportRequest(const v1::Profile& p, const ImportOptions& o);

// The program `run` would execute for `name`, found as a shell does: a name with a "/" as it
// is, another in `path` (PATH: directories separated by ":", "" meaning the current one).
// NotFound (exit 127) when there is no such file; PermissionDenied (126) when what was found
// cannot be executed (no execute permission, a directory). Messages do not repeat `name`.
absl::StatusOr<std::string> ResolveCommand(const std::string& name, const std::string& path);

}  // namespace faasguard::actions
