// SPDX-License-Identifier: GPL-2.0-only
/*
 * files.bpf.c: the files each function opens (abi/fg_file.h), learned and checked on the file
 * the kernel opened, never on a user string.
 *
 * raw_tracepoint/sys_exit: after a successful open, openat, openat2, creat or
 * open_by_handle_at of a tracked task, the new descriptor's struct file (the task's fd table)
 * gives the path (the walk of path.bpf.h, in the task's mount namespace) and the access
 * (f_mode, FMODE_CREATED, O_TRUNC). Learn mode records (function, access, path) in fg_files;
 * monitor mode reports an open outside the function's file rules; enforce mode kills the
 * process before the syscall returns to user space. Behind the task mark like sys_enter, and
 * attached only while some function profiles files (BpfPrograms::SetFileHook).
 * raw_tracepoint/io_uring_complete: the same for io_uring's OPENAT and OPENAT2.
 * lsm/file_open (optional, where BPF-LSM loads): refuses the open with EPERM before the file
 * is installed and before a truncation; sys_exit stays the learner and the backstop.
 */
#include "policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_SIGKILL 9
#define FG_EPERM 1

/* include/linux/fs.h (macros, not in BTF): stable since FMODE_CREATED came in 4.19; the
 * integration test FilesTest.LearnsTheFilesOpenedAndHow fails if a kernel moves them. */
#define FG_FMODE_READ 0x1
#define FG_FMODE_WRITE 0x2
#define FG_FMODE_EXEC 0x20
#define FG_FMODE_CREATED (1U << 20)
/* UAPI open flags (asm-generic, shared by x86 and arm64) and inode types. */
#define FG_O_TRUNC 01000
#define FG_O_CREAT 0100
#define FG_O_WRONLY 01
#define FG_O_PATH 010000000
#define FG_O_TMPFILE 020000000 /* __O_TMPFILE */
#define FG_S_IFMT 0170000
#define FG_S_IFREG 0100000
#define FG_S_IFDIR 0040000
#define FG_PROC_SUPER_MAGIC 0x9fa0
#define FG_PIDTYPE_TGID 1
#define FG_IORING_OP_OPENAT 18
#define FG_IORING_OP_OPENAT2 28
#define FG_IORING_FILE_INDEX_ALLOC 0xffffffffU

/* Global functions of path.bpf.c. */
int fg_walk_g(struct fg_scratch *s, __u32 which, __u64 file, struct fg_path *out);
int fg_hash_g(struct fg_scratch *s, __u32 which, struct fg_path *out);

/* One open to learn or check. */
struct fg_file_req {
	__u64 file;   /* struct file * of the new descriptor */
	__u32 fn_id;
	__u32 oflags; /* the open's flags as far as known: O_TRUNC matters (f_flags lost it) */
	__u8 slot;    /* scratch slot of the caller */
	__u8 lsm;     /* BPF-LSM: decide only (no learning, no kill, no report unless refused) */
	__u8 trunc_unknown; /* the flags came from user memory (openat2): a regular file it did not
			     * create that is empty now counts as truncated */
	__u8 pad;
	__u32 pad2;
};

/* Whether syscall `nr` (of `arch`) opens a file; *oflags its open flags (read from the saved
 * registers, what the syscall used), *how_user the user address of openat2's struct open_how. */
