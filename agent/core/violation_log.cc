#include "core/violation_log.h"

#include "profile/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "profile/dns_items.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

std::string Line(const v1::ViolationLogEntry& e) { return MessageToJson(e, false) + "\n"; }

// The record with `id` in `records` (ids increase), or nullptr.
template <typename Records>
auto* FindIn(Records& records, uint64_t id) {
  auto it = std::lower_bound(records.begin(), records.end(), id,
                             [](const v1::Violation& v, uint64_t x) { return v.id() < x; });
  return it != records.end() && it->id() == id ? &*it : nullptr;
}

v1::ViolationLogEntry NextIdEntry(uint64_t id) {
  v1::ViolationLogEntry e;
  e.set_next_id(id);
  return e;
}

}  // namespace

ViolationLog::ViolationLog(Options o) : opts_(std::move(o)) {}

ViolationLog::~ViolationLog() {
  if (fd_.valid() && reserved_ != next_id_) (void)Append(NextIdEntry(next_id_), true);
}

void ViolationLog::Failed(absl::string_view what, const absl::Status& st) {
  ++write_errors_;
  if (failing_) return;  // once until a write works again
  failing_ = true;
  LogError(absl::StrCat("violation log: ", what), {{"file", opts_.path}, {"error", st.ToString()}});
}

bool ViolationLog::Append(const v1::ViolationLogEntry& e, bool sync) {
  if (!fd_.valid()) return false;
  const std::string line = Line(e);
  absl::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Failed("cannot append", ErrnoStatus(errno, "write"));
      return false;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (sync && ::fdatasync(fd_.get()) != 0) {
    Failed("cannot sync", ErrnoStatus(errno, "fdatasync"));
    return false;
  }
  ++lines_;
  failing_ = false;
  return true;
}

void ViolationLog::OpenForAppend() {
  fd_.Reset(::open(opts_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_.valid()) Failed("cannot open", ErrnoStatus(errno, "open"));
}

void ViolationLog::Compact() {
  std::string text = Line(NextIdEntry(reserved_));
  for (const v1::Violation& v : records_) {
    v1::ViolationLogEntry e;
    *e.mutable_violation() = v;
    text += Line(e);
  }
  fd_.Reset();
  if (absl::Status st = WriteFileAtomic(opts_.path, text); !st.ok()) Failed("cannot rewrite", st);
  // After a failure too: the next attempt comes after another `max` lines, not at every one.
  lines_ = records_.size() + 1;
  OpenForAppend();
}

void ViolationLog::CompactWhenFull() {
  if (fd_.valid() && lines_ > 2 * opts_.max + 1) Compact();
}

ViolationLog::LoadResult ViolationLog::Load() {
  LoadResult r;
  if (opts_.path.empty()) return r;
  auto text = ReadFile(opts_.path);
  if (!text.ok()) {
    if (!absl::IsNotFound(text.status()))
      LogError("violation log unreadable: starting a new one",
               {{"file", opts_.path}, {"error", text.status().ToString()}});
    OpenForAppend();
    return r;
  }
  std::vector<v1::Violation> found;
  std::set<uint64_t> ids, accepted;
  uint64_t last_next = 0;
  google::protobuf::util::JsonParseOptions po;
  po.ignore_unknown_fields = true;  // written by a newer agent: what this one knows is kept
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    ++lines_;
    v1::ViolationLogEntry e;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &e, po).ok()) {
      ++r.bad_lines;
      continue;
    }
    switch (e.entry_case()) {
      case v1::ViolationLogEntry::kViolation:
        if (e.violation().id() == 0 || !ids.insert(e.violation().id()).second) {
          ++r.bad_lines;
          break;
        }
        found.push_back(std::move(*e.mutable_violation()));
        break;
      case v1::ViolationLogEntry::kAccepted:
        accepted.insert(e.accepted());
        break;
      case v1::ViolationLogEntry::kNextId:
        last_next = e.next_id();
        break;
      default:
        ++r.bad_lines;
    }
  }
  std::sort(found.begin(), found.end(),
            [](const v1::Violation& a, const v1::Violation& b) { return a.id() < b.id(); });
  const uint64_t highest = found.empty() ? 0 : found.back().id();
  const size_t kept_before = found.size();
  for (v1::Violation& v : found) {
    if (accepted.count(v.id())) v.set_accepted(true);
    Keep(std::move(v));
  }
  next_id_ = std::max({highest + 1, last_next, next_id_});
  reserved_ = next_id_;
  r.records = records_.size();
  if (r.bad_lines) {
    const std::string dir = !opts_.quarantine_dir.empty()
                                ? opts_.quarantine_dir
                                : opts_.path.substr(0, opts_.path.find_last_of('/') + 1);
    const std::string dest =
        absl::StrCat(dir, dir.empty() || dir.back() == '/' ? "" : "/", "violations.log.",
                     absl::ToUnixSeconds(absl::Now()), ".corrupt");
    if (absl::Status st = WriteFileAtomic(dest, *text); st.ok()) r.quarantined = dest;
    LogError("violation log: unreadable lines skipped, the file copied to quarantine",
             {{"file", opts_.path},
              {"bad_lines", static_cast<uint64_t>(r.bad_lines)},
              {"records_kept", static_cast<uint64_t>(r.records)},
              {"copied_to", r.quarantined}});
  }
  if (r.bad_lines || kept_before > records_.size() || lines_ > 2 * opts_.max + 1)
    Compact();
  else
    OpenForAppend();
  return r;
}

