/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * path.bpf.h: the absolute path of a struct file, resolved from the kernel's dentry and
 * mount objects (bpf_d_path is not allowed in tracepoints), and its hash.
 *
 * The path is built backwards in buf[0 .. FG_PATH_MAX): on return it lives at
 * buf[pos .. FG_PATH_MAX - 1) and buf[FG_PATH_MAX - 1] is its NUL. buf must be
 * 2 * FG_PATH_MAX bytes so that every masked write stays inside it.
 *
 * Paths are relative to the root of the task's mount namespace, so a container's binary
 * reads as the container sees it (/usr/bin/python3), not as an overlay directory.
 */
#pragma once

#include "common.bpf.h"

#define FG_PATH_MASK (FG_PATH_MAX - 1)

struct fg_path {
	__u32 pos;   /* first byte of the path in buf */
	__u32 len;   /* strlen */
	__u32 flags; /* FG_PATH_F_* */
	__u32 pad;
	__u64 hash;
};

/*
 * Walk state lives in the per-CPU scratch map and is read back through volatile loads at
 * every step: the verifier then sees unknown (masked) scalars at the loop head instead of a
 * different precise range per iteration, and one pass over the body suffices per iteration.
 */
struct fg_walk_state {
	__u64 dentry;
	__u64 vfsmnt;
	__u64 mnt;
	__u32 pos;
	__u32 flags;
};

/* One step up the tree. Returns 0 to go on, 1 when the walk is complete. */
static __always_inline int fg_walk_step(char *buf, volatile struct fg_walk_state *w)
{
	struct dentry *dentry = (struct dentry *)w->dentry;
	struct vfsmount *vfsmnt = (struct vfsmount *)w->vfsmnt;
	struct mount *mnt = (struct mount *)w->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry == mnt_root) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);

		if (!mp || mp == mnt) {
			/* the top: a namespace's root mount, or a mount detached from every
			 * namespace (lazily unmounted, or a runtime's private copy of itself),
			 * whose paths name nothing anyone can open */
			if (!BPF_CORE_READ(mnt, mnt_ns))
				w->flags |= FG_PATH_F_DETACHED;
			return 1;
		}
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (__u64)mp;
		w->vfsmnt = (__u64)__builtin_preserve_access_index(&mp->mnt);
		return 0;
	}
	struct qstr d_name = BPF_CORE_READ(dentry, d_name);
	__u32 len = d_name.len & (FG_NAME_MAX - 1);
	__u32 pos = w->pos;

	if (len + 1 > pos) {
		w->flags |= FG_PATH_F_TRUNCATED;
		return 1;
	}
	pos -= len + 1;
	w->pos = pos;
	fg_barrier_var(pos);
	bpf_probe_read_kernel(&buf[(pos + 1) & FG_PATH_MASK], len, d_name.name);
	buf[pos & FG_PATH_MASK] = '/';
	if (dentry == parent || !parent) {
		/* a pseudo or disconnected dentry (memfd, pipe, a lazily unmounted tree) */
		w->flags |= FG_PATH_F_DETACHED;
		return 1;
	}
	w->dentry = (__u64)parent;
	return 0;
}

/* The walk from a dentry on a mount (a file's f_path, a task's working directory). */
static __always_inline void fg_path_walk_below(char *buf, volatile struct fg_walk_state *w,
					       struct dentry *dentry, struct vfsmount *vfsmnt,
					       struct fg_path *out, __u32 end)
{
	int i, done = 0;

	buf[FG_PATH_MAX - 1] = 0;
	w->pos = end;
	w->flags = 0;
	w->dentry = (__u64)dentry;
	w->vfsmnt = (__u64)vfsmnt;
	w->mnt = (__u64)container_of(vfsmnt, struct mount, mnt);
	if (!dentry || !vfsmnt) {
		w->flags = FG_PATH_F_READ_ERR;
		done = 1;
	} else if (BPF_CORE_READ(dentry, d_inode, __i_nlink) == 0) {
		w->flags = FG_PATH_F_UNLINKED;
	}
	for (i = 0; i < FG_PATH_DEPTH && !done; i++)
		done = fg_walk_step(buf, w);
	if (!done)
		w->flags |= FG_PATH_F_TRUNCATED;

