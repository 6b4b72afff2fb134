/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fg_abi.h: the only definitions shared by the eBPF programs and the agent.
 *
 * Rules (see docs/architecture.md, "Kernel/user ABI"):
 *  - plain C, fixed-width fields only, explicit padding, every name prefixed fg_/FG_;
 *  - every ring-buffer record starts with struct fg_event_hdr and user space checks
 *    hdr.size before it reads anything past the header;
 *  - sizes are asserted on both sides (static asserts at the bottom, and the agent
 *    compares them against the BTF of the loaded object at start-up);
 *  - any change of layout bumps FG_ABI_VERSION.
 */
#pragma once

#ifdef __cplusplus
#include <linux/types.h>
#define FG_STATIC_ASSERT(c, m) static_assert(c, m)
#elif defined(__bpf__)
/* vmlinux.h (included before this file) provides __u8..__u64. */
#define FG_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#include <linux/types.h>
#define FG_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define FG_ABI_VERSION 6

/* Capacities. The agent may lower or raise the map sizes before load. */
#define FG_MAX_FUNCS 4096        /* (function, container) sections tracked at once */
#define FG_SYS_WORDS 8           /* 8 x 64 bits: syscall numbers 0..511 */
#define FG_SYS_MAX (FG_SYS_WORDS * 64)
#define FG_PATH_MAX 1024         /* longest path kept; longer ones are truncated (flagged) */
#define FG_PATH_DEPTH 64         /* most path components walked */
#define FG_NAME_MAX 256          /* longest single path component (NAME_MAX + 1) */
#define FG_ARGS_MAX 256          /* bytes of argv kept from a first sighting */
#define FG_FILENAME_MAX 256      /* bytes of the name passed to exec (scripts, fexecve) */
#define FG_STATS_MAX 32
#define FG_VIOL_KINDS 16         /* enum fg_viol_kind values, counted per function */
#define FG_VIOL_BUDGET 64        /* violation records per function per second; the rest are counted */

/*
 * Path hash: FNV-1a 64 over the path bytes, started from FG_FNV_OFFSET ^ seed (the seed is
 * chosen by the agent at load time), then, when the path has flags, one 0xff byte and the
 * low byte of the flags, so a deleted file or a memfd never hashes like a real path.
 */
#define FG_FNV_OFFSET 0xcbf29ce484222325ULL
#define FG_FNV_PRIME 0x100000001b3ULL

static inline __attribute__((always_inline)) __u64 fg_hash_step(__u64 h, __u8 c)
{
	return (h ^ c) * FG_FNV_PRIME;
}

/* Per-function mode, in struct fg_fn_cfg. */
enum fg_mode {
	FG_MODE_LEARN = 0,
	FG_MODE_MONITOR = 1,
	FG_MODE_ENFORCE = 2,
};

/* What to do with a syscall outside the profile in enforce mode (struct fg_fn_cfg). */
/* What sys_enter does to a syscall outside the allow-list that is not in its kill set
 * (struct fg_sys_allow.kill): the sensitive class is in the kill set unless the function asks
 * otherwise, and a harmless syscall is only reported by default (it already ran). */
enum fg_sys_action {
	FG_SYS_KILL = 0,  /* SIGKILL the process */
	FG_SYS_ALERT = 1, /* report only */
};

/* fg_fn_cfg.flags */
#define FG_CFG_F_EXEC_PREFIX 0x1 /* the allow-list has "path*" exec rules */
#define FG_CFG_F_LSM 0x2         /* exec decisions are taken by BPF-LSM, not by SIGKILL */
#define FG_CFG_F_FAIL_OPEN 0x4   /* enforce mode only reports while no agent runs (fg_agent) */

/* Ring-buffer record types. */
enum fg_event_type {
	FG_EV_SYSCALL = 1,   /* first sighting of a syscall for a function */
	FG_EV_EXEC = 2,      /* first sighting of a (parent binary, binary) pair */
	FG_EV_NET = 3,       /* first sighting of a network item */
	FG_EV_VIOLATION = 4, /* something outside the profile, in monitor or enforce mode */
	FG_EV_CGROUP = 5,    /* a cgroup v2 directory was created or removed (discovery) */
};

/* fg_cgroup_val.flags */
#define FG_CG_F_POD 0x1       /* a pod-level cgroup: cgroups created under it inherit its slot */
#define FG_CG_F_PENDING 0x2   /* no exec yet (the runtime is still setting it up): not checked */
#define FG_CG_F_INHERITED 0x4 /* added by the kernel from a FG_CG_F_POD parent */
#define FG_CG_F_SECCOMP 0x8   /* its tasks run under the function's seccomp filter, which refuses
                               * syscalls before they run: sys_enter passes them */