static __always_inline int fg_open_syscall(struct pt_regs *regs, long nr, __u32 arch,
					   __u32 *oflags, __u64 *how_user)
{
#if defined(__TARGET_ARCH_x86)
	if (arch == FG_ARCH_COMPAT) {
		switch (nr) {
		case 5: /* open */
			*oflags = BPF_CORE_READ(regs, cx);
			return 1;
		case 8: /* creat */
			*oflags = FG_O_CREAT | FG_O_WRONLY | FG_O_TRUNC;
			return 1;
		case 295: /* openat */
		case 342: /* open_by_handle_at */
			*oflags = BPF_CORE_READ(regs, dx);
			return 1;
		case 437: /* openat2 */
			*how_user = BPF_CORE_READ(regs, dx);
			return 1;
		}
		return 0;
	}
	switch (nr) {
	case 2: /* open */
		*oflags = BPF_CORE_READ(regs, si);
		return 1;
	case 85: /* creat */
		*oflags = FG_O_CREAT | FG_O_WRONLY | FG_O_TRUNC;
		return 1;
	case 257: /* openat */
	case 304: /* open_by_handle_at */
		*oflags = BPF_CORE_READ(regs, dx);
		return 1;
	case 437: /* openat2 */
		*how_user = BPF_CORE_READ(regs, dx);
		return 1;
	}
	return 0;
#elif defined(__TARGET_ARCH_arm64)
	struct user_pt_regs *u = (struct user_pt_regs *)regs;

	(void)arch;
	switch (nr) {
	case 56:  /* openat */
	case 265: /* open_by_handle_at */
		*oflags = BPF_CORE_READ(u, regs[2]);
		return 1;
	case 437: /* openat2 */
		*how_user = BPF_CORE_READ(u, regs[2]);
		return 1;
	}
	return 0;
#else
	return 0;
#endif
}

/* The struct file behind descriptor `fd` of the current task (NULL when there is none). */
static __always_inline struct file *fg_fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;

	if (fd < 0 || !fds || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	bpf_probe_read_kernel(&f, sizeof f, &fds[fd]);
	return f;
}

/* The pid of a /proc/<pid> directory (its proc_inode), NULL for other proc entries. */
static __always_inline struct pid *fg_proc_pid(struct dentry *d)
{
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	struct proc_inode *pi;

	if (!ino)
		return 0;
	pi = (void *)ino - bpf_core_field_offset(struct proc_inode, vfs_inode);
	return BPF_CORE_READ(pi, pid);
}

/*
 * /proc/<own pid>/... reads as /proc/self/... and /proc/<own pid>/task/<own tid>/... as
 * /proc/thread-self/... (the kernel resolves those links to the numbered directories): the
 * same file whatever the pid. Decided on the proc inodes (their struct pid), not on numbers,
 * so any pid namespace and any proc mount point work. The text is rewritten in s->bin.
 */
static __always_inline void fg_proc_self(struct fg_scratch *s, struct file *f, struct fg_path *p)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct dentry *root = BPF_CORE_READ(d, d_sb, s_root);
	struct dentry *top = 0, *below = 0, *below2 = 0;
	__u32 rest = 0, below_len = 0, below2_len = 0;
	int i;

	for (i = 0; i < 8; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (parent == root) {
			top = d;
			break;
		}
		if (!parent || parent == d)
			return;
		below2 = below;
		below2_len = below_len;
		below = d;
		below_len = BPF_CORE_READ(d, d_name.len);
		rest += below_len + 1;
		d = parent;
	}
	if (!top)
		return;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pid *tgid = BPF_CORE_READ(task, signal, pids[FG_PIDTYPE_TGID]);

	if (!tgid || fg_proc_pid(top) != tgid)
		return;
	__u32 span = BPF_CORE_READ(top, d_name.len) + 1;
	char repl[16] = "/self";
	__u32 rlen = 5;

	if (below && below2 && below_len == 4) {
		char name[8] = {};

		bpf_probe_read_kernel(name, 4, BPF_CORE_READ(below, d_name.name));
		if (name[0] == 't' && name[1] == 'a' && name[2] == 's' && name[3] == 'k' &&
		    fg_proc_pid(below2) == BPF_CORE_READ(task, thread_pid)) {
			span += 5 + below2_len + 1;
			rest -= 5 + below2_len + 1;
			__builtin_memcpy(repl, "/thread-self", 13);
			rlen = 12;
		}
	}
	/* text = buf[pos, end): prefix (the proc mount point) + span + rest */
	__u32 end = FG_PATH_MAX - 1, pos = p->pos;

	if (pos > end || span + rest > end - pos)
		return;
	__u32 start = end - rest - span;
	__u32 plen = start - pos;
	__u32 npos = pos + span - rlen; /* where the prefix moves so that repl fits before rest */

	if (plen > 255 || (span < rlen && pos < rlen - span))
		return;
	char *buf = s->bin;

	fg_barrier_var(plen);
	fg_barrier_var(npos);
	bpf_probe_read_kernel(&buf[FG_PATH_MAX], plen & 255, &buf[pos & FG_PATH_MASK]);
	bpf_probe_read_kernel(&buf[npos & FG_PATH_MASK], plen & 255, &buf[FG_PATH_MAX]);
	bpf_probe_read_kernel(&buf[(npos + plen) & FG_PATH_MASK], rlen & 15, repl);
	p->pos = npos;
	p->len = end - npos;
}

