// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns.bpf.c: egress by DNS name (docs/architecture.md, "Egress by DNS name").
 *
 * cgroup_skb/egress parses the DNS queries a function sends (UDP and TCP to port 53): learn
 * mode records (name, qtype); monitor and enforce check the name against the profile, and
 * enforce drops a query for any other name (a UDP send fails with EPERM), or a packet to port
 * 53 that cannot be parsed. Every query that leaves is remembered (fg_dns_pending) by its
 * socket and DNS id.
 *
 * cgroup_skb/ingress parses the answers (from port 53) before the packet is queued to the
 * socket, so before the application can read them: an answer to a remembered query binds its
 * A / AAAA addresses (CNAME chains followed) to the name asked for, in the function's slot,
 * until its TTL (capped) plus a grace has passed. The connect and UDP send hooks
 * (net.bpf.c -> fg_dns_egress_g) allow an address outside the address allow-list when it is
 * bound to an allowed name, and learn connects to bound addresses as named items.
 *
 * Both programs are attached at the cgroup v2 root and see every packet of the node: a packet
 * that is not TCP or UDP to (egress) / from (ingress) port 53 leaves after a few loads of its
 * headers, and one of a socket that is not tracked after one more cgroup lookup.
 */
#define FG_DNS_PARSER
#include "dns.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FG_ETH_P_IP 0x0800
#define FG_ETH_P_IPV6 0x86DD
#define FG_IPPROTO_TCP 6
#define FG_IPPROTO_UDP 17
#define FG_NS 1000000000ULL

/* What a packet is, after its headers. */
enum fg_pkt_class {
	FG_PKT_OTHER = 0,   /* not DNS: passes */
	FG_PKT_DNS = 1,     /* TCP or UDP to / from port 53 */
	FG_PKT_UNKNOWN = 2, /* its ports cannot be read (fragments, headers not walked) */
};

/* A DNS packet of a function: where its payload is, who the other end is, whose it is. */
struct fg_pkt {
	__u64 cgid;
	__u32 fn_id;
	__u32 cfg;     /* the slot's mode | gen << 8 | flags << 16 */
	__u32 l4;      /* offset of the TCP / UDP header */
	__u32 payload; /* offset of the DNS payload (TCP: its length-prefixed messages) */
	__u32 end;     /* offset just past the payload */
	__u8 proto;
	__u8 family;   /* 4 or 6 */
	__u16 port;    /* the other end's port, host order */
	__u16 lport;   /* this end's */
	__u16 pad;
	__u8 addr[16]; /* the other end's address */
};

/* ---- The parser's global functions (bpf/abi/fg_dns.h), and the scratch slots ---------- */

/* Take a free scratch slot of this CPU (the same CPU can run this code in a task and in the
 * softirq that interrupts it). NULL when all are taken: counted, and the packet is treated as
 * one that cannot be parsed. */
static __always_inline struct fg_dns_scratch *fg_dns_take(__u32 *idx)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < FG_DNS_SLOTS; i++) {
		__u32 k = i;
		struct fg_dns_scratch *s = bpf_map_lookup_elem(&fg_dns_scratch, &k);

		if (s && !__sync_lock_test_and_set(&s->busy, 1)) {
			*idx = i;
			return s;
		}
	}
	fg_stat_inc(FG_STAT_DNS_BUSY);
	return 0;
}

static __always_inline void fg_dns_give(struct fg_dns_scratch *s)
{
	__sync_lock_test_and_set(&s->busy, 0);
}

/* ---- Packets -------------------------------------------------------------------------- */

/* IPv6 extension headers walked to find the transport header; more cannot be told. */
#define FG_IPV6_EXT_MAX 8

/* The slow way through the headers (bpf_skb_load_bytes: data not in the linear part, IPv6
 * extension headers). */
