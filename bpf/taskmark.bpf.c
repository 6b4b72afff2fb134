// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskmark.bpf.c: keeps fg_task_mark (maps.bpf.h) on every task whose cgroup v2 is tracked, so
 * that sys_enter can pass an untracked task after one load. The ways into a tracked cgroup:
 *  - fork and clone, CLONE_INTO_CGROUP included: the child's cgroup is set (cgroup_post_fork)
 *    before sched_process_fork, and the child has not run yet;
 *  - migration (a write to cgroup.procs or cgroup.threads): cgroup_attach_task, after the
 *    move, for the leader and, when the whole process moved, for each of its threads (a move
 *    to an untracked cgroup removes the marks);
 *  - the cgroup becoming tracked with tasks already inside: the agent runs fg_mark_tasks (a
 *    task iterator) after it writes the cgroup's fg_cg_local entry, and at start-up before it
 *    attaches sys_enter.
 * Exec in a tracked cgroup marks too (process.bpf.c), which repairs a mark that failed.
 * All programs here start with autoload off: the agent loads them where fg_task_mark_on.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;

SEC("?tp_btf/sched_process_fork")
int BPF_PROG(fg_mark_fork, struct task_struct *parent, struct task_struct *child)
{
	if (child && fg_cgroup_tracked(child->cgroups->dfl_cgrp))
		fg_mark_task(child);
	return 0;
}

#define FG_DFL_HIERARCHY 0 /* cgroup v2's hierarchy id (v1 hierarchies count from 1) */

/* A task's mark after a migration: set in a tracked cgroup, removed in any other (a task that
 * leaves is passed at the first load again; -ENOENT, no mark, is the common case). */
static __always_inline void fg_remark(struct task_struct *t, bool tracked)
{
	if (tracked)
		fg_mark_task(t);
	else
		bpf_task_storage_delete(&fg_task_mark, t);
}

/* Fires once per migration, for the leader, after every task moved (a migrated task can make
 * syscalls between its move and this point: docs/security.md). `dst` is the cgroup of the
 * hierarchy written to: a cgroup v1 move (hybrid hosts: runtimes write every hierarchy)
 * changes nothing here, the task's cgroup v2 is what sys_enter looks at. */
SEC("?tp_btf/cgroup_attach_task")
int BPF_PROG(fg_mark_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	if (!task || !dst || dst->root->hierarchy_id != FG_DFL_HIERARCHY)
		return 0;
	bool tracked = fg_cgroup_tracked(dst);

	fg_remark(task, tracked);
	if (!threadgroup)
		return 0;
	struct bpf_iter_task it;
	struct task_struct *t;

	bpf_iter_task_new(&it, task, BPF_TASK_ITER_PROC_THREADS);
	while ((t = bpf_iter_task_next(&it)))
		fg_remark(t, tracked);
	bpf_iter_task_destroy(&it);
	return 0;
}

/* Every task on the node (threads included): those in a tracked cgroup are marked, and their
 * thread ids written to the iterator's output (the agent counts them). */
SEC("?iter/task")
int fg_mark_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task || !fg_cgroup_tracked(task->cgroups->dfl_cgrp))
		return 0;
	fg_mark_task(task);
	__u32 tid = task->pid;

	bpf_seq_write(ctx->meta->seq, &tid, sizeof tid);
	return 0;
}
