/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* common.bpf.h: configuration and helpers shared by all faasguard programs. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"

/* Hide a value's range from clang so the bounds mask the verifier needs is not optimised away. */
#define fg_barrier_var(v) asm volatile("" : "+r"(v))

/* Read-only configuration, set by the agent between open and load. */
const volatile __u64 fg_hash_seed __weak = 0;
/* Whether fg_cg_local is cgroup local storage (kernel >= 6.2), see maps.bpf.h. */
const volatile bool fg_cg_local_on __weak = false;
/* Whether fg_task_mark is task local storage kept by the mark programs (taskmark.bpf.c): only
 * with fg_cg_local_on, tp_btf and the task iterator kfuncs (kernel >= 6.7). */
const volatile bool fg_task_mark_on __weak = false;

static __always_inline void fg_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&fg_stats, &idx);

	if (v)
		(*v)++;
}

/* Scratch slots: tracepoint programs run with preemption disabled and are never re-entered
 * on a CPU, so they share slot 0; the cgroup hooks (preemptible) use slot 1, BPF-LSM slot 2. */
#define FG_SCRATCH_TP 0
#define FG_SCRATCH_CGROUP 1
#define FG_SCRATCH_LSM 2

static __always_inline struct fg_scratch *fg_scratch_get(__u32 slot)
{
	return bpf_map_lookup_elem(&fg_scratch, &slot);
}

static __always_inline const struct fg_fn_cfg *fg_cfg_of(__u32 fn_id)
{
	return bpf_map_lookup_elem(&fg_fn_cfg, &fn_id);
}

/*
 * Whether enforce mode blocks now. It always does, but for a function that fails open
 * (FG_CFG_F_FAIL_OPEN) while the agent's heartbeat is older than its grace: then the
 * violation is only reported, as FG_ACT_FAILED_OPEN in *action. Reached on violations only,
 * never on the hot path.
 */
static __always_inline int fg_blocks(const struct fg_fn_cfg *cfg, __u8 *action)
{
	if (cfg->mode != FG_MODE_ENFORCE)
		return 0;
	if (!(cfg->flags & FG_CFG_F_FAIL_OPEN))
		return 1;
	__u32 zero = 0;
	const struct fg_agent_val *a = bpf_map_lookup_elem(&fg_agent, &zero);

	if (a && bpf_ktime_get_ns() - a->heartbeat_ns <= a->fail_open_after_ns)
		return 1;
	*action = FG_ACT_FAILED_OPEN;
	return 0;
}

/* The tracked-cgroup lookup: the first (and, for an untracked task, only) map access. */
static __always_inline const struct fg_cgroup_val *fg_lookup_cgroup(__u64 cgid)
{
	return bpf_map_lookup_elem(&fg_tracked, &cgid);
}

/* The current task's cgroup v2 (what bpf_get_current_cgroup_id names). */
static __always_inline struct cgroup *fg_current_cgroup(void)
{
	return bpf_get_current_task_btf()->cgroups->dfl_cgrp;
}

/* Whether a cgroup has an fg_cg_local entry (is tracked, pending or not). */
static __always_inline bool fg_cgroup_tracked(struct cgroup *cg)
{
	return cg && bpf_cgrp_storage_get(&fg_cg_local, cg, 0, 0);
}

#define FG_TS_COMPAT 0x0002 /* x86: thread_info.status bit of a 32-bit syscall */

/* The ABI of the task's current syscall (x86: a 32-bit syscall sets TS_COMPAT). */
static __always_inline __u32 fg_syscall_arch(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	if (bpf_core_field_exists(task->thread_info.status) &&
	    (task->thread_info.status & FG_TS_COMPAT))
		return FG_ARCH_COMPAT;
#else
	(void)task;
#endif
	return FG_ARCH_NATIVE;
}

/* The number of the syscall the saved registers belong to, or -1. */
static __always_inline long fg_syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;
#endif
}

