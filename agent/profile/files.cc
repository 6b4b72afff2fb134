#include "profile/files.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "profile/path_rule.h"
#include "profile/profile.h"

namespace faasguard {
namespace {

constexpr size_t kMaxPath = 4096;

// Directories the fold never reaches into or over: system configuration and credentials,
// kernel interfaces, homes, runtime state (Kubernetes' service-account token is under /run).
// Items there stay exact: a rule is written for each.
constexpr absl::string_view kFoldProtected[] = {"/etc",  "/proc",           "/sys", "/dev",
                                                "/root", "/home",           "/run", "/var/run",
                                                "/boot", "/var/lib/kubelet"};
// ...but one's own /proc entries are one's own.
constexpr absl::string_view kFoldOwnProc[] = {"/proc/self", "/proc/thread-self"};
// Directory names the fold never takes as a whole.
constexpr absl::string_view kFoldProtectedNames[] = {
    "secrets", "serviceaccount", ".ssh", ".aws", ".gnupg", ".kube", ".docker", "credentials"};

constexpr uint32_t kAccessBits[] = {FG_FILE_READ, FG_FILE_WRITE, FG_FILE_CREATE, FG_FILE_TRUNC};
constexpr v1::FileAccess kAccessEnums[] = {v1::FILE_ACCESS_READ, v1::FILE_ACCESS_WRITE,
                                           v1::FILE_ACCESS_CREATE, v1::FILE_ACCESS_TRUNCATE};

// `path` is `dir` or below it.
bool Under(absl::string_view path, absl::string_view dir) {
  return path == dir ||
         (absl::StartsWith(path, dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

bool OwnProc(absl::string_view d) {
  for (absl::string_view p : kFoldOwnProc)
    if (Under(d, p)) return true;
  return false;
}

bool Foldable(absl::string_view d) {
  if (d.empty() || d == "/") return false;
  for (absl::string_view p : kFoldProtected) {
    if (p != d && Under(p, d)) return false;  // the rule would cover it
    if (Under(d, p) && !OwnProc(d)) return false;
  }
  for (absl::string_view part : absl::StrSplit(d, '/', absl::SkipEmpty()))
    for (absl::string_view name : kFoldProtectedNames)
      if (part == name) return false;
  return true;
}

// The literal path of a learned plain file, or "" when `e` is not a candidate of the fold.
std::string Candidate(const v1::FileEntry& e) {
  if (e.kind() != v1::PATH_KIND_FILE || e.hard_linked()) return "";
  auto r = ParseRulePath(e.path());
  if (!r.ok() || r->prefix || r->text.size() < 2 || r->text[0] != '/') return "";
  return r->text;
}

// The literal prefix of a "path*" rule, or nullopt.
std::optional<std::string> RulePrefix(const v1::FileEntry& e) {
  auto r = ParseRulePath(e.path());
  if (!r.ok() || !r->prefix) return std::nullopt;
  return r->text;
}

// The directory D of a "D/*" rule (plain files, one link), or "": such a rule counts towards
// its ancestors' variety as a file at D would, so that the parent of a directory folded early
// (a __pycache__) can fold too; the parent's rule then covers it.
std::string DirRule(const v1::FileEntry& e) {
  if (e.kind() != v1::PATH_KIND_FILE || e.hard_linked()) return "";
  auto p = RulePrefix(e);
  if (!p || p->size() < 3 || (*p)[0] != '/' || p->back() != '/') return "";
  return p->substr(0, p->size() - 1);
}

}  // namespace

uint32_t FileAccessMask(const v1::FileEntry& e) {
  uint32_t m = 0;
  for (int a : e.access())
    for (size_t i = 0; i < std::size(kAccessEnums); ++i)
      if (a == kAccessEnums[i]) m |= kAccessBits[i];
  return m;
}

void SetFileAccess(v1::FileEntry& e, uint32_t mask) {
  e.clear_access();
  for (size_t i = 0; i < std::size(kAccessBits); ++i)
    if (mask & kAccessBits[i]) e.add_access(kAccessEnums[i]);
}

std::string FileAccessWords(uint32_t mask) {
  static constexpr const char* kWords[] = {"read", "write", "create", "truncate"};
  std::vector<std::string> w;
  for (size_t i = 0; i < std::size(kAccessBits); ++i)
    if (mask & kAccessBits[i]) w.push_back(kWords[i]);
  return w.empty() ? "none" : absl::StrJoin(w, ",");
}

std::tuple<std::string, int, bool> FileKey(const v1::FileEntry& e) {
  return {e.path(), static_cast<int>(e.kind()), e.hard_linked()};
}

bool FileRuleCovers(const v1::FileEntry& rule, const v1::FileEntry& e) {
  auto prefix = RulePrefix(rule);
  if (!prefix || rule.kind() != v1::PATH_KIND_FILE || e.kind() != v1::PATH_KIND_FILE ||
      rule.hard_linked() != e.hard_linked())
    return false;
  auto lit = ParseRulePath(e.path());
  if (!lit.ok() || lit->prefix || !absl::StartsWith(lit->text, *prefix)) return false;
  return (FileAccessMask(e) & ~FileAccessMask(rule)) == 0;
}

bool AddFile(v1::ContainerProfile& c, const v1::FileEntry& e) {
  const uint32_t mask = FileAccessMask(e);
  for (auto& x : *c.mutable_files()) {
    if (FileKey(x) != FileKey(e)) continue;
    MergeSeen(*x.mutable_seen(), e.seen());
    const uint32_t had = FileAccessMask(x);
    if ((mask & ~had) == 0) return false;
    SetFileAccess(x, had | mask);
    return true;
  }
  if (!RulePrefix(e)) {
    for (auto& r : *c.mutable_files()) {
      if (!FileRuleCovers(r, e)) continue;
      MergeSeen(*r.mutable_seen(), e.seen());
      return false;
    }
  }
  *c.add_files() = e;
  return true;
}

size_t FoldFiles(v1::ContainerProfile& c) {
  // Every directory above a candidate, with the distinct entries directly under it that lead
  // to candidates.
  std::map<std::string, std::set<std::string>> children;
  std::vector<std::string> lit(c.files_size());
  for (int i = 0; i < c.files_size(); ++i) {
    lit[i] = Candidate(c.files(i));
    if (lit[i].empty()) lit[i] = DirRule(c.files(i));
    const std::string& p = lit[i];
    for (size_t slash = p.find('/', 1); slash != std::string::npos;
         slash = p.find('/', slash + 1)) {
      size_t next = p.find('/', slash + 1);
      children[p.substr(0, slash)].insert(p.substr(slash + 1, next - slash - 1));
    }
    if (!p.empty()) children["/"].insert(p.substr(1, p.find('/', 1) - 1));
  }
  // Directories holding a file the function opened without creating it: data, not scratch.
  std::set<std::string> data_dirs;
  for (int i = 0; i < c.files_size(); ++i) {
    const std::string& p = lit[i];
    if (p.empty() || RulePrefix(c.files(i)) || (FileAccessMask(c.files(i)) & FG_FILE_CREATE))
      continue;
    data_dirs.insert(p.substr(0, p.rfind('/')));
  }
  // Each candidate's shallowest foldable ancestor; for a file the function created, its own
  // directory at the latest when every file it opened there it created (a scratch directory:
  // temporary files get new names each time, an O_TMPFILE is DIR/#tmpfile).
  auto fold_dir = [&](const std::string& p, bool created) -> std::string {
    for (size_t slash = p.find('/', 1); slash != std::string::npos;
         slash = p.find('/', slash + 1)) {
      std::string d = p.substr(0, slash);
      if (children[d].size() >= kFoldMinChildren && Foldable(d)) return d;
    }
    const size_t last = p.rfind('/');
    if (created && last != std::string::npos && last > 0 && !data_dirs.count(p.substr(0, last)) &&
        Foldable(p.substr(0, last)))
      return p.substr(0, last);
    return "";
  };
  std::map<std::string, v1::FileEntry> rules;  // dir -> the rule it becomes
  std::vector<v1::FileEntry> kept;
  size_t folded = 0;
  for (int i = 0; i < c.files_size(); ++i) {
    const v1::FileEntry& e = c.files(i);
    // A rule only counts towards its parent's variety: it never widens the parent's access
    // (a hand-written rule may allow writing); it goes below if the parent's rule covers it.
    std::string d = (lit[i].empty() || RulePrefix(e))
                        ? ""
                        : fold_dir(lit[i], FileAccessMask(e) & FG_FILE_CREATE);
    if (d.empty()) {
      kept.push_back(e);
      continue;
    }
    auto [it, fresh] = rules.try_emplace(d);
    v1::FileEntry& r = it->second;
    if (fresh) r.set_path(EscapeRulePath(d) + "/*");
    SetFileAccess(r, FileAccessMask(r) | FileAccessMask(e));
    MergeSeen(*r.mutable_seen(), e.seen());
    ++folded;
  }
  // Into a rule already there, else a new one.
  for (auto& [d, r] : rules) {
    bool merged = false;
    for (auto& x : kept) {
      if (FileKey(x) != FileKey(r)) continue;
      SetFileAccess(x, FileAccessMask(x) | FileAccessMask(r));
      MergeSeen(*x.mutable_seen(), r.seen());
      merged = true;
    }
    if (!merged) kept.push_back(std::move(r));
  }
  // A rule that another rule covers (same kind, a longer prefix, no access the other lacks)
  // adds its counts to it and goes: "D/__pycache__/*" folded early, then "D/*".
  std::vector<bool> gone(kept.size(), false);
  for (size_t i = 0; i < kept.size(); ++i) {
    auto inner = RulePrefix(kept[i]);
    if (!inner) continue;
    for (size_t j = 0; j < kept.size(); ++j) {
      auto outer = RulePrefix(kept[j]);
      if (i == j || gone[j] || !outer || *outer == *inner || !absl::StartsWith(*inner, *outer) ||
          kept[i].kind() != kept[j].kind() || kept[i].hard_linked() != kept[j].hard_linked() ||
          (FileAccessMask(kept[i]) & ~FileAccessMask(kept[j])))
        continue;
      MergeSeen(*kept[j].mutable_seen(), kept[i].seen());
      gone[i] = true;
      ++folded;
      break;
    }
  }
  if (!folded) return 0;
  c.clear_files();
  for (size_t i = 0; i < kept.size(); ++i)
    if (!gone[i]) *c.add_files() = std::move(kept[i]);
  return folded;
}

absl::Status ValidateFiles(const v1::ContainerProfile& c, absl::string_view where) {
  if (c.files_size() > 100000)
    return absl::InvalidArgumentError(absl::StrCat(where, ": too many files"));
  for (const auto& f : c.files()) {
    if (f.path().empty())
      return absl::InvalidArgumentError(absl::StrCat(where, ": file without a path"));
    if (f.path().size() > kMaxPath)
      return absl::InvalidArgumentError(absl::StrCat(where, ": file path too long"));
    if (!v1::PathKind_IsValid(f.kind()))
      return absl::InvalidArgumentError(absl::StrCat(where, ": file of unknown path kind"));
    auto rule = ParseRulePath(f.path());
    if (!rule.ok())
      return absl::InvalidArgumentError(absl::StrCat(where, ": file ", rule.status().message()));
    if (rule->prefix &&
        (f.kind() != v1::PATH_KIND_FILE || rule->text.empty() || rule->text[0] != '/'))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": file rule \"", f.path().substr(0, 64),
                       "\": a '*' rule needs an absolute plain path"));
    if (f.access().empty())
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": file \"", f.path().substr(0, 64), "\" without an access"));
    for (int a : f.access())
      if (!v1::FileAccess_IsValid(a) || a == v1::FILE_ACCESS_UNSPECIFIED)
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": file \"", f.path().substr(0, 64), "\": unknown access ", a));
  }
  return absl::OkStatus();
}

}  // namespace faasguard
