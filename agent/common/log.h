// Structured logs: one JSON object per line on stdout (or a human-readable line with
// --log-format=text). Thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"

namespace faasguard {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One key/value of a log line. Numbers and booleans are written unquoted.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  LogField(absl::string_view k, const char* v) : key(k), value(v ? v : "") {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, int64_t v) : key(k), value(std::to_string(v)), raw(true) {}
  LogField(absl::string_view k, uint64_t v) : key(k), value(std::to_string(v)), raw(true) {}
  LogField(absl::string_view k, int v) : key(k), value(std::to_string(v)), raw(true) {}
  LogField(absl::string_view k, unsigned v) : key(k), value(std::to_string(v)), raw(true) {}
  LogField(absl::string_view k, bool v) : key(k), value(v ? "true" : "false"), raw(true) {}

  std::string key;
  std::string value;
  bool raw = false;
};

void SetLogHuman(bool human);
void SetLogLevel(LogLevel level);

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}
inline void LogDebug(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, m, f);
}

// JSON string escaping (quotes not included).
std::string JsonEscape(absl::string_view s);

}  // namespace faasguard
