/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fg_dns.h: egress by DNS name. Two parts, both shared by the kernel programs and user space:
 *  - the ABI of the feature (map keys and values, the first-sighting record, constants), after
 *    the rules of fg_abi.h (fixed-width fields, explicit padding, sizes asserted);
 *  - the DNS message parser: bpf/dns.bpf.c parses the answers a function receives and the
 *    queries it sends with it, and user space (the fuzzer, the unit tests) runs this very code.
 *    Plain C over fixed-width types; every loop is bounded and every read of the message is
 *    checked against its length and masked into the buffer, so the verifier accepts it and no
 *    input can make it read outside the buffer, loop, or bind an address to a name the answer
 *    does not give it.
 *
 * Names are lowercased (DNS is case-insensitive: 0x20 mixing), written dotted without the
 * final dot, and hashed label by label from the top-level domain down (FNV-1a 64, seeded):
 * the hash of "api.example.com" continues the hash of "example.com", so every parent domain's
 * hash falls out of one pass. parents[i] is the hash of the name's last i + 1 labels; a rule
 * "*.example.com" (depth 2) matches a name of depth > 2 whose parents[1] is its hash.
 *
 * For the verifier, the parser keeps the state of its loops in memory (struct fg_dns_name), read
 * and written through FG_DNS_V (volatile in BPF): every step starts from unknown values bounded
 * by checks and masks, so the states of one loop iteration converge and the loop is verified in
 * iterations x body, not in paths. In BPF the functions marked FG_DNS_FN are global functions,
 * verified once; they are defined in bpf/dns.bpf.c only (FG_DNS_PARSER).
 */
#ifndef FG_DNS_H
#define FG_DNS_H

#ifdef __BPF__
#define FG_DNS_INLINE static __always_inline
#define FG_DNS_FN __attribute__((noinline))
#define FG_DNS_V volatile
#else
#include <linux/bpf.h> /* struct bpf_spin_lock */
#include <linux/types.h>
#define FG_DNS_INLINE static inline
#define FG_DNS_FN static inline
#define FG_DNS_V
#endif

#define FG_DNS_BUF 2048     /* bytes of a message the parser sees (a power of two) */
#define FG_DNS_MASK (FG_DNS_BUF - 1)
#define FG_DNS_NAME_MAX 256 /* dotted text, with its terminating NUL */
#define FG_DNS_WIRE_MAX 255 /* RFC 1035: a name is at most 255 bytes on the wire */
#define FG_DNS_LABELS 64    /* at most 127 fit in 255 bytes; deeper names are refused */
#define FG_DNS_PARENTS 8    /* parent hashes kept: wildcard rules up to 8 labels deep */
#define FG_DNS_HOPS 16      /* compression pointers followed in one name */
#define FG_DNS_ANSWERS 32   /* answer records read */
#define FG_DNS_ADDRS 16     /* A / AAAA records bound per answer */
#define FG_DNS_ALIASES 8    /* CNAME targets followed */
/* A query may carry at most one additional record (EDNS's OPT) and this many bytes after its
 * question: a stub resolver needs no more, and more is room for data (DNS tunnelling). */
#define FG_DNS_QUERY_EXTRA 128
#define FG_DNS_TCP_MSGS 4   /* length-prefixed messages read from one TCP segment */

#define FG_DNS_TYPE_A 1
#define FG_DNS_TYPE_CNAME 5
#define FG_DNS_TYPE_AAAA 28
#define FG_DNS_CLASS_IN 1
#define FG_DNS_RCODE_NXDOMAIN 3
#define FG_DNS_PORT 53

/* ---- The ABI ---------------------------------------------------------------------------- */

/*
 * How long an address from an answer stays bound to its name: the record's TTL, capped, plus a
 * grace. The grace covers clients that use an answer after its TTL ran out: Java caches
 * positive answers for 30 s whatever their TTL, resolvers that serve stale answers (RFC 8767)
 * hand out records whose TTL already ran out, and glibc's getaddrinfo answers with a TTL of 0
 * are used right after they arrive. The cap bounds what one answer can open (a TTL of 2^31 s).
 */