/* A pseudo file with no name of its own (a pipe reopened through /proc/self/fd): "/<fs>:", the
 * name of its filesystem ("pipefs:", "anon_inodefs:"). */
static __always_inline void fg_pseudo_name(struct fg_scratch *s, struct file *f, struct fg_path *p)
{
	const char *fs = BPF_CORE_READ(f, f_path.dentry, d_sb, s_type, name);
	char name[32];
	long n = bpf_probe_read_kernel_str(name, sizeof name, fs);

	if (n <= 1)
		return;
	__u32 len = (__u32)(n - 1) & 31;
	__u32 at = FG_PATH_MAX - 2 - len;
	char *buf = s->bin;

	bpf_probe_read_kernel(&buf[at & FG_PATH_MASK], len, name);
	buf[(FG_PATH_MAX - 2) & FG_PATH_MASK] = ':';
	buf[(at - 1) & FG_PATH_MASK] = '/';
	p->pos = at - 1;
	p->len = len + 2;
}

/* A walked path's flags made canonical (and returned): each path kind of the profile
 * (docs/profile-format.md) names exactly one kernel form: anonymous (DETACHED | UNLINKED,
 * whatever its link count), deleted (UNLINKED), truncated (TRUNCATED). */
static __always_inline __u32 fg_canonical_flags(struct fg_path *out)
{
	__u32 flags = out->flags;

	if (flags & FG_PATH_F_READ_ERR)
		flags = FG_PATH_F_READ_ERR;
	else if (flags & FG_PATH_F_DETACHED)
		flags = FG_PATH_F_DETACHED | FG_PATH_F_UNLINKED;
	else if (flags & FG_PATH_F_UNLINKED)
		flags = FG_PATH_F_UNLINKED;
	out->flags = flags;
	return flags;
}

/* The path of an opened file in s->bin, its flags canonical, and its hash. Global: verified
 * once. */
__noinline int fg_file_path(struct fg_scratch *s, __u64 file, struct fg_path *out)
{
	if (!s || !out)
		return -1;
	struct file *f = (struct file *)file;

	fg_walk_g(s, 0, file, out);
	__u32 flags = fg_canonical_flags(out);

	if (!flags && BPF_CORE_READ(f, f_path.dentry, d_sb, s_magic) == FG_PROC_SUPER_MAGIC)
		fg_proc_self(s, f, out);
	if ((flags & FG_PATH_F_DETACHED) && out->len <= 1)
		fg_pseudo_name(s, f, out);
	fg_hash_g(s, 0, out);
	return 0;
}

/*
 * An O_TMPFILE file has no name ("#<inode>", unlinked): it stands as DIR/#tmpfile, a new file
 * of the directory it was made in, so every such open of one directory is one profile item and
 * a rule for the directory covers it. A plain path. Global: verified once.
 */
__noinline int fg_tmpfile_path(struct fg_scratch *s, __u64 file, struct fg_path *out)
{
	if (!s || !out)
		return -1;
	struct file *f = (struct file *)file;
	char *buf = s->bin;
	const __u32 end = FG_PATH_MAX - 1 - 9;

	__builtin_memcpy(&buf[end], "/#tmpfile", 9);
	fg_path_walk_below(buf, (volatile struct fg_walk_state *)s->walk,
			   BPF_CORE_READ(f, f_path.dentry, d_parent), BPF_CORE_READ(f, f_path.mnt),
			   out, end);
	fg_canonical_flags(out);
	fg_hash_g(s, 0, out);
	return 0;
}

