// Finding the cgroup v2 mount in mountinfo texts, and resolving client-given cgroup paths.
#include <string>

#include "cgroup/cgroup.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using ::testing::HasSubstr;

// Lines in the format of /proc/self/mountinfo:
// id parent maj:min root mount-point options [optional fields...] - fstype source super-options
constexpr char kCommon[] =
    "21 26 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "22 26 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
    "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n";

TEST(FindCgroup2MountTest, PureV2) {
  std::string text = std::string(kCommon) +
                     "30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - "
                     "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
                     "41 22 0:38 / /sys/fs/bpf rw,relatime shared:9 - bpf bpf rw\n";
  absl::StatusOr<std::string> m = FindCgroup2Mount(text);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/sys/fs/cgroup");
}

TEST(FindCgroup2MountTest, Hybrid) {
  std::string text =
      std::string(kCommon) +
      "30 22 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:3 - tmpfs tmpfs ro,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:8 - cgroup cgroup rw,memory\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup "
      "rw,xattr,name=systemd\n"
      "35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - "
      "cgroup2 cgroup2 rw,nsdelegate\n";
  absl::StatusOr<std::string> m = FindCgroup2Mount(text);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/sys/fs/cgroup/unified");
}

TEST(FindCgroup2MountTest, NoOptionalFields) {
  // As on this kind of machine: no "shared:N" before the separator.
  std::string text = std::string(kCommon) +
                     "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
                     "rw,name=systemd\n"
                     "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";
  absl::StatusOr<std::string> m = FindCgroup2Mount(text);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/sys/fs/cgroup/unified");
}

TEST(FindCgroup2MountTest, NoCgroup2IsNotFound) {
  std::string text =
      std::string(kCommon) + "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
  absl::StatusOr<std::string> m = FindCgroup2Mount(text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("cgroup v2"));

  EXPECT_EQ(FindCgroup2Mount("").status().code(), absl::StatusCode::kNotFound);
}

TEST(FindCgroup2MountTest, SubCgroupBindMountIsSkipped) {
  // Inside a container: the container's own cgroup is bind-mounted at /sys/fs/cgroup.
  std::string bind =
      "50 40 0:30 /kubepods/pod1/abc /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 "
      "cgroup2 rw\n";
  EXPECT_EQ(FindCgroup2Mount(bind).status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<std::string> m =
      FindCgroup2Mount(bind + "51 1 0:30 / /host/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/host/cgroup");
}

TEST(FindCgroup2MountTest, EscapedMountPointIsUnescaped) {
  absl::StatusOr<std::string> m =
      FindCgroup2Mount("60 1 0:30 / /mnt/my\\040cgroups\\011v2 rw,relatime - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/mnt/my cgroups\tv2");

  m = FindCgroup2Mount("60 1 0:30 / /mnt/back\\134slash\\040 rw - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/mnt/back\\slash ");
}

TEST(FindCgroup2MountTest, SeveralOptionalFields) {
  absl::StatusOr<std::string> m = FindCgroup2Mount(
      "70 22 0:27 / /sys/fs/cgroup rw,nosuid shared:4 master:1 propagate_from:2 unbindable - "
      "cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "/sys/fs/cgroup");
}

TEST(FindCgroup2MountTest, TheFilesystemTypeDecidesNotTheSource) {
  // A tmpfs whose source is named "cgroup2" is not the hierarchy.
  EXPECT_FALSE(FindCgroup2Mount("80 1 0:40 / /sys/fs/cgroup rw - tmpfs cgroup2 rw\n").ok());
  // Truncated lines are ignored, not read past.
  EXPECT_FALSE(FindCgroup2Mount("80 1 0:40 / /x rw -\n81 1 0:41 / /y\n- cgroup2\n").ok());
}

TEST(FindCgroup2MountTest, ThisMachine) {
  absl::StatusOr<std::string> m = DiscoverCgroup2Mount();
  if (m.ok()) {
    EXPECT_TRUE(m->starts_with("/")) << *m;
  } else {
    EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound) << m.status();
  }
}

// --- ResolveCgroupPath -------------------------------------------------------------------

constexpr char kMount[] = "/sys/fs/cgroup";

TEST(ResolveCgroupPathTest, RelativePathIsUnderTheMount) {
  absl::StatusOr<std::string> p = ResolveCgroupPath(kMount, "faasguard/fn-1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, "/sys/fs/cgroup/faasguard/fn-1");
}

TEST(ResolveCgroupPathTest, AbsolutePathUnderTheMount) {
  absl::StatusOr<std::string> p = ResolveCgroupPath(kMount, "/sys/fs/cgroup/kubepods/pod1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, "/sys/fs/cgroup/kubepods/pod1");
}

TEST(ResolveCgroupPathTest, TheMountItself) {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/"}) {
    absl::StatusOr<std::string> p = ResolveCgroupPath(kMount, path);
    ASSERT_TRUE(p.ok()) << path << ": " << p.status();
    EXPECT_EQ(*p, "/sys/fs/cgroup") << path;
  }
}

TEST(ResolveCgroupPathTest, AbsolutePathOutsideTheMountIsRefused) {
  for (const char* path : {"/etc/passwd", "/sys/fs/cgroupfoo/x", "/sys/fs", "/"}) {
    absl::StatusOr<std::string> p = ResolveCgroupPath(kMount, path);
    ASSERT_FALSE(p.ok()) << path << " -> " << *p;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()), HasSubstr("not under"));
  }
}

TEST(ResolveCgroupPathTest, DotDotIsRefused) {
  for (const char* path :
       {"..", "../etc", "a/../../etc", "/sys/fs/cgroup/../../etc", "/sys/fs/cgroup/a/.."}) {
    absl::StatusOr<std::string> p = ResolveCgroupPath(kMount, path);
    ASSERT_FALSE(p.ok()) << path << " -> " << *p;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(".."));
  }
  // A name that merely contains two dots is fine.
  EXPECT_TRUE(ResolveCgroupPath(kMount, "a..b").ok());
}

TEST(ResolveCgroupPathTest, EmptyOrNulIsRefused) {
  EXPECT_EQ(ResolveCgroupPath(kMount, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ResolveCgroupPath(kMount, absl::string_view("a\0b", 3)).ok());
  EXPECT_FALSE(ResolveCgroupPath(kMount, std::string(5000, 'a')).ok());
}

TEST(ResolveCgroupPathTest, HybridMount) {
  absl::StatusOr<std::string> p = ResolveCgroupPath("/sys/fs/cgroup/unified", "faasguard/x");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, "/sys/fs/cgroup/unified/faasguard/x");
  EXPECT_FALSE(ResolveCgroupPath("/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory/x").ok());
}

}  // namespace
}  // namespace faasguard
