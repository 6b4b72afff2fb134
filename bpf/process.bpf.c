// SPDX-License-Identifier: GPL-2.0-only
/* process.bpf.c: fork, exec and exit of tracked tasks; the (parent binary, binary) sets. */
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline struct fg_fn_state *fg_state_of(const struct fg_cgroup_val *t)
{
	__u32 fn_id = t->fn_id;

	return bpf_map_lookup_elem(&fg_fn_state, &fn_id);
}

/* Raw tracepoints need no tracefs mount (nodes often have none) and cost less. */
SEC("raw_tracepoint/sched_process_fork")
int fg_fork(struct bpf_raw_tracepoint_args *ctx)
{
	const struct fg_cgroup_val *t = fg_lookup_cgroup(bpf_get_current_cgroup_id());

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
	const struct fg_cgroup_val *t = fg_lookup_cgroup(bpf_get_current_cgroup_id());

	if (!t)
		return 0;
	struct fg_fn_state *st = fg_state_of(t);

	if (st)
		__sync_fetch_and_add(&st->exits, 1);
	return 0;
}

/* Global (verified once) halves of fg_resolve_path. */
__noinline int fg_walk_g(struct fg_scratch *s, __u32 which, __u64 file, struct fg_path *out)
{
	if (!s || !out)
		return -1;
	fg_path_walk(which ? s->parent : s->bin, (volatile struct fg_walk_state *)s->walk,
		     (struct file *)file, out);
	return 0;
}

__noinline int fg_hash_g(struct fg_scratch *s, __u32 which, struct fg_path *out)
{
	if (!s || !out)
		return -1;
	fg_path_hash(which ? s->parent : s->bin, out);
	return 0;
}

__noinline int fg_resolve_path(struct fg_scratch *s, __u32 which, __u64 file, __u32 missing_flags,
			       struct fg_path *out)
{
	if (!s || !out)
		return -1;
	if (!file) {
		fg_path_empty(which ? s->parent : s->bin, out, missing_flags);
		return 0;
	}
	fg_walk_g(s, which, file, out);
	fg_hash_g(s, which, out);
	return 0;
}

/* Remember a path's text under its hash, so the agent can name hashes read from fg_execs. */
static __always_inline void fg_remember_path(struct fg_scratch *s, const char *buf,
					     const struct fg_path *p)
{
	if (bpf_map_lookup_elem(&fg_paths, &p->hash))
		return;
	s->pv.len = p->len;
	s->pv.flags = p->flags;
	s->pv.pad = 0;
	fg_path_copy(s->pv.path, buf, p);
	long err = bpf_map_update_elem(&fg_paths, &p->hash, &s->pv, BPF_NOEXIST);

	if (err && err != -17 /* EEXIST: another CPU was first */)
		fg_stat_inc(err == -7 /* E2BIG */ ? FG_STAT_MAP_FULL : FG_STAT_HELPER_ERR);
}

static __always_inline void fg_emit_exec(struct fg_scratch *s, __u32 fn_id, __u64 cgid,
					 struct linux_binprm *bprm, const struct fg_path *bin,
					 const struct fg_path *par)
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
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);

	e->filename_len = n > 0 ? n - 1 : 0;
	e->flags = (filename != interp) ? FG_EXEC_F_SCRIPT : 0;
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

/*
 * A tracked task finished an exec: count it, resolve the binary actually executed and the
 * parent process's binary from their file objects, and learn the pair.
 */
static __always_inline int fg_on_exec(const struct fg_cgroup_val *t, __u64 cgid,
				      struct linux_binprm *bprm)
{
	__u32 fn_id = t->fn_id;
	struct fg_fn_state *st = bpf_map_lookup_elem(&fg_fn_state, &fn_id);
	__u32 zero = 0;
	struct fg_scratch *s = bpf_map_lookup_elem(&fg_scratch, &zero);

	if (!st || !s)
		return 0;
	__sync_fetch_and_add(&st->execs, 1);

	struct fg_path bin = {}, par = {};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *pfile = BPF_CORE_READ(task, real_parent, mm, exe_file);

	/* an exec always has a file: its absence is a read failure; a kernel thread parent has none */
	fg_resolve_path(s, 0, (__u64)BPF_CORE_READ(bprm, file), FG_PATH_F_READ_ERR, &bin);
	fg_resolve_path(s, 1, (__u64)pfile, 0, &par);

	struct fg_exec_key key = {.fn_id = fn_id, .parent_hash = par.hash, .bin_hash = bin.hash};

	if (!fg_set_seen(&fg_execs, &key))
		return 0;
	fg_remember_path(s, s->bin, &bin);
	fg_remember_path(s, s->parent, &par);
	fg_emit_exec(s, fn_id, cgid, bprm, &bin, &par);
	return 0;
}

/* Not called: keeps the ring-buffer record types in the object's BTF, where the agent's tests
 * check their layout against the C++ side. */
__noinline int fg_btf_anchor(struct fg_syscall_event *s, struct fg_exec_event *x,
			     struct fg_net_event *n)
{
	return s && x && n;
}

SEC("raw_tracepoint/sched_process_exec")
int fg_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t)
		return 0;
	return fg_on_exec(t, cgid, (struct linux_binprm *)ctx->args[2]);
}