void ViolationLog::Keep(v1::Violation v) {
  ++per_function_[FunctionKey(v.function())];
  records_.push_back(std::move(v));
  while (records_.size() > opts_.max) {
    auto it = per_function_.find(FunctionKey(records_.front().function()));
    if (it != per_function_.end() && --it->second == 0) per_function_.erase(it);
    records_.pop_front();
  }
}

const v1::Violation& ViolationLog::Add(v1::Violation v) {
  if (next_id_ >= reserved_ && fd_.valid()) {
    // Synced before any id of the new block is given: a crash can lose records, never reuse
    // an id someone may have read.
    if (Append(NextIdEntry(next_id_ + kIdBlock), true)) reserved_ = next_id_ + kIdBlock;
  }
  v.set_id(next_id_++);
  v1::ViolationLogEntry e;
  *e.mutable_violation() = v;
  (void)Append(e, false);
  Keep(std::move(v));
  CompactWhenFull();
  return records_.back();
}

const v1::Violation* ViolationLog::Find(uint64_t id) const { return FindIn(records_, id); }

void ViolationLog::MarkAccepted(uint64_t id) {
  v1::Violation* v = FindIn(records_, id);
  if (!v || v->accepted()) return;
  v->set_accepted(true);
  v1::ViolationLogEntry e;
  e.set_accepted(id);
  (void)Append(e, false);
  CompactWhenFull();
}

std::vector<v1::Violation> ViolationLog::Newest(const std::string& function, size_t limit,
                                                uint64_t* total) const {
  std::vector<v1::Violation> out;
  if (total) *total = function.empty() ? records_.size() : CountFor(function);
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < limit; ++it)
    if (function.empty() || FunctionKey(it->function()) == function) out.push_back(*it);
  std::reverse(out.begin(), out.end());
  return out;
}

uint64_t ViolationLog::CountFor(const std::string& function) const {
  auto it = per_function_.find(function);
  return it == per_function_.end() ? 0 : it->second;
}

bool AddViolationItem(v1::ContainerProfile& c, const v1::Violation& v) {
  v1::Seen seen;
  seen.set_count(1);
  *seen.mutable_first_seen() = v.time();
  *seen.mutable_last_seen() = v.time();
  switch (v.item_case()) {
    case v1::Violation::kExec: {
      v1::ExecEntry e = v.exec();
      *e.mutable_seen() = seen;
      return AddExec(c, e);
    }
    case v1::Violation::kEgress: {
      v1::NetEntry e = v.egress();
      *e.mutable_seen() = seen;
      return AddNet(c.mutable_egress(), e);
    }
    case v1::Violation::kListen: {
      v1::NetEntry e = v.listen();
      *e.mutable_seen() = seen;
      return AddNet(c.mutable_listen(), e);
    }
    case v1::Violation::kSyscall: {
      v1::SyscallEntry e = v.syscall();
      *e.mutable_first_seen() = v.time();
      return AddSyscall(c, e);
    }
    case v1::Violation::kFile: {
      v1::FileEntry e = v.file();
      *e.mutable_seen() = seen;
      return AddFile(c, e);
    }
    case v1::Violation::kUnixPeer: {
      v1::UnixEntry e = v.unix_peer();
      *e.mutable_seen() = seen;
      return AddUnix(c, e);
    }
    case v1::Violation::kSocket: {
      v1::SocketEntry e = v.socket();
      *e.mutable_seen() = seen;
      return AddSocket(c, e);
    }
    case v1::Violation::kSocketOption: {
      v1::SockoptEntry e = v.socket_option();
      *e.mutable_seen() = seen;
      return AddSockopt(c, e);
    }
    case v1::Violation::kInbound: {
      // What was received: its port becomes a receiving port too (a listener's port is in the
      // listen list already, unless the socket listened where the function never did).
      v1::InboundEntry e = v.inbound();
      *e.mutable_seen() = seen;
      v1::NetEntry port;
      port.set_protocol(e.protocol());
      port.set_port(e.port());
      *port.mutable_seen() = seen;
      const bool new_port = AddNet(c.mutable_listen(), port);
      return AddInbound(c, e) || new_port;
    }
    case v1::Violation::kDnsEgress: {  // the name, not the address
      v1::NamedEgress e = v.dns_egress();
      *e.mutable_seen() = seen;
      return AddNamedEgress(c, e);
    }
    case v1::Violation::kDnsQuery: {
      v1::DnsQuery q = v.dns_query();
      *q.mutable_seen() = seen;
      return AddDnsQuery(c, q);
    }
    case v1::Violation::kIoUring: {
      v1::IoUringOp e = v.io_uring();
      *e.mutable_first_seen() = v.time();
      return AddIoUring(c, e);
    }
    default:
      return false;
  }
}

}  // namespace faasguard
