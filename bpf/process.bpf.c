// SPDX-License-Identifier: GPL-2.0-only
/*
 * process.bpf.c: fork, exec and exit of tracked tasks. Learn mode: the (parent binary,
 * binary, script) sets. Monitor / enforce mode: the exec allow-list; in enforce mode a
 * refused exec is killed here (SIGKILL from the exec tracepoint: the new program never runs
 * an instruction of its own), or refused with EPERM earlier by BPF-LSM (lsm.bpf.c).
 */
#include "policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_SIGKILL 9

static __always_inline struct fg_fn_state *fg_state_of(const struct fg_cgroup_val *t)
{
	__u32 fn_id = t->fn_id;

	return bpf_map_lookup_elem(&fg_fn_state, &fn_id);
}

/* Raw tracepoints need no tracefs mount (nodes often have none) and cost less. */
SEC("raw_tracepoint/sched_process_fork")
int fg_fork(struct bpf_raw_tracepoint_args *ctx)
{
	const struct fg_cgroup_val *t = fg_current_entry();

	if (!t)
		return 0;
	struct fg_fn_state *st = fg_state_of(t);

	if (st)
		__sync_fetch_and_add(&st->forks, 1);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int fg_exit(struct bpf_raw_tracepoint_args *ctx)
{
	const struct fg_cgroup_val *t = fg_current_entry();

	if (!t)
		return 0;
	struct fg_fn_state *st = fg_state_of(t);

	if (st)
		__sync_fetch_and_add(&st->exits, 1);
	return 0;
}

static __always_inline void fg_emit_exec(struct fg_scratch *s, __u32 fn_id, __u64 cgid,
					 const struct fg_path *bin, const struct fg_path *par,
					 const struct fg_path *script, __u32 exec_flags)
{
	struct fg_exec_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	fg_fill_hdr(&e->hdr, FG_EV_EXEC, sizeof(*e), fn_id, cgid);
	e->bin_hash = bin->hash;
	e->parent_hash = par->hash;
	e->script_hash = script->hash;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->bin_len = bin->len;
	e->bin_flags = bin->flags;
	e->parent_len = par->len;
	e->parent_flags = par->flags;
	fg_path_copy(e->bin, s->bin, bin);
	fg_path_copy(e->parent, s->parent, par);

	/* A bounded argv, read from the new image's stack. */
	unsigned long as = BPF_CORE_READ(task, mm, arg_start);
	unsigned long ae = BPF_CORE_READ(task, mm, arg_end);
	__u32 alen = ae > as ? (__u32)(ae - as) : 0;

	if (alen > FG_ARGS_MAX - 1)
		alen = FG_ARGS_MAX - 1;
	alen &= FG_ARGS_MAX - 1;
	if (bpf_probe_read_user(e->args, alen, (void *)as)) {
		alen = 0;
		fg_stat_inc(FG_STAT_READ_FAIL);
	}
	e->args[alen & (FG_ARGS_MAX - 1)] = 0;
	e->args_len = alen;

	/* The name given to exec: a script's path, or /dev/fd/N for fexecve. */
	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), s->script);

	e->filename_len = n > 0 ? n - 1 : 0;
	e->flags = exec_flags;
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

/* Not called: keeps the ring-buffer record types in the object's BTF, where the agent's tests
 * check their layout against the C++ side. */
__noinline int fg_btf_anchor(struct fg_syscall_event *s, struct fg_exec_event *x,
			     struct fg_net_event *n, struct fg_violation_event *v)
{
	return s && x && n && v;
}

/*
 * A tracked task finished an exec: count it, resolve the binary actually executed and the
 * parent process's binary from their file objects (and, for "#!" scripts, the name given to
 * exec), then learn the tuple or check it against the allow-list.
 */
static __always_inline int fg_on_exec(struct fg_cgroup_val *t, __u64 cgid,
				      struct linux_binprm *bprm)
{
	__u32 fn_id = t->fn_id;
	struct fg_fn_state *st = bpf_map_lookup_elem(&fg_fn_state, &fn_id);
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);
	struct fg_scratch *s = fg_scratch_get(FG_SCRATCH_TP);

	if (!st || !cfg || !s)
		return 0;

	struct fg_path bin = {}, par = {}, script = {};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *pfile = BPF_CORE_READ(task, real_parent, mm, exe_file);

	/* an exec always has a file: its absence is a read failure; a kernel thread parent has none */
	fg_resolve_path(s, 0, (__u64)BPF_CORE_READ(bprm, file), FG_PATH_F_READ_ERR, &bin);
	fg_resolve_path(s, 1, (__u64)pfile, 0, &par);

	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	long n = bpf_probe_read_kernel_str(s->script, FG_FILENAME_MAX, filename);
	__u32 exec_flags = 0;

	if (n <= 0)
		s->script[0] = 0;

	/*
	 * A new container is pending until its entrypoint runs. The runtime may exec itself in
	 * it first (runc re-executes a sealed copy of its own binary: a memfd, or a file on a
	 * detached mount): those execs keep it pending and are neither learned nor checked. The
	 * first exec of a real file is the entrypoint: from here on it is the function.
	 */
	if (t->flags & FG_CG_F_PENDING) {
		if (bin.flags & (FG_PATH_F_DETACHED | FG_PATH_F_UNLINKED))
			return 0;
		__sync_fetch_and_and(&t->flags, ~FG_CG_F_PENDING);
	}
	fg_mirror_current(t); /* sys_enter's copy, see fg_cg_local */
	__sync_fetch_and_add(&st->execs, 1);
	if (filename != interp && n > 1) {
		exec_flags = FG_EXEC_F_SCRIPT;
		fg_hash_script(s, n - 1, &script);
	}

	if (cfg->mode == FG_MODE_LEARN) {
		struct fg_exec_key key = {.fn_id = fn_id,
					  .parent_hash = par.hash,
					  .bin_hash = bin.hash,
					  .script_hash = script.hash};

		if (!fg_set_seen(&fg_execs, &key))
			return 0;
		fg_remember_path(s, s->bin, &bin);
		fg_remember_path(s, s->parent, &par);
		if (exec_flags)
			fg_remember_path(s, s->script, &script);
		fg_emit_exec(s, fn_id, cgid, &bin, &par, &script, exec_flags);
		return 0;
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
				.action = FG_ACT_REPORTED,
				.mode = cfg->mode,
				.slot = FG_SCRATCH_TP,
				.exec_flags = exec_flags,
				.script_hash = script.hash,
				.bin = bin,
				.parent = par};

	if (fg_blocks(cfg, &r.action)) {
		/* Before the new image returns to user space: it never runs an instruction. */
		bpf_send_signal(FG_SIGKILL);
		r.action = FG_ACT_KILLED;
	}
	fg_report_violation(&r);
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int fg_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t)
		return 0;
	if (fg_task_mark_on) /* already marked at fork or migration; this repairs a failed mark */
		fg_mark_task(bpf_get_current_task_btf());
	return fg_on_exec((struct fg_cgroup_val *)t, cgid, (struct linux_binprm *)ctx->args[2]);
}
