/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * name.bpf.h: a name given to the kernel (the script a "#!" exec runs, a Unix socket's path)
 * as the absolute path it stands for, when no file object is at hand to walk: a relative name
 * is joined to the working directory of the task that gave it (task->fs->pwd, walked like a
 * file's path), and normalised as text. "." and empty components go; ".." takes back a
 * component of the working directory (real directories: the walk resolved them), and stays
 * as written after a component of the name itself, which may be a symlink whose ".." is
 * elsewhere. An absolute name is kept as given but for "." and empty components.
 *
 * The work happens in a slot of fg_name_scr: tracepoints use FG_NAME_TP, BPF-LSM FG_NAME_LSM;
 * the cgroup hooks can be preempted by another task on the same CPU, so they claim a free slot
 * for the length of one run (fg_name_claim / fg_name_release).
 */
#pragma once

#include "path.bpf.h"

#define FG_NAME_TP 0
#define FG_NAME_LSM 1
#define FG_NAME_CLAIM_FIRST 2
#define FG_NAME_SLOTS 6

static __always_inline struct fg_name_scratch *fg_name_slot(__u32 slot)
{
	return bpf_map_lookup_elem(&fg_name_scr, &slot);
}

/* A free slot of this CPU for one run of a cgroup hook, or NULL (counted). */
static __always_inline struct fg_name_scratch *fg_name_claim(void)
{
	for (__u32 i = FG_NAME_CLAIM_FIRST; i < FG_NAME_SLOTS; i++) {
		struct fg_name_scratch *n = bpf_map_lookup_elem(&fg_name_scr, &i);

		if (n && __sync_val_compare_and_swap(&n->busy, 0, 1) == 0)
			return n;
	}
	fg_stat_inc(FG_STAT_SCRATCH_BUSY);
	return 0;
}

static __always_inline void fg_name_release(struct fg_name_scratch *n)
{
	asm volatile("" ::: "memory");
	n->busy = 0;
}

/*
 * Resolve the `len` bytes of n->name into n->out[0 .. out->len), NUL-terminated: a path as
 * above, or (abstract != 0) the bytes as they are, flagged FG_PATH_F_ABSTRACT. out->flags are
 * FG_PATH_F_* (the working directory's, TRUNCATED when the result does not fit), out->hash the
 * path hash of the text with those flags. Global: verified once. Defined in name.bpf.c.
 */
int fg_resolve_name(struct fg_name_scratch *n, __u32 len, __u32 abstract, struct fg_path *out);

/* Remember a resolved name's text under its hash in fg_paths (as fg_remember_path). */
static __always_inline void fg_remember_name(struct fg_name_scratch *n, const struct fg_path *p)
{
	if (bpf_map_lookup_elem(&fg_paths, &p->hash))
		return;
	__u32 len = p->len & FG_PATH_MASK;

	n->pv.len = len;
	n->pv.flags = p->flags;
	n->pv.pad = 0;
	bpf_probe_read_kernel(n->pv.path, len + 1, n->out);
	long err = bpf_map_update_elem(&fg_paths, &p->hash, &n->pv, BPF_NOEXIST);

	if (err && err != -17 /* EEXIST: another CPU was first */)
		fg_stat_inc(err == -7 /* E2BIG */ ? FG_STAT_MAP_FULL : FG_STAT_HELPER_ERR);
}
