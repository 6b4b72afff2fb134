// SPDX-License-Identifier: GPL-2.0-only
/*
 * sock.bpf.c: the ways in and out beyond TCP/UDP destinations, as cgroup hooks at the cgroup v2
 * root (one attachment covers every present and future cgroup; each filters on its cgroup):
 *  - cgroup/connect_unix, cgroup/sendmsg_unix (6.7+, optional): the Unix socket peers a function
 *    connects or sends to, by name (a path made absolute, or an abstract name) and type;
 *  - cgroup/sock_create: the kinds (family, type, protocol) of the IPv4/IPv6 sockets it creates,
 *    which is where ping, raw sockets and any protocol but TCP and UDP (whose destinations
 *    the connect/sendmsg/bind hooks decide) are refused before they exist;
 *  - cgroup/setsockopt: options that reroute what it sends (source routes, header inclusion,
 *    transparent proxying, binding to a device, routing marks);
 *  - cgroup_skb/ingress: what its sockets receive, before it is queued: a TCP listener's
 *    connection requests and an unconnected UDP socket's datagrams, by local port and by the
 *    class of the peer (fg_sock.h, enum fg_peer_class).
 * Learn mode learns (fg_socks). Monitor reports what the allow-list lacks; enforce refuses it:
 * EPERM for the socket calls, the packet dropped on ingress (a SYN never answered, a datagram
 * never read).
 */
#include "name.bpf.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

#define FG_TCP_ESTABLISHED 1
#define FG_TCP_LISTEN 10
#define FG_IPPROTO_TCP 6
#define FG_IPPROTO_UDP 17
#define FG_SOCK_STREAM 1
#define FG_SOCK_DGRAM 2
#define FG_ETH_P_IP 0x0800
#define FG_ETH_P_IPV6 0x86DD
#define FG_LOOPBACK_IFINDEX 1

/* The tracked slot of the current task's cgroup, or NULL (untracked, or being set up). */
static __always_inline const struct fg_fn_cfg *fg_sock_fn(__u64 *cgid, __u32 *fn_id)
{
	*cgid = bpf_get_current_cgroup_id();
	const struct fg_cgroup_val *t = fg_lookup_cgroup(*cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 0;
	*fn_id = t->fn_id;
	return fg_cfg_of(t->fn_id);
}

/* Monitor / enforce: report an item the allow-list lacks; returns 1 to let it through. */
static __always_inline int fg_sock_violation(const struct fg_fn_cfg *cfg, struct fg_viol_req *r)
{
	int allow = 1;

	r->action = FG_ACT_REPORTED;
	r->mode = cfg->mode;
	if (fg_blocks(cfg, &r->action)) {
		r->action = FG_ACT_DENIED;
		allow = 0;
	}
	fg_report_violation(r);
	return allow;
}

/* ---- Unix socket peers ------------------------------------------------------------------- */

/* "path*" rules: the hash of every prefix of the name, computed as we go (as exec rules). */
static __always_inline int fg_unix_prefix_allowed(struct fg_name_scratch *n,
						  const struct fg_sock_key *k, __u32 len)
{
	struct fg_sock_key r = {.fn_id = k->fn_id, .kind = FG_SOCK_UNIX, .gen = k->gen,
				.flags = FG_SOCK_F_PREFIX};

	if (!bpf_map_lookup_elem(&fg_sock_allow, &r))
		return 0; /* no prefix rules in this section */
	__u64 h = FG_FNV_OFFSET ^ fg_hash_seed;

	r.flags = FG_SOCK_F_PREFIX | (k->flags & FG_SOCK_F_ABSTRACT);
	for (__u32 i = 0; i < FG_UNIX_PATH_MAX + FG_PATH_MAX / 2 && i < len; i++) {
		__u32 at = i;

		fg_barrier_var(at);
		h = fg_hash_step(h, n->out[at & FG_PATH_MASK]);
		r.port = (__u16)(i + 1);
		r.hash = h;
		r.type = k->type;
		if (bpf_map_lookup_elem(&fg_sock_allow, &r))
			return 1;
		r.type = 0;
		if (bpf_map_lookup_elem(&fg_sock_allow, &r))
			return 1;
	}
	return 0;
}

static __always_inline int fg_unix_check(struct fg_name_scratch *n, const struct fg_fn_cfg *cfg,
					 __u64 cgid, struct fg_sock_key *k, const struct fg_path *p)
{
	if (cfg->mode == FG_MODE_LEARN) {
		if (fg_set_seen(&fg_socks, k)) {
			fg_remember_name(n, p);
			fg_emit_sock(cgid, k, n->out, p->len, p->flags);
		}
		return 1;
	}
	k->gen = cfg->gen & 1;
	if (fg_sock_allowed(k))
		return 1;
	__u16 type = k->type;

	k->type = 0; /* a rule for any type */
	if (fg_sock_allowed(k))
		return 1;
	k->type = type;
	if (fg_unix_prefix_allowed(n, k, p->len))
		return 1;
	struct fg_scratch *s = fg_scratch_get(FG_SCRATCH_CGROUP);
	__u32 len = p->len & FG_PATH_MASK;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = k->fn_id,
				.kind = FG_VIOL_UNIX,
				.slot = FG_SCRATCH_CGROUP,
				.item_hash = p->hash,
				.item_flags = type | (p->flags << 16)};

	if (s && !bpf_probe_read_kernel(s->item, len + 1, n->out))
		r.item_len = len;
	return fg_sock_violation(cfg, &r);
}

