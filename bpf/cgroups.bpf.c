// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroups.bpf.c: cgroup v2 directories as they come and go.
 *
 * A tracked cgroup passes its slot to every cgroup created under it, here, in the kernel,
 * before any task can enter the new cgroup. Under a pod-level cgroup (FG_CG_F_POD): a new
 * container of a known function is covered from its first syscall even before the agent has
 * named it through the CRI; it starts FG_CG_F_PENDING: the container runtime's own setup
 * (runc init) runs in it first and is neither learned nor checked; the first exec (the
 * container's entrypoint) clears the flag (process.bpf.c). Under a container's cgroup (a
 * runtime's nested cgroup, or a process of the function moving itself into a cgroup it made):
 * the child is the same function, pending exactly when its parent is, so leaving for a new
 * cgroup escapes nothing.
 *
 * Every mkdir/rmdir of the v2 hierarchy is also sent to user space, which maps it to a pod
 * and container. cgroup creation is rare: this is not a hot path.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_DFL_HIERARCHY 0 /* cgroup v2's hierarchy id (v1 hierarchies count from 1) */

/* `trusted`: cg is a BTF pointer (tp_btf), so the new cgroup's fg_cg_local entry can be
 * written now, at mkdir, and sys_enter checks a task moved into it from its first syscall
 * (the raw tracepoint variant leaves that to the first exec there). */
static __always_inline int fg_on_cgroup(struct cgroup *cg, const char *path, __u32 op,
					bool trusted)
{
	if (BPF_CORE_READ(cg, root, hierarchy_id) != FG_DFL_HIERARCHY)
		return 0;
	__u64 id = BPF_CORE_READ(cg, kn, id);
	/* struct cgroup starts with its css, whose parent is the parent cgroup's css */
	struct cgroup *parent = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	__u64 parent_id = parent ? BPF_CORE_READ(parent, kn, id) : 0;
	__u32 inherited = 0;

	if (op == FG_CGROUP_MKDIR) {
		const struct fg_cgroup_val *p = fg_lookup_cgroup(parent_id);

		if (p) {
			__u32 pending = (p->flags & FG_CG_F_POD) ? FG_CG_F_PENDING
								 : (p->flags & FG_CG_F_PENDING);
			struct fg_cgroup_val v = {.fn_id = p->fn_id,
						  .flags = FG_CG_F_INHERITED | pending};
			long err = bpf_map_update_elem(&fg_tracked, &id, &v, BPF_NOEXIST);

			if (err && err != -17 /* EEXIST */)
				fg_stat_inc(err == -7 /* E2BIG */ ? FG_STAT_MAP_FULL
								  : FG_STAT_HELPER_ERR);
			inherited = !err;
			if (inherited && trusted && fg_cg_local_on) {
				struct fg_cgroup_val *m = bpf_cgrp_storage_get(
					&fg_cg_local, cg, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

				if (m)
					*m = v;
				else
					fg_stat_inc(FG_STAT_HELPER_ERR);
			}
		}
	} else {
		const struct fg_cgroup_val *v = fg_lookup_cgroup(id);

		/* what the kernel added, the kernel removes (the agent may never have seen it) */
		if (v && (v->flags & FG_CG_F_INHERITED))
			bpf_map_delete_elem(&fg_tracked, &id);
	}

	struct fg_cgroup_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return 0;
	}
	fg_fill_hdr(&e->hdr, FG_EV_CGROUP, sizeof(*e), 0, id);
	e->parent_id = parent_id;
	e->op = op;
	e->level = BPF_CORE_READ(cg, level);
	e->inherited = inherited;
	long n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);

	e->path_len = n > 0 ? n - 1 : 0;
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
	return 0;
}

SEC("raw_tracepoint/cgroup_mkdir")
int fg_cgroup_mkdir(struct bpf_raw_tracepoint_args *ctx)
{
	return fg_on_cgroup((struct cgroup *)ctx->args[0], (const char *)ctx->args[1],
			    FG_CGROUP_MKDIR, false);
}

/* The same with a BTF-typed cgroup, where the kernel has tp_btf and cgroup local storage: the
 * agent then loads this one instead of the raw tracepoint (autoload). */
SEC("?tp_btf/cgroup_mkdir")
int BPF_PROG(fg_cgroup_mkdir_btf, struct cgroup *cg, const char *path)
{
	return fg_on_cgroup(cg, path, FG_CGROUP_MKDIR, true);
}

SEC("raw_tracepoint/cgroup_rmdir")
int fg_cgroup_rmdir(struct bpf_raw_tracepoint_args *ctx)
{
	return fg_on_cgroup((struct cgroup *)ctx->args[0], (const char *)ctx->args[1],
			    FG_CGROUP_RMDIR, false);
}