static __always_inline int fg_pkt_slow(struct __sk_buff *skb, int egress, struct fg_pkt *p)
{
	__u8 h[40];
	__u32 off, i;
	__u8 next;

	if (bpf_skb_load_bytes(skb, 0, h, 1))
		return FG_PKT_OTHER;
	if ((h[0] >> 4) == 4) {
		if (bpf_skb_load_bytes(skb, 0, h, 20))
			return FG_PKT_OTHER;
		next = h[9];
		if (next != FG_IPPROTO_TCP && next != FG_IPPROTO_UDP)
			return FG_PKT_OTHER;
		if ((h[6] & 0x3f) || h[7]) /* MF or a fragment offset: no ports to read */
			return FG_PKT_UNKNOWN;
		off = (h[0] & 0xf) * 4;
		if (off < 20)
			return FG_PKT_UNKNOWN;
		p->family = 4;
		__builtin_memcpy(p->addr, egress ? &h[16] : &h[12], 4);
	} else if ((h[0] >> 4) == 6) {
		if (bpf_skb_load_bytes(skb, 0, h, 40))
			return FG_PKT_OTHER;
		next = h[6];
		p->family = 6;
		__builtin_memcpy(p->addr, egress ? &h[24] : &h[8], 16);
		off = 40;
		for (i = 0; i < FG_IPV6_EXT_MAX; i++) {
			__u8 e[4];

			if (next == FG_IPPROTO_TCP || next == FG_IPPROTO_UDP)
				break;
			if (next != 0 && next != 43 && next != 44 && next != 60 && next != 51)
				return next == 50 ? FG_PKT_UNKNOWN : FG_PKT_OTHER; /* ESP hides it */
			if (bpf_skb_load_bytes(skb, off, e, 4))
				return FG_PKT_UNKNOWN;
			if (next == 44) {
				if (((e[2] << 8) | e[3]) & 0xfff8) /* not the first fragment */
					return FG_PKT_UNKNOWN;
				off += 8;
			} else if (next == 51) {
				off += ((__u32)e[1] + 2) * 4;
			} else {
				off += ((__u32)e[1] + 1) * 8;
			}
			next = e[0];
		}
		if (next != FG_IPPROTO_TCP && next != FG_IPPROTO_UDP)
			return FG_PKT_UNKNOWN;
	} else {
		return FG_PKT_OTHER;
	}
	__u8 ports[4];

	if (bpf_skb_load_bytes(skb, off, ports, 4))
		return FG_PKT_UNKNOWN;
	__u16 src = ports[0] << 8 | ports[1], dst = ports[2] << 8 | ports[3];

	if ((egress ? dst : src) != FG_DNS_PORT)
		return FG_PKT_OTHER;
	p->proto = next;
	p->l4 = off;
	p->port = egress ? dst : src;
	p->lport = egress ? src : dst;
	return FG_PKT_DNS;
}

/*
 * What a packet is: TCP or UDP to (egress) or from (ingress) port 53. The common case reads
 * the IP header and the ports straight from the packet: a handful of loads, nothing else.
 */
static __always_inline int fg_pkt_classify(struct __sk_buff *skb, int egress, struct fg_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *ip = data;

	if (skb->protocol == bpf_htons(FG_ETH_P_IP)) {
		if ((void *)(ip + 20) > end)
			return fg_pkt_slow(skb, egress, p);
		if (ip[9] != FG_IPPROTO_UDP && ip[9] != FG_IPPROTO_TCP)
			return FG_PKT_OTHER;
		__u32 ihl = (ip[0] & 0xf) * 4;
		__u8 *l4 = ip + (ihl & 0x3c);

		if (ihl < 20 || (ip[6] & 0x3f) || ip[7] || (void *)(l4 + 4) > end)
			return fg_pkt_slow(skb, egress, p);
		__u16 src = l4[0] << 8 | l4[1], dst = l4[2] << 8 | l4[3];

		if ((egress ? dst : src) != FG_DNS_PORT)
			return FG_PKT_OTHER;
		p->family = 4;
		p->proto = ip[9];
		p->l4 = ihl;
		p->port = egress ? dst : src;
		p->lport = egress ? src : dst;
		__builtin_memcpy(p->addr, egress ? ip + 16 : ip + 12, 4);
		return FG_PKT_DNS;
	}
	if (skb->protocol == bpf_htons(FG_ETH_P_IPV6)) {
		if ((void *)(ip + 44) > end)
			return fg_pkt_slow(skb, egress, p);
		if (ip[6] != FG_IPPROTO_UDP && ip[6] != FG_IPPROTO_TCP) {
			/* hop-by-hop, routing, fragment, destination options, AH, ESP: walked */
			if (ip[6] == 0 || ip[6] == 43 || ip[6] == 44 || ip[6] == 60 || ip[6] == 51 ||
			    ip[6] == 50)
				return fg_pkt_slow(skb, egress, p);
			return FG_PKT_OTHER;
		}
		__u16 src = ip[40] << 8 | ip[41], dst = ip[42] << 8 | ip[43];

		if ((egress ? dst : src) != FG_DNS_PORT)
			return FG_PKT_OTHER;
		p->family = 6;
		p->proto = ip[6];
		p->l4 = 40;
		p->port = egress ? dst : src;
		p->lport = egress ? src : dst;
		__builtin_memcpy(p->addr, egress ? ip + 24 : ip + 8, 16);
		return FG_PKT_DNS;
	}
	return FG_PKT_OTHER;
}