/* A connect or an unconnected send on a Unix socket: the peer's name, from the address the
 * task gave (the hook runs before the kernel looks the name up). */
static __always_inline int fg_unix(struct bpf_sock_addr *ctx)
{
	__u64 cgid;
	__u32 fn_id = 0;
	const struct fg_fn_cfg *cfg = fg_sock_fn(&cgid, &fn_id);

	if (!cfg)
		return 1;
	struct bpf_sock_addr_kern *sa = bpf_cast_to_kern_ctx(ctx);
	const char *sun_path = (const char *)sa->uaddr + 2; /* after sun_family */
	__u32 alen = sa->uaddrlen;

	if (alen <= 2)
		return 1; /* no name: the kernel refuses it */
	__u32 len = alen - 2;

	if (len > FG_UNIX_PATH_MAX)
		len = FG_UNIX_PATH_MAX;
	struct fg_name_scratch *n = fg_name_claim();

	if (!n)
		return cfg->mode == FG_MODE_ENFORCE ? 0 : 1; /* nothing to decide with */
	int allow = 1;
	__u32 abstract = 0;

	if (bpf_probe_read_kernel(n->name, len & (FG_PATH_MAX - 1), sun_path)) {
		fg_stat_inc(FG_STAT_READ_FAIL);
		goto out;
	}
	if (n->name[0] == 0) {
		/* abstract: the bytes after the leading NUL, all of them */
		abstract = 1;
		len -= 1;
		if (bpf_probe_read_kernel(n->name, len & (FG_PATH_MAX - 1), sun_path + 1)) {
			fg_stat_inc(FG_STAT_READ_FAIL);
			goto out;
		}
	} else {
		/* a path: up to its NUL */
		for (__u32 i = 0; i < FG_UNIX_PATH_MAX; i++) {
			if (i >= len || n->name[i & (FG_PATH_MAX - 1)] == 0) {
				len = i;
				break;
			}
		}
	}
	struct fg_path p = {};

	fg_resolve_name(n, len, abstract, &p);
	struct fg_sock_key k = {.fn_id = fn_id,
				.kind = FG_SOCK_UNIX,
				.flags = abstract ? FG_SOCK_F_ABSTRACT : 0,
				.type = (__u16)ctx->type,
				.hash = p.hash};

	allow = fg_unix_check(n, cfg, cgid, &k, &p);
out:
	fg_name_release(n);
	return allow;
}

