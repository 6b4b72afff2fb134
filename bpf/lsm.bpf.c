// SPDX-License-Identifier: GPL-2.0-only
/*
 * lsm.bpf.c: optional BPF-LSM programs. They start with autoload off ("?" section prefix);
 * the agent switches them on only after a real load probe of an LSM program succeeded
 * (agent/bpf/features.cc). The required programs never depend on them.
 *
 * bprm_creds_from_file runs once per exec with the file that will really run (the
 * interpreter of a "#!" script), before the point of no return: a refused exec fails with
 * EPERM instead of being killed. The decision is the one the exec tracepoint takes (same
 * tuple, same allow-list); the tracepoint still checks afterwards, so a wrong "allow" here
 * can never let an exec through.
 */
#include "exec.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_EPERM 1

SEC("?lsm/bprm_creds_from_file")
int BPF_PROG(fg_lsm_exec, struct linux_binprm *bprm, struct file *file, int ret)
{
	if (ret)
		return ret;
	__u64 cgid = bpf_get_current_cgroup_id();
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t)
		return 0;
	/* bprm_creds_from_file runs before the exec tracepoint: a pending container's first exec
	 * is its entrypoint, checked like any other (the tracepoint then clears the flag) */
	__u32 fn_id = t->fn_id;
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);
	struct fg_scratch *s = fg_scratch_get(FG_SCRATCH_LSM);
	struct fg_name_scratch *ns = fg_name_slot(FG_NAME_LSM);

	if (!cfg || !s || cfg->mode != FG_MODE_ENFORCE)
		return 0;
	struct fg_exec_tuple x = {};
	__u8 action;

	fg_exec_resolve(s, ns, bprm, file, &x);
	if (fg_exec_verdict(s, cfg, fn_id, &x, &action) != FG_EXEC_BLOCK)
		return 0; /* allowed, or failing open: the exec tracepoint reports it */
	fg_report_exec(cgid, fn_id, cfg, FG_SCRATCH_LSM, ns, FG_ACT_DENIED, &x);
	return -FG_EPERM;
}