/* Where the DNS payload of a DNS packet is. 0 on success. */
static __always_inline int fg_pkt_payload(struct __sk_buff *skb, struct fg_pkt *p)
{
	__u8 h[2];

	if (p->proto == FG_IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, p->l4 + 4, h, 2))
			return -1;
		__u32 ulen = h[0] << 8 | h[1];

		if (ulen < 8 || p->l4 + ulen > skb->len)
			return -1;
		p->payload = p->l4 + 8;
		p->end = p->l4 + ulen;
		return 0;
	}
	if (bpf_skb_load_bytes(skb, p->l4 + 12, h, 1))
		return -1;
	__u32 doff = (h[0] >> 4) * 4;

	if (doff < 20 || p->l4 + doff > skb->len)
		return -1;
	p->payload = p->l4 + doff;
	p->end = skb->len;
	return 0;
}

/* Load the DNS message at `off` (len bytes; only the first FG_DNS_BUF are seen) into m. */
static __always_inline int fg_pkt_load_msg(struct __sk_buff *skb, struct fg_dns_msg *m, __u32 off,
					   __u32 len)
{
	if (len > FG_DNS_BUF)
		len = FG_DNS_BUF;
	if (len < 12)
		return -1;
	fg_barrier_var(len);
	if (len > FG_DNS_BUF)
		return -1;
	if (bpf_skb_load_bytes(skb, off, m->buf, len))
		return -1;
	m->len = len;
	return 0;
}

/* ---- Reports and first sightings -------------------------------------------------------- */

/* A record header for the current task (the helpers for it are not all allowed here). */
static __always_inline void fg_dns_fill_hdr(struct fg_event_hdr *h, __u16 type, __u16 size,
					    __u32 fn_id, __u64 cgid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	h->type = type;
	h->size = size;
	h->fn_id = fn_id;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = cgid;
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
}

/* A first sighting to user space (fg_dns_event); the name's text from `text` (len bytes). */
static __always_inline void fg_dns_emit(__u64 cgid, __u32 fn_id, __u8 what, __u16 qtype,
					const struct fg_dns_conn_key *ck, const struct fg_net_key *nk,
					__u64 hash, const char *text, __u32 len)
{
	struct fg_dns_event *e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);

	if (!e) {
		fg_stat_inc(FG_STAT_RB_RESERVE_FAIL);
		return;
	}
	fg_dns_fill_hdr(&e->hdr, FG_EV_DNS, sizeof(*e), fn_id, cgid);
	e->what = what;
	e->kind = ck ? ck->kind : 0;
	e->proto = ck ? ck->proto : 0;
	e->family = nk ? nk->family : 0;
	e->qtype = qtype;
	e->port = ck ? ck->port : 0;
	e->hash = hash;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (nk)
		__builtin_memcpy(e->addr, nk->addr, 16);
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	e->name_len = 0;
	e->name[0] = 0;
	if (len > FG_DNS_NAME_MAX - 1)
		len = FG_DNS_NAME_MAX - 1;
	if (len && !bpf_probe_read_kernel(e->name, len & (FG_DNS_NAME_MAX - 1), text)) {
		e->name_len = len;
		e->name[len & (FG_DNS_NAME_MAX - 1)] = 0;
	}
	bpf_ringbuf_submit(e, 0);
	fg_stat_inc(FG_STAT_EVENTS);
}