SEC("?cgroup/connect_unix")
int fg_connect_unix(struct bpf_sock_addr *ctx)
{
	return fg_unix(ctx);
}

SEC("?cgroup/sendmsg_unix")
int fg_sendmsg_unix(struct bpf_sock_addr *ctx)
{
	return fg_unix(ctx);
}

/* ---- Socket kinds ------------------------------------------------------------------------ */

/* Every IPv4 and IPv6 socket a task creates (the kernel runs the hook for no other family),
 * before socket(2) returns it: TCP, UDP, ping (SOCK_DGRAM / IPPROTO_ICMP), raw, SCTP... */
SEC("cgroup/sock_create")
int fg_sock_create(struct bpf_sock *ctx)
{
	__u64 cgid;
	__u32 fn_id = 0;
	const struct fg_fn_cfg *cfg = fg_sock_fn(&cgid, &fn_id);

	if (!cfg)
		return 1;
	struct fg_sock_key k = {.fn_id = fn_id,
				.kind = FG_SOCK_KIND,
				.family = (__u16)ctx->family,
				.type = (__u16)ctx->type,
				.proto = (__u16)ctx->protocol};

	if (cfg->mode == FG_MODE_LEARN) {
		fg_sock_learn(cgid, &k);
		return 1;
	}
	/* A TCP stream or UDP datagram socket, of either family, is decided where it goes (the
	 * connect, sendmsg, bind and ingress hooks), which names the destination: refusing the
	 * socket itself would only hide it. */
	if ((k.type == FG_SOCK_STREAM && k.proto == FG_IPPROTO_TCP) ||
	    (k.type == FG_SOCK_DGRAM && k.proto == FG_IPPROTO_UDP))
		return 1;
	k.gen = cfg->gen & 1;
	if (fg_sock_allowed(&k))
		return 1;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = fn_id,
				.kind = FG_VIOL_SOCKET,
				.slot = FG_SCRATCH_CGROUP,
				.item_hash = k.family | ((__u64)k.type << 16) | ((__u64)k.proto << 32)};

	return fg_sock_violation(cfg, &r);
}

/* ---- Socket options that reroute ---------------------------------------------------------- */

#define FG_SOL_IP 0
#define FG_SOL_SOCKET 1
#define FG_SOL_IPV6 41

/* What sends elsewhere than the address the connect and sendmsg hooks checked: source routes
 * (IP_OPTIONS, IPv6 routing headers), headers the task writes itself (IP_HDRINCL), transparent
 * proxying, binding to a device and routing marks. */
static __always_inline int fg_rerouting(int level, int optname, int optlen)
{
	switch (level) {
	case FG_SOL_IP:
		/* IP_OPTIONS (an empty one clears them), IP_HDRINCL, IP_TRANSPARENT */
		return (optname == 4 && optlen > 0) || optname == 3 || optname == 19;
	case FG_SOL_IPV6:
		/* IPV6_2292RTHDR, IPV6_HDRINCL, IPV6_RTHDR, IPV6_TRANSPARENT */
		return optname == 5 || optname == 36 || optname == 57 || optname == 75;
	case FG_SOL_SOCKET:
		/* SO_BINDTODEVICE, SO_MARK, SO_BINDTOIFINDEX */
		return optname == 25 || optname == 36 || optname == 62;
	default:
		return 0;
	}
}