/*
 * The first test of the node-wide syscall programs where the kernel has task local storage: a
 * task without any is in no tracked cgroup (the task mark, fg_task_mark in maps.bpf.h), and
 * leaves after this one load from its task_struct. Always false on kernels without the field.
 */
static __always_inline bool fg_task_unmarked(const struct task_struct *task)
{
	return bpf_core_field_exists(task->bpf_storage) && !task->bpf_storage;
}

/*
 * The current task's tracked-cgroup entry, or NULL, for the tracing programs that run on every
 * fork and exit of the node. With cgroup local storage (fg_cg_local mirrors every fg_tracked
 * entry; the exec program repairs a missing one) an untracked cgroup is passed after three
 * loads from the task, without the cgroup-id helper and the hash lookup (docs/benchmarks.md,
 * "Tried and not kept"). The cgroup/ socket programs keep the hash lookup: that their program
 * type may call bpf_get_current_task_btf and the cgroup-storage helper on every kernel with
 * cgroup local storage is not probed yet.
 */
static __always_inline const struct fg_cgroup_val *fg_current_entry(void)
{
	if (fg_cg_local_on) {
		struct cgroup *cg = fg_current_cgroup();

		if (bpf_core_field_exists(cg->bpf_cgrp_storage) && !cg->bpf_cgrp_storage)
			return 0;
		return bpf_cgrp_storage_get(&fg_cg_local, cg, 0, 0);
	}
	return fg_lookup_cgroup(bpf_get_current_cgroup_id());
}

/* Mark a task in a tracked cgroup, for sys_enter (maps.bpf.h, fg_task_mark). Callers check
 * fg_task_mark_on first. A failure (no memory; another task-storage operation running on this
 * CPU) is counted: the agent then marks again from user space (its task iterator). */
static __always_inline void fg_mark_task(struct task_struct *task)
{
	if (!bpf_task_storage_get(&fg_task_mark, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		fg_stat_inc(FG_STAT_MARK_FAIL);
}

/* Copy the current cgroup's fg_tracked entry to fg_cg_local (the exec program, after the
 * pending flag may have changed). */
static __always_inline void fg_mirror_current(const struct fg_cgroup_val *t)
{
	if (!fg_cg_local_on)
		return;
	struct fg_cgroup_val *m = bpf_cgrp_storage_get(&fg_cg_local, fg_current_cgroup(), 0,
						       BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!m) {
		fg_stat_inc(FG_STAT_HELPER_ERR);
		return;
	}
	if (m->fn_id != t->fn_id)
		m->fn_id = t->fn_id;
	if (m->flags != t->flags)
		m->flags = t->flags;
}

static __always_inline void fg_fill_hdr(struct fg_event_hdr *h, __u16 type, __u16 size,
					__u32 fn_id, __u64 cgid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->type = type;
	h->size = size;
	h->fn_id = fn_id;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = cgid;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
}

/*
 * Record a first sighting in a kernel-side set. Returns 1 when this call inserted the key
 * (the caller then emits an event), 0 when the key was already there (its counters move).
 * A full map is counted (FG_STAT_MAP_FULL, other failures FG_STAT_HELPER_ERR) and reported as
 * "new" so the event still carries the item to user space.
 */
static __always_inline int fg_set_seen(void *map, const void *key)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct fg_seen_val *v = bpf_map_lookup_elem(map, key);

	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		v->last_ns = now;
		return 0;
	}
	struct fg_seen_val nv = {.count = 1, .first_ns = now, .last_ns = now};
	long err = bpf_map_update_elem(map, key, &nv, BPF_NOEXIST);

	if (err == -17 /* EEXIST */) {
		v = bpf_map_lookup_elem(map, key);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
		return 0;
	}
	if (err)
		fg_stat_inc(err == -7 /* E2BIG */ ? FG_STAT_MAP_FULL : FG_STAT_HELPER_ERR);
	return 1;
}
