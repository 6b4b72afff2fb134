// faasguardctl's help, written from the command table.
#pragma once

#include <string>
#include <vector>

#include "ctl/commands.h"

namespace faasguard {

// `faasguardctl --help`: the commands, the global flags and the exit codes.
std::string GlobalHelp();
// `faasguardctl profile --help`: the commands of a group.
std::string GroupHelp(const std::string& group);
// `faasguardctl COMMAND --help`: usage, what it does, its flags, examples.
std::string CommandHelp(const Command& c);

// The row for the words of a command line ("profile", "show", ...): nullptr when there is
// none. *used is how many words named it (1 or 2).
const Command* FindCommand(const std::vector<std::string>& words, size_t* used);
// "show, export, import, diff, accept, delete" for "profile"; "" when `word` is no group.
std::string GroupCommands(const std::string& word);

}  // namespace faasguard