/* Remember a name's text (fg_dns_names) when it is not there yet. */
static __always_inline void fg_dns_remember(struct fg_dns_scratch *s)
{
	__u64 h = s->m.q.hash;

	if (bpf_map_lookup_elem(&fg_dns_names, &h))
		return;
	s->nv.len = s->m.q.len;
	s->nv.depth = s->m.q.depth;
	s->nv.pad = 0;
	__builtin_memcpy(s->nv.text, s->m.q.text, sizeof(s->nv.text));
	if (bpf_map_update_elem(&fg_dns_names, &h, &s->nv, BPF_NOEXIST) == -7 /* E2BIG */)
		fg_stat_inc(FG_STAT_MAP_FULL);
}

/* A name (its hash, parents and depth) against a function's name rules of one kind: exact,
 * then, when the slot has wildcard rules, every parent domain (strict subdomains only). */
static __always_inline int fg_dns_rule(struct fg_dns_rule_key *r, __u64 hash, const __u64 *parents,
				       __u32 depth, __u8 wildcard)
{
	__u32 i;

	r->hash = hash;
	if (bpf_map_lookup_elem(&fg_dns_allow, r))
		return 1;
	if (!wildcard)
		return 0;
	r->kind |= FG_DNS_RULE_WILDCARD;
	for (i = 0; i < FG_DNS_PARENTS; i++) {
		if (i + 1 >= depth)
			break;
		r->hash = parents[i];
		if (bpf_map_lookup_elem(&fg_dns_allow, r))
			return 1;
	}
	r->kind &= ~FG_DNS_RULE_WILDCARD;
	return 0;
}

/* The flow of a query and of its answer: (function, DNS id, its port, the server). */
static __always_inline void fg_dns_pend_key(struct fg_dns_pend_key *k, const struct fg_pkt *p,
					    __u32 fn_id, __u16 id)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->fn_id = fn_id;
	k->id = id;
	k->lport = p->lport;
	k->family = p->family;
	k->proto = p->proto;
	k->port = p->port;
	__builtin_memcpy(k->addr, p->addr, 16);
}

/* ---- Queries (egress) ------------------------------------------------------------------- */

/* What became of the queries of a packet. */
enum fg_dns_verdict {
	FG_DNS_PASS = 0,     /* learned, or allowed */
	FG_DNS_UNPARSED = 1, /* not a DNS query this program can read */
	FG_DNS_REFUSED = 2,  /* a name outside the profile (s->m holds the query) */
};

/*
 * Report a query (or a packet to port 53 that is none) outside the profile; returns 0 to drop
 * it. The question's name is the item when it parsed (s is NULL otherwise). Global: verified
 * once, and its frame (the report) is not on the parser's stack.
 */
__noinline int fg_dns_query_violation_g(struct fg_dns_scratch *s, struct fg_pkt *p,
					const struct fg_fn_cfg *cfg)
{
	if (!p || !cfg)
		return 1;
	__u32 fn_id = p->fn_id;
	__u64 cgid = p->cgid;
	struct fg_viol_req r = {.cgid = cgid,
				.fn_id = fn_id,
				.kind = FG_VIOL_DNS_QUERY,
				.action = FG_ACT_REPORTED,
				.mode = cfg->mode,
				.slot = FG_SCRATCH_CGROUP};
	int allow = 1;

	r.net.fn_id = fn_id;
	r.net.kind = FG_NET_SEND;
	r.net.proto = p->proto;
	r.net.family = p->family;
	r.net.port = p->port;
	__builtin_memcpy(r.net.addr, p->addr, 16);
	if (s) {
		struct fg_scratch *out = fg_scratch_get(FG_SCRATCH_CGROUP);

		r.nr = s->m.qtype;
		r.item_hash = s->m.q.hash;
		r.item_flags = FG_VIOL_ITEM_DNS_NAME;
		if (out) {
			__builtin_memcpy(out->item, s->m.q.text, FG_DNS_NAME_MAX);
			r.item_len = s->m.q.len;
		}
	}
	if (fg_blocks(cfg, &r.action)) {
		r.action = FG_ACT_DENIED;
		allow = 0;
	}
	fg_report_violation(&r);
	return allow;
}

/* One query in s->m: learned, or checked; remembered when it may leave. Returns an enum
 * fg_dns_verdict. Global: verified once. */