enum fg_cgroup_op {
	FG_CGROUP_MKDIR = 1,
	FG_CGROUP_RMDIR = 2,
};

#define FG_CGROUP_PATH_MAX 256

/* What a violation was. */
enum fg_viol_kind {
	FG_VIOL_SYSCALL = 1,
	FG_VIOL_EXEC = 2,
	FG_VIOL_CONNECT = 3, /* egress: connect */
	FG_VIOL_SEND = 4,    /* egress: unconnected UDP send */
	FG_VIOL_BIND = 5,    /* listen: bind to a port */
	FG_VIOL_LISTEN = 6,  /* listen: TCP listen on a port */
	FG_VIOL_IOURING = 7, /* an io_uring operation the function never submitted (reported) */
	FG_VIOL_DNS_QUERY = 8, /* a DNS query for a name outside the profile */
	FG_VIOL_UNIX = 9,      /* a Unix socket peer outside the profile */
	FG_VIOL_SOCKET = 10,   /* a socket of a kind (family, type, protocol) never created */
	FG_VIOL_SOCKOPT = 11,  /* a socket option that reroutes traffic */
	FG_VIOL_INBOUND = 12,  /* an inbound peer of a class, or a receiving port, never seen */
	FG_VIOL_FILE = 13,     /* a file opened outside the profile */
};

/* What was done about it. */
enum fg_viol_action {
	FG_ACT_REPORTED = 1, /* monitor mode: nothing blocked */
	FG_ACT_ALERT = 2,    /* enforce mode, syscall action "alert" */
	FG_ACT_DENIED = 3,   /* the operation failed with EPERM */
	FG_ACT_KILLED = 4,   /* the process was sent SIGKILL */
	FG_ACT_FAILED_OPEN = 5, /* enforce mode, but the function fails open and no agent runs */
};

/* Kinds of allow rules (fg_net_allow). */
enum fg_rule_class {
	FG_RULE_EGRESS = 1, /* connect and UDP send destinations */
	FG_RULE_LISTEN = 2, /* bind and listen ports */
};

/* fg_exec_rule_key.kind bits */
#define FG_EXEC_RULE_PREFIX 0x1     /* bin_hash is the hash of the first prefix_len bytes */
#define FG_EXEC_RULE_ANY_PARENT 0x2 /* parent_hash is 0 and any parent matches */

/* Syscall ABI a syscall was made through. */
enum fg_arch {
	FG_ARCH_NATIVE = 0, /* x86_64 / aarch64 */
	FG_ARCH_COMPAT = 1, /* ia32 on x86_64 */
	FG_ARCH_URING = 2,  /* not a syscall: an io_uring opcode (fg_syscall_event.nr) */
};

/* Kinds of network behaviour. */
enum fg_net_kind {
	FG_NET_CONNECT = 1, /* outbound connect (TCP or UDP), remote addr:port */
	FG_NET_SEND = 2,    /* unconnected UDP send, remote addr:port */
	FG_NET_BIND = 3,    /* bind to a local port (addr left zero) */
	FG_NET_LISTEN = 4,  /* TCP listen on a local port (addr left zero) */
	FG_NET_ACCEPT = 5,  /* inbound TCP connection: peer addr, local port */
};

/* Path flags (struct fg_path_val.flags, exec event flags). */
#define FG_PATH_F_TRUNCATED 0x1 /* path longer than FG_PATH_MAX or deeper than FG_PATH_DEPTH */
#define FG_PATH_F_UNLINKED 0x2  /* file has no link left (deleted, or a memfd) */
#define FG_PATH_F_DETACHED 0x4  /* not reachable from a mount namespace root (memfd, pseudo fs,
                                 * a file on a mount detached from every namespace) */
#define FG_PATH_F_READ_ERR 0x8  /* a kernel read failed while walking */

/* Exec event flags. */
#define FG_EXEC_F_SCRIPT 0x1    /* an interpreter ran a script (bprm->interp != bprm->filename) */