#define FG_DNS_GRACE_NS (120ULL * 1000000000ULL)
#define FG_DNS_TTL_CAP_S 86400
#define FG_DNS_BIND_NAMES 4 /* names one address of a function is bound to at once (CDNs) */

/* Record type of struct fg_dns_event (enum fg_event_type; renumbered at merge if taken). */
#define FG_EV_DNS 6
/* fg_fn_cfg.flags: the allow-list has "*.name" rules (the wildcard lookups are skipped
 * otherwise). */
#define FG_CFG_F_DNS_WILDCARD 0x10
/* fg_violation_event.item_flags: the item is a DNS name (item_hash its hash). */
#define FG_VIOL_ITEM_DNS_NAME 0x1

/* What a DNS first sighting is (fg_dns_query_key.what, fg_dns_event.what). */
enum fg_dns_what {
	FG_DNS_SEEN_QUERY = 1,    /* a query sent for (name, qtype) */
	FG_DNS_SEEN_NXDOMAIN = 2, /* an NXDOMAIN answer received for (name, qtype) */
	FG_DNS_SEEN_CONN = 3,     /* a connect / UDP send to an address bound to the name */
};

/* Kinds of name rules (fg_dns_rule_key.kind). */
#define FG_DNS_RULE_QUERY 0x1    /* the name may be queried */
#define FG_DNS_RULE_EGRESS 0x2   /* addresses bound to the name may be reached (proto, port) */
#define FG_DNS_RULE_WILDCARD 0x80 /* hash is a parent domain's: its strict subdomains match */

/* fg_dns_allow: allowed names of a function, per generation. port 0 means any port; proto and
 * port are 0 for query rules. */
struct fg_dns_rule_key {
	__u32 fn_id;
	__u8 gen;
	__u8 kind;  /* FG_DNS_RULE_* */
	__u8 proto;
	__u8 pad;
	__u16 port;
	__u16 pad2;
	__u32 pad3;
	__u64 hash;
};

/* fg_dns_queries: the queries a function sent, and the NXDOMAIN answers it received ->
 * fg_seen_val. */
struct fg_dns_query_key {
	__u32 fn_id;
	__u16 qtype;
	__u8 what;  /* FG_DNS_SEEN_QUERY or FG_DNS_SEEN_NXDOMAIN */
	__u8 pad;
	__u64 hash;
};

/* fg_dns_conns: named egress of a function (learn mode). */
struct fg_dns_conn_key {
	__u32 fn_id;
	__u8 kind;   /* FG_NET_CONNECT or FG_NET_SEND */
	__u8 proto;
	__u16 port;  /* host byte order */
	__u64 hash;  /* the name */
};

/* Its counts, and the last address reached: the evidence, never part of the item. */
struct fg_dns_conn_val {
	__u64 count;
	__u64 first_ns; /* CLOCK_BOOTTIME */
	__u64 last_ns;
	__u8 family;    /* 4 or 6 */
	__u8 pad[7];
	__u8 addr[16];
};

/* fg_dns_binds: an address a function received in DNS answers -> the names it answers. */
struct fg_dns_bind_key {
	__u32 fn_id;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};

/* One name an address is bound to. */
struct fg_dns_bound {
	__u64 hash;
	__u64 expires_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC); 0: an empty entry */
	__u64 parents[FG_DNS_PARENTS];
	__u32 depth;
	__u32 pad;
};

/*
 * The names, the most recently bound first. Written by the kernel under the lock; the key is
 * kept in the value because a hash map element can be freed and reused while a program holds
 * it: a program that finds another key under the lock treats the address as unbound. nonce is
 * random per element: a writer checks after its update that the element it wrote is still the
 * one in the map (the agent removes expired elements), or writes again.
 */
