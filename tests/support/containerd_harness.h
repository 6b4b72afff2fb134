// A real containerd (with its CRI plugin) for one test: its own config, root, state and socket
// in a temporary directory; test images it builds and imports itself; pods laid out like the
// kubelet's (cgroupfs driver, host networking); and a destructor that leaves nothing behind.
//
//   auto h = ContainerdHarness::Start();            // containerd answers CRI Version
//   ASSERT_TRUE(h.ok()) << h.status();
//   auto pod = (*h)->RunPod({.name = "hello", .labels = {{"app", "x"}}});
//   auto id = (*h)->StartContainer(*pod, {.name = "main",
//                                         .command = {"/usr/bin/python3", "-c", "..."}});
//   (*h)->cri().ListContainers();                    // the CRI client, for anything else
//
// Needs root and the Debian packages containerd and runc. Every directory lives under
// /tmp/fg-containerd-XXXXXX; a run that crashed leaves one behind with an "owner" file naming a
// dead process, and the next Start() cleans it (containerd, shims, pods' processes, mounts,
// cgroups, the directory). Harnesses may run in parallel (ctest -j): each cleans only its own
// directory and pods; the last one out removes what they share (/run/containerd/s, and the
// cgroup parents /kubepods, /kubepods/<qos> that a harness created, listed in
// /tmp/fg-containerd.cgroup-parents).
//
// What containerd 1.6 does with these pods (measured, cgroup v2 paths relative to the mount):
//   sandbox (pause):  /kubepods/<qos>/pod<uid>/<64-hex sandbox id>
//   each container:   /kubepods/<qos>/pod<uid>/<64-hex container id>
// and the same paths under every cgroup v1 hierarchy of a hybrid host. Removing a container
// removes its cgroup; /kubepods/<qos>/pod<uid> itself stays (the kubelet's to remove; the
// harness removes it at shutdown). GetContainerEvents answers UNIMPLEMENTED.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "k8s/cri_client.h"

namespace faasguard::testing {

// A read-only (by default) bind mount of a host path into a container.
struct HostMount {
  std::string container_path{};
  std::string host_path{};
  bool readonly = true;
};

struct PodSpec {
  std::string name{};
  std::string namespace_ = "default";
  std::string uid{};  // empty: a random UUID
  std::map<std::string, std::string> labels{};
  std::map<std::string, std::string> annotations{};
  // The kubelet's QoS level in the cgroup parent: "besteffort", "burstable", or "" (guaranteed:
  // /kubepods/pod<uid>).
  std::string qos = "besteffort";
  // The pod's DNS (the kubelet's dnsConfig): written by the runtime into the sandbox's
  // resolv.conf, which every container gets as /etc/resolv.conf. Empty: the host's.
  std::vector<std::string> dns_servers{}, dns_searches{}, dns_options{};
};

// A running pod sandbox (always host networking: there is no CNI here).
struct Pod {
  std::string id;   // the sandbox id (64 hex)
  std::string uid;  // the pod uid (metadata.uid)
  std::string name;
  std::string namespace_;
  std::string cgroup_parent;  // "/kubepods/besteffort/pod<uid>"
  runtime::v1::PodSandboxConfig config;
};

struct ContainerSpec {
  std::string name{};
  std::string image{};  // empty: kFunctionImage
  std::vector<std::string> command{};
  std::vector<std::string> args{};
  std::vector<std::pair<std::string, std::string>> env{};
  std::vector<HostMount> mounts{};
  std::map<std::string, std::string> labels{};
  std::map<std::string, std::string> annotations{};
  std::string working_dir{};
  // Mount the host's /usr, /lib, /lib64 and /bin read-only, so that host programs (the host's
  // /usr/bin/python3) run inside the minimal image.
  bool host_programs = true;
  // A Localhost seccomp profile (the absolute path the kubelet would pass), or none.
  std::string seccomp_profile{};
  bool no_new_privs = false;  // securityContext.allowPrivilegeEscalation: false
};

class ContainerdHarness {
 public:
  // Tags of the two images the harness imports (same minimal rootfs: a static /pause).
  static constexpr char kPauseImage[] = "localhost/faasguard/pause:test";
  static constexpr char kFunctionImage[] = "localhost/faasguard/function:test";
  // Every harness directory is "<kDirPrefix>XXXXXX".
  static constexpr char kDirPrefix[] = "/tmp/fg-containerd-";