/* Per-CPU statistics, index into the fg_stats array. */
enum fg_stat {
	FG_STAT_RB_RESERVE_FAIL = 0, /* ring-buffer reserve failed: an event was not delivered */
	FG_STAT_MAP_FULL = 1,        /* a kernel set was full: an item could not be learned */
	FG_STAT_READ_FAIL = 2,       /* a bpf_probe_read_* helper failed */
	FG_STAT_PATH_TRUNC = 3,      /* a path was truncated */
	FG_STAT_SYS_RANGE = 4,       /* syscall number outside the table */
	FG_STAT_EVENTS = 5,          /* records submitted to the ring buffer */
	FG_STAT_HELPER_ERR = 6,      /* any other helper error */
	FG_STAT_MARK_FAIL = 7,       /* a task in a tracked cgroup could not be marked (fg_task_mark) */
	FG_STAT_SECCOMP_KILL = 8,    /* a tracked process died of SIGSYS (its seccomp filter killed it) */
	/* DNS (dns.bpf.c) */
	FG_STAT_DNS_UNPARSED = 9,    /* a function's packet to / from port 53 that was not parsed */
	FG_STAT_DNS_UNMATCHED = 10,  /* an answer to no query the socket sent there: not bound */
	FG_STAT_DNS_BIND_FULL = 11,  /* fg_dns_binds was full: an answer's address was not bound */
	FG_STAT_DNS_BUSY = 12,       /* every DNS scratch slot of the CPU was in use */
	/* sockets (sock.bpf.c) */
	FG_STAT_SCRATCH_BUSY = 13,   /* a socket hook found every name scratch slot of its CPU taken */
	FG_STAT_FILE_MISS = 14,      /* an opened file that could not be found or read (fg_file.h):
				      * not learned; refused in enforce mode */
	FG_STAT_COUNT_ = 15,
};

/* Header of every ring-buffer record. */
struct fg_event_hdr {
	__u16 type;       /* enum fg_event_type */
	__u16 size;       /* total record size in bytes, header included */
	__u32 fn_id;      /* function section index */
	__u64 ts_ns;      /* CLOCK_BOOTTIME */
	__u64 cgroup_id;  /* cgroup v2 id of the task */
	__u32 pid;        /* thread group id */
	__u32 tid;        /* thread id */
};

/* fg_tracked: cgroup id -> this. */
struct fg_cgroup_val {
	__u32 fn_id;
	__u32 flags; /* FG_CG_F_* */
};

/*
 * fg_agent[0]: the agent's mark on the pinned state (/sys/fs/bpf/faasguard/fg_agent). The
 * first two fields never move, so any later agent can read which ABI pinned the maps.
 * heartbeat_ns (bpf_ktime_get_ns clock) is renewed by the running agent; a function that
 * fails open (FG_CFG_F_FAIL_OPEN) stops blocking once it is older than fail_open_after_ns.
 */
#define FG_AGENT_MAGIC 0x67616766u /* "fgag" */
struct fg_agent_val {
	__u32 magic;       /* FG_AGENT_MAGIC */
	__u32 abi_version; /* FG_ABI_VERSION of the agent that created the maps */
	__u64 hash_seed;   /* fg_hash_seed the programs were loaded with: keys depend on it */
	__u64 heartbeat_ns;
	__u64 fail_open_after_ns;
	__u64 agent_pid;
	__u64 reserved[3];
};

/*
 * fg_cpu_cache[0], one per CPU: sys_enter's copy of what it needs to decide on a syscall of the
 * last tracked cgroup it saw on this CPU, so that a tracked task's syscall touches one page
 * instead of five (docs/architecture.md, "The syscall hot path"). The entry is valid while
 * entry_gen == gen != 0 and serial is the current cgroup's serial number (never reused). The
 * agent bumps gen on every CPU (one per-CPU write) after each change of tracking or config;
 * an entry filled under an older gen is never used. Pending cgroups are never cached.
 */
struct fg_cpu_cache {
	__u64 gen;       /* written by the agent, all CPUs at once */
	__u64 entry_gen; /* gen read before the entry was filled; written last */
	__u64 serial;    /* cgroup->self.serial_nr of the entry */
	__u64 sys[FG_SYS_WORDS];        /* learn: syscalls known learned; else: allowed */
	__u64 sys_compat[FG_SYS_WORDS];
};

/* fg_fn_cfg[fn_id]: written by the agent only, as one 8-byte value (mode and generation
 * change together). */
struct fg_fn_cfg {
	__u8 mode;       /* enum fg_mode */
	__u8 sys_action; /* enum fg_sys_action */
	__u8 gen;        /* allow-list generation in force: 0 or 1 */
	__u8 flags;      /* FG_CFG_F_* */
	__u32 pad;
};

