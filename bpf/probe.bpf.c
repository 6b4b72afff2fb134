// SPDX-License-Identifier: GPL-2.0-only
/*
 * probe.bpf.c: tiny programs the agent loads one by one to learn what this kernel allows
 * (bpftool feature probe is not a reliable guide: some kernels refuse fentry/lsm with EPERM
 * at load time). All start with autoload off.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("?lsm/bprm_check_security")
int BPF_PROG(fg_probe_lsm, struct linux_binprm *bprm, int ret)
{
	return ret;
}

SEC("?fentry/security_bprm_check")
int BPF_PROG(fg_probe_fentry, struct linux_binprm *bprm)
{
	return 0;
}

SEC("?tp_btf/sched_process_exec")
int BPF_PROG(fg_probe_tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}
