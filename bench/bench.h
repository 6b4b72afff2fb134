// fg-bench: the processes bench/run measures with. Each subcommand prints JSON on stdout.
#pragma once

#include <string>
#include <vector>

#include "common/args.h"

namespace faasguard::bench {

// Flags shared by every subcommand (each uses the ones it needs).
const std::vector<FlagDef>& BenchFlags();

// Subcommands; each returns the process exit code.
int RunSyscallSession(const ParsedArgs& a);  // syscalls: the stdin-driven syscall loops
int RunExecStorm(const ParsedArgs& a);       // exec-storm
int RunConnectStorm(const ParsedArgs& a);    // connect-storm
int RunUnixStorm(const ParsedArgs& a);       // unix-storm
int RunRegister(const ParsedArgs& a);        // register: N cgroups as N functions
int RunUnregister(const ParsedArgs& a);      // unregister: undo register
int RunColdStart(const ParsedArgs& a);       // cold-start: mkdir -> first syscall attributed

// CLOCK_MONOTONIC in nanoseconds.
double NowNs();
// Write "0" to an open cgroup.procs: moves the calling process. False on error (errno set).
bool EnterCgroup(int procs_fd);
// Open <dir>/cgroup.procs for writing; -1 on error.
int OpenProcs(const std::string& dir);
// A number flag, or `def` when absent; exits with a message when it does not parse.
double NumFlag(const ParsedArgs& a, const std::string& name, double def);
// Quote a string for JSON.
std::string JsonString(const std::string& s);

}  // namespace faasguard::bench
