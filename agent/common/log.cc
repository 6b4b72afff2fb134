#include "common/log.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace faasguard {
namespace {

std::mutex g_mu;
bool g_human = false;
LogLevel g_level = LogLevel::kInfo;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetLogHuman(bool human) {
  std::lock_guard<std::mutex> l(g_mu);
  g_human = human;
}

void SetLogLevel(LogLevel level) {
  std::lock_guard<std::mutex> l(g_mu);
  g_level = level;
}

std::string JsonEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields) {
  std::string now = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  std::lock_guard<std::mutex> l(g_mu);
  if (level < g_level) return;
  // absl::StrAppend, not operator+ chains: GCC 12 at -O3 reports a false -Wrestrict in
  // libstdc++ for `std::string + " "` (a Release build must build).
  if (g_human) {
    absl::StrAppend(&line, now, " ", LevelName(level), " ", msg);
    for (const auto& f : fields) absl::StrAppend(&line, " ", f.key, "=", f.value);
  } else {
    absl::StrAppend(&line, "{\"ts\":\"", now, "\",\"level\":\"", LevelName(level), "\",\"msg\":\"",
                    JsonEscape(msg), "\"");
    for (const auto& f : fields) {
      absl::StrAppend(&line, ",\"", JsonEscape(f.key), "\":");
      if (f.raw)
        absl::StrAppend(&line, f.value);
      else
        absl::StrAppend(&line, "\"", JsonEscape(f.value), "\"");
    }
    line += "}";
  }
  line += "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace faasguard
