// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscalls.bpf.c: per-function syscall sets, learned in the kernel; in monitor and enforce
 * mode, the syscall allow-list where no seccomp filter refuses syscalls before they run:
 * enforce kills for a syscall in the function's kill set (the sensitive class) and reports
 * any other (or kills, per function). A kill here comes after the syscall ran: the seccomp
 * filter compiled from the profile (agent/seccomp/) is the refusal; a cgroup whose tasks run
 * under it (FG_CG_F_SECCOMP) is passed.
 * io_uring: the opcodes a function submits (io_uring_submit_req), learned; in monitor and
 * enforce mode an opcode it never submitted is reported (nothing can refuse it here).
 */
#include "policy.bpf.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_SIGKILL 9

static __always_inline void fg_emit_syscall(__u32 fn_id, __u32 nr, __u32 arch)
{
	__u64 cgid = bpf_get_current_cgroup_id(); /* only here: a helper call the hot path skips */
	struct fg_syscall_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	fg_fill_hdr(&e->hdr, FG_EV_SYSCALL, sizeof(*e), fn_id, cgid);
	e->nr = nr;
	e->arch = arch;
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

/* Learn mode: set the syscall's bit; the first sighting goes to user space. */
static __always_inline int fg_learn_syscall(__u32 fn_id, long id, __u32 arch)
{
	struct fg_fn_state *st = bpf_map_lookup_elem(&fg_fn_state, &fn_id);

	if (!st)
		return 0;
	if (id < 0 || id >= FG_SYS_MAX) {
		fg_stat_inc(FG_STAT_SYS_RANGE);
		return 0;
	}
	__u32 w = ((__u32)id >> 6) & (FG_SYS_WORDS - 1);
	__u64 bit = 1ULL << (id & 63);
	__u64 *word = arch == FG_ARCH_COMPAT ? &st->sys_compat[w] : &st->sys[w];

	if (*word & bit)
		return 0; /* steady state: known syscall, nothing to send */
	if (__sync_fetch_and_or(word, bit) & bit)
		return 0; /* another CPU won the race */
	fg_emit_syscall(fn_id, (__u32)id, arch);
	return 0;
}

/* The caller's number for a pid in its own pid namespace. */
static __always_inline __u32 fg_pid_vnr(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	if (bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]))
		return 0;
	return (__u32)up.nr;
}

/*
 * The signal calls are sensitive only when they reach another process: runtimes signal their
 * own threads (Go's preemption, raise() for abort), and a signal 0 only asks whether a process
 * exists. 1 when this call stays within the caller's process (or sends nothing): it then takes
 * the action for harmless syscalls. pidfd_send_signal names its target by a descriptor: another
 * process unless the signal is 0.
 */
static __always_inline int fg_signal_stays_home(const struct pt_regs *regs, long id, __u32 arch,
						struct task_struct *task)
{
	int kill = -1, tkill = -1, tgkill = -1, sigq = -1, tgsigq = -1, pidfd = 424;

#if defined(__TARGET_ARCH_x86)
	if (arch == FG_ARCH_COMPAT) {
		kill = 37, tkill = 238, tgkill = 270, sigq = 178, tgsigq = 335;
	} else {
		kill = 62, tkill = 200, tgkill = 234, sigq = 129, tgsigq = 297;
	}
#elif defined(__TARGET_ARCH_arm64)
	kill = 129, tkill = 130, tgkill = 131, sigq = 138, tgsigq = 240;
#endif
	if (id != kill && id != tkill && id != tgkill && id != sigq && id != tgsigq && id != pidfd)
		return 0;
	long a0 = PT_REGS_PARM1_CORE_SYSCALL(regs);
	long a1 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	long a2 = PT_REGS_PARM3_CORE_SYSCALL(regs);
	long sig = (id == tgkill || id == tgsigq) ? a2 : a1;

	if (sig == 0)
		return 1;
	if (id == pidfd)
		return 0;
	__u32 tgid = fg_pid_vnr(BPF_CORE_READ(task, group_leader, thread_pid));

