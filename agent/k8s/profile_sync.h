// Profiles across nodes, through the Kubernetes API server (the cluster's own store).
//
// One FunctionProfile resource per function (named like the function, in its namespace). Its
// spec is the cluster's profile: the union, by item identity, of what every node learned.
//  - publish: each agent read-modify-writes the resources of its functions when their local
//    profile changed: GET, add the local items the spec lacks, PUT with the resourceVersion it
//    read; a 409 (someone wrote in between) means read again and redo, a bounded number of
//    times. A missing resource is created (POST; a 409 there: another node created it first).
//    Its own line in status.nodes (mode, item counts, when) goes through the status
//    subresource the same way.
//  - take: each agent lists and watches every FunctionProfile and adds the spec's items it
//    lacks to its local profile (so a replica's first request on a new node is allowed by what
//    its siblings learned elsewhere), and takes the spec's mode when the cluster changes it
//    (kubectl edit / patch of spec.mode): modes flow from the cluster to nodes. A 410 Gone on
//    the watch (the resourceVersion is too old) means list again.
// Counts and first/last-seen times in the spec are those of the first node that saw an item;
// per-node figures live in status.nodes. Functions of platform "local" (faasguardctl run)
// belong to their node and are not published.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/profile_host.h"
#include "faasguard/v1/profile.pb.h"
#include "k8s/kube_client.h"

namespace faasguard {

inline constexpr char kFunctionProfilesPath[] = "/apis/faasguard.dev/v1alpha1";

// The spec a node writes: `remote` plus the items of `local` it lacks (by identity). Mode,
// syscall action and creation time stay the cluster's. `added`: how many items were new.
struct SpecMerge {
  v1::Profile spec;
  size_t added = 0;
};
SpecMerge MergeIntoSpec(const v1::Profile& remote, const v1::Profile& local);

class ProfileSync {
 public:
  struct Options {
    std::string node;                              // this node's name (status.nodes[].node)
    absl::Duration interval = absl::Seconds(10);   // how often changed profiles are published
    absl::Duration retry = absl::Seconds(2);       // first wait after a failed list / watch
    absl::Duration max_retry = absl::Seconds(30);  // ... doubling up to this
    int watch_timeout_s = 300;                     // the server ends each watch after this
    int conflict_retries = 8;                      // 409s in a row before giving up (for now)
    std::string agent_version;
  };

  struct Stats {
    uint64_t published = 0;  // spec writes (create or update)
    uint64_t unchanged = 0;  // publishes that found nothing new for the cluster
    uint64_t conflicts = 0;  // 409s, retried
    uint64_t taken = 0;      // remote resources that changed a local profile
    uint64_t relists = 0;    // full lists (the first, then after 410 Gone or a broken watch)
    uint64_t errors = 0;
    std::string last_error;
    std::string resource_version;  // of the last list / watch event
  };

  ProfileSync(ProfileHost* host, KubeClient* kube, Options opts);
  ~ProfileSync();

  void Start();  // the watch thread and the publish thread
  void Stop();

  // Publish every function whose profile changed since it was last published.
  void PublishChanged();
  // Read-modify-write one function's resource, then its status line.
  absl::Status Publish(const v1::FunctionId& id);
  // A FunctionProfile from the cluster (a list item or a watch event's object), as JSON.
  absl::Status Take(const std::string& object_json);
  // List every FunctionProfile, take each, then watch from the list's resourceVersion until
  // the stream ends (OK), a 410 says to list again (OK), or an error.
  absl::Status ListAndWatchOnce();

  Stats stats();
  const std::string& node() const { return opts_.node; }

 private:
  void WatchLoop();
  void PublishLoop();
  absl::Status Fail(absl::Status s);
  absl::Status PublishStatus(const std::string& path, std::string object_json,
                             const v1::Profile& local);

  ProfileHost* host_;
  KubeClient* kube_;
  Options opts_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Stats stats_;
  std::map<std::string, std::string> published_;  // function key -> local profile's `updated` then
  std::map<std::string, int> remote_mode_;        // function key -> spec.mode last taken
  std::thread watcher_;
  std::thread publisher_;
};

}  // namespace faasguard