SEC("cgroup/setsockopt")
int fg_setsockopt(struct bpf_sockopt *ctx)
{
	if (!fg_rerouting(ctx->level, ctx->optname, ctx->optlen))
		return 1; /* nearly every setsockopt leaves here */
	__u64 cgid;
	__u32 fn_id = 0;
	const struct fg_fn_cfg *cfg = fg_sock_fn(&cgid, &fn_id);

	if (!cfg)
		return 1;
	struct fg_sock_key k = {.fn_id = fn_id,
				.kind = FG_SOCK_OPT,
				.proto = (__u16)ctx->level,
				.port = (__u16)ctx->optname};

	if (cfg->mode == FG_MODE_LEARN) {
		fg_sock_learn(cgid, &k);
		return 1;
	}
	k.gen = cfg->gen & 1;
	if (fg_sock_allowed(&k))
		return 1;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = fn_id,
				.kind = FG_VIOL_SOCKOPT,
				.slot = FG_SCRATCH_CGROUP,
				.item_hash = (__u64)(__u32)ctx->optname | ((__u64)(__u32)ctx->level << 32)};

	return fg_sock_violation(cfg, &r);
}

/* ---- Inbound ----------------------------------------------------------------------------- */

/* The class of the peer that sent a packet: by its address and the device it came in on. */
static __always_inline __u8 fg_peer_class(struct __sk_buff *skb, const struct fg_net_key *peer)
{
	if (peer->family == 4 && peer->addr[0] == 127)
		return FG_PEER_LOOPBACK;
	if (peer->family == 6) {
		const __u32 *a = (const __u32 *)peer->addr;

		if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1))
			return FG_PEER_LOOPBACK;
	}
	if (skb->ifindex == FG_LOOPBACK_IFINDEX)
		return FG_PEER_LOCAL; /* from this network namespace, to one of its own addresses */
	struct fg_cidr_key c = {.prefixlen = FG_CIDR_FIXED_BITS + (peer->family == 4 ? 32 : 128),
				.family = peer->family};

	__builtin_memcpy(c.addr, peer->addr, 16);
	if (bpf_map_lookup_elem(&fg_cluster, &c))
		return FG_PEER_CLUSTER;
	return FG_PEER_OUTSIDE;
}

/* The sender's address from the packet, into k (family, addr); for UDP its port in *sport. */
static __always_inline int fg_packet_peer(struct __sk_buff *skb, __u8 proto, struct fg_net_key *k,
					  __u16 *sport)
{
	__u32 l4;

	if (skb->protocol == bpf_htons(FG_ETH_P_IP)) {
		__u8 vihl;

		if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || bpf_skb_load_bytes(skb, 12, k->addr, 4))
			return -1;
		k->family = 4;
		l4 = (vihl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(FG_ETH_P_IPV6)) {
		__u32 a[4];

		if (bpf_skb_load_bytes(skb, 8, a, 16))
			return -1;
		if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff)) {
			k->family = 4;
			__builtin_memcpy(k->addr, &a[3], 4);
		} else {
			k->family = 6;
			__builtin_memcpy(k->addr, a, 16);
		}
		l4 = 40; /* a UDP reply behind extension headers reads as port 0 */
	} else {
		return -1;
	}
	__u16 port = 0;

	if (proto == FG_IPPROTO_UDP && bpf_skb_load_bytes(skb, l4 & 0x3f, &port, 2))
		port = 0;
	*sport = bpf_ntohs(port);
	return 0;
}

/*
 * A packet for a socket of a tracked cgroup. Only two kinds of socket take packets from peers
 * the function never chose: a TCP listener (connection requests) and an unconnected UDP socket.
 * A connected socket's peer was checked when it connected (or, for an accepted one, when its
 * listener took the request), and the kernel delivers it nothing else.
 */
