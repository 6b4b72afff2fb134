// SPDX-License-Identifier: GPL-2.0-only
/*
 * probe.bpf.c: tiny programs the agent loads one by one to learn what this kernel allows
 * (bpftool feature probe is not a reliable guide: some kernels refuse fentry/lsm with EPERM
 * at load time). All start with autoload off.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("?lsm/bprm_check_security")
int BPF_PROG(fg_probe_lsm, struct linux_binprm *bprm, int ret)
{
	return ret;
}

SEC("?fentry/security_bprm_check")
int BPF_PROG(fg_probe_fentry, struct linux_binprm *bprm)
{
	return 0;
}

SEC("?tp_btf/sched_process_exec")
int BPF_PROG(fg_probe_tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

/* Cgroup local storage (6.2+): the map and its helper from a tracepoint program, as the
 * sys_enter fast path uses them. The map is created only when this probe is loaded. */
struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} fg_probe_cgls SEC(".maps");

SEC("?raw_tracepoint/sys_enter")
int fg_probe_cgrp_storage(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return bpf_cgrp_storage_get(&fg_probe_cgls, t->cgroups->dfl_cgrp, 0, 0) != 0;
}

/* What the task mark needs (taskmark.bpf.c, 6.7+): task local storage written from a tp_btf
 * program on cgroup_attach_task, and the open-coded task iterator over a process's threads.
 * The map is created only when this probe is loaded. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} fg_probe_tmark SEC(".maps");

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;

SEC("?tp_btf/cgroup_attach_task")
int BPF_PROG(fg_probe_task_mark, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	struct bpf_iter_task it;
	struct task_struct *t;

	if (!task)
		return 0;
	bpf_iter_task_new(&it, task, BPF_TASK_ITER_PROC_THREADS);
	while ((t = bpf_iter_task_next(&it)))
		bpf_task_storage_get(&fg_probe_tmark, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	bpf_iter_task_destroy(&it);
	return 0;
}

/* The Unix socket hooks (6.7+) and what they read the address with. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

SEC("?cgroup/connect_unix")
int fg_probe_unix_hooks(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_addr_kern *sa = bpf_cast_to_kern_ctx(ctx);

	return sa->uaddrlen > 0;
}

/* cgroup_skb reading a socket's cgroup through the kernel's sk_buff (the ingress hook's fast
 * path, sock.bpf.c): bpf_cast_to_kern_ctx (6.2+) and loads through BTF pointers. */
SEC("?cgroup_skb/ingress")
int fg_probe_skb_btf(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct sock *sk = kskb->sk;
	struct cgroup *cg = sk ? sk->sk_cgrp_data.cgroup : 0;

	return !cg || !cg->bpf_cgrp_storage || cg->kn->id;
}
