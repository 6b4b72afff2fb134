/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fg_sock.h: the ABI of the ways in and out beyond TCP/UDP destinations (bpf/sock.bpf.c):
 * Unix socket peers, the kinds of sockets a function creates, socket options that reroute
 * its traffic, and what it receives (its receiving ports and the classes of its inbound
 * peers). Included by fg_abi.h; the same rules hold (fixed-width fields, explicit padding,
 * sizes asserted on both sides, layout changes bump FG_ABI_VERSION).
 *
 * One learned set (fg_socks) and one allow-list (fg_sock_allow) hold all of them, keyed by
 * struct fg_sock_key; the text of a Unix socket's name is kept in fg_paths under its hash.
 */
#pragma once

/* Ring-buffer record type of a first sighting (struct fg_sock_event); next to enum
 * fg_event_type. */
#define FG_EV_SOCK 9

/* Socket items (struct fg_sock_key.kind). */
enum fg_sock_item {
	FG_SOCK_UNIX = 1,    /* a Unix socket peer: type, FG_SOCK_F_ABSTRACT, hash of the name */
	FG_SOCK_KIND = 2,    /* a socket created: family, type, protocol */
	FG_SOCK_OPT = 3,     /* a socket option that reroutes traffic: level (proto), optname (port) */
	FG_SOCK_INBOUND = 4, /* something received: protocol, local port, peer class (cls) */
};

/* Who sent what a function receives (struct fg_sock_key.cls): classes, not addresses, since
 * the pod addresses of activators and gateways change on every rollout. */
enum fg_peer_class {
	FG_PEER_ANY = 0,      /* allow rules only: any class */
	FG_PEER_LOOPBACK = 1, /* 127.0.0.0/8, ::1 */
	FG_PEER_LOCAL = 2,    /* another address of the same network namespace (the pod's own, or the
			       * node's for a host-network function): it came in through loopback */
	FG_PEER_CLUSTER = 3,  /* an address in the cluster's CIDRs (fg_cluster, --cluster-cidr) */
	FG_PEER_OUTSIDE = 4,  /* anything else */
};

/* struct fg_sock_key.flags */
#define FG_SOCK_F_ABSTRACT 0x1 /* unix: an abstract name, not a path */
#define FG_SOCK_F_PREFIX 0x2   /* unix allow rule: hash of the first `port` bytes (a "path*" rule) */

/* A rule key of FG_SOCK_INBOUND with cls 0 and port 0xffff (no real rule has both): present
 * when the section has inbound rules, whose classes are then enforced. A section without any
 * (a profile learned before they existed) enforces its receiving ports only. */
#define FG_SOCK_INBOUND_MARK_PORT 0xffff

/* A rule key of FG_SOCK_UNIX with flags FG_SOCK_F_PREFIX, type 0, hash 0: present when the
 * section has "path*" Unix rules (the prefix hashes are then looked up). */

/* Exec rules (struct fg_exec_rule_key.kind): the script's name as given to exec, not its
 * resolved path: what a "#!" script rule learned before scripts were resolved (a relative
 * name) matches, and only that. Looked up only when the section has such rules: a key of this
 * kind with every hash 0 marks them. */
#define FG_EXEC_RULE_SCRIPT_NAME 0x4

/* fg_path_val.flags of a Unix socket's name in fg_paths (and item flags of FG_VIOL_UNIX): the
 * name is abstract (its bytes follow the leading NUL). Mixed into the hash like the others. */
#define FG_PATH_F_ABSTRACT 0x10

#define FG_UNIX_PATH_MAX 108 /* sizeof(sun_path) */

/* fg_cluster (LPM trie): the cluster's CIDRs, from the agent (--cluster-cidr) -> __u8 1. */
struct fg_cidr_key {
	__u32 prefixlen; /* FG_CIDR_FIXED_BITS + the CIDR's prefix */
	__u8 family;     /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];   /* network byte order; IPv4 in the first 4 bytes */
};
#define FG_CIDR_FIXED_BITS 32

/* fg_socks: one item of a function -> struct fg_seen_val; fg_sock_allow: one rule -> __u8. */
struct fg_sock_key {
	__u32 fn_id;
	__u8 kind;   /* enum fg_sock_item */
	__u8 gen;    /* fg_sock_allow: the allow-list generation; fg_socks: 0 */
	__u8 flags;  /* FG_SOCK_F_* */
	__u8 cls;    /* FG_SOCK_INBOUND: enum fg_peer_class */
	__u16 family; /* FG_SOCK_KIND: AF_*; otherwise 0 */
	__u16 type;   /* FG_SOCK_KIND, FG_SOCK_UNIX: SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 proto;  /* FG_SOCK_KIND: the protocol; FG_SOCK_INBOUND: IPPROTO_*; FG_SOCK_OPT: level */
	__u16 port;   /* FG_SOCK_INBOUND: local port (rules: 0 any); FG_SOCK_OPT: optname */
	__u64 hash;   /* FG_SOCK_UNIX: hash of the name (fg_paths holds its text) */
};

/* A first sighting. For FG_SOCK_UNIX, name holds the peer's name as the policy sees it: a path
 * made absolute (a relative one joined to the working directory), or an abstract name's bytes. */
struct fg_sock_event {
	struct fg_event_hdr hdr;
	struct fg_sock_key key;
	__u16 name_len;
	__u16 name_flags; /* FG_PATH_F_* */
	__u32 pad;
	char name[FG_PATH_MAX];
};

/*
 * What a violation of these kinds carries (struct fg_violation_event):
 *  FG_VIOL_UNIX     item: the name (as in fg_sock_event); item_hash: its hash; item_flags: the
 *                   socket type in the low 16 bits, the name's FG_PATH_F_* flags above.
 *  FG_VIOL_SOCKET   item_hash: family | type << 16 | protocol << 32.
 *  FG_VIOL_SOCKOPT  item_hash: optname | level << 32.
 *  FG_VIOL_INBOUND  net: kind FG_NET_ACCEPT, protocol, family, local port, the peer's address;
 *                   item_flags: its enum fg_peer_class. For a datagram to a UDP port the function
 *                   did not bind (a reply from a peer it may not send to): net kind FG_NET_SEND
 *                   with the sender's address and port, item_hash the local port. Seen on the
 *                   packet, in no process: pid, comm and binaries are empty.
 */

FG_STATIC_ASSERT(sizeof(struct fg_sock_key) == 24, "fg_sock_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_cidr_key) == 24, "fg_cidr_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_sock_event) == 32 + 24 + 8 + FG_PATH_MAX,
		 "fg_sock_event layout");