/* What the rules of a generation allow a path (FG_FILE_* access, every matching rule's added
 * up): the exact path, then, for a plain path, each prefix length some "path*" rule has. */
__noinline int fg_file_granted(struct fg_scratch *s, const struct fg_file_pol *pol,
			       struct fg_file_rule_key *k, const struct fg_path *p)
{
	if (!s || !pol || !k || !p)
		return 0;
	__u32 granted = 0;
	const __u32 *v = bpf_map_lookup_elem(&fg_file_allow, k);

	if (v)
		granted |= *v;
	if (p->flags)
		return granted; /* deleted, anonymous, truncated: exact items only */
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;
	__u32 i;

	k->kind |= FG_FILE_RULE_PREFIX;
	for (i = 0; i < FG_PATH_MAX - 1; i++) {
		__u32 at = p->pos + i;

		if (at >= FG_PATH_MAX - 1)
			break;
		fg_barrier_var(at);
		h = fg_hash_step(h, s->bin[at & FG_PATH_MASK]);
		__u32 n = i + 1;

		if (!(pol->prefix_lens[(n >> 6) & (FG_FILE_PREFIX_WORDS - 1)] & (1ULL << (n & 63))))
			continue;
		k->prefix_len = n;
		k->hash = h;
		v = bpf_map_lookup_elem(&fg_file_allow, k);
		if (v)
			granted |= *v;
	}
	return granted;
}

