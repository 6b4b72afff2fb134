// Files in profiles (ContainerProfile.files): the identity of an item, adding learned opens,
// folding a directory whose entries are many and varied into one "dir/*" rule, and checks.
// Paths are escaped like exec paths (profile/path_rule.h): a trailing unescaped '*' is a rule.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "faasguard/v1/profile.pb.h"

namespace faasguard {

// An item's access as FG_FILE_* bits (abi/fg_file.h), and back (in enum order).
uint32_t FileAccessMask(const v1::FileEntry& e);
void SetFileAccess(v1::FileEntry& e, uint32_t mask);
// "read", "read,write,create", ...: the access in words, for people.
std::string FileAccessWords(uint32_t mask);

// Identity of an item: (path, kind, hard_linked). Its access is what it allows.
std::tuple<std::string, int, bool> FileKey(const v1::FileEntry& e);

// Whether `rule` (a "path*" prefix rule) allows the literal item `e`: same hard-link kind, a
// plain path with the rule's prefix, and every access of `e`.
bool FileRuleCovers(const v1::FileEntry& rule, const v1::FileEntry& e);

// Add a learned (or accepted) item. Returns true when it is new behaviour: a new item, or
// an access the item did not allow yet. An item a prefix rule of the section already allows
// only adds its counts to that rule.
bool AddFile(v1::ContainerProfile& c, const v1::FileEntry& e);

// The fold, applied to a section's learned items (docs/profile-format.md, "Files"):
//  - candidates: plain files (kind FILE, one link) by their literal path;
//  - a directory D is foldable when the candidates under it (at any depth) go through at least
//    kFoldMinChildren distinct entries directly under D, D is not "/", and D neither is, nor
//    lies under, nor contains a protected directory (kFoldProtected; /proc/self and
//    /proc/thread-self are not protected), nor has a protected name (secrets, .ssh, ...);
//  - a candidate the function created (access CREATE: a temporary file's new name each time,
//    an O_TMPFILE's DIR/#tmpfile) folds at its own directory at the latest, when foldable and
//    every candidate directly in it was created (a scratch directory, not one of data);
//  - each candidate goes into the rule "D/*" of its shallowest foldable ancestor, whose access
//    is the union of what it took in and whose counts add up; rules written by hand are kept;
//  - a "D/*" rule counts towards its ancestors' entries as a file at D would (so the parent of
//    a directory folded early can fold), but its access never goes into another rule;
//  - a rule that another covers (its prefix starts with the other's, same kind, no access the
//    other lacks) goes, its counts added to the other.
// Returns how many items were folded or removed.
inline constexpr size_t kFoldMinChildren = 8;
size_t FoldFiles(v1::ContainerProfile& c);

// Structural checks of the files of a section (ValidateProfile).
absl::Status ValidateFiles(const v1::ContainerProfile& c, absl::string_view where);

}  // namespace faasguard
