// SPDX-License-Identifier: GPL-2.0-only
/*
 * path.bpf.c: the global BPF functions (each verified once, then called from several
 * programs): path walks and hashes, the exec allow-list check, the violation report.
 */
#include "policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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

__noinline int fg_hash_script(struct fg_scratch *s, __u32 len, struct fg_path *out)
{
	if (!s || !out)
		return -1;
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;
	__u32 i;

	for (i = 0; i < FG_FILENAME_MAX - 1 && i < len; i++) {
		__u32 at = i;

		fg_barrier_var(at);
		h = fg_hash_step(h, s->script[at & (FG_FILENAME_MAX - 1)]);
	}
	out->pos = 0;
	out->len = i;
	out->flags = 0;
	out->hash = h;
	return 0;
}

/* A script rule learned before scripts were resolved (a relative name): matched by the name as
 * given, looked up only where the section has such rules (fg_sock.h). */
static __always_inline int fg_exec_by_name(const struct fg_exec_check *c)
{
	struct fg_exec_rule_key k = {
		.fn_id = c->fn_id,
		.gen = c->gen & 1,
		.kind = FG_EXEC_RULE_SCRIPT_NAME,
	};

	if (!bpf_map_lookup_elem(&fg_exec_allow, &k))
		return 0;
	k.parent_hash = c->parent_hash;
	k.bin_hash = c->bin.hash;
	k.script_hash = c->name_hash;
	if (bpf_map_lookup_elem(&fg_exec_allow, &k))
		return 1;
	k.kind = FG_EXEC_RULE_SCRIPT_NAME | FG_EXEC_RULE_ANY_PARENT;
	k.parent_hash = 0;
	return bpf_map_lookup_elem(&fg_exec_allow, &k) != 0;
}

__noinline int fg_exec_allowed(struct fg_scratch *s, struct fg_exec_check *c)
{
	if (!s || !c)
		return 0;
	struct fg_exec_rule_key k = {
		.fn_id = c->fn_id,
		.gen = c->gen & 1,
		.parent_hash = c->parent_hash,
		.bin_hash = c->bin.hash,
		.script_hash = c->script_hash,
	};

	if (bpf_map_lookup_elem(&fg_exec_allow, &k))
		return 1;
	k.kind = FG_EXEC_RULE_ANY_PARENT;
	k.parent_hash = 0;
	if (bpf_map_lookup_elem(&fg_exec_allow, &k))
		return 1;
	if (c->name_hash && fg_exec_by_name(c))
		return 1;
	/* "path*" rules: the hash of every prefix of a plain path, computed as we go. */
	if (!(c->cfg_flags & FG_CFG_F_EXEC_PREFIX) || c->bin.flags)
		return 0;
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;
	__u32 i;

	k.script_hash = 0;
	for (i = 0; i < FG_PATH_MAX - 1; i++) {
		__u32 at = c->bin.pos + i;

		if (at >= FG_PATH_MAX - 1)
			break;
		fg_barrier_var(at);
		h = fg_hash_step(h, s->bin[at & FG_PATH_MASK]);
		k.prefix_len = i + 1;
		k.bin_hash = h;
		k.kind = FG_EXEC_RULE_PREFIX;
		k.parent_hash = c->parent_hash;
		if (bpf_map_lookup_elem(&fg_exec_allow, &k))
			return 1;
		k.kind = FG_EXEC_RULE_PREFIX | FG_EXEC_RULE_ANY_PARENT;
		k.parent_hash = 0;
		if (bpf_map_lookup_elem(&fg_exec_allow, &k))
			return 1;
	}
	return 0;
}

__noinline int fg_report_violation(struct fg_viol_req *r)
{
	if (!r)
		return 0;
	__u32 fn_id = r->fn_id;
	struct fg_fn_state *st = bpf_map_lookup_elem(&fg_fn_state, &fn_id);

	if (!st)
		return 0;
	__sync_fetch_and_add(&st->viol[r->kind & (FG_VIOL_KINDS - 1)], 1);

	/* A budget of records per function per second: a loop of violations cannot flood the
	 * ring buffer (and starve everyone's events); every violation is still counted above. */
	__u64 now = bpf_ktime_get_boot_ns();

	if (now - st->viol_window_ns > 1000000000ULL) {
		st->viol_window_ns = now;
		st->viol_in_window = 0;
	}
	if (__sync_fetch_and_add(&st->viol_in_window, 1) >= FG_VIOL_BUDGET) {
		__sync_fetch_and_add(&st->viol_suppressed, 1);
		return 0;
	}
	struct fg_scratch *s = fg_scratch_get(r->slot);

	if (!s)
		return 0;
	struct fg_path bin = r->bin, par = r->parent;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const int no_task = r->req_flags & FG_VREQ_NO_TASK;

	if (r->kind != FG_VIOL_EXEC && !no_task) {
		fg_resolve_path(s, 0, (__u64)BPF_CORE_READ(task, mm, exe_file), 0, &bin);
		fg_resolve_path(s, 1, (__u64)BPF_CORE_READ(task, real_parent, mm, exe_file), 0, &par);
	}
	struct fg_violation_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return 0;
	}
	fg_fill_hdr(&e->hdr, FG_EV_VIOLATION, sizeof(*e), fn_id, r->cgid);
	if (no_task) {
		e->hdr.pid = 0;
		e->hdr.tid = 0;
	}
	e->kind = r->kind;
	e->action = r->action;
	e->mode = r->mode;
	e->pad = 0;
	e->uid = no_task ? 0 : (__u32)bpf_get_current_uid_gid();
	e->ppid = no_task ? 0 : BPF_CORE_READ(task, real_parent, tgid);
	e->nr = r->nr;
	e->arch = r->arch;
	e->pad2 = 0;
	e->net = r->net;
	e->bin_hash = bin.hash;
	e->parent_hash = par.hash;
	e->script_hash = r->script_hash;
	e->bin_len = bin.len;
	e->bin_flags = bin.flags;
	e->parent_len = par.len;
	e->parent_flags = par.flags;
	e->pad3 = 0;
	e->exec_flags = r->exec_flags;
	if (no_task) {
		e->comm[0] = 0;
		e->bin[0] = 0;
		e->parent[0] = 0;
		e->bin_len = 0;
		e->parent_len = 0;
	} else {
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		fg_path_copy(e->bin, s->bin, &bin);
		fg_path_copy(e->parent, s->parent, &par);
	}
	e->filename_len = 0;
	e->filename[0] = 0;
	if (r->exec_flags & FG_EXEC_F_SCRIPT) {
		long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), s->script);

		e->filename_len = n > 0 ? n - 1 : 0;
	}
	e->item_hash = r->item_hash;
	e->item_flags = r->item_flags;
	e->item_len = 0;
	e->pad4 = 0;
	e->item[0] = 0;
	__u32 len = r->item_len;

	if (len > FG_PATH_MAX - 1)
		len = FG_PATH_MAX - 1;
	if (len && !bpf_probe_read_kernel(e->item, len & (FG_PATH_MAX - 1), s->item)) {
		e->item_len = len;
		e->item[len & (FG_PATH_MAX - 1)] = 0;
	}
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
	return 0;
}
