// The violations the agent recorded: the newest `max` (of every function) with ids that are
// never given twice, across agent restarts too, so that an id a user read still names the
// same violation when they accept it.
//
// On disk (Options::path, <state-dir>/violations.log) it is an append log, one JSON object
// per line (v1::ViolationLogEntry): each record is appended before it is listed, acceptances
// are appended as they happen, and a line with the next id is written and synced before any
// id past the last such line is given (ids are handed out in blocks; an agent that crashes
// skips the rest of its block, one that stops cleanly writes the exact next id). When the
// file holds twice `max` lines it is rewritten with the newest records (atomically: a crash
// leaves the old file or the new one). A line that does not parse is skipped with a log line,
// the file is copied to the quarantine directory, and every other record is kept.
//
// Not thread-safe: the engine's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/unique_fd.h"
#include "faasguard/v1/agent.pb.h"
#include "faasguard/v1/state.pb.h"

namespace faasguard {

class ViolationLog {
 public:
  struct Options {
    size_t max = 10000;          // records kept; the oldest go first
    std::string path;            // "" = in memory only
    std::string quarantine_dir;  // where an unreadable file is copied before it is rewritten
  };
  // Ids come in blocks of this many: one synced write per block.
  static constexpr uint64_t kIdBlock = 1024;

  explicit ViolationLog(Options o);
  ~ViolationLog();  // writes the exact next id: a clean stop skips no ids
  ViolationLog(const ViolationLog&) = delete;
  ViolationLog& operator=(const ViolationLog&) = delete;

  struct LoadResult {
    size_t records = 0;       // kept
    size_t bad_lines = 0;     // skipped: not an entry, no id, an id seen twice
    std::string quarantined;  // where the file with bad lines was copied ("" = none)
  };
  // Read the file (once, before anything is added). A missing file is an empty log.
  LoadResult Load();

  // Give `v` the next id and keep it (on disk before this returns). Returns the record kept.
  const v1::Violation& Add(v1::Violation v);
  // nullptr when not kept: never given, or older than the newest `max`.
  const v1::Violation* Find(uint64_t id) const;
  void MarkAccepted(uint64_t id);
  // The newest `limit` records of `function` (a FunctionKey; "" = every function), oldest
  // first. `total`: how many records of it are kept in all.
  std::vector<v1::Violation> Newest(const std::string& function, size_t limit,
                                    uint64_t* total) const;
  // Records of `function` kept.
  uint64_t CountFor(const std::string& function) const;

  size_t size() const { return records_.size(); }
  size_t max() const { return opts_.max; }
  uint64_t next_id() const { return next_id_; }
  uint64_t write_errors() const { return write_errors_; }

 private:
  void Keep(v1::Violation v);  // append to records_, drop the oldest beyond max
  bool Append(const v1::ViolationLogEntry& e, bool sync);
  void OpenForAppend();
  // Rewrite the file with the kept records and the reserved next id.
  void Compact();
  void CompactWhenFull();  // the file holds twice `max` lines
  void Failed(absl::string_view what, const absl::Status& st);

  Options opts_;
  std::deque<v1::Violation> records_;  // oldest first, ids increasing
  std::map<std::string, uint64_t> per_function_;
  uint64_t next_id_ = 1;
  uint64_t reserved_ = 1;  // ids below this are covered by a next_id line on disk
  UniqueFd fd_;            // the file, for appending
  size_t lines_ = 0;       // lines in the file
  uint64_t write_errors_ = 0;
  bool failing_ = false;  // the last write failed (logged once until one works again)
};

// Add the item a violation attempted to a profile section (accepting it). Returns true when
// the item was new; false when the section held it already or the violation names no item.
bool AddViolationItem(v1::ContainerProfile& c, const v1::Violation& v);

}  // namespace faasguard