__noinline int fg_dns_one_query_g(struct fg_dns_scratch *s, struct fg_pkt *p)
{
	if (!s || !p)
		return FG_DNS_UNPARSED;
	struct fg_dns_msg *m = &s->m;
	__u32 cfg_word = p->cfg, fn_id = p->fn_id;
	__u8 mode = cfg_word & 0xff;
	__u64 cgid = p->cgid;

	if (fg_dns_parse_question(m, fg_hash_seed) || fg_dns_check_query(m))
		return FG_DNS_UNPARSED;
	fg_dns_remember(s);
	if (mode == FG_MODE_LEARN) {
		struct fg_dns_query_key qk = {
			.fn_id = fn_id, .qtype = m->qtype, .what = FG_DNS_SEEN_QUERY, .hash = m->q.hash};

		if (fg_set_seen(&fg_dns_queries, &qk))
			fg_dns_emit(cgid, fn_id, FG_DNS_SEEN_QUERY, m->qtype, 0, 0, m->q.hash, m->q.text,
				    m->q.len);
	} else {
		struct fg_dns_rule_key r = {
			.fn_id = fn_id, .gen = (cfg_word >> 8) & 1, .kind = FG_DNS_RULE_QUERY};

		if (!fg_dns_rule(&r, m->q.hash, m->q.parents, m->q.depth,
				 (cfg_word >> 16) & FG_CFG_F_DNS_WILDCARD))
			return FG_DNS_REFUSED;
	}
	struct fg_dns_pend_key pk;
	struct fg_dns_pend_val pv = {
		.qhash = m->q.hash, .sent_ns = bpf_ktime_get_ns(), .qtype = m->qtype};

	fg_dns_pend_key(&pk, p, fn_id, m->id);
	if (bpf_map_update_elem(&fg_dns_pending, &pk, &pv, BPF_ANY))
		fg_stat_inc(FG_STAT_HELPER_ERR);
	return FG_DNS_PASS;
}

/* The DNS messages of a packet to port 53 (UDP: one; TCP: whole length-prefixed ones), each
 * through fg_dns_one_query_g; the first that does not pass decides. Global. */
__noinline int fg_dns_queries_g(struct __sk_buff *skb, struct fg_dns_scratch *s, struct fg_pkt *p)
{
	if (!skb || !s || !p)
		return FG_DNS_UNPARSED;
	if (p->proto == FG_IPPROTO_UDP) {
		if (fg_pkt_load_msg(skb, &s->m, p->payload, p->end - p->payload))
			return FG_DNS_UNPARSED;
		return fg_dns_one_query_g(s, p);
	}
	/* TCP: a segment must hold whole messages. */
	__u32 off = p->payload, i;

	for (i = 0; i < FG_DNS_TCP_MSGS; i++) {
		__u8 h[2];
		int v;

		if (off >= p->end)
			return FG_DNS_PASS;
		if (off + 2 > p->end || bpf_skb_load_bytes(skb, off, h, 2))
			return FG_DNS_UNPARSED;
		__u32 len = h[0] << 8 | h[1];

		if (off + 2 + len > p->end || fg_pkt_load_msg(skb, &s->m, off + 2, len))
			return FG_DNS_UNPARSED;
		v = fg_dns_one_query_g(s, p);
		if (v != FG_DNS_PASS)
			return v;
		off += 2 + len;
	}
	return off >= p->end ? FG_DNS_PASS : FG_DNS_UNPARSED;
}

SEC("cgroup_skb/egress")
int fg_dns_query(struct __sk_buff *skb)
{
	struct fg_pkt p = {};
	int c = fg_pkt_classify(skb, 1, &p);

	if (c == FG_PKT_OTHER)
		return 1;
	__u64 cgid = bpf_skb_cgroup_id(skb);
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 1;
	const struct fg_fn_cfg *cfg = fg_cfg_of(t->fn_id);

	if (!cfg)
		return 1;
	struct fg_dns_scratch *s = 0;
	__u32 idx;
	int v = FG_DNS_UNPARSED, allow = 1;

	p.cgid = cgid;
	p.fn_id = t->fn_id;
	p.cfg = cfg->mode | (__u32)cfg->gen << 8 | (__u32)cfg->flags << 16;
	if (c == FG_PKT_DNS && !fg_pkt_payload(skb, &p)) {
		if (p.payload >= p.end)
			return 1; /* TCP without data (handshake, acknowledgements) */
		s = fg_dns_take(&idx);
		if (s)
			v = fg_dns_queries_g(skb, s, &p);
	}
	if (v == FG_DNS_UNPARSED)
		fg_stat_inc(FG_STAT_DNS_UNPARSED);
	if (v != FG_DNS_PASS && cfg->mode != FG_MODE_LEARN)
		allow = fg_dns_query_violation_g(v == FG_DNS_REFUSED ? s : 0, &p, cfg) ? 1 : 0;
	if (s)
		fg_dns_give(s);
	return allow;
}

