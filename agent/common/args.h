// A small command-line parser shared by faasguard-agent and faasguardctl:
// --name=value, --name value, -x value, boolean --name, and "--" ending the flags. A flag given
// twice keeps its last value, unless it is repeatable: then every value is kept, in order.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace faasguard {

struct FlagDef {
  std::string name;        // "socket"
  char short_name = 0;     // 'o'
  bool has_value = true;   // false: boolean flag
  std::string value_name;  // "PATH", shown in help
  std::string help;
  std::string default_value;
  bool repeatable = false;  // --kind a --kind b: both (GetAll)
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // flags given (booleans: "true"); the last value
  std::map<std::string, std::vector<std::string>> lists;  // repeatable flags: every value
  std::vector<std::string> positional;                    // before "--"
  std::vector<std::string> rest;                          // after "--"
  bool double_dash = false;

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const {
    auto it = values.find(name);
    return it == values.end() ? def : it->second;
  }
  // Every value of a repeatable flag, in order; the one value of another flag; {} if not given.
  std::vector<std::string> GetAll(const std::string& name) const {
    if (auto it = lists.find(name); it != lists.end()) return it->second;
    if (auto it = values.find(name); it != values.end()) return {it->second};
    return {};
  }
};

// Flags may appear anywhere before "--". Unknown flags and missing values are errors that
// name the flag.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<FlagDef>& defs,
                                     const std::vector<std::string>& argv);

// Aligned "  --name VALUE   help (default: x)" lines; "(repeatable)" where a flag is. With
// `max_width`, help texts are wrapped at spaces so that no line is longer (a single word longer
// than the column still overflows); continuation lines start in the help column.
std::string FlagsHelp(const std::vector<FlagDef>& defs, size_t max_width = 0);

}  // namespace faasguard
