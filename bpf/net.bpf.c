// SPDX-License-Identifier: GPL-2.0-only
/*
 * net.bpf.c: network behaviour of tracked tasks.
 * cgroup sock_addr hooks (attached once at the cgroup v2 root) see connect, unconnected UDP
 * sends and bind, for every present and future cgroup, io_uring included; TCP listen and
 * accepted connections come from the inet_sock_set_state raw tracepoint.
 * Learn mode: every hook allows (returns 1) and learns. Monitor mode: items outside the
 * allow-list are reported. Enforce mode: they are denied (return 0: the caller gets EPERM);
 * a TCP listen on a port outside the allow-list (after a bind to port 0) kills the process.
 */
#include "dns.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_AF_INET 2
#define FG_AF_INET6 10
#define FG_IPPROTO_TCP 6
#define FG_TCP_ESTABLISHED 1
#define FG_TCP_SYN_RECV 3
#define FG_TCP_LISTEN 10
#define FG_SIGKILL 9

static __always_inline void fg_emit_net(__u64 cgid, const struct fg_net_key *key)
{
	struct fg_net_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	fg_fill_hdr(&e->hdr, FG_EV_NET, sizeof(*e), key->fn_id, cgid);
	e->key = *key;
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

static __always_inline void fg_net_learn(__u64 cgid, const struct fg_net_key *key)
{
	if (fg_set_seen(&fg_net, key))
		fg_emit_net(cgid, key);
}

static __always_inline int fg_is_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

/* Fill family and address from an IPv6 address, folding IPv4-mapped ones into IPv4. */
static __always_inline void fg_key_addr6(struct fg_net_key *k, const __u32 a[4])
{
	if (fg_is_v4mapped(a)) {
		k->family = 4;
		__builtin_memcpy(k->addr, &a[3], 4);
	} else {
		k->family = 6;
		__builtin_memcpy(k->addr, a, 16);
	}
}

static __always_inline __u8 fg_viol_kind_of(__u8 net_kind)
{
	switch (net_kind) {
	case FG_NET_CONNECT:
		return FG_VIOL_CONNECT;
	case FG_NET_SEND:
		return FG_VIOL_SEND;
	case FG_NET_BIND:
		return FG_VIOL_BIND;
	default:
		return FG_VIOL_LISTEN;
	}
}

/* Learn, or check: returns 1 to allow the operation, 0 to deny it with EPERM. */
static __always_inline int fg_net_decide(const struct fg_fn_cfg *cfg, __u64 cgid,
					 struct fg_net_key *k, __u8 slot)
{
	/* Egress by name (dns.bpf.h) from the cgroup hooks only (slot is a constant: the code
	 * is not in the tracepoint's program). */
	const int by_name = slot == FG_SCRATCH_CGROUP;

	if (cfg->mode == FG_MODE_LEARN) {
		if (!by_name || !fg_dns_egress(cfg, cgid, k, 0))
			fg_net_learn(cgid, k);
		return 1;
	}
	__u8 cls = (k->kind == FG_NET_CONNECT || k->kind == FG_NET_SEND) ? FG_RULE_EGRESS
									: FG_RULE_LISTEN;

	if (k->kind == FG_NET_BIND && k->port == 0)
		return 1; /* an ephemeral port: what it is used for is checked (listen) */
	if (fg_net_allowed(k, cfg->gen, cls))
		return 1;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = k->fn_id,
				.kind = fg_viol_kind_of(k->kind),
				.action = FG_ACT_REPORTED,
				.mode = cfg->mode,
				.slot = slot,
				.net = *k};
	int allow = 1;

	if (by_name && fg_dns_egress(cfg, cgid, k, &r))
		return 1;
	if (fg_blocks(cfg, &r.action)) {
		if (k->kind == FG_NET_LISTEN) {
			/* no hook can refuse a listen: stop the process that asked for it */
			if (bpf_get_current_cgroup_id() == cgid) {
				bpf_send_signal(FG_SIGKILL);
				r.action = FG_ACT_KILLED;
			}
		} else {
			r.action = FG_ACT_DENIED;
			allow = 0;
		}
	}
	fg_report_violation(&r);
	return allow;
}

