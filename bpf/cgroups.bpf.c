// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroups.bpf.c: cgroup v2 directories as they come and go.
 *
 * A pod-level cgroup the agent registered with FG_CG_F_POD passes its slot to every cgroup
 * created under it, here, in the kernel, before any task can enter the new cgroup: a new
 * container of a known function is covered from its first syscall even before the agent has
 * named it through the CRI. Such a cgroup starts FG_CG_F_PENDING: the container runtime's own
 * setup (runc init) runs in it first and is neither learned nor checked; the first exec (the
 * container's entrypoint) clears the flag (process.bpf.c).
 *
 * Every mkdir/rmdir of the v2 hierarchy is also sent to user space, which maps it to a pod
 * and container. cgroup creation is rare: this is not a hot path.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_DFL_HIERARCHY 0 /* cgroup v2's hierarchy id (v1 hierarchies count from 1) */

static __always_inline int fg_on_cgroup(struct bpf_raw_tracepoint_args *ctx, __u32 op)
{
	struct cgroup *cg = (struct cgroup *)ctx->args[0];
	const char *path = (const char *)ctx->args[1];

	if (BPF_CORE_READ(cg, root, hierarchy_id) != FG_DFL_HIERARCHY)
		return 0;
	__u64 id = BPF_CORE_READ(cg, kn, id);
	/* struct cgroup starts with its css, whose parent is the parent cgroup's css */
	struct cgroup *parent = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	__u64 parent_id = parent ? BPF_CORE_READ(parent, kn, id) : 0;
	__u32 inherited = 0;

	if (op == FG_CGROUP_MKDIR) {
		const struct fg_cgroup_val *p = fg_lookup_cgroup(parent_id);

		if (p && (p->flags & FG_CG_F_POD)) {
			struct fg_cgroup_val v = {.fn_id = p->fn_id,
						  .flags = FG_CG_F_INHERITED | FG_CG_F_PENDING};
			long err = bpf_map_update_elem(&fg_tracked, &id, &v, BPF_NOEXIST);

			if (err && err != -17 /* EEXIST */)
				fg_stat_inc(err == -7 /* E2BIG */ ? FG_STAT_MAP_FULL
								  : FG_STAT_HELPER_ERR);
			inherited = !err;
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
	return fg_on_cgroup(ctx, FG_CGROUP_MKDIR);
}

SEC("raw_tracepoint/cgroup_rmdir")
int fg_cgroup_rmdir(struct bpf_raw_tracepoint_args *ctx)
{
	return fg_on_cgroup(ctx, FG_CGROUP_RMDIR);
}