/* ---- Answers (ingress) ------------------------------------------------------------------ */

/* Whether two bind keys are equal (under the value's lock: no calls). */
static __always_inline int fg_dns_same_key(const struct fg_dns_bind_key *a,
					   const struct fg_dns_bind_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2];
}

/*
 * Bind address i of a parsed answer to its question for function fn_id. Global: verified
 * once. The names of an address are kept most recent first; an entry for the same name, else
 * an expired one, else the oldest makes room. After the update the element is looked up again:
 * when the agent removed it meanwhile (or it was reused), the update is made again.
 */
__noinline int fg_dns_bind_g(struct fg_dns_scratch *s, __u32 i, __u32 fn_id, __u64 now)
{
	if (!s)
		return 0;
	struct fg_dns_msg *m = &s->m;
	struct fg_dns_addr *a = &m->addrs[i & (FG_DNS_ADDRS - 1)];
	struct fg_dns_bind_key k = {.fn_id = fn_id, .family = a->family};
	struct fg_dns_bound b = {.hash = m->q.hash, .depth = m->q.depth};
	__u32 ttl = a->ttl > FG_DNS_TTL_CAP_S ? FG_DNS_TTL_CAP_S : a->ttl, attempt, j;

	__builtin_memcpy(k.addr, a->addr, 16);
	b.expires_ns = now + (__u64)ttl * FG_NS + FG_DNS_GRACE_NS;
	for (j = 0; j < FG_DNS_PARENTS; j++)
		b.parents[j] = m->q.parents[j];

	for (attempt = 0; attempt < 2; attempt++) {
		struct fg_dns_bind_val *v = bpf_map_lookup_elem(&fg_dns_binds, &k);

		if (!v) {
			struct fg_dns_bind_val *nv = (struct fg_dns_bind_val *)s->bind;

			__builtin_memset(nv, 0, sizeof(*nv));
			nv->key = k;
			nv->nonce = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
			long err = bpf_map_update_elem(&fg_dns_binds, &k, nv, BPF_NOEXIST);

			if (err == -7 /* E2BIG */) {
				fg_stat_inc(FG_STAT_DNS_BIND_FULL);
				return 0;
			}
			v = bpf_map_lookup_elem(&fg_dns_binds, &k);
			if (!v)
				continue;
		}
		__u64 nonce;
		int same;

		bpf_spin_lock(&v->lock);
		same = fg_dns_same_key(&v->key, &k);
		nonce = v->nonce;
		if (same) {
			__u32 at = FG_DNS_BIND_NAMES - 1;

			/* Room: an expired entry (the lowest), unless the name is there. */
			if (v->names[3].expires_ns < now)
				at = 3;
			if (v->names[2].expires_ns < now)
				at = 2;
			if (v->names[1].expires_ns < now)
				at = 1;
			if (v->names[0].expires_ns < now)
				at = 0;
			if (v->names[3].hash == b.hash)
				at = 3;
			if (v->names[2].hash == b.hash)
				at = 2;
			if (v->names[1].hash == b.hash)
				at = 1;
			if (v->names[0].hash == b.hash)
				at = 0;
			if (at >= 3)
				v->names[3] = v->names[2];
			if (at >= 2)
				v->names[2] = v->names[1];
			if (at >= 1)
				v->names[1] = v->names[0];
			v->names[0] = b;
		}
		bpf_spin_unlock(&v->lock);
		if (!same)
			continue; /* the element went to another key under us */
		v = bpf_map_lookup_elem(&fg_dns_binds, &k);
		if (v && v->nonce == nonce)
			return 1;
	}
	fg_stat_inc(FG_STAT_HELPER_ERR);
	return 0;
}

