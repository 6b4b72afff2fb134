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
#include "policy.bpf.h"

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

	if (!cfg || !s || cfg->mode != FG_MODE_ENFORCE)
		return 0;
	struct fg_path bin = {}, par = {}, script = {};
	struct task_struct *task = bpf_get_current_task_btf();

	fg_resolve_path(s, 0, (__u64)file, FG_PATH_F_READ_ERR, &bin);
	fg_resolve_path(s, 1, (__u64)BPF_CORE_READ(task, real_parent, mm, exe_file), 0, &par);
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	long n = bpf_probe_read_kernel_str(s->script, FG_FILENAME_MAX, filename);
	__u32 exec_flags = 0;

	if (filename != interp && n > 1) {
		exec_flags = FG_EXEC_F_SCRIPT;
		fg_hash_script(s, n - 1, &script);
	}
	struct fg_exec_check c = {.fn_id = fn_id,
				  .gen = cfg->gen,
				  .cfg_flags = cfg->flags,
				  .parent_hash = par.hash,
				  .script_hash = script.hash,
				  .bin = bin};

	if (fg_exec_allowed(s, &c))
		return 0;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = fn_id,
				.kind = FG_VIOL_EXEC,
				.action = FG_ACT_DENIED,
				.mode = cfg->mode,
				.slot = FG_SCRATCH_LSM,
				.exec_flags = exec_flags,
				.script_hash = script.hash,
				.bin = bin,
				.parent = par};

	if (!fg_blocks(cfg, &r.action))
		return 0; /* failing open: the exec tracepoint reports it */
	fg_report_violation(&r);
	return -FG_EPERM;
}
