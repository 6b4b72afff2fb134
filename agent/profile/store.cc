#include "profile/store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {

ProfileStore::ProfileStore(std::string state_dir)
    : profiles_dir_(state_dir + "/profiles"), quarantine_dir_(state_dir + "/quarantine") {}

absl::Status ProfileStore::Init() {
  FG_RETURN_IF_ERROR(MakeDirs(profiles_dir_, 0700));
  return MakeDirs(quarantine_dir_, 0700);
}

std::string ProfileStore::PathFor(const v1::FunctionId& id) const {
  // '_' is not allowed in namespaces or names, so the file name is unambiguous.
  return absl::StrCat(profiles_dir_, "/", id.namespace_(), "_", id.name(), ".json");
}

absl::Status ProfileStore::Save(const v1::Profile& p) {
  FG_RETURN_IF_ERROR(ValidateFunctionId(p.function()));
  v1::Profile copy = p;
  NormalizeProfile(copy);
  return WriteFileAtomic(PathFor(p.function()), ProfileToJson(copy) + "\n", 0600);
}

absl::Status ProfileStore::Remove(const v1::FunctionId& id) {
  FG_RETURN_IF_ERROR(ValidateFunctionId(id));
  std::string path = PathFor(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, absl::StrCat("remove ", path));
  return absl::OkStatus();
}

ProfileStore::LoadResult ProfileStore::LoadAll() {
  LoadResult r;
  auto entries = ListDir(profiles_dir_);
  if (!entries.ok()) return r;
  std::vector<std::string> names;
  for (const std::string& n : *entries) {
    if (absl::EndsWith(n, ".json")) {
      names.push_back(n);
    } else if (absl::StrContains(n, ".json.tmp.")) {
      // A write an earlier agent did not finish (killed between create and rename): the
      // profile it was replacing is intact next to it.
      std::string tmp = profiles_dir_ + "/" + n;
      if (::unlink(tmp.c_str()) == 0) ++r.stale_temporaries;
    }
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string path = profiles_dir_ + "/" + n;
    auto text = ReadFile(path);
    absl::StatusOr<v1::Profile> p =
        text.ok() ? ProfileFromJson(*text) : absl::StatusOr<v1::Profile>(text.status());
    if (p.ok()) {
      r.profiles.push_back(std::move(*p));
      continue;
    }
    std::string dest =
        absl::StrCat(quarantine_dir_, "/", n, ".", absl::ToUnixSeconds(absl::Now()), ".corrupt");
    if (std::rename(path.c_str(), dest.c_str()) != 0) {
      LogError("profile file unreadable and could not be moved aside",
               {{"file", path}, {"error", p.status().ToString()}});
      continue;
    }
    LogError("profile file unreadable: moved to quarantine",
             {{"file", path}, {"moved_to", dest}, {"error", p.status().ToString()}});
    r.quarantined.push_back(dest);
  }
  return r;
}

}  // namespace faasguard