/* One parsed answer: bound when it answers a query this socket sent to where it came from. */
static __always_inline void fg_dns_one_answer(struct __sk_buff *skb, struct fg_dns_scratch *s,
					  const struct fg_pkt *p, const struct fg_fn_cfg *cfg,
					  __u32 fn_id, __u64 cgid)
{
	struct fg_dns_msg *m = &s->m;

	if (fg_dns_parse_question(m, fg_hash_seed) || !m->response) {
		fg_stat_inc(FG_STAT_DNS_UNPARSED);
		return;
	}
	struct fg_dns_pend_key pk;

	fg_dns_pend_key(&pk, p, fn_id, m->id);
	struct fg_dns_pend_val *q = bpf_map_lookup_elem(&fg_dns_pending, &pk);

	if (!q || q->qhash != m->q.hash || q->qtype != m->qtype) {
		fg_stat_inc(FG_STAT_DNS_UNMATCHED);
		return;
	}
	bpf_map_delete_elem(&fg_dns_pending, &pk);
	if (cfg->mode == FG_MODE_LEARN && m->rcode == FG_DNS_RCODE_NXDOMAIN) {
		struct fg_dns_query_key qk = {
			.fn_id = fn_id, .qtype = m->qtype, .what = FG_DNS_SEEN_NXDOMAIN, .hash = m->q.hash};

		if (fg_set_seen(&fg_dns_queries, &qk))
			fg_dns_emit(cgid, fn_id, FG_DNS_SEEN_NXDOMAIN, m->qtype, 0, 0, m->q.hash,
				    m->q.text, m->q.len);
	}
	fg_dns_parse_answers(m, fg_hash_seed);
	if (m->err)
		fg_stat_inc(FG_STAT_DNS_UNPARSED);
	__u64 now = bpf_ktime_get_ns();
	__u32 i;

	for (i = 0; i < FG_DNS_ADDRS; i++) {
		if (i >= m->naddrs)
			break;
		fg_dns_bind_g(s, i, fn_id, now);
	}
}

SEC("cgroup_skb/ingress")
int fg_dns_answer(struct __sk_buff *skb)
{
	struct fg_pkt p = {};
	int c = fg_pkt_classify(skb, 0, &p);

	if (c == FG_PKT_OTHER)
		return 1;
	__u64 cgid = bpf_skb_cgroup_id(skb);
	const struct fg_cgroup_val *t = fg_lookup_cgroup(cgid);

	if (!t || (t->flags & FG_CG_F_PENDING))
		return 1;
	const struct fg_fn_cfg *cfg = fg_cfg_of(t->fn_id);

	if (!cfg)
		return 1;
	/* An answer that cannot be read binds nothing; what the application does with it is
	 * checked when it connects. Answers are never dropped. */
	if (c == FG_PKT_UNKNOWN || fg_pkt_payload(skb, &p)) {
		fg_stat_inc(FG_STAT_DNS_UNPARSED);
		return 1;
	}
	if (p.payload >= p.end)
		return 1;
	__u32 idx;
	struct fg_dns_scratch *s = fg_dns_take(&idx);

	if (!s)
		return 1;
	if (p.proto == FG_IPPROTO_UDP) {
		if (!fg_pkt_load_msg(skb, &s->m, p.payload, p.end - p.payload))
			fg_dns_one_answer(skb, s, &p, cfg, t->fn_id, cgid);
		else
			fg_stat_inc(FG_STAT_DNS_UNPARSED);
		fg_dns_give(s);
		return 1;
	}
	__u32 off = p.payload, i;

	for (i = 0; i < FG_DNS_TCP_MSGS; i++) {
		__u8 h[2];

		if (off >= p.end)
			break;
		if (off + 2 > p.end || bpf_skb_load_bytes(skb, off, h, 2)) {
			fg_stat_inc(FG_STAT_DNS_UNPARSED);
			break;
		}
		__u32 len = h[0] << 8 | h[1];

		if (off + 2 + len > p.end || fg_pkt_load_msg(skb, &s->m, off + 2, len)) {
			fg_stat_inc(FG_STAT_DNS_UNPARSED); /* a message split across segments */
			break;
		}
		fg_dns_one_answer(skb, s, &p, cfg, t->fn_id, cgid);
		off += 2 + len;
	}
	fg_dns_give(s);
	return 1;
}

/* ---- Connects and UDP sends (net.bpf.c) ------------------------------------------------- */

