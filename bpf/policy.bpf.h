/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy.bpf.h: the decisions of monitor and enforce mode, against the allow-lists the
 * agent compiles from a function's profile (fg_sys_allow, fg_exec_allow, fg_net_allow), and
 * the report of a violation. The allow-lists exist in two generations; fg_fn_cfg.gen names
 * the one in force, so the agent swaps a whole new allow-list in with one 8-byte write.
 */
#pragma once

#include "path.bpf.h"

/* Whether syscall `id` of `arch` is in a bitmap pair (native, compat); numbers outside the
 * table (x32 among them) never are. */
static __always_inline int fg_sys_bit(const __u64 *sys, const __u64 *compat, long id, __u32 arch)
{
	if (id < 0 || id >= FG_SYS_MAX)
		return 0;
	__u32 w = ((__u32)id >> 6) & (FG_SYS_WORDS - 1);

	return !!((arch == FG_ARCH_COMPAT ? compat[w] : sys[w]) & (1ULL << (id & 63)));
}

static __always_inline int fg_sys_allowed(__u32 fn_id, __u8 gen, __u32 arch, long id)
{
	__u32 idx = fn_id * 2 + (gen & 1);
	const struct fg_sys_allow *a = bpf_map_lookup_elem(&fg_sys_allow, &idx);

	return a && fg_sys_bit(a->sys, a->sys_compat, id, arch);
}

/* An egress destination or a listen port, exact or by rule (CIDR, port 0 = any port). */
static __always_inline int fg_net_allowed(const struct fg_net_key *k, __u8 gen, __u8 cls)
{
	struct fg_net_rule_key r = {
		.prefixlen = FG_NET_RULE_FIXED_BITS + 128,
		.fn_id = k->fn_id,
		.gen = gen & 1,
		.cls = cls,
		.proto = k->proto,
		.family = k->family,
		.port = k->port,
	};

	if (cls == FG_RULE_EGRESS)
		__builtin_memcpy(r.addr, k->addr, 16);
	if (bpf_map_lookup_elem(&fg_net_allow, &r))
		return 1;
	r.port = 0;
	return bpf_map_lookup_elem(&fg_net_allow, &r) != 0;
}

/* What an exec decision needs. */
struct fg_exec_check {
	__u32 fn_id;
	__u8 gen;
	__u8 cfg_flags;
	__u16 pad;
	__u64 parent_hash;
	__u64 script_hash;
	__u64 name_hash; /* a script's name as given (FG_EXEC_RULE_SCRIPT_NAME) */
	struct fg_path bin;
};

/* 1 when the exec is in the allow-list (exact, any parent, or by "path*" prefix). Global:
 * verified once. Defined in path.bpf.c. */
int fg_exec_allowed(struct fg_scratch *s, struct fg_exec_check *c);

/* A violation to report. */
struct fg_viol_req {
	__u64 cgid;
	__u32 fn_id;
	__u8 kind;   /* enum fg_viol_kind */
	__u8 action; /* enum fg_viol_action */
	__u8 mode;
	__u8 slot;   /* scratch slot of the caller */
	__u32 nr;
	__u32 arch;
	__u32 exec_flags;
	__u32 req_flags; /* FG_VREQ_* */
	__u64 script_hash;
	struct fg_net_key net;
	struct fg_path bin;    /* FG_VIOL_EXEC: the attempted binary, already in s->bin */
	struct fg_path parent; /* FG_VIOL_EXEC: its parent, already in s->parent */
	__u64 item_hash;       /* kinds with an item in text: already in s->item, item_len bytes */
	__u32 item_flags;
	__u16 item_len;
	__u16 pad2;
};

/* fg_viol_req.req_flags */
#define FG_VREQ_NO_TASK 0x1 /* seen on a packet (softirq): no process to name */

/* Count the violation (always) and send a record (within the function's budget). For other
 * kinds than exec, the offending process's binary and parent are resolved here. Global:
 * verified once. Defined in path.bpf.c. */
int fg_report_violation(struct fg_viol_req *r);

/* A violation by the current task seen by a tracepoint (a syscall, an io_uring opcode, a process
 * its seccomp filter killed): what its report holds, action "reported" until decided. */
static __always_inline void fg_task_viol(struct fg_viol_req *r, const struct fg_fn_cfg *cfg,
					 __u32 fn_id, __u8 kind, __u32 nr, __u32 arch)
{
	r->cgid = bpf_get_current_cgroup_id();
	r->fn_id = fn_id;
	r->kind = kind;
	r->action = FG_ACT_REPORTED;
	r->mode = cfg->mode;
	r->slot = FG_SCRATCH_TP;
	r->nr = nr;
	r->arch = arch;
}
