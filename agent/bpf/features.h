// What this kernel lets us load, learned by loading (not by bpftool feature probe, which is
// not a reliable guide on kernels that refuse LSM / fentry programs with EPERM at load).
#pragma once

#include <string>
#include <vector>

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
  std::vector<Feature> list;  // everything probed, for status
};

// Load each probe program of the fg_probe skeleton alone. `btf_path`: "" for the kernel's.
KernelFeatures ProbeKernelFeatures(const std::string& btf_path);

}  // namespace faasguard