struct fg_dns_bind_val {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct fg_dns_bind_key key;
	__u64 nonce;
	struct fg_dns_bound names[FG_DNS_BIND_NAMES];
};

/* fg_dns_pending: a query sent and not answered yet, by its flow and DNS id. An answer binds
 * addresses only when it answers one: the same question, from the address and port the query
 * went to, to the port it came from, in the same function. */
struct fg_dns_pend_key {
	__u32 fn_id;
	__u16 id;     /* the DNS message id */
	__u16 lport;  /* the function's port, host order */
	__u8 family;  /* 4 or 6 */
	__u8 proto;   /* IPPROTO_UDP / IPPROTO_TCP */
	__u16 port;   /* the server's port, host order */
	__u32 pad;
	__u8 addr[16]; /* the server's address */
};

struct fg_dns_pend_val {
	__u64 qhash;
	__u64 sent_ns; /* bpf_ktime_get_ns */
	__u16 qtype;
	__u16 pad[3];
};

/* fg_dns_names: name hash -> its text, so user space can name the hashes it finds. */
struct fg_dns_name_val {
	__u16 len;   /* strlen(text) */
	__u16 depth; /* labels */
	__u32 pad;
	char text[FG_DNS_NAME_MAX];
};

/* A first sighting (FG_EV_DNS): a query (name, qtype), an NXDOMAIN answer, or named egress
 * (name, kind, protocol, port, and the address reached as evidence). */
struct fg_dns_event {
	struct fg_event_hdr hdr;
	__u8 what;   /* enum fg_dns_what */
	__u8 kind;   /* FG_SEEN_CONN: FG_NET_CONNECT or FG_NET_SEND */
	__u8 proto;
	__u8 family; /* of addr (FG_SEEN_CONN), else 0 */
	__u16 qtype;
	__u16 port;
	__u64 hash;
	__u8 addr[16];
	__u16 name_len;
	__u16 pad[3];
	char name[FG_DNS_NAME_MAX];
};

FG_STATIC_ASSERT(sizeof(struct fg_dns_rule_key) == 24, "fg_dns_rule_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_query_key) == 16, "fg_dns_query_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_conn_key) == 16, "fg_dns_conn_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_conn_val) == 48, "fg_dns_conn_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_bind_key) == 24, "fg_dns_bind_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_bound) == 88, "fg_dns_bound layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_bind_val) == 40 + 88 * FG_DNS_BIND_NAMES,
		 "fg_dns_bind_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_pend_key) == 32, "fg_dns_pend_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_pend_val) == 24, "fg_dns_pend_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_name_val) == 8 + FG_DNS_NAME_MAX, "fg_dns_name_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_dns_event) == 32 + 16 + 16 + 8 + FG_DNS_NAME_MAX,
		 "fg_dns_event layout");

/* ---- The parser ------------------------------------------------------------------------- */

/* Why a message was not parsed (struct fg_dns_msg.err). */
enum fg_dns_err {
	FG_DNS_OK = 0,
	FG_DNS_E_SHORT,      /* a read past the message's end (truncated, counts that lie) */
	FG_DNS_E_LABEL,      /* a reserved label type (0x40, 0x80), a '.' or NUL in a label */
	FG_DNS_E_POINTER,    /* a compression pointer that does not point backwards, or too many */
	FG_DNS_E_NAME_LONG,  /* a name past 255 bytes or 64 labels */
	FG_DNS_E_NOT_QUERY,  /* an opcode other than QUERY, or not exactly one question */
	FG_DNS_E_RECORD,     /* an A / AAAA record whose length is not 4 / 16 */
	FG_DNS_E_SHAPE,      /* a query with answers, authority, several additional records, or
			      * more bytes after its question than a resolver sends */
	FG_DNS_E_COUNT,
};

