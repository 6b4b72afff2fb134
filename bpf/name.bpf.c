// SPDX-License-Identifier: GPL-2.0-only
/*
 * name.bpf.c: the global functions of name.bpf.h (each verified once): a name given to the
 * kernel resolved to the absolute path it stands for, against the working directory.
 */
#include "name.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The current task's working directory, `ups` levels up (the ".." the kernel will follow:
 * crossing mounts, never above the namespace's root): its dentry and mount into n->walk. */
__noinline int fg_cwd_up(struct fg_name_scratch *n, __u32 ups)
{
	if (!n)
		return -1;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	volatile struct fg_walk_state *w = (volatile struct fg_walk_state *)n->walk;

	w->dentry = (__u64)BPF_CORE_READ(task, fs, pwd.dentry);
	w->vfsmnt = (__u64)BPF_CORE_READ(task, fs, pwd.mnt);
	n->ups = ups;
	for (int i = 0; i < FG_PATH_DEPTH; i++) {
		struct dentry *dentry = (struct dentry *)w->dentry;
		struct vfsmount *vfsmnt = (struct vfsmount *)w->vfsmnt;

		if (!*(volatile __u32 *)&n->ups || !dentry || !vfsmnt)
			break;
		if (dentry != BPF_CORE_READ(vfsmnt, mnt_root)) {
			w->dentry = (__u64)BPF_CORE_READ(dentry, d_parent);
			n->ups = *(volatile __u32 *)&n->ups - 1;
			continue;
		}
		struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);

		if (!mp || mp == mnt)
			break; /* the root: its ".." is itself */
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->vfsmnt = (__u64)__builtin_preserve_access_index(&mp->mnt);
	}
	return 0;
}

/* The path of the directory fg_cwd_up left in n->walk, into n->cwd (backwards). */
__noinline int fg_walk_cwd(struct fg_name_scratch *n, struct fg_path *out)
{
	if (!n || !out)
		return -1;
	volatile struct fg_walk_state *w = (volatile struct fg_walk_state *)n->walk;
	struct dentry *dentry = (struct dentry *)w->dentry;
	struct vfsmount *vfsmnt = (struct vfsmount *)w->vfsmnt;

	if (!dentry || !vfsmnt) {
		/* a kernel thread or an exiting task: no directory to resolve against */
		n->cwd[FG_PATH_MAX - 1] = 0;
		out->pos = FG_PATH_MAX - 1;
		out->len = 0;
		out->flags = FG_PATH_F_READ_ERR;
		return 0;
	}
	fg_path_walk_at(n->cwd, w, dentry, vfsmnt, out);
	return 0;
}

#define FG_NAME_LEADING 128 /* leading components looked at */

/*
 * The name's leading run of ".", ".." and empty components: only there does ".." take a
 * directory of the working directory's path (after a component of the name, which may be a
 * symlink, it is kept as written). Leaves where the rest starts in n->at, the ".." in n->ups.
 * The loop state is kept in the scratch slot and read back through volatile (as the path
 * walk's): unknown scalars at the loop head, one state per iteration for the verifier.
 */
__noinline int fg_name_leading(struct fg_name_scratch *n, __u32 len)
{
	if (!n)
		return -1;
	volatile __u32 *at = &n->at, *ups = &n->ups, *step = &n->step;

	*at = 0;
	*ups = 0;
	len &= FG_NAME_MAX - 1;
	/* two '/' after the name: a component ends there */
	n->name[len] = '/';
	n->name[(len + 1) & FG_PATH_MASK] = '/';
	for (int i = 0; i < FG_NAME_LEADING; i++) {
		__u32 a = *at;

		if (a >= len)
			break;
		char c0 = n->name[a & FG_PATH_MASK];
		char c1 = n->name[(a + 1) & FG_PATH_MASK];
		char c2 = n->name[(a + 2) & FG_PATH_MASK];
		__u32 s = 0;

		if (c0 == '/')
			s = 1;
		else if (c0 == '.' && c1 == '/')
			s = 2;
		else if (c0 == '.' && c1 == '.' && c2 == '/')
			s = 3;
		*step = s;
		s = *step; /* read back: the paths above meet here as one state */
		if (!s)
			break;
		*at = a + s;
		if (s == 3)
			*ups = *ups + 1;
	}
	if (*at > len)
		*at = len;
	return 0;
}

/* The path hash of n->out[0 .. len) with `flags` (fg_abi.h). */
__noinline __u64 fg_hash_out(struct fg_name_scratch *n, __u32 len, __u32 flags)
{
	if (!n)
		return 0;
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;

	for (__u32 i = 0; i < FG_PATH_MAX - 1 && i < len; i++) {
		__u32 at = i;

		fg_barrier_var(at);
		h = fg_hash_step(h, n->out[at & FG_PATH_MASK]);
	}
	if (flags) {
		h = fg_hash_step(h, 0xff);
		h = fg_hash_step(h, flags & 0xff);
	}
	return h;
}

__noinline int fg_resolve_name(struct fg_name_scratch *n, __u32 len, __u32 abstract,
			       struct fg_path *out)
{
	if (!n || !out)
		return -1;
	__u32 o = 0, flags = 0;

	if (len > FG_NAME_MAX - 1)
		len = FG_NAME_MAX - 1;
	len &= FG_NAME_MAX - 1;
	if (abstract) {
		/* an abstract Unix name: its bytes, NULs included */
		bpf_probe_read_kernel(n->out, len, n->name);
		o = len;
		flags = FG_PATH_F_ABSTRACT;
	} else {
		const int relative = len == 0 || n->name[0] != '/';

		fg_name_leading(n, len);
		__u32 rest = n->at & (FG_NAME_MAX - 1);

		if (relative) {
			struct fg_path cwd = {};

			fg_cwd_up(n, n->ups);
			fg_walk_cwd(n, &cwd);
			flags = cwd.flags;
			/* the directory, without the root's lone '/' */
			if (cwd.len > 1) {
				/* a directory of more than 511 bytes is kept truncated (flagged): it
				 * then matches no rule */
				o = cwd.len;
				if (o > FG_PATH_MAX / 2 - 1) {
					o = FG_PATH_MAX / 2 - 1;
					flags |= FG_PATH_F_TRUNCATED;
				}
				bpf_probe_read_kernel(n->out, o, &n->cwd[cwd.pos & FG_PATH_MASK]);
			}
		}
		__u32 tail = (len - rest) & (FG_NAME_MAX - 1);

		if (tail) {
			n->out[o & (FG_PATH_MAX / 2 - 1)] = '/';
			o = (o + 1) & (FG_PATH_MAX / 2 - 1);
			bpf_probe_read_kernel(&n->out[o], tail, &n->name[rest]);
			o += tail;
		}
		if (o == 0) {
			n->out[0] = '/';
			o = 1;
		}
	}
	o &= FG_PATH_MASK;
	n->out[o] = 0;
	out->pos = 0;
	out->len = o;
	out->flags = flags;
	if (flags & FG_PATH_F_TRUNCATED)
		fg_stat_inc(FG_STAT_PATH_TRUNC);
	out->hash = fg_hash_out(n, o, flags);
	return 0;
}
