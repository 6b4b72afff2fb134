// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskmark.bpf.c: keeps fg_task_mark (maps.bpf.h) on the thread group leader of every task
 * whose cgroup v2 is tracked, so that sys_enter can pass an untracked task after two loads
 * (task->group_leader->bpf_storage). The mark is on the leader, not on each thread: a new
 * thread costs no task storage (a thread-per-request server made one per request, ~1 us
 * each, docs/benchmarks.md). The invariant: a task in a tracked cgroup has a marked leader.
 * The ways into a tracked cgroup:
 *  - fork and clone, CLONE_INTO_CGROUP included: the child's cgroup is set (cgroup_post_fork)
 *    before sched_process_fork, and the child has not run yet (a new thread: its leader is
 *    marked already, or is marked here if the thread landed in a tracked cgroup);
 *  - migration (a write to cgroup.procs or cgroup.threads): cgroup_attach_task, after the
 *    move. A whole process moved: its leader marked in a tracked cgroup, unmarked in any
 *    other. One thread moved (cgroup.threads): its leader marked in a tracked cgroup, left
 *    as it is otherwise (the process's other threads may still be tracked; a stray mark
 *    costs only the cgroup loads, sys_enter decides from the cgroup);
 *  - the cgroup becoming tracked with tasks already inside: the agent runs fg_mark_tasks (a
 *    task iterator) after it writes the cgroup's fg_cg_local entry, and at start-up before it
 *    attaches sys_enter.
 * Exec in a tracked cgroup marks too (process.bpf.c; after de_thread the exec'ing task is the
 * leader), which repairs a mark that failed. A leader that exits before its threads stays (a
 * zombie) with its task storage until the last thread is gone.
 * All programs here start with autoload off: the agent loads them where fg_task_mark_on.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("?tp_btf/sched_process_fork")
int BPF_PROG(fg_mark_fork, struct task_struct *parent, struct task_struct *child)
{
	if (child && fg_cgroup_tracked(child->cgroups->dfl_cgrp))
		fg_mark_task(child->group_leader); /* the child itself, unless it is a thread */
	return 0;
}

#define FG_DFL_HIERARCHY 0 /* cgroup v2's hierarchy id (v1 hierarchies count from 1) */

/* Fires once per migration, after every task moved (a migrated task can make syscalls
 * between its move and this point: docs/security.md): for a whole process (`threadgroup`) the
 * task is its leader, otherwise the one thread moved. `dst` is the cgroup of the hierarchy
 * written to: a cgroup v1 move (hybrid hosts: runtimes write every hierarchy) changes nothing
 * here, the task's cgroup v2 is what sys_enter looks at. Removing the mark is the common case
 * of a move out (-ENOENT when there was none). */
SEC("?tp_btf/cgroup_attach_task")
int BPF_PROG(fg_mark_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	if (!task || !dst || dst->root->hierarchy_id != FG_DFL_HIERARCHY)
		return 0;
	struct task_struct *leader = task->group_leader;

	if (fg_cgroup_tracked(dst))
		fg_mark_task(leader);
	else if (threadgroup)
		bpf_task_storage_delete(&fg_task_mark, leader);
	return 0;
}

/* Every task on the node (threads included): the leader of each one in a tracked cgroup is
 * marked, and the task's thread id written to the iterator's output (the agent counts them). */
SEC("?iter/task")
int fg_mark_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task || !fg_cgroup_tracked(task->cgroups->dfl_cgrp))
		return 0;
	fg_mark_task(task->group_leader);
	__u32 tid = task->pid;

	bpf_seq_write(ctx->meta->seq, &tid, sizeof tid);
	return 0;
}