/* One parsed name, and the state of the loops that read and hash it. */
struct fg_dns_name {
	__u64 hash;                     /* the whole name */
	__u64 parents[FG_DNS_PARENTS];  /* parents[i]: the last i + 1 labels */
	__u32 depth;                    /* labels */
	__u32 len;                      /* text bytes, without the NUL */
	__u32 end;                      /* message offset just past the name where it started */
	__u32 err;                      /* enum fg_dns_err */
	/* fg_dns_read_name's state: the next byte, what is left of the label, wire bytes so far,
	 * pointers followed, the lowest offset read from (a pointer must go below it). */
	__u32 pos, rem, wire, hops, lowest;
	/* fg_dns_hash_name's: the label being hashed, its text from at to stop, parents done. */
	__u32 label, at, stop, k;
	__u32 pad;
	__u64 h;
	char text[FG_DNS_NAME_MAX];
	__u16 label_at[FG_DNS_LABELS];  /* text offset of each label */
};

struct fg_dns_addr {
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u32 ttl;
	__u8 addr[16];
};

/* A parsed message: the question, and for a response the addresses it gives for it. */
struct fg_dns_msg {
	__u8 buf[FG_DNS_BUF];
	__u32 len;         /* bytes of the message in buf (at most FG_DNS_BUF) */
	__u16 id;
	__u16 flags;
	__u16 qtype;
	__u16 qclass;
	__u8 response;     /* QR */
	__u8 rcode;
	__u16 naddrs;
	__u32 err;         /* enum fg_dns_err */
	__u32 skipped;     /* answer records not bound (other names, types, classes) */
	__u32 naliases;
	__u16 ancount, nscount, arcount;
	__u16 pad;
	__u64 aliases[FG_DNS_ALIASES]; /* the question, then CNAME targets chained from it */
	struct fg_dns_name q;          /* the question */
	struct fg_dns_name rr;         /* scratch: the record being read */
	struct fg_dns_addr addrs[FG_DNS_ADDRS];
};

FG_DNS_INLINE int fg_dns_u8(const struct fg_dns_msg *m, __u32 off, __u8 *out)
{
	if (off >= m->len || off >= FG_DNS_BUF)
		return -1;
	*out = m->buf[off & FG_DNS_MASK];
	return 0;
}

FG_DNS_INLINE int fg_dns_u16(const struct fg_dns_msg *m, __u32 off, __u16 *out)
{
	__u8 hi, lo;

	if (fg_dns_u8(m, off, &hi) || fg_dns_u8(m, off + 1, &lo))
		return -1;
	*out = (__u16)((hi << 8) | lo);
	return 0;
}

FG_DNS_INLINE int fg_dns_u32(const struct fg_dns_msg *m, __u32 off, __u32 *out)
{
	__u16 hi, lo;

	if (fg_dns_u16(m, off, &hi) || fg_dns_u16(m, off + 2, &lo))
		return -1;
	*out = ((__u32)hi << 16) | lo;
	return 0;
}

#if !defined(__BPF__) || defined(FG_DNS_PARSER)