	__u32 pos = w->pos;
	__u32 flags = w->flags;

	if (pos >= FG_PATH_MAX - 1) {
		pos = FG_PATH_MAX - 2;
		buf[FG_PATH_MAX - 2] = '/';
	}
	out->pos = pos;
	out->len = FG_PATH_MAX - 1 - pos;
	out->flags = flags;
	if (flags & FG_PATH_F_TRUNCATED)
		fg_stat_inc(FG_STAT_PATH_TRUNC);
	if (flags & FG_PATH_F_READ_ERR)
		fg_stat_inc(FG_STAT_READ_FAIL);
}

/* The walk of a dentry's path; `end` < FG_PATH_MAX - 1: buf[end .. FG_PATH_MAX - 1) already
 * holds a tail (starting with '/') that the walk goes in front of. */
static __always_inline void fg_path_walk_at(char *buf, volatile struct fg_walk_state *w,
					    struct dentry *dentry, struct vfsmount *vfsmnt,
					    struct fg_path *out)
{
	fg_path_walk_below(buf, w, dentry, vfsmnt, out, FG_PATH_MAX - 1);
}

static __always_inline void fg_path_walk(char *buf, volatile struct fg_walk_state *w,
					 struct file *file, struct fg_path *out)
{
	fg_path_walk_at(buf, w, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
			out);
}

/* Hash of the walked path (see fg_abi.h for the definition user space mirrors). */
static __always_inline void fg_path_hash(const char *buf, struct fg_path *p)
{
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;
	__u32 i;

	for (i = 0; i < FG_PATH_MAX - 1; i++) {
		__u32 at = p->pos + i;

		if (at >= FG_PATH_MAX - 1)
			break;
		fg_barrier_var(at);
		h = fg_hash_step(h, buf[at & FG_PATH_MASK]);
	}
	if (p->flags) {
		h = fg_hash_step(h, 0xff);
		h = fg_hash_step(h, p->flags & 0xff);
	}
	p->hash = h;
}

/* A path with no file object: empty, hashed like "" with its flags. */
static __always_inline void fg_path_empty(char *buf, struct fg_path *p, __u32 flags)
{
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;

	buf[FG_PATH_MAX - 1] = 0;
	p->pos = FG_PATH_MAX - 1;
	p->len = 0;
	p->flags = flags;
	if (flags) {
		h = fg_hash_step(h, 0xff);
		h = fg_hash_step(h, flags & 0xff);
	}
	p->hash = h;
}

/*
 * Walk and hash the path of `file` (a struct file *, passed as a number so that this can be
 * a global function, verified once rather than at every call site) into s->bin (which == 0)
 * or s->parent (which == 1). Without a file, the path is empty with `missing_flags`.
 * Defined in process.bpf.c; other objects link against it.
 */
int fg_resolve_path(struct fg_scratch *s, __u32 which, __u64 file, __u32 missing_flags,
		    struct fg_path *out);

/* Hash of the NUL-terminated name in s->script (at most FG_FILENAME_MAX - 1 bytes): the
 * script a "#!" exec ran. Defined in path.bpf.c. */
int fg_hash_script(struct fg_scratch *s, __u32 len, struct fg_path *out);

/* Copy the walked path, NUL included, into dst (FG_PATH_MAX bytes). */
static __always_inline void fg_path_copy(char *dst, const char *buf, const struct fg_path *p)
{
	__u32 n = p->len;
	__u32 at = p->pos;

	fg_barrier_var(n);
	fg_barrier_var(at);
	n = (n & FG_PATH_MASK) + 1;

	bpf_probe_read_kernel(dst, n, &buf[at & FG_PATH_MASK]);
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
