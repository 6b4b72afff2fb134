/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * exec.bpf.h: an exec as the policy sees it, and its check against the allow-list, shared by
 * the exec tracepoint (process.bpf.c: learns it, or kills a refused exec) and BPF-LSM
 * (lsm.bpf.c: refuses it with EPERM before the point of no return). Both resolve the same
 * tuple the same way, so they always take the same decision.
 */
#pragma once

#include "name.bpf.h"
#include "policy.bpf.h"

/* The binary that runs, its parent process's binary and, for a "#!" script, the script: its
 * name resolved to an absolute path (name.bpf.h; the script's own file is already released
 * when the exec is seen), and the hash of the name as given to exec. Their text is in the
 * scratch slots: s->bin, s->parent, s->script (the name as given), ns->out (the script). */
struct fg_exec_tuple {
	struct fg_path bin;
	struct fg_path parent;
	struct fg_path script; /* hash 0 unless flags has FG_EXEC_F_SCRIPT */
	__u64 name_hash;       /* the script's name as given (FG_EXEC_RULE_SCRIPT_NAME rules) */
	__u32 flags;	       /* FG_EXEC_F_* */
	__u32 pad;
};

/* A "#!" script's name, as given to exec (s->script, len bytes), resolved into ns->out. */
static __always_inline void fg_exec_script(struct fg_scratch *s, struct fg_name_scratch *ns,
					   __u32 len, struct fg_exec_tuple *x)
{
	struct fg_path given = {};

	fg_hash_script(s, len, &given);
	x->name_hash = given.hash;
	len &= FG_FILENAME_MAX - 1;
	if (!ns || bpf_probe_read_kernel(ns->name, len, s->script)) {
		x->script = given; /* no scratch: the name as given, which no resolved rule matches */
		return;
	}
	fg_resolve_name(ns, len, 0, &x->script);
}

/* Resolve the exec by `bprm` of `file` (the file that really runs: a script's interpreter),
 * from the kernel's file objects, into *x (zeroed by the caller). */
static __always_inline void fg_exec_resolve(struct fg_scratch *s, struct fg_name_scratch *ns,
					    struct linux_binprm *bprm, struct file *file,
					    struct fg_exec_tuple *x)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *pfile = BPF_CORE_READ(task, real_parent, mm, exe_file);

	/* an exec always has a file: its absence is a read failure; a kernel thread parent has none */
	fg_resolve_path(s, 0, (__u64)file, FG_PATH_F_READ_ERR, &x->bin);
	fg_resolve_path(s, 1, (__u64)pfile, 0, &x->parent);

	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	long n = bpf_probe_read_kernel_str(s->script, FG_FILENAME_MAX, filename);

	if (n <= 0)
		s->script[0] = 0;
	if (filename != interp && n > 1) {
		x->flags = FG_EXEC_F_SCRIPT;
		fg_exec_script(s, ns, n - 1, x);
	}
}

/* What the allow-list says of an exec (fg_exec_verdict). */
#define FG_EXEC_ALLOWED 0
#define FG_EXEC_REPORT 1 /* a violation, only reported: monitor mode, or enforce failing open */
#define FG_EXEC_BLOCK 2	 /* a violation enforce mode refuses now */

/* The verdict on an exec in monitor or enforce mode. For FG_EXEC_REPORT, *action is what the
 * report says: FG_ACT_REPORTED or FG_ACT_FAILED_OPEN. */
static __always_inline int fg_exec_verdict(struct fg_scratch *s, const struct fg_fn_cfg *cfg,
					   __u32 fn_id, const struct fg_exec_tuple *x, __u8 *action)
{
	struct fg_exec_check c = {.fn_id = fn_id,
				  .gen = cfg->gen,
				  .cfg_flags = cfg->flags,
				  .parent_hash = x->parent.hash,
				  .script_hash = x->script.hash,
				  .name_hash = x->name_hash,
				  .bin = x->bin};

	if (fg_exec_allowed(s, &c))
		return FG_EXEC_ALLOWED;
	*action = FG_ACT_REPORTED;
	return fg_blocks(cfg, action) ? FG_EXEC_BLOCK : FG_EXEC_REPORT;
}

/* Report an exec violation; `slot` is the caller's scratch slot (it holds the tuple's text),
 * ns its name slot (the resolved script, sent as the violation's item). */
static __always_inline void fg_report_exec(__u64 cgid, __u32 fn_id, const struct fg_fn_cfg *cfg,
					   __u8 slot, struct fg_name_scratch *ns, __u8 action,
					   const struct fg_exec_tuple *x)
{
	struct fg_scratch *s = fg_scratch_get(slot);
	__u32 len = x->script.len & FG_PATH_MASK;
	__u16 item_len = 0;

	if ((x->flags & FG_EXEC_F_SCRIPT) && ns && s &&
	    !bpf_probe_read_kernel(s->item, len + 1, ns->out))
		item_len = len;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = fn_id,
				.kind = FG_VIOL_EXEC,
				.action = action,
				.mode = cfg->mode,
				.slot = slot,
				.exec_flags = x->flags,
				.script_hash = x->script.hash,
				.bin = x->bin,
				.parent = x->parent,
				.item_hash = item_len ? x->script.hash : 0,
				.item_flags = x->script.flags,
				.item_len = item_len};

	fg_report_violation(&r);
}