/* One byte of a name (fg_dns_read_name): 1 when the name is done (n->err says how). */
FG_DNS_INLINE int fg_dns_name_step(const struct fg_dns_msg *m, FG_DNS_V struct fg_dns_name *n)
{
	__u32 pos = n->pos, len = n->len;
	__u8 b;

	if (fg_dns_u8(m, pos, &b)) {
		n->err = FG_DNS_E_SHORT;
		return 1;
	}
	if (n->rem) {
		/* A '.' or NUL inside a label would make its text read as other labels. */
		if (b == '.' || b == 0) {
			n->err = FG_DNS_E_LABEL;
			return 1;
		}
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (len >= FG_DNS_NAME_MAX - 1) {
			n->err = FG_DNS_E_NAME_LONG;
			return 1;
		}
		n->text[len & (FG_DNS_NAME_MAX - 1)] = (char)b;
		n->len = len + 1;
		n->rem = n->rem - 1;
		n->pos = pos + 1;
		return 0;
	}
	if (b == 0) {
		if (!n->end)
			n->end = pos + 1;
		n->text[len & (FG_DNS_NAME_MAX - 1)] = 0;
		return 1;
	}
	if ((b & 0xc0) == 0xc0) {
		__u8 lo;

		if (fg_dns_u8(m, pos + 1, &lo)) {
			n->err = FG_DNS_E_SHORT;
			return 1;
		}
		__u32 target = ((__u32)(b & 0x3f) << 8) | lo;
		__u32 hops = n->hops + 1;

		if (target >= n->lowest || hops > FG_DNS_HOPS) {
			n->err = FG_DNS_E_POINTER;
			return 1;
		}
		n->hops = hops;
		if (!n->end)
			n->end = pos + 2;
		n->lowest = target;
		n->pos = target;
		return 0;
	}
	if (b & 0xc0) {
		n->err = FG_DNS_E_LABEL;
		return 1;
	}
	__u32 wire = n->wire + b + 1, depth = n->depth;

	if (wire + 1 > FG_DNS_WIRE_MAX || depth >= FG_DNS_LABELS) {
		n->err = FG_DNS_E_NAME_LONG;
		return 1;
	}
	n->wire = wire;
	if (depth) {
		if (len >= FG_DNS_NAME_MAX - 1) {
			n->err = FG_DNS_E_NAME_LONG;
			return 1;
		}
		n->text[len & (FG_DNS_NAME_MAX - 1)] = '.';
		len++;
		n->len = len;
	}
	n->label_at[depth & (FG_DNS_LABELS - 1)] = (__u16)len;
	n->depth = depth + 1;
	n->rem = b;
	n->pos = pos + 1;
	return 0;
}

/*
 * Reads the name at `off` into `n` (text, labels, end), following compression pointers, which
 * must point strictly backwards (so a walk always ends) and be at most FG_DNS_HOPS.
 */
FG_DNS_FN int fg_dns_read_name(const struct fg_dns_msg *m, __u32 off, struct fg_dns_name *name)
{
	FG_DNS_V struct fg_dns_name *n = name;
	__u32 i;

	if (!m || !n)
		return -1;
	n->len = 0;
	n->depth = 0;
	n->end = 0;
	n->err = FG_DNS_OK;
	n->text[0] = 0;
	n->pos = off;
	n->rem = 0;
	n->wire = 0;
	n->hops = 0;
	n->lowest = off; /* a pointer must point below every place this name was read from */
	/* One byte per step: at most 255 bytes of name plus the pointers' two bytes each. */
	for (i = 0; i < FG_DNS_WIRE_MAX + 2 * FG_DNS_HOPS + 1; i++)
		if (fg_dns_name_step(m, n))
			return 0;
	n->err = FG_DNS_E_NAME_LONG;
	return 0;
}

/* One byte of the hash (fg_dns_hash_name): 1 when the whole name is hashed. */
FG_DNS_INLINE int fg_dns_hash_step(FG_DNS_V struct fg_dns_name *n)
{
	__u32 at = n->at, stop = n->stop, label = n->label, k = n->k;

	if (at < stop) {
		n->h = fg_hash_step(n->h, (__u8)n->text[at & (FG_DNS_NAME_MAX - 1)]);
		n->at = at + 1;
		return 0;
	}
	if (k < FG_DNS_PARENTS)
		n->parents[k & (FG_DNS_PARENTS - 1)] = n->h;
	n->k = k + 1;
	if (label == 0)
		return 1;
	/* The next label up the text ends before the '.' that starts this one. */
	stop = n->label_at[label & (FG_DNS_LABELS - 1)];
	n->stop = stop ? stop - 1 : 0;
	label--;
	n->label = label;
	n->at = n->label_at[label & (FG_DNS_LABELS - 1)];
	n->h = fg_hash_step(n->h, '.');
	return 0;
}

/*
 * Hashes a name read by fg_dns_read_name, label by label from the top-level domain down; the
 * hash after each label is a parent's (parents[0]: the top-level domain).
 */