	if (id == tkill)
		return (__u32)a0 == fg_pid_vnr(BPF_CORE_READ(task, thread_pid));
	return a0 > 0 && (__u32)a0 == tgid;
}

/* Monitor / enforce mode: a syscall outside the allow-list is reported, and in enforce mode
 * one in the function's kill set (the sensitive class), or any with action kill, gets SIGKILL,
 * delivered when the syscall returns (it ran: the seccomp filter is the refusal). */
static __always_inline int fg_check_syscall(const struct fg_fn_cfg *cfg, __u32 fn_id, long id,
					    __u32 arch, const struct pt_regs *regs,
					    struct task_struct *task)
{
	if (fg_sys_allowed(fn_id, cfg->gen, arch, id))
		return 0;
	struct fg_viol_req r = {};

	fg_task_viol(&r, cfg, fn_id, FG_VIOL_SYSCALL, (__u32)id, arch);

	if (fg_blocks(cfg, &r.action)) {
		__u32 idx = fn_id * 2 + (cfg->gen & 1);
		const struct fg_sys_allow *a = bpf_map_lookup_elem(&fg_sys_allow, &idx);
		int kill = cfg->sys_action == FG_SYS_KILL ||
			   (a && fg_sys_bit(a->kill, a->kill_compat, id, arch) &&
			    !fg_signal_stays_home(regs, id, arch, task));

		if (kill) {
			bpf_send_signal(FG_SIGKILL);
			r.action = FG_ACT_KILLED;
		} else {
			r.action = FG_ACT_ALERT;
		}
	}
	fg_report_violation(&r);
	return 0;
}

/* After the slow path: this CPU's cache takes the current cgroup's decision data, the learned
 * syscalls in learn mode, the allowed ones otherwise. `gen` was read before the slow path: if
 * the agent changed anything since, the entry is stale from birth and never used. */
static __always_inline void fg_cache_fill(struct fg_cpu_cache *c, __u64 gen, __u64 serial,
					  __u32 fn_id, const struct fg_fn_cfg *cfg)
{
	const __u64 *sys, *compat;

	if (cfg->mode == FG_MODE_LEARN) {
		const struct fg_fn_state *st = bpf_map_lookup_elem(&fg_fn_state, &fn_id);

		if (!st)
			return;
		sys = st->sys;
		compat = st->sys_compat;
	} else {
		__u32 idx = fn_id * 2 + (cfg->gen & 1);
		const struct fg_sys_allow *a = bpf_map_lookup_elem(&fg_sys_allow, &idx);

		if (!a)
			return;
		sys = a->sys;
		compat = a->sys_compat;
	}
	c->entry_gen = 0;
	c->serial = serial;
	for (int i = 0; i < FG_SYS_WORDS; i++) {
		c->sys[i] = sys[i];
		c->sys_compat[i] = compat[i];
	}
	fg_sock_uncache(c->sys);
	c->entry_gen = gen;
}

static __always_inline int fg_on_sys_enter(struct bpf_raw_tracepoint_args *ctx,
					   struct task_struct *task)
{
	long id = (long)ctx->args[1];
	struct fg_cpu_cache *c = 0;
	__u64 serial = 0, gen = 0;
	const struct fg_cgroup_val *t;