/* Copy name `i` of a binding under its lock, when the element is still `k`'s. */
static __always_inline int fg_dns_bound_at(struct fg_dns_bind_val *v,
					   const struct fg_dns_bind_key *k, __u32 i,
					   struct fg_dns_bound *out)
{
	int same;

	bpf_spin_lock(&v->lock);
	same = fg_dns_same_key(&v->key, k);
	if (same)
		*out = v->names[i & (FG_DNS_BIND_NAMES - 1)];
	bpf_spin_unlock(&v->lock);
	return same;
}

/* Learn mode: the destination's most recent unexpired name, as a named item. */
static __always_inline int fg_dns_learn_conn(struct fg_net_key *k, __u64 cgid,
					     const struct fg_dns_bound *b)
{
	struct fg_dns_conn_key ck = {
		.fn_id = k->fn_id, .kind = k->kind, .proto = k->proto, .port = k->port, .hash = b->hash};
	__u64 now = bpf_ktime_get_boot_ns();
	struct fg_dns_conn_val *cv = bpf_map_lookup_elem(&fg_dns_conns, &ck);

	if (cv) {
		__sync_fetch_and_add(&cv->count, 1);
		cv->last_ns = now;
		cv->family = k->family;
		__builtin_memcpy(cv->addr, k->addr, 16);
		return 1;
	}
	struct fg_dns_conn_val nv = {.count = 1, .first_ns = now, .last_ns = now, .family = k->family};

	__builtin_memcpy(nv.addr, k->addr, 16);
	long err = bpf_map_update_elem(&fg_dns_conns, &ck, &nv, BPF_NOEXIST);

	if (err == -17 /* EEXIST */)
		return 1;
	if (err)
		fg_stat_inc(err == -7 /* E2BIG */ ? FG_STAT_MAP_FULL : FG_STAT_HELPER_ERR);
	struct fg_dns_name_val *name = bpf_map_lookup_elem(&fg_dns_names, &ck.hash);

	fg_dns_emit(cgid, k->fn_id, FG_DNS_SEEN_CONN, 0, &ck, k, ck.hash, name ? name->text : 0,
		    name ? name->len : 0);
	return 1;
}

__noinline int fg_dns_egress_g(struct fg_net_key *k, __u32 cfg_word, __u64 cgid,
			       struct fg_viol_req *r)
{
	if (!k)
		return 0;
	struct fg_dns_bind_key bk = {.fn_id = k->fn_id, .family = k->family};

	__builtin_memcpy(bk.addr, k->addr, 16);
	struct fg_dns_bind_val *v = bpf_map_lookup_elem(&fg_dns_binds, &bk);

	if (!v)
		return 0;
	__u8 mode = cfg_word & 0xff, gen = (cfg_word >> 8) & 1, flags = cfg_word >> 16;
	struct fg_dns_rule_key rk = {.fn_id = k->fn_id,
				     .gen = gen,
				     .kind = FG_DNS_RULE_EGRESS,
				     .proto = k->proto,
				     .port = k->port};
	struct fg_dns_bound b;
	__u64 now = bpf_ktime_get_ns(), named = 0;
	__u32 i;

	for (i = 0; i < FG_DNS_BIND_NAMES; i++) {
		if (!fg_dns_bound_at(v, &bk, i, &b))
			return 0;
		if (b.expires_ns < now)
			continue;
		if (mode == FG_MODE_LEARN)
			return fg_dns_learn_conn(k, cgid, &b);
		if (!named)
			named = b.hash;
		rk.port = k->port;
		if (fg_dns_rule(&rk, b.hash, b.parents, b.depth, flags & FG_CFG_F_DNS_WILDCARD))
			return 1;
		rk.port = 0;
		if (fg_dns_rule(&rk, b.hash, b.parents, b.depth, flags & FG_CFG_F_DNS_WILDCARD))
			return 1;
	}
	if (!named || !r)
		return 0;
	/* Not allowed: the report names the name the address came from. */
	struct fg_dns_name_val *name = bpf_map_lookup_elem(&fg_dns_names, &named);
	struct fg_scratch *out = fg_scratch_get(r->slot);

	r->item_hash = named;
	r->item_flags = FG_VIOL_ITEM_DNS_NAME;
	if (name && out) {
		__builtin_memcpy(out->item, name->text, FG_DNS_NAME_MAX);
		r->item_len = name->len;
	}
	return 0;
}
