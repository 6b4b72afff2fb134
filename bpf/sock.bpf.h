/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sock.bpf.h: the socket items (fg_sock.h) learned and checked, shared by sock.bpf.c (the
 * cgroup hooks) and syscalls.bpf.c (socket(2) of the families no cgroup hook sees).
 */
#pragma once

#include "policy.bpf.h"

#define FG_AF_UNIX 1
#define FG_AF_INET 2
#define FG_AF_INET6 10
#define FG_AF_NETLINK 16
#define FG_SOCK_TYPE_MASK 0xf
#define FG_SIGKILL 9

#if defined(__TARGET_ARCH_arm64)
#define FG_NR_SOCKET 198
#define FG_NR_SOCKETPAIR 199
#else
#define FG_NR_SOCKET 41
#define FG_NR_SOCKETPAIR 53
#endif

static __always_inline void fg_emit_sock(__u64 cgid, const struct fg_sock_key *key,
					 const char *name, __u32 name_len, __u32 name_flags)
{
	struct fg_sock_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	fg_fill_hdr(&e->hdr, FG_EV_SOCK, sizeof(*e), key->fn_id, cgid);
	e->key = *key;
	e->name_len = 0;
	e->name_flags = name_flags;
	e->pad = 0;
	e->name[0] = 0;
	name_len &= FG_PATH_MASK;
	if (name && name_len && !bpf_probe_read_kernel(e->name, name_len, name)) {
		e->name_len = name_len;
		e->name[name_len] = 0;
	}
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

/* Learn mode: the item goes into fg_socks; its first sighting to user space. */
static __always_inline void fg_sock_learn(__u64 cgid, const struct fg_sock_key *key)
{
	if (fg_set_seen(&fg_socks, key))
		fg_emit_sock(cgid, key, 0, 0, 0);
}

/* Whether the allow-list in force has the item (gen set by the caller). */
static __always_inline int fg_sock_allowed(const struct fg_sock_key *rule)
{
	return bpf_map_lookup_elem(&fg_sock_allow, rule) != 0;
}

/* Leave socket(2) and socketpair(2) out of sys_enter's per-CPU cache: their family is checked
 * on the slow path (fg_sock_syscall), whose decision the cache cannot hold. */
static __always_inline void fg_sock_uncache(__u64 *sys)
{
	sys[(FG_NR_SOCKET >> 6) & (FG_SYS_WORDS - 1)] &= ~(1ULL << (FG_NR_SOCKET & 63));
	sys[(FG_NR_SOCKETPAIR >> 6) & (FG_SYS_WORDS - 1)] &= ~(1ULL << (FG_NR_SOCKETPAIR & 63));
}

/*
 * socket(2) and socketpair(2) of a tracked task (sys_enter's slow path), for the families
 * cgroup/sock_create does not see (all but AF_INET and AF_INET6): learn the kind, or check it.
 * Nothing can refuse the syscall here: an unlearned kind kills the process in enforce mode
 * (the socket exists when the signal lands, the process never uses it), except AF_UNIX and
 * AF_NETLINK, which are reported only: a Unix socket's peers are refused where it connects
 * or sends, and netlink is how the C library lists interfaces.
 */
static __always_inline void fg_sock_syscall(struct bpf_raw_tracepoint_args *ctx, long id,
					    __u32 arch, __u32 fn_id, const struct fg_fn_cfg *cfg)
{
	if (arch != FG_ARCH_NATIVE || (id != FG_NR_SOCKET && id != FG_NR_SOCKETPAIR))
		return;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 family = (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs);
	__u32 type = (__u32)PT_REGS_PARM2_CORE_SYSCALL(regs) & FG_SOCK_TYPE_MASK;
	__u32 proto = (__u32)PT_REGS_PARM3_CORE_SYSCALL(regs);

	if (family == FG_AF_INET || family == FG_AF_INET6)
		return; /* cgroup/sock_create, before the socket exists */
	if (family == 0)
		return; /* AF_UNSPEC (or registers that could not be read): socket(2) fails */
	struct fg_sock_key k = {.fn_id = fn_id,
				.kind = FG_SOCK_KIND,
				.family = (__u16)family,
				.type = (__u16)type,
				.proto = proto > 0xffff ? 0xffff : (__u16)proto};
	__u64 cgid = bpf_get_current_cgroup_id();

	if (cfg->mode == FG_MODE_LEARN) {
		fg_sock_learn(cgid, &k);
		return;
	}
	if (!fg_sys_allowed(fn_id, cfg->gen, arch, id))
		return; /* the syscall itself is the violation (fg_check_syscall) */
	k.gen = cfg->gen & 1;
	if (fg_sock_allowed(&k))
		return;
	struct fg_viol_req r = {};

	fg_task_viol(&r, cfg, fn_id, FG_VIOL_SOCKET, (__u32)id, arch);
	r.item_hash = family | ((__u64)type << 16) | ((__u64)proto << 32);
	if (fg_blocks(cfg, &r.action)) {
		if (family == FG_AF_UNIX || family == FG_AF_NETLINK) {
			r.action = FG_ACT_ALERT;
		} else {
			bpf_send_signal(FG_SIGKILL);
			r.action = FG_ACT_KILLED;
		}
	}
	fg_report_violation(&r);
}