  struct Options {
    absl::Duration start_timeout = absl::Seconds(20);  // containerd up, CRI answering
    absl::Duration call_timeout = absl::Seconds(10);   // each CRI call
    std::string pause_binary;                          // empty: the one built with the tests
    bool clean_stale = true;                           // clean dirs of crashed runs first
  };

  // Cleans stale runs, writes the config, starts containerd, waits for CRI Version, imports
  // the images. An error names the step (with containerd's log tail when it failed).
  static absl::StatusOr<std::unique_ptr<ContainerdHarness>> Start(const Options& options);
  static absl::StatusOr<std::unique_ptr<ContainerdHarness>> Start() { return Start(Options()); }

  // Shutdown().
  ~ContainerdHarness();
  ContainerdHarness(const ContainerdHarness&) = delete;
  ContainerdHarness& operator=(const ContainerdHarness&) = delete;

  // Removes every pod, stops containerd and its shims, unmounts, removes the cgroups of our
  // pods and the directory. Idempotent; the first problem met is returned (cleanup goes on).
  absl::Status Shutdown();

  CriClient& cri() { return *cri_; }
  const std::string& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }  // containerd's gRPC socket
  std::string endpoint() const { return "unix://" + socket_; }
  const std::string& snapshotter() const { return snapshotter_; }  // "overlayfs" or "native"
  pid_t containerd_pid() const { return containerd_pid_; }
  absl::Duration start_time() const { return start_time_; }  // Start() took this long

  // RunPodSandbox with the kubelet's labels (io.kubernetes.pod.{name,namespace,uid}) added,
  // cgroup parent /kubepods/<qos>/pod<uid>, host network, PID per container, IPC per pod.
  absl::StatusOr<Pod> RunPod(const PodSpec& spec);
  // CreateContainer + StartContainer with the kubelet's labels
  // (io.kubernetes.container.name, io.kubernetes.pod.*) added; the log goes to
  // <pod log dir>/<name>/0.log. Returns the container id.
  absl::StatusOr<std::string> StartContainer(const Pod& pod, const ContainerSpec& spec);
  absl::Status StopContainer(const std::string& id, absl::Duration grace = absl::Seconds(0));
  absl::Status RemoveContainer(const std::string& id);
  absl::Status StopPod(const Pod& pod);
  absl::Status RemovePod(const Pod& pod);  // its containers too

  // <cgroup v2 mount><pod.cgroup_parent>/<id>: where runc puts a container or the sandbox.
  std::string CgroupDir(const Pod& pod, const std::string& id) const;
  // A container's (or the sandbox's) log file and daemon log, for failure messages.
  std::string ContainerLog(const Pod& pod, const std::string& container_name) const;
  std::string DaemonLogTail(size_t max_bytes = 4000) const;

  // Cleans every harness directory whose owner process is gone. Start() calls it.
  static void CleanStale();

 private:
  ContainerdHarness() = default;
  absl::Status Launch(const Options& options);
  absl::Status WriteConfig();
  absl::Status ImportImages(const std::string& pause_binary);
  absl::Status WaitForImage(const std::string& ref, absl::Time deadline);
  absl::Status RecordPodCgroups(const std::string& cgroup_parent);
  void RecordSandbox(const std::string& id);

  std::string dir_;
  std::string socket_;
  std::string snapshotter_ = "overlayfs";
  std::string cgroup2_;
  pid_t containerd_pid_ = -1;
  absl::Duration start_time_;
  std::unique_ptr<CriClient> cri_;
  bool shut_down_ = false;
};

// Cleans up after a harness directory (the owner must be gone): kills containerd and the shims
// that talk to its socket, kills what runs in its pods' cgroups, unmounts everything below the
// directory, removes the pods' cgroups (in every hierarchy), the shims' sockets and the
// directory. Exposed for tests of the cleanup itself.
absl::Status CleanContainerdDir(const std::string& dir);

// Where containerd 1.6 puts the socket of shim `shim_id` (the sandbox id for CRI pods), whatever
// its --state: /run/containerd/s/<sha256 of "<containerd socket>/k8s.io/<shim id>">.
std::string ShimSocketPath(const std::string& containerd_socket, const std::string& shim_id);

// Processes whose command line mentions `needle` (the harness directory, say).
std::vector<pid_t> ProcessesMentioning(const std::string& needle);
// Mount points at or below `dir` (from /proc/self/mountinfo).
std::vector<std::string> MountsBelow(const std::string& dir);

}  // namespace faasguard::testing
