#include "common/args.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faasguard {

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<FlagDef>& defs,
                                     const std::vector<std::string>& argv) {
  ParsedArgs out;
  auto find = [&](const std::string& name, char short_name) -> const FlagDef* {
    for (const auto& d : defs)
      if ((!name.empty() && d.name == name) || (short_name && d.short_name == short_name))
        return &d;
    return nullptr;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      out.double_dash = true;
      out.rest.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    const FlagDef* d = nullptr;
    std::string shown = a, value;
    bool inline_value = false;
    if (a[1] == '-') {
      std::string body = a.substr(2);
      auto eq = body.find('=');
      if (eq != std::string::npos) {
        value = body.substr(eq + 1);
        body = body.substr(0, eq);
        inline_value = true;
        shown = "--" + body;
      }
      d = find(body, 0);
    } else if (a.size() == 2) {
      d = find("", a[1]);
    }
    if (!d) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", shown));
    if (!d->has_value) {
      if (inline_value && value != "true" && value != "false")
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", d->name, " takes no value (or true/false)"));
      out.values[d->name] = inline_value ? value : "true";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argv.size() || argv[i + 1] == "--")
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", d->name, " needs a value", d->value_name.empty() ? "" : " (",
                         d->value_name, d->value_name.empty() ? "" : ")"));
      value = argv[++i];
    }
    out.values[d->name] = value;
    if (d->repeatable) out.lists[d->name].push_back(value);
  }
  return out;
}

std::string FlagsHelp(const std::vector<FlagDef>& defs, size_t max_width) {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const auto& d : defs) {
    std::string left = d.short_name
                           ? absl::StrCat("-", std::string(1, d.short_name), ", --", d.name)
                           : absl::StrCat("    --", d.name);
    if (d.has_value) absl::StrAppend(&left, " ", d.value_name.empty() ? "VALUE" : d.value_name);
    std::string right = d.help;
    if (!d.default_value.empty()) absl::StrAppend(&right, " (default: ", d.default_value, ")");
    if (d.repeatable) absl::StrAppend(&right, " (repeatable)");
    width = std::max(width, left.size());
    rows.emplace_back(left, right);
  }
  const size_t column = 2 + width + 2;
  const size_t room = max_width > column ? max_width - column : 0;
  std::string out;
  for (const auto& [l, r] : rows) {
    absl::StrAppend(&out, "  ", l, std::string(width - l.size() + 2, ' '));
    std::string line;
    for (absl::string_view word : absl::StrSplit(r, ' ', absl::SkipEmpty())) {
      if (room && !line.empty() && line.size() + 1 + word.size() > room) {
        absl::StrAppend(&out, line, "\n", std::string(column, ' '));
        line.clear();
      }
      absl::StrAppend(&line, line.empty() ? "" : " ", word);
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace faasguard