FG_DNS_FN int fg_dns_hash_name(struct fg_dns_name *name, __u64 seed)
{
	FG_DNS_V struct fg_dns_name *n = name;
	__u32 i, k;

	if (!n)
		return -1;
	n->h = FG_FNV_OFFSET ^ seed;
	n->k = 0;
	if (n->err || !n->depth) {
		n->hash = n->h;
		for (k = 0; k < FG_DNS_PARENTS; k++)
			n->parents[k] = 0;
		return 0;
	}
	/* label: the one being hashed (counting down); at..stop: its text. */
	n->label = n->depth - 1;
	n->at = n->label_at[n->label & (FG_DNS_LABELS - 1)];
	n->stop = n->len;
	for (i = 0; i < FG_DNS_NAME_MAX + FG_DNS_LABELS; i++)
		if (fg_dns_hash_step(n))
			break;
	for (k = 0; k < FG_DNS_PARENTS; k++)
		if (k >= n->k)
			n->parents[k] = 0;
	n->hash = n->h;
	return 0;
}

FG_DNS_INLINE int fg_dns_is_alias(const struct fg_dns_msg *m, __u64 h)
{
	__u32 i;

	for (i = 0; i < FG_DNS_ALIASES; i++)
		if (i < m->naliases && m->aliases[i] == h)
			return 1;
	return 0;
}

/* Reads the header and the question. 0 on success. */
FG_DNS_FN int fg_dns_parse_question(struct fg_dns_msg *m, __u64 seed)
{
	__u16 qd;

	if (!m)
		return -1;
	m->err = FG_DNS_OK;
	m->naddrs = 0;
	m->naliases = 0;
	m->skipped = 0;
	m->qtype = 0;
	m->q.len = 0;
	m->q.depth = 0;
	if (fg_dns_u16(m, 0, &m->id) || fg_dns_u16(m, 2, &m->flags) || fg_dns_u16(m, 4, &qd) ||
	    fg_dns_u16(m, 6, &m->ancount) || fg_dns_u16(m, 8, &m->nscount) ||
	    fg_dns_u16(m, 10, &m->arcount)) {
		m->err = FG_DNS_E_SHORT;
		return -1;
	}
	m->response = m->flags >> 15;
	m->rcode = m->flags & 0xf;
	if (((m->flags >> 11) & 0xf) != 0 || qd != 1) {
		m->err = FG_DNS_E_NOT_QUERY;
		return -1;
	}
	fg_dns_read_name(m, 12, &m->q);
	if (m->q.err) {
		m->err = m->q.err;
		return -1;
	}
	fg_dns_hash_name(&m->q, seed);
	if (fg_dns_u16(m, m->q.end, &m->qtype) || fg_dns_u16(m, m->q.end + 2, &m->qclass)) {
		m->err = FG_DNS_E_SHORT;
		return -1;
	}
	m->aliases[0] = m->q.hash;
	m->naliases = 1;
	return 0;
}

/*
 * Whether a parsed question is a query a stub resolver sends: not a response, no answer or
 * authority records, at most one additional record (EDNS), and at most FG_DNS_QUERY_EXTRA
 * bytes after the question. 0 when it is (m->err = FG_DNS_E_SHAPE otherwise).
 */
FG_DNS_INLINE int fg_dns_check_query(struct fg_dns_msg *m)
{
	if (m->response || m->ancount || m->nscount || m->arcount > 1 ||
	    m->len > m->q.end + 4 + FG_DNS_QUERY_EXTRA) {
		m->err = FG_DNS_E_SHAPE;
		return -1;
	}
	return 0;
}

/*
 * Reads answer record `off` (after the question); returns the offset of the next record, or 0
 * when the message ends or is malformed (m->err says which). An A / AAAA record whose owner is
 * the question or a CNAME target chained from it is kept in addrs; a CNAME from such an owner
 * extends the chain (the answer is bound to the name the function asked for).
 */