/* fg_fn_state[fn_id]: written by the kernel only (the agent clears it when it reuses a slot). */
struct fg_fn_state {
	__u64 sys[FG_SYS_WORDS];        /* native syscalls seen */
	__u64 sys_compat[FG_SYS_WORDS]; /* compat (ia32) syscalls seen */
	__u64 execs;                    /* successful execs */
	__u64 forks;                    /* new tasks (processes and threads) */
	__u64 exits;                    /* exited tasks */
	__u64 viol[FG_VIOL_KINDS];      /* violations by enum fg_viol_kind, all of them */
	__u64 viol_suppressed;          /* violations not sent (over FG_VIOL_BUDGET) */
	__u64 viol_window_ns;           /* start of the current one-second budget window */
	__u64 viol_in_window;           /* records sent in that window */
	__u64 reserved;
	__u64 uring_ops[4];             /* io_uring opcodes submitted (0..255), a bit each */
};

/* fg_sys_allow[fn_id * 2 + gen]: the syscalls a function may make, the ones that kill when it
 * makes them anyway (sys_enter: the sensitive class; the rest is per fg_fn_cfg.sys_action),
 * and the io_uring opcodes it may submit. */
struct fg_sys_allow {
	__u64 sys[FG_SYS_WORDS];
	__u64 sys_compat[FG_SYS_WORDS];
	__u64 kill[FG_SYS_WORDS];
	__u64 kill_compat[FG_SYS_WORDS];
	__u64 uring_ops[4];
};

/* fg_exec_allow: allowed (parent, binary, script) of a function, per generation. */
struct fg_exec_rule_key {
	__u32 fn_id;
	__u8 gen;
	__u8 kind;        /* FG_EXEC_RULE_* */
	__u16 prefix_len; /* for FG_EXEC_RULE_PREFIX */
	__u64 parent_hash;
	__u64 bin_hash;
	__u64 script_hash;
};

/* fg_net_allow (LPM trie): destinations (egress) and ports (listen) of a function.
 * The first FG_NET_RULE_FIXED_BITS bits after prefixlen must match exactly; then the address
 * matches by prefix (CIDR). port 0 in a rule means any port. */
struct fg_net_rule_key {
	__u32 prefixlen;
	__u32 fn_id;
	__u8 gen;
	__u8 cls;     /* enum fg_rule_class */
	__u8 proto;
	__u8 family;  /* 4 or 6 */
	__u16 port;
	__u16 pad;
	__u8 addr[16];
};
#define FG_NET_RULE_FIXED_BITS 96

/* fg_execs: (function, parent binary, binary, script) -> fg_seen_val. script_hash is the hash
 * of the name given to exec when an interpreter runs a "#!" script, else 0. */
struct fg_exec_key {
	__u32 fn_id;
	__u32 pad;
	__u64 parent_hash;
	__u64 bin_hash;
	__u64 script_hash;
};

/* fg_net: one network item of a function -> fg_seen_val. */
struct fg_net_key {
	__u32 fn_id;
	__u8 kind;    /* enum fg_net_kind */
	__u8 proto;   /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;  /* 4 or 6; an IPv4-mapped IPv6 address is stored as 4 */
	__u8 pad;
	__u16 port;   /* host byte order */
	__u16 pad2;
	__u32 pad3;
	__u8 addr[16]; /* network byte order; IPv4 in the first 4 bytes */
};

/* Value of the kernel-side sets. */
struct fg_seen_val {
	__u64 count;
	__u64 first_ns; /* CLOCK_BOOTTIME */
	__u64 last_ns;
};

/* fg_paths: path hash -> the path, so user space can name hashes found in the sets. */
struct fg_path_val {
	__u16 len;   /* strlen(path) */
	__u16 flags; /* FG_PATH_F_* */
	__u32 pad;
	char path[FG_PATH_MAX];
};

struct fg_syscall_event {
	struct fg_event_hdr hdr;
	__u32 nr;
	__u32 arch; /* enum fg_arch */
};

struct fg_exec_event {
	struct fg_event_hdr hdr;
	__u64 bin_hash;
	__u64 parent_hash;
	__u64 script_hash; /* 0 unless FG_EXEC_F_SCRIPT */
	__u32 uid;
	__u32 ppid;
	__u16 bin_len;
	__u16 bin_flags;
	__u16 parent_len;
	__u16 parent_flags;
	__u16 args_len;  /* bytes in args, NUL separated */
	__u16 filename_len;
	__u32 flags;     /* FG_EXEC_F_* */
	char bin[FG_PATH_MAX];
	char parent[FG_PATH_MAX];
	char args[FG_ARGS_MAX];
	char filename[FG_FILENAME_MAX];
};

struct fg_net_event {
	struct fg_event_hdr hdr;
	struct fg_net_key key;
};

