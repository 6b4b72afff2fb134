// libFuzzer: the cgroup parsers: kubelet cgroup paths (pod uid, container id, runtime, QoS)
// as they arrive from cgroup_mkdir events, cgroup v2 mount discovery from mountinfo text, and
// user-given cgroup paths resolved under the mount (never escaping it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "cgroup/cgroup.h"
#include "k8s/cgroup_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  (void)faasguard::ParseKubeCgroup(in);
  (void)faasguard::FindCgroup2Mount(in);
  auto r = faasguard::ResolveCgroupPath("/sys/fs/cgroup", in);
  if (r.ok() && !absl::StartsWith(*r, "/sys/fs/cgroup")) std::abort();
  return 0;
}