static __always_inline int fg_inbound(struct __sk_buff *skb, __u32 fn_id, __u64 cgid)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	__u8 proto = (__u8)sk->protocol;

	if (proto == FG_IPPROTO_TCP) {
		if (sk->state != FG_TCP_LISTEN)
			return 1;
	} else if (proto == FG_IPPROTO_UDP) {
		if (sk->state == FG_TCP_ESTABLISHED)
			return 1;
	} else {
		return 1;
	}
	const struct fg_fn_cfg *cfg = fg_cfg_of(fn_id);

	if (!cfg)
		return 1;
	struct fg_net_key peer = {.fn_id = fn_id, .kind = FG_NET_ACCEPT, .proto = proto};

	__u16 sport = 0;

	peer.port = (__u16)sk->src_port; /* the local port, host order */
	if (fg_packet_peer(skb, proto, &peer, &sport))
		return 1;
	struct fg_sock_key k = {.fn_id = fn_id,
				.kind = FG_SOCK_INBOUND,
				.cls = fg_peer_class(skb, &peer),
				.proto = proto,
				.port = peer.port};
	/* A receiving port: a TCP listener's, or a UDP port the function bound (learned: its
	 * bind; enforced: a listen rule). Any other UDP socket's port is one the kernel picked
	 * for a client: it takes replies from the destinations the function may send to. */
	struct fg_net_key own = {.fn_id = fn_id, .kind = FG_NET_BIND, .proto = proto,
				 .family = sk->family == FG_AF_INET6 ? 6 : 4, .port = peer.port};

	if (cfg->mode == FG_MODE_LEARN) {
		if (proto == FG_IPPROTO_UDP && !bpf_map_lookup_elem(&fg_net, &own))
			return 1;
		fg_sock_learn(cgid, &k);
		return 1;
	}
	int listening = fg_net_allowed(&own, cfg->gen, FG_RULE_LISTEN);
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = fn_id,
				.kind = FG_VIOL_INBOUND,
				.slot = FG_SCRATCH_CGROUP,
				.req_flags = FG_VREQ_NO_TASK,
				.net = peer,
				.item_flags = k.cls};

	if (proto == FG_IPPROTO_UDP && !listening) {
		/* a reply: the item it takes is the sender as a destination (egress) */
		r.net.kind = FG_NET_SEND;
		r.net.port = sport;
		r.item_hash = peer.port;
		if (fg_net_allowed(&r.net, cfg->gen, FG_RULE_EGRESS))
			return 1;
	} else if (listening) {
		k.gen = cfg->gen & 1;
		struct fg_sock_key mark = {.fn_id = fn_id, .kind = FG_SOCK_INBOUND, .gen = k.gen,
					   .port = FG_SOCK_INBOUND_MARK_PORT};

		if (!fg_sock_allowed(&mark))
			return 1; /* no inbound rules: a profile learned before them, ports only */
		__u8 cls = k.cls;
		__u16 port = k.port;

		if (fg_sock_allowed(&k))
			return 1;
		k.cls = FG_PEER_ANY;
		if (fg_sock_allowed(&k))
			return 1;
		k.port = 0;
		if (fg_sock_allowed(&k))
			return 1;
		k.cls = cls;
		if (fg_sock_allowed(&k))
			return 1;
		k.port = port;
	}
	return fg_sock_violation(cfg, &r);
}

/* Where the kernel has cgroup local storage: the socket's cgroup (where it was created) is
 * reached through its pointers, and one on which nothing keeps local storage, as on every
 * untracked cgroup, costs four loads and no helper call. Others are looked up by id (the
 * storage helper takes no pointer read from a socket). */
SEC("?cgroup_skb/ingress")
int fg_ingress(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct sock *sk = kskb->sk;

	if (!sk)
		return 1;
	struct cgroup *cg = sk->sk_cgrp_data.cgroup;

	if (!cg || !cg->bpf_cgrp_storage)
		return 1;
	__u64 cgid = cg->kn->id;
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 1;
	return fg_inbound(skb, t->fn_id, cgid);
}

/* The same without cgroup local storage (before 6.2): the socket's cgroup id in fg_tracked. */
SEC("?cgroup_skb/ingress")
int fg_ingress_id(struct __sk_buff *skb)
{
	__u64 cgid = bpf_skb_cgroup_id(skb);
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 1;
	return fg_inbound(skb, t->fn_id, cgid);
}