FG_DNS_FN __u32 fg_dns_parse_answer(struct fg_dns_msg *m, __u32 off, __u64 seed)
{
	__u16 type, klass, rdlen;
	__u32 ttl, rdata;

	if (!m)
		return 0;
	fg_dns_read_name(m, off, &m->rr);
	if (m->rr.err) {
		m->err = m->rr.err;
		return 0;
	}
	fg_dns_hash_name(&m->rr, seed);
	if (fg_dns_u16(m, m->rr.end, &type) || fg_dns_u16(m, m->rr.end + 2, &klass) ||
	    fg_dns_u32(m, m->rr.end + 4, &ttl) || fg_dns_u16(m, m->rr.end + 8, &rdlen)) {
		m->err = FG_DNS_E_SHORT;
		return 0;
	}
	rdata = m->rr.end + 10;
	if (rdata + rdlen > m->len) {
		m->err = FG_DNS_E_SHORT;
		return 0;
	}
	if (klass != FG_DNS_CLASS_IN || !fg_dns_is_alias(m, m->rr.hash)) {
		m->skipped++;
		return rdata + rdlen;
	}
	if (type == FG_DNS_TYPE_A || type == FG_DNS_TYPE_AAAA) {
		__u32 want = type == FG_DNS_TYPE_A ? 4 : 16, i;

		if (rdlen != want) {
			m->err = FG_DNS_E_RECORD;
			return 0;
		}
		if (m->naddrs >= FG_DNS_ADDRS) {
			m->skipped++;
			return rdata + rdlen;
		}
		struct fg_dns_addr *a = &m->addrs[m->naddrs & (FG_DNS_ADDRS - 1)];

		a->family = type == FG_DNS_TYPE_A ? 4 : 6;
		a->ttl = ttl & 0x7fffffff; /* RFC 2181: the top bit set means 0 */
		if (ttl & 0x80000000)
			a->ttl = 0;
		for (i = 0; i < 16; i++) {
			__u8 b = 0;

			if (i < want && fg_dns_u8(m, rdata + i, &b)) {
				m->err = FG_DNS_E_SHORT;
				return 0;
			}
			a->addr[i] = b;
		}
		m->naddrs++;
	} else if (type == FG_DNS_TYPE_CNAME) {
		fg_dns_read_name(m, rdata, &m->rr);
		if (m->rr.err) {
			m->err = m->rr.err;
			return 0;
		}
		fg_dns_hash_name(&m->rr, seed);
		if (m->naliases < FG_DNS_ALIASES && !fg_dns_is_alias(m, m->rr.hash)) {
			m->aliases[m->naliases & (FG_DNS_ALIASES - 1)] = m->rr.hash;
			m->naliases++;
		}
	} else {
		m->skipped++;
	}
	return rdata + rdlen;
}

/* Reads the answer section of a response whose question was parsed: the addresses bound to
 * the question land in m->addrs. A malformed record ends the parse (m->err); what was bound
 * before it stays (every record bound was whole). */
FG_DNS_FN int fg_dns_parse_answers(struct fg_dns_msg *m, __u64 seed)
{
	__u32 off, i;

	if (!m)
		return -1;
	off = m->q.end + 4;
	for (i = 0; i < FG_DNS_ANSWERS; i++) {
		if (i >= m->ancount || !off)
			break;
		off = fg_dns_parse_answer(m, off, seed);
	}
	return 0;
}

#else

int fg_dns_read_name(const struct fg_dns_msg *m, __u32 off, struct fg_dns_name *name);
int fg_dns_hash_name(struct fg_dns_name *name, __u64 seed);
int fg_dns_parse_question(struct fg_dns_msg *m, __u64 seed);
__u32 fg_dns_parse_answer(struct fg_dns_msg *m, __u32 off, __u64 seed);
int fg_dns_parse_answers(struct fg_dns_msg *m, __u64 seed);

#endif /* parser bodies */

#endif /* FG_DNS_H */
