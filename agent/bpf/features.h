// What this kernel lets us load, learned by loading (not by bpftool feature probe, which is
// not a reliable guide on kernels that refuse LSM / fentry programs with EPERM at load).
#pragma once

#include <string>
#include <vector>

struct bpf_object;

namespace faasguard {

struct Feature {
  std::string name;
  bool available = false;
  std::string detail;
};

struct KernelFeatures {
  bool btf = false;
  bool lsm = false;     // a BPF-LSM program loads (bpf in the lsm= list, CONFIG_BPF_LSM)
  bool fentry = false;  // fentry/fexit programs load (BPF trampolines)
  bool tp_btf = false;
  bool cgroup_storage = false;  // BPF_MAP_TYPE_CGRP_STORAGE (6.2+): the sys_enter fast path
  // Task local storage from tp_btf and the open-coded task iterator (6.7+): sys_enter's first
  // test, one load (fg_task_mark). Used only together with tp_btf and cgroup_storage.
  bool task_mark = false;
  // cgroup/connect_unix and cgroup/sendmsg_unix (6.7+): Unix socket peers are seen.
  bool unix_hooks = false;
  // cgroup_skb reading the socket's cgroup through BTF pointers (6.2+): the ingress hook's
  // fast path for untracked sockets.
  bool skb_btf = false;
  std::vector<Feature> list;  // everything probed, for status
};

// Load each probe program of the fg_probe skeleton alone. `btf_path`: "" for the kernel's.
KernelFeatures ProbeKernelFeatures(const std::string& btf_path);

// Give the programs whose section libbpf does not know by name (before libbpf 1.3:
// cgroup/connect_unix, cgroup/sendmsg_unix) their type and attach type. After open, before load.
void SetProgramTypesLibbpfLacks(bpf_object* obj);

}  // namespace faasguard