static __always_inline void fg_emit_file(struct fg_scratch *s, __u32 fn_id, __u32 access,
					 const struct fg_path *p)
{
	struct fg_file_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	fg_fill_hdr(&e->hdr, FG_EV_FILE, sizeof(*e), fn_id, bpf_get_current_cgroup_id());
	e->hash = p->hash;
	e->access = access;
	e->path_len = p->len;
	e->path_flags = p->flags;
	fg_path_copy(e->path, s->bin, p);
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

/*
 * Learn or check one open. Returns 1 when enforce mode refuses it (the caller kills, or
 * BPF-LSM returns EPERM), else 0. Reports the violation (monitor and enforce). Global:
 * verified once, called from sys_exit, io_uring's completion and BPF-LSM.
 */
__noinline int fg_file_open(struct fg_file_req *r)
{
	if (!r)
		return 0;
	__u32 fn_id = r->fn_id;
	struct file *f = (struct file *)r->file;
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);
	struct fg_scratch *s = fg_scratch_get(r->slot);

	if (!cfg || !s)
		return 0;
	if (r->lsm && cfg->mode != FG_MODE_ENFORCE)
		return 0;
	const struct fg_file_pol *pol = 0;

	if (cfg->mode != FG_MODE_LEARN) {
		__u32 idx = fn_id * 2 + (cfg->gen & 1);

		pol = bpf_map_lookup_elem(&fg_file_pol, &idx);
		if (!pol || !(pol->flags & FG_FILE_POL_ON))
			return 0; /* no file rules: files are not checked for this section */
	}
	struct fg_path p = {};
	__u32 access = 0;

	if (!f) {
		fg_stat_inc(FG_STAT_FILE_MISS);
		fg_path_empty(s->bin, &p, FG_PATH_F_READ_ERR);
	} else {
		__u32 fmode = BPF_CORE_READ(f, f_mode);

		if (BPF_CORE_READ(f, f_flags) & FG_O_PATH)
			return 0; /* O_PATH: no access to the content (a reopen is an open) */
		__u32 imode = BPF_CORE_READ(f, f_inode, i_mode) & FG_S_IFMT;

		if (fmode & FG_FMODE_READ)
			access |= FG_FILE_READ;
		if (fmode & FG_FMODE_WRITE)
			access |= FG_FILE_WRITE;
		if (!access)
			access = FG_FILE_READ; /* open(.., 3): ioctls only */
		if (fmode & FG_FMODE_CREATED)
			access |= FG_FILE_CREATE;
		else if (imode == FG_S_IFREG &&
			 ((r->oflags & FG_O_TRUNC) ||
			  (r->trunc_unknown && BPF_CORE_READ(f, f_inode, i_size) == 0)))
			access |= FG_FILE_TRUNC; /* O_RDONLY | O_TRUNC truncates too */
		if (imode != FG_S_IFDIR && BPF_CORE_READ(f, f_inode, __i_nlink) > 1)
			access |= FG_FILE_LINKED;
		if (BPF_CORE_READ(f, f_flags) & FG_O_TMPFILE)
			fg_tmpfile_path(s, r->file, &p);
		else
			fg_file_path(s, r->file, &p);
		if (p.flags & FG_PATH_F_READ_ERR)
			fg_stat_inc(FG_STAT_FILE_MISS);
	}

	if (!pol) {
		/* Learn mode. An unreadable file is counted, never recorded as some path. */
		if (p.flags & FG_PATH_F_READ_ERR)
			return 0;
		struct fg_file_key k = {.fn_id = fn_id, .access = access, .hash = p.hash};

		if (fg_set_seen(&fg_files, &k)) {
			fg_remember_path(s, s->bin, &p);
			fg_emit_file(s, fn_id, access, &p);
		}
		return 0;
	}

	__u32 need = access & FG_FILE_ACCESS;
	struct fg_file_rule_key k = {.fn_id = fn_id,
				     .gen = cfg->gen & 1,
				     .kind = (access & FG_FILE_LINKED) ? FG_FILE_RULE_LINKED : 0,
				     .hash = p.hash};

	/* An access no rule of the generation allows needs no lookup (pol->access: their union). */
	if (!(p.flags & FG_PATH_F_READ_ERR) && !(need & ~pol->access) &&
	    !(need & ~fg_file_granted(s, pol, &k, &p)))
		return 0;
	struct fg_viol_req v = {};

	fg_task_viol(&v, cfg, fn_id, FG_VIOL_FILE, 0, 0);
	v.slot = r->slot;
	int block = fg_blocks(cfg, &v.action);

	if (r->lsm && !block)
		return 0; /* failing open: the sys_exit program reports it */
	if (block)
		v.action = r->lsm ? FG_ACT_DENIED : FG_ACT_KILLED;
	if (block && !r->lsm)
		bpf_send_signal(FG_SIGKILL); /* before the syscall returns to user space */
	/* fg_report_violation resolves the process's binary into s->bin: the path goes first. */
	fg_path_copy(s->item, s->bin, &p);
	v.item_hash = p.hash;
	v.item_len = p.len;
	v.item_flags = p.flags | (access << FG_FILE_ITEM_ACCESS_SHIFT);
	fg_report_violation(&v);
	return block;
}

static __always_inline int fg_on_sys_exit(struct bpf_raw_tracepoint_args *ctx,
					  struct task_struct *task)
{
	long ret = (long)ctx->args[1];

	if (ret < 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 oflags = 0;
	__u64 how = 0;

	if (!fg_open_syscall(regs, fg_syscall_nr(regs), fg_syscall_arch(task), &oflags, &how))
		return 0;
	const struct fg_cgroup_val *t = fg_current_entry();

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 0; /* untracked, or a container its runtime is still setting up */
	struct fg_file_req r = {.file = (__u64)fg_fd_file(task, ret),
				.fn_id = t->fn_id,
				.oflags = oflags,
				.slot = FG_SCRATCH_TP};

	if (how) {
		/* openat2: its flags are in user memory the kernel copied at entry; what is there
		 * now may differ (another thread), so an emptied file counts as truncated too */
		__u64 f64 = 0;

		bpf_probe_read_user(&f64, sizeof f64, (void *)how);
		r.oflags = (__u32)f64;
		r.trunc_unknown = 1;
	}
	fg_file_open(&r);
	return 0;
}

/*
 * sys_exit behind the task mark (fg_task_mark), where the kernel has it: an untracked task
 * returns after one load from its task_struct, as at sys_enter. The loader attaches this one
 * or fg_sys_exit_cg, and only while some function profiles files.
 */
SEC("?raw_tracepoint/sys_exit")
int fg_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (fg_task_unmarked(task))
		return 0;
	return fg_on_sys_exit(ctx, task);
}