/* A cgroup v2 directory came or went (hdr.cgroup_id is its id). */
struct fg_cgroup_event {
	struct fg_event_hdr hdr;
	__u64 parent_id;
	__u32 op;       /* enum fg_cgroup_op */
	__u32 level;    /* depth below the root */
	__u32 inherited; /* mkdir: the kernel added it to fg_tracked from its pod-level parent */
	__u32 path_len;
	char path[FG_CGROUP_PATH_MAX]; /* relative to the cgroup v2 root, as the kernel names it */
};

/* A violation: who (the process, its binary and its parent's), what (kind, and the syscall,
 * network item or exec attempted), and what was done. For exec violations bin/parent are the
 * attempted binary and its parent; otherwise the offending process's binary and parent. */
struct fg_violation_event {
	struct fg_event_hdr hdr;
	__u8 kind;    /* enum fg_viol_kind */
	__u8 action;  /* enum fg_viol_action */
	__u8 mode;    /* enum fg_mode */
	__u8 pad;
	__u32 uid;
	__u32 ppid;
	__u32 nr;     /* syscall number (FG_VIOL_SYSCALL) */
	__u32 arch;   /* enum fg_arch */
	__u32 pad2;
	struct fg_net_key net; /* the network item (connect, send, bind, listen) */
	__u64 bin_hash;
	__u64 parent_hash;
	__u64 script_hash;
	__u16 bin_len;
	__u16 bin_flags;
	__u16 parent_len;
	__u16 parent_flags;
	__u16 filename_len;
	__u16 pad3;
	__u32 exec_flags; /* FG_EXEC_F_* */
	char comm[16];
	char bin[FG_PATH_MAX];
	char parent[FG_PATH_MAX];
	char filename[FG_FILENAME_MAX];
	/* The item of kinds that name one in text (a DNS name, a Unix socket path, a file path),
	 * with its hash and flags (kind-specific: FG_PATH_F_*, access bits, socket type). */
	__u64 item_hash;
	__u32 item_flags;
	__u16 item_len;
	__u16 pad4;
	char item[FG_PATH_MAX];
};

FG_STATIC_ASSERT(sizeof(struct fg_event_hdr) == 32, "fg_event_hdr layout");
FG_STATIC_ASSERT(sizeof(struct fg_cgroup_val) == 8, "fg_cgroup_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_fn_cfg) == 8, "fg_fn_cfg layout");
FG_STATIC_ASSERT(sizeof(struct fg_agent_val) == 64, "fg_agent_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_cpu_cache) == 24 + 16 * FG_SYS_WORDS, "fg_cpu_cache layout");
FG_STATIC_ASSERT(sizeof(struct fg_fn_state) ==
			 8 * (2 * FG_SYS_WORDS + 3 + FG_VIOL_KINDS + 4 + 4),
		 "fg_fn_state layout");
FG_STATIC_ASSERT(sizeof(struct fg_sys_allow) == 32 * FG_SYS_WORDS + 32, "fg_sys_allow layout");
FG_STATIC_ASSERT(sizeof(struct fg_exec_rule_key) == 32, "fg_exec_rule_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_net_rule_key) == 4 + FG_NET_RULE_FIXED_BITS / 8 + 16,
		 "fg_net_rule_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_exec_key) == 32, "fg_exec_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_net_key) == 32, "fg_net_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_seen_val) == 24, "fg_seen_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_path_val) == 8 + FG_PATH_MAX, "fg_path_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_syscall_event) == 40, "fg_syscall_event layout");
FG_STATIC_ASSERT(sizeof(struct fg_exec_event) ==
			 32 + 24 + 8 + 12 + 4 + 2 * FG_PATH_MAX + FG_ARGS_MAX + FG_FILENAME_MAX,
		 "fg_exec_event layout");
FG_STATIC_ASSERT(sizeof(struct fg_net_event) == 64, "fg_net_event layout");
FG_STATIC_ASSERT(sizeof(struct fg_cgroup_event) == 32 + 8 + 16 + FG_CGROUP_PATH_MAX,
		 "fg_cgroup_event layout");
FG_STATIC_ASSERT(sizeof(struct fg_violation_event) ==
			 32 + 4 + 4 * 5 + 32 + 24 + 12 + 4 + 16 + 2 * FG_PATH_MAX + FG_FILENAME_MAX +
				 16 + FG_PATH_MAX,
		 "fg_violation_event layout");

#include "fg_file.h" /* files opened: keys, rules and events */
#include "fg_sock.h" /* Unix peers, socket kinds and options, inbound (sock.bpf.c) */
