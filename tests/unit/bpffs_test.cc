// Where the agent mounts a bpf filesystem for its pin directory, and where it refuses to. The
// mount itself needs root and a fresh mount namespace: tests/e2e/fresh_machine_e2e_test.py.
#include "bpf/bpffs.h"

#include <fcntl.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "temp_dir.h"

namespace faasguard {
namespace {

TEST(BpfFsTest, RootIsSysFsBpfForPinDirectoriesUnderIt) {
  EXPECT_EQ(BpfFsRootFor("/sys/fs/bpf/faasguard"), "/sys/fs/bpf");
  EXPECT_EQ(BpfFsRootFor("/sys/fs/bpf/a/b/c"), "/sys/fs/bpf");
  EXPECT_EQ(BpfFsRootFor("/sys/fs/bpf"), "/sys/fs/bpf");
}

TEST(BpfFsTest, RootIsTheParentElsewhere) {
  EXPECT_EQ(BpfFsRootFor("/run/fg/pins"), "/run/fg");
  EXPECT_EQ(BpfFsRootFor("/sys/fs/bpfx/pins"), "/sys/fs/bpfx");  // not under /sys/fs/bpf
  EXPECT_EQ(BpfFsRootFor("/pins"), "/");
}

TEST(BpfFsTest, NeverMountsOverADirectoryThatHoldsFiles) {
  TempDir t;
  std::string parent = t.Sub("parent");
  ASSERT_EQ(::mkdir(parent.c_str(), 0700), 0);
  int fd = ::open((parent + "/keep").c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto r = EnsureBpfFs(parent + "/pins");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("holds files"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("--bpf-pin-dir off"), std::string::npos) << r.status();
  EXPECT_EQ(::access((parent + "/keep").c_str(), F_OK), 0);
}

TEST(BpfFsTest, APinDirectoryThatIsTheMountPointIsRefused) {
  auto r = EnsureBpfFs("/sys/fs/bpf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("mount point itself"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace faasguard
