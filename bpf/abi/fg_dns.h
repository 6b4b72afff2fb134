/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fg_dns.h: the DNS message parser, shared by the kernel programs (bpf/dns.bpf.c parses the
 * answers a function receives and the queries it sends) and user space (the fuzzer and the
 * unit tests run this very code). Plain C over fixed-width types; every loop is bounded and
 * every read of the message is checked against its length and masked into the buffer, so the
 * verifier accepts it and no input can make it read outside the buffer, loop, or bind an
 * address to a name the answer does not give it.
 *
 * Names are lowercased (DNS is case-insensitive: 0x20 mixing), written dotted without the
 * final dot, and hashed label by label from the top-level domain down (FNV-1a 64, seeded):
 * the hash of "api.example.com" continues the hash of "example.com", so every parent domain's
 * hash falls out of one pass. parents[i] is the hash of the name's last i + 1 labels; a rule
 * "*.example.com" (depth 2) matches a name of depth > 2 whose parents[1] is its hash.
 */
#ifndef FG_DNS_H
#define FG_DNS_H

#ifdef __BPF__
#define FG_DNS_INLINE static __always_inline
#else
#include <linux/types.h>
#define FG_DNS_INLINE static inline
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

#define FG_DNS_TYPE_A 1
#define FG_DNS_TYPE_CNAME 5
#define FG_DNS_TYPE_AAAA 28
#define FG_DNS_CLASS_IN 1
#define FG_DNS_RCODE_NXDOMAIN 3

/* Why a message was not parsed (struct fg_dns_msg.err). */
enum fg_dns_err {
	FG_DNS_OK = 0,
	FG_DNS_E_SHORT,      /* a read past the message's end (truncated, counts that lie) */
	FG_DNS_E_LABEL,      /* a reserved label type (0x40, 0x80), a '.' or NUL in a label */
	FG_DNS_E_POINTER,    /* a compression pointer that does not point backwards, or too many */
	FG_DNS_E_NAME_LONG,  /* a name past 255 bytes or 64 labels */
	FG_DNS_E_NOT_QUERY,  /* an opcode other than QUERY, or not exactly one question */
	FG_DNS_E_RECORD,     /* an A / AAAA record whose length is not 4 / 16 */
	FG_DNS_E_COUNT,
};