	if (fg_cg_local_on) {
		struct cgroup *cg = task->cgroups->dfl_cgrp;

		/* A cgroup no BPF program keeps anything on is untracked: no helper call (what it
		 * saves: docs/benchmarks.md). */
		if (bpf_core_field_exists(cg->bpf_cgrp_storage) && !cg->bpf_cgrp_storage)
			return 0;
		/* The steady state of a tracked task: this CPU's cache says the syscall is learned
		 * (learn) or allowed (monitor, enforce). Anything else takes the full path. */
		__u32 zero = 0;

		c = bpf_map_lookup_elem(&fg_cpu_cache, &zero);
		serial = cg->self.serial_nr;
		if (c) {
			gen = c->gen;
			if (gen && c->entry_gen == gen && c->serial == serial &&
			    fg_sys_bit(c->sys, c->sys_compat, id, fg_syscall_arch(task)))
				return 0;
		}
		t = bpf_cgrp_storage_get(&fg_cg_local, cg, 0, 0);
	} else {
		t = fg_lookup_cgroup(bpf_get_current_cgroup_id());
	}
	if (!t || (t->flags & (FG_CG_F_PENDING | FG_CG_F_SECCOMP)))
		return 0; /* untracked, a container still being set up by its runtime, or one whose
			   * seccomp filter refuses before the syscall runs */
	__u32 fn_id = t->fn_id;
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);

	if (!cfg)
		return 0;
	__u32 arch = fg_syscall_arch(task);

	if (cfg->mode == FG_MODE_LEARN)
		fg_learn_syscall(fn_id, id, arch);
	else
		fg_check_syscall(cfg, fn_id, id, arch, (const struct pt_regs *)ctx->args[0], task);
	fg_sock_syscall(ctx, id, arch, fn_id, cfg);
	if (c)
		fg_cache_fill(c, gen, serial, fn_id, cfg);
	return 0;
}

/*
 * sys_enter behind the task mark (fg_task_mark), where the kernel has it (the agent loads this
 * one or fg_sys_enter_cg): a task without any task local storage is in no tracked cgroup, and
 * returns after one load from its task_struct, the whole cost of an untracked syscall. The
 * test comes before anything else, configuration flags included: reading .rodata touches one
 * more page, a TLB miss per syscall on hosts with page-table isolation and no PCID
 * (docs/benchmarks.md, "Tried and not kept").
 */
SEC("?raw_tracepoint/sys_enter")
int fg_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (fg_task_unmarked(task))
		return 0;
	return fg_on_sys_enter(ctx, task);
}

/* The same without the mark (kernels before 6.7): the cgroup decides from the first load. */
SEC("raw_tracepoint/sys_enter")
int fg_sys_enter_cg(struct bpf_raw_tracepoint_args *ctx)
{
	return fg_on_sys_enter(ctx, bpf_get_current_task_btf());
}

/* io_uring: a bit per opcode a function submits. Learn mode sets it (the first sighting goes
 * to user space as a syscall event of arch FG_ARCH_URING); monitor and enforce report an
 * opcode outside the allow-list. Runs in the submitter's context (or its SQPOLL thread,
 * created in its cgroup). */
SEC("raw_tracepoint/io_uring_submit_req")
int fg_uring_submit(struct bpf_raw_tracepoint_args *ctx)
{
	const struct fg_cgroup_val *t = fg_current_entry();

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 0;
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[0];
	__u8 op = BPF_CORE_READ(req, opcode);
	__u32 fn_id = t->fn_id;
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);
	__u64 bit = 1ULL << (op & 63);

	if (!cfg)
		return 0;
	if (cfg->mode == FG_MODE_LEARN) {
		struct fg_fn_state *st = bpf_map_lookup_elem(&fg_fn_state, &fn_id);

		if (!st)
			return 0;
		__u64 *word = &st->uring_ops[(op >> 6) & 3];

		if (!(*word & bit) && !(__sync_fetch_and_or(word, bit) & bit))
			fg_emit_syscall(fn_id, op, FG_ARCH_URING);
		return 0;
	}
	__u32 idx = fn_id * 2 + (cfg->gen & 1);
	const struct fg_sys_allow *a = bpf_map_lookup_elem(&fg_sys_allow, &idx);

	if (a && (a->uring_ops[(op >> 6) & 3] & bit))
		return 0;
	struct fg_viol_req r = {};

	fg_task_viol(&r, cfg, fn_id, FG_VIOL_IOURING, op, FG_ARCH_URING);

	if (fg_blocks(cfg, &r.action))
		r.action = FG_ACT_ALERT; /* nothing can refuse it here: docs/security.md */
	fg_report_violation(&r);
	return 0;
}