static __always_inline int fg_sock_addr4(struct bpf_sock_addr *ctx, __u8 kind)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 1;
	const struct fg_fn_cfg *cfg = fg_cfg_of(t->fn_id);

	if (!cfg)
		return 1;
	struct fg_net_key k = {.fn_id = t->fn_id, .kind = kind, .family = 4};

	k.proto = ctx->protocol;
	k.port = bpf_ntohs((__u16)ctx->user_port);
	if (kind != FG_NET_BIND) {
		__u32 ip = ctx->user_ip4;

		__builtin_memcpy(k.addr, &ip, 4);
	}
	return fg_net_decide(cfg, cgid, &k, FG_SCRATCH_CGROUP);
}

static __always_inline int fg_sock_addr6(struct bpf_sock_addr *ctx, __u8 kind)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 1;
	const struct fg_fn_cfg *cfg = fg_cfg_of(t->fn_id);

	if (!cfg)
		return 1;
	struct fg_net_key k = {.fn_id = t->fn_id, .kind = kind, .family = 6};

	k.proto = ctx->protocol;
	k.port = bpf_ntohs((__u16)ctx->user_port);
	if (kind != FG_NET_BIND) {
		__u32 a[4];

		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
		fg_key_addr6(&k, a);
	}
	return fg_net_decide(cfg, cgid, &k, FG_SCRATCH_CGROUP);
}

SEC("cgroup/connect4")
int fg_connect4(struct bpf_sock_addr *ctx)
{
	return fg_sock_addr4(ctx, FG_NET_CONNECT);
}

SEC("cgroup/connect6")
int fg_connect6(struct bpf_sock_addr *ctx)
{
	return fg_sock_addr6(ctx, FG_NET_CONNECT);
}

SEC("cgroup/sendmsg4")
int fg_sendmsg4(struct bpf_sock_addr *ctx)
{
	return fg_sock_addr4(ctx, FG_NET_SEND);
}

SEC("cgroup/sendmsg6")
int fg_sendmsg6(struct bpf_sock_addr *ctx)
{
	return fg_sock_addr6(ctx, FG_NET_SEND);
}

SEC("cgroup/bind4")
int fg_bind4(struct bpf_sock_addr *ctx)
{
	return fg_sock_addr4(ctx, FG_NET_BIND);
}

SEC("cgroup/bind6")
int fg_bind6(struct bpf_sock_addr *ctx)
{
	return fg_sock_addr6(ctx, FG_NET_BIND);
}

/*
 * TCP state changes (raw tracepoint inet_sock_set_state: sk, oldstate, newstate):
 * -> LISTEN is a listening port (runs in the listener's context);
 * SYN_RECV -> ESTABLISHED is an accepted connection (runs in softirq, so the function is
 * found from the socket's cgroup, which the child socket inherits from its listener).
 */
SEC("raw_tracepoint/inet_sock_set_state")
int fg_sk_state(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];
	int os = (int)ctx->args[1], ns = (int)ctx->args[2];
	__u8 kind;

	if (ns == FG_TCP_LISTEN)
		kind = FG_NET_LISTEN;
	else if (os == FG_TCP_SYN_RECV && ns == FG_TCP_ESTABLISHED)
		kind = FG_NET_ACCEPT;
	else
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != FG_IPPROTO_TCP)
		return 0;

	__u64 cgid = 0;

	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		cgid = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 0;
	const struct fg_fn_cfg *cfg = fg_cfg_of(t->fn_id);

	if (!cfg)
		return 0;
	if (kind == FG_NET_ACCEPT && cfg->mode != FG_MODE_LEARN)
		return 0; /* inbound peers are learned, not enforced */
	struct fg_net_key k = {.fn_id = t->fn_id, .kind = kind, .proto = FG_IPPROTO_TCP};
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	k.port = BPF_CORE_READ(sk, __sk_common.skc_num); /* local port, host order */
	if (kind == FG_NET_LISTEN) {
		k.family = family == FG_AF_INET6 ? 6 : 4;
	} else if (family == FG_AF_INET) {
		__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		k.family = 4;
		__builtin_memcpy(k.addr, &daddr, 4);
	} else {
		__u32 a[4] = {};

		BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
		fg_key_addr6(&k, a);
	}
	fg_net_decide(cfg, cgid, &k, FG_SCRATCH_TP);
	return 0;
}
