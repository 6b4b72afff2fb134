#include "bpf/features.h"

#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "fg_probe.skel.h"

namespace faasguard {
namespace {

// enum bpf_attach_type values of kernel 6.7, which the system's UAPI headers may predate.
constexpr int kCgroupUnixConnect = 49;
constexpr int kCgroupUnixSendmsg = 50;

// Load one probe program; returns "" on success, else the error.
std::string TryLoad(const std::string& btf_path, const char* prog_name) {
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (!btf_path.empty()) opts.btf_custom_path = btf_path.c_str();
  fg_probe* skel = fg_probe__open_opts(&opts);
  if (!skel) return absl::StrCat("open: ", std::strerror(errno));
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    bpf_program__set_autoload(prog, std::strcmp(bpf_program__name(prog), prog_name) == 0);
  }
  // A map type the kernel may not have is created only for the probe that needs it.
  bpf_map__set_autocreate(skel->maps.fg_probe_cgls,
                          std::strcmp(prog_name, "fg_probe_cgrp_storage") == 0);
  bpf_map__set_autocreate(skel->maps.fg_probe_tmark,
                          std::strcmp(prog_name, "fg_probe_task_mark") == 0);
  SetProgramTypesLibbpfLacks(skel->obj);
  int err = fg_probe__load(skel);
  fg_probe__destroy(skel);
  if (err) return std::strerror(-err);
  return "";
}

}  // namespace

void SetProgramTypesLibbpfLacks(bpf_object* obj) {
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    absl::string_view sec = bpf_program__section_name(prog);
    absl::ConsumePrefix(&sec, "?");
    int attach = sec == "cgroup/connect_unix"   ? kCgroupUnixConnect
                 : sec == "cgroup/sendmsg_unix" ? kCgroupUnixSendmsg
                                                : -1;
    if (attach < 0 || bpf_program__type(prog) != BPF_PROG_TYPE_UNSPEC) continue;
    bpf_program__set_type(prog, BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
    bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(attach));
  }
}

KernelFeatures ProbeKernelFeatures(const std::string& btf_path) {
  KernelFeatures f;
  std::string btf = btf_path.empty() ? "/sys/kernel/btf/vmlinux" : btf_path;
  f.btf = ::access(btf.c_str(), R_OK) == 0;
  f.list.push_back({"btf", f.btf, btf});
  if (!f.btf) return f;

  std::string lsm_list;
  if (auto l = ReadFile("/sys/kernel/security/lsm"); l.ok()) lsm_list = *l;

  struct Probe {
    const char* feature;
    const char* prog;
    bool* out;
  } probes[] = {
      {"bpf_lsm", "fg_probe_lsm", &f.lsm},
      {"fentry", "fg_probe_fentry", &f.fentry},
      {"tp_btf", "fg_probe_tp_btf", &f.tp_btf},
      {"cgroup_storage", "fg_probe_cgrp_storage", &f.cgroup_storage},
      {"task_mark", "fg_probe_task_mark", &f.task_mark},
      {"unix_hooks", "fg_probe_unix_hooks", &f.unix_hooks},
      {"skb_btf", "fg_probe_skb_btf", &f.skb_btf},
  };
  libbpf_print_fn_t old = libbpf_set_print(nullptr);  // expected failures stay quiet
  for (const Probe& p : probes) {
    std::string err = TryLoad(btf_path, p.prog);
    *p.out = err.empty();
    std::string detail = err.empty() ? "loaded" : absl::StrCat("load failed: ", err);
    if (absl::string_view(p.feature) == "bpf_lsm" && !lsm_list.empty())
      absl::StrAppend(&detail, " (active LSMs: ", absl::StripAsciiWhitespace(lsm_list), ")");
    f.list.push_back({p.feature, *p.out, detail});
  }
  libbpf_set_print(old);
  return f;
}

}  // namespace faasguard