/* The same without the mark (kernels before 6.7): the cgroup decides. */
SEC("?raw_tracepoint/sys_exit")
int fg_sys_exit_cg(struct bpf_raw_tracepoint_args *ctx)
{
	return fg_on_sys_exit(ctx, bpf_get_current_task_btf());
}

/*
 * io_uring's OPENAT and OPENAT2 open without the open syscalls: their completion (the CQE
 * being filled, in the submitter or one of its io-wq threads, which share its descriptors)
 * names the result. A "direct" open puts the file in the ring's fixed-file table instead.
 */
SEC("?raw_tracepoint/io_uring_complete")
int fg_uring_open(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[1];
	struct io_uring_cqe *cqe = (struct io_uring_cqe *)ctx->args[2];

	if (!req || !cqe)
		return 0;
	__u8 op = BPF_CORE_READ(req, opcode);

	if (op != FG_IORING_OP_OPENAT && op != FG_IORING_OP_OPENAT2)
		return 0;
	__s32 res = BPF_CORE_READ(cqe, res);

	if (res < 0)
		return 0;
	const struct fg_cgroup_val *t = fg_current_entry();

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 0;
	struct io_open *o = (struct io_open *)__builtin_preserve_access_index(&req->cmd);
	__u32 slot = BPF_CORE_READ(o, file_slot);
	struct file *f;

	if (!slot) {
		f = fg_fd_file(bpf_get_current_task_btf(), res);
	} else {
		/* fixed-file table: node->file_ptr with flag bits in its low two bits */
		__u32 idx = slot == FG_IORING_FILE_INDEX_ALLOC ? (__u32)res : slot - 1;
		struct io_ring_ctx *rctx = BPF_CORE_READ(req, ctx);
		struct io_rsrc_node **nodes = BPF_CORE_READ(rctx, file_table.data.nodes);
		struct io_rsrc_node *node = 0;

		f = 0;
		if (nodes && idx < BPF_CORE_READ(rctx, file_table.data.nr) &&
		    !bpf_probe_read_kernel(&node, sizeof node, &nodes[idx]) && node)
			f = (struct file *)(BPF_CORE_READ(node, file_ptr) & ~3UL);
	}
	struct fg_file_req r = {.file = (__u64)f,
				.fn_id = t->fn_id,
				.oflags = (__u32)BPF_CORE_READ(o, how.flags),
				.slot = FG_SCRATCH_TP};

	fg_file_open(&r);
	return 0;
}

/*
 * BPF-LSM, optional (autoload off unless the LSM load probe passed): an open outside the
 * profile fails with EPERM before its descriptor exists and before an O_TRUNC truncates (a
 * file O_CREAT made exists by now, empty). The kernel's own opens are not the function's: an
 * exec's (exec rules decide), and those under borrowed credentials (overlayfs opening its
 * backing files, copy-up).
 */
SEC("?lsm/file_open")
int BPF_PROG(fg_lsm_file, struct file *file, int ret)
{
	if (ret)
		return ret;
	if (BPF_CORE_READ(file, f_mode) & FG_FMODE_EXEC)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();

	if (BPF_CORE_READ(task, cred) != BPF_CORE_READ(task, real_cred))
		return 0;
	const struct fg_cgroup_val *t = fg_lookup_cgroup(bpf_get_current_cgroup_id());

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 0;
	struct fg_file_req r = {.file = (__u64)file,
				.fn_id = t->fn_id,
				.oflags = BPF_CORE_READ(file, f_flags),
				.slot = FG_SCRATCH_LSM,
				.lsm = 1};

	return fg_file_open(&r) ? -FG_EPERM : 0;
}

/* Not called: keeps fg_file_event in the object's BTF for the layout test. */
__noinline int fg_file_btf_anchor(struct fg_file_event *e)
{
	return e != 0;
}
