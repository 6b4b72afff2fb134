// faasguardctl run finds its command as a shell does, before it registers anything: a command
// that is not there (127) or cannot be executed (126) leaves no function behind.
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "ctl/actions/actions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/temp_dir.h"

namespace faasguard::actions {
namespace {

using ::testing::HasSubstr;

class ResolveCommandTest : public ::testing::Test {
 protected:
  std::string File(const std::string& name, mode_t mode) {
    std::string path = dir_.Sub(name);
    std::ofstream(path) << "#!/bin/sh\n";
    ::chmod(path.c_str(), mode);
    return path;
  }
  TempDir dir_;
};

TEST_F(ResolveCommandTest, ANameIsSearchedInPath) {
  ::mkdir(dir_.Sub("a").c_str(), 0755);
  ::mkdir(dir_.Sub("b").c_str(), 0755);
  std::string tool = File("b/tool", 0755);
  std::string path = dir_.Sub("nonexistent") + ":" + dir_.Sub("a") + ":" + dir_.Sub("b");
  EXPECT_EQ(*ResolveCommand("tool", path), tool);
  auto missing = ResolveCommand("no-such-tool", path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "command not found (not in PATH)");
}

TEST_F(ResolveCommandTest, TheFirstExecutableInPathWins) {
  ::mkdir(dir_.Sub("a").c_str(), 0755);
  ::mkdir(dir_.Sub("b").c_str(), 0755);
  ::mkdir(dir_.Sub("c").c_str(), 0755);
  File("a/tool", 0644);                       // not executable: skipped
  ::mkdir(dir_.Sub("b/tool").c_str(), 0755);  // a directory: skipped
  std::string tool = File("c/tool", 0755);
  EXPECT_EQ(*ResolveCommand("tool", dir_.Sub("a") + ":" + dir_.Sub("b") + ":" + dir_.Sub("c")),
            tool);
  // Only a file that cannot be executed: permission denied, as a shell says (126).
  auto denied = ResolveCommand("tool", dir_.Sub("a"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(),
            dir_.Sub("a/tool") + ": not executable (no execute permission)");
}

TEST_F(ResolveCommandTest, APathIsTakenAsItIs) {
  std::string tool = File("tool", 0755);
  EXPECT_EQ(*ResolveCommand(tool, ""), tool);
  auto none = ResolveCommand(dir_.Sub("none"), "/usr/bin");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "No such file or directory");
  EXPECT_EQ(ResolveCommand(File("data", 0644), "").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto dir = ResolveCommand(dir_.path(), "");
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(dir.status().message(), "it is a directory");
}

TEST_F(ResolveCommandTest, AnEmptyPathEntryIsTheCurrentDirectory) {
  File("here", 0755);
  char* here = get_current_dir_name();
  std::string cwd = here;
  free(here);
  ASSERT_EQ(::chdir(dir_.path().c_str()), 0);
  auto r = ResolveCommand("here", "/nonexistent::/also-nonexistent");
  EXPECT_EQ(r.value_or("error"), "./here") << r.status();
  ASSERT_EQ(::chdir(cwd.c_str()), 0);
}

}  // namespace
}  // namespace faasguard::actions
