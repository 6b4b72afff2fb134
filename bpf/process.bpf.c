// SPDX-License-Identifier: GPL-2.0-only
/*
 * process.bpf.c: fork, exec and exit of tracked tasks. Learn mode: the (parent binary,
 * binary, script) sets. Monitor / enforce mode: the exec allow-list; in enforce mode a
 * refused exec is killed here (SIGKILL from the exec tracepoint: the new program never runs
 * an instruction of its own), or refused with EPERM earlier by BPF-LSM (lsm.bpf.c).
 */
#include "exec.bpf.h"

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

#define FG_SIGSYS 31

/*
 * A tracked process killed by its seccomp filter (SIGSYS) is a violation the filter saw and
 * sys_enter never did: report it with the syscall it died in. Every thread of the process
 * exits with the group's code; the one that made the refused syscall is the one whose
 * current syscall is outside the allow-list (the others wait in allowed ones).
 */
static __always_inline void fg_seccomp_kill(struct task_struct *task, __u32 fn_id)
{
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);

	if (!cfg || cfg->mode == FG_MODE_LEARN)
		return;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	if (!regs)
		return;
	long nr = fg_syscall_nr(regs);
	__u32 arch = fg_syscall_arch(task);

	if (nr < 0 || fg_sys_allowed(fn_id, cfg->gen, arch, nr))
		return;
	fg_stat_inc(FG_STAT_SECCOMP_KILL);
	struct fg_viol_req r = {};

	fg_task_viol(&r, cfg, fn_id, FG_VIOL_SYSCALL, (__u32)nr, arch);
	r.action = FG_ACT_KILLED;

	fg_report_violation(&r);
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
	struct task_struct *task = bpf_get_current_task_btf();

	if ((BPF_CORE_READ(task, exit_code) & 0x7f) == FG_SIGSYS)
		fg_seccomp_kill(task, t->fn_id);
	return 0;
}

static __always_inline void fg_emit_exec(struct fg_scratch *s, struct fg_name_scratch *ns,
					 __u32 fn_id, __u64 cgid, const struct fg_exec_tuple *x)
{
	struct fg_exec_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	fg_fill_hdr(&e->hdr, FG_EV_EXEC, sizeof(*e), fn_id, cgid);
	e->bin_hash = x->bin.hash;
	e->parent_hash = x->parent.hash;
	e->script_hash = x->script.hash;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->bin_len = x->bin.len;
	e->bin_flags = x->bin.flags;
	e->parent_len = x->parent.len;
	e->parent_flags = x->parent.flags;
	fg_path_copy(e->bin, s->bin, &x->bin);
	fg_path_copy(e->parent, s->parent, &x->parent);

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

	/* A script's absolute path (cut at FG_FILENAME_MAX - 1 bytes: fg_paths has all of it),
	 * else the name given to exec (/dev/fd/N for fexecve). */
	const char *name = (x->flags & FG_EXEC_F_SCRIPT) && ns ? ns->out : s->script;
	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), name);

	e->filename_len = n > 0 ? n - 1 : 0;
	e->flags = x->flags;
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
	struct fg_name_scratch *ns = fg_name_slot(FG_NAME_TP);

	if (!st || !cfg || !s)
		return 0;
	struct fg_exec_tuple x = {};

	fg_exec_resolve(s, ns, bprm, BPF_CORE_READ(bprm, file), &x);

	/*
	 * A new container is pending until its entrypoint runs. The runtime may exec itself in
	 * it first (runc re-executes a sealed copy of its own binary: a memfd, or a file on a
	 * detached mount): those execs keep it pending and are neither learned nor checked. The
	 * first exec of a real file is the entrypoint: from here on it is the function.
	 */
	if (t->flags & FG_CG_F_PENDING) {
		if (x.bin.flags & (FG_PATH_F_DETACHED | FG_PATH_F_UNLINKED))
			return 0;
		__sync_fetch_and_and(&t->flags, ~FG_CG_F_PENDING);
	}
	fg_mirror_current(t); /* sys_enter's copy, see fg_cg_local */
	__sync_fetch_and_add(&st->execs, 1);

	if (cfg->mode == FG_MODE_LEARN) {
		struct fg_exec_key key = {.fn_id = fn_id,
					  .parent_hash = x.parent.hash,
					  .bin_hash = x.bin.hash,
					  .script_hash = x.script.hash};

		if (!fg_set_seen(&fg_execs, &key))
			return 0;
		fg_remember_path(s, s->bin, &x.bin);
		fg_remember_path(s, s->parent, &x.parent);
		if (x.flags && ns)
			fg_remember_name(ns, &x.script);
		fg_emit_exec(s, ns, fn_id, cgid, &x);
		return 0;
	}

	__u8 action;
	int verdict = fg_exec_verdict(s, cfg, fn_id, &x, &action);

	if (verdict == FG_EXEC_ALLOWED)
		return 0;
	if (verdict == FG_EXEC_BLOCK) {
		/* Before the new image returns to user space: it never runs an instruction. */
		bpf_send_signal(FG_SIGKILL);
		action = FG_ACT_KILLED;
	}
	fg_report_exec(cgid, fn_id, cfg, FG_SCRATCH_TP, ns, action, &x);
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
