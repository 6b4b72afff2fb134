// faasguardctl: the command-line client of the agent's API.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace faasguard {

// Exit codes (also in `faasguardctl --help` and docs/api.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // the agent refused or failed the request
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitUnavailable = 3;  // the agent cannot be reached
inline constexpr int kExitNotFound = 4;     // unknown function / cgroup
// profile diff, as diff and kubectl diff: 1 when the two differ, and errors above 1, so a
// failure of the agent (kExitError elsewhere) is this.
inline constexpr int kExitDiffers = 1;
inline constexpr int kExitDiffFailed = 5;

// Runs one command. `run` returns its command's exit status (128+N when killed by signal N).
int RunCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace faasguard