/* One parsed name. */
struct fg_dns_name {
	__u64 hash;                     /* the whole name */
	__u64 parents[FG_DNS_PARENTS];  /* parents[i]: the last i + 1 labels */
	__u32 depth;                    /* labels */
	__u32 len;                      /* text bytes, without the NUL */
	__u32 end;                      /* message offset just past the name where it started */
	__u32 err;                      /* enum fg_dns_err */
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

/*
 * Reads the name at `off` into `n` (text, labels, end), following compression pointers, which
 * must point strictly backwards (so a walk always ends) and be at most FG_DNS_HOPS.
 */
FG_DNS_INLINE void fg_dns_read_name(const struct fg_dns_msg *m, __u32 off, struct fg_dns_name *n)
{
	__u32 pos = off, rem = 0, wire = 0, hops = 0, i;
	__u32 lowest = off; /* a pointer must point below every place this name was read from */

	n->len = 0;
	n->depth = 0;
	n->end = 0;
	n->err = FG_DNS_OK;
	n->text[0] = 0;
	/* One byte per step: at most 255 bytes of name plus the pointers' two bytes each. */
	for (i = 0; i < FG_DNS_WIRE_MAX + 2 * FG_DNS_HOPS + 1; i++) {
		__u8 b;

		if (fg_dns_u8(m, pos, &b)) {
			n->err = FG_DNS_E_SHORT;
			return;
		}
		if (rem) {
			/* A '.' or NUL inside a label would make its text read as other labels. */
			if (b == '.' || b == 0) {
				n->err = FG_DNS_E_LABEL;
				return;
			}
			if (b >= 'A' && b <= 'Z')
				b += 'a' - 'A';
			if (n->len >= FG_DNS_NAME_MAX - 1) {
				n->err = FG_DNS_E_NAME_LONG;
				return;
			}
			n->text[n->len & (FG_DNS_NAME_MAX - 1)] = (char)b;
			n->len++;
			rem--;
			pos++;
			continue;
		}
		if (b == 0) {
			if (!n->end)
				n->end = pos + 1;
			n->text[n->len & (FG_DNS_NAME_MAX - 1)] = 0;
			return;
		}
		if ((b & 0xc0) == 0xc0) {
			__u8 lo;

			if (fg_dns_u8(m, pos + 1, &lo)) {
				n->err = FG_DNS_E_SHORT;
				return;
			}
			__u32 target = ((__u32)(b & 0x3f) << 8) | lo;

			if (target >= lowest || ++hops > FG_DNS_HOPS) {
				n->err = FG_DNS_E_POINTER;
				return;
			}
			if (!n->end)
				n->end = pos + 2;
			lowest = target;
			pos = target;
			continue;
		}
		if (b & 0xc0) {
			n->err = FG_DNS_E_LABEL;
			return;
		}
		wire += b + 1;
		if (wire + 1 > FG_DNS_WIRE_MAX || n->depth >= FG_DNS_LABELS) {
			n->err = FG_DNS_E_NAME_LONG;
			return;
		}
		if (n->depth) {
			if (n->len >= FG_DNS_NAME_MAX - 1) {
				n->err = FG_DNS_E_NAME_LONG;
				return;
			}
			n->text[n->len & (FG_DNS_NAME_MAX - 1)] = '.';
			n->len++;
		}
		n->label_at[n->depth & (FG_DNS_LABELS - 1)] = (__u16)n->len;
		n->depth++;
		rem = b;
		pos++;
	}
	n->err = FG_DNS_E_NAME_LONG;
}

/*
 * Hashes a name read by fg_dns_read_name, label by label from the top-level domain down; the
 * hash after each label is a parent's (parents[0]: the top-level domain).
 */
FG_DNS_INLINE void fg_dns_hash_name(struct fg_dns_name *n, __u64 seed)
{
	__u64 h = FG_FNV_OFFSET ^ seed;
	__u32 label = n->depth, at = 0, end = n->len, k = 0, i;

	if (n->err || !n->depth) {
		n->hash = h;
		return;
	}
	/* label: the one being hashed (counting down); at..end: its text. */
	label--;
	at = n->label_at[label & (FG_DNS_LABELS - 1)];
	for (i = 0; i < FG_DNS_NAME_MAX + FG_DNS_LABELS; i++) {
		if (at < end) {
			h = fg_hash_step(h, (__u8)n->text[at & (FG_DNS_NAME_MAX - 1)]);
			at++;
			continue;
		}
		if (k < FG_DNS_PARENTS)
			n->parents[k & (FG_DNS_PARENTS - 1)] = h;
		k++;
		if (label == 0)
			break;
		/* The next label up the text ends before the '.' that starts this one. */
		end = n->label_at[label & (FG_DNS_LABELS - 1)];
		end = end ? end - 1 : 0;
		label--;
		at = n->label_at[label & (FG_DNS_LABELS - 1)];
		h = fg_hash_step(h, '.');
	}
	for (; k < FG_DNS_PARENTS; k++)
		n->parents[k & (FG_DNS_PARENTS - 1)] = 0;
	n->hash = h;
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
FG_DNS_INLINE int fg_dns_parse_question(struct fg_dns_msg *m, __u64 seed)
{
	__u16 qd;

	m->err = FG_DNS_OK;
	m->naddrs = 0;
	m->naliases = 0;
	m->skipped = 0;
	if (fg_dns_u16(m, 0, &m->id) || fg_dns_u16(m, 2, &m->flags) || fg_dns_u16(m, 4, &qd)) {
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
 * Reads answer record `off` (after the question); returns the offset of the next record, or 0
 * when the message ends or is malformed (m->err says which). An A / AAAA record whose owner is
 * the question or a CNAME target chained from it is kept in addrs; a CNAME from such an owner
 * extends the chain (the answer is bound to the name the function asked for).
 */
FG_DNS_INLINE __u32 fg_dns_parse_answer(struct fg_dns_msg *m, __u32 off, __u64 seed)
{
	__u16 type, klass, rdlen;
	__u32 ttl, rdata;

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

#endif /* FG_DNS_H */
