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

#define FG_ABI_VERSION 1

/* Capacities. The agent may lower or raise the map sizes before load. */
#define FG_MAX_FUNCS 4096        /* (function, container) sections tracked at once */
#define FG_SYS_WORDS 8           /* 8 x 64 bits: syscall numbers 0..511 */
#define FG_SYS_MAX (FG_SYS_WORDS * 64)
#define FG_PATH_MAX 1024         /* longest path kept; longer ones are truncated (flagged) */
#define FG_PATH_DEPTH 64         /* most path components walked */
#define FG_NAME_MAX 256          /* longest single path component (NAME_MAX + 1) */
#define FG_ARGS_MAX 256          /* bytes of argv kept from a first sighting */
#define FG_FILENAME_MAX 256      /* bytes of the name passed to exec (scripts, fexecve) */
#define FG_STATS_MAX 16

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

/* Ring-buffer record types. */
enum fg_event_type {
	FG_EV_SYSCALL = 1, /* first sighting of a syscall for a function */
	FG_EV_EXEC = 2,    /* first sighting of a (parent binary, binary) pair */
	FG_EV_NET = 3,     /* first sighting of a network item */
};

/* Syscall ABI a syscall was made through. */
enum fg_arch {
	FG_ARCH_NATIVE = 0, /* x86_64 / aarch64 */
	FG_ARCH_COMPAT = 1, /* ia32 on x86_64 */
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
#define FG_PATH_F_DETACHED 0x4  /* not reachable from a mount namespace root (memfd, pseudo fs) */
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
	FG_STAT_COUNT_ = 7,
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
	__u32 flags;
};

/* fg_fn_cfg[fn_id]: written by the agent only. */
struct fg_fn_cfg {
	__u32 mode;  /* enum fg_mode */
	__u32 flags;
};

/* fg_fn_state[fn_id]: written by the kernel only (the agent clears it when it reuses a slot). */
struct fg_fn_state {
	__u64 sys[FG_SYS_WORDS];        /* native syscalls seen */
	__u64 sys_compat[FG_SYS_WORDS]; /* compat (ia32) syscalls seen */
	__u64 execs;                    /* successful execs */
	__u64 forks;                    /* new tasks (processes and threads) */
	__u64 exits;                    /* exited tasks */
	__u64 reserved;
};

/* fg_execs: (function, parent binary, binary) -> fg_seen_val. */
struct fg_exec_key {
	__u32 fn_id;
	__u32 pad;
	__u64 parent_hash;
	__u64 bin_hash;
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

FG_STATIC_ASSERT(sizeof(struct fg_event_hdr) == 32, "fg_event_hdr layout");
FG_STATIC_ASSERT(sizeof(struct fg_cgroup_val) == 8, "fg_cgroup_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_fn_cfg) == 8, "fg_fn_cfg layout");
FG_STATIC_ASSERT(sizeof(struct fg_fn_state) == 8 * (2 * FG_SYS_WORDS + 4), "fg_fn_state layout");
FG_STATIC_ASSERT(sizeof(struct fg_exec_key) == 24, "fg_exec_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_net_key) == 32, "fg_net_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_seen_val) == 24, "fg_seen_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_path_val) == 8 + FG_PATH_MAX, "fg_path_val layout");
FG_STATIC_ASSERT(sizeof(struct fg_syscall_event) == 40, "fg_syscall_event layout");
FG_STATIC_ASSERT(sizeof(struct fg_exec_event) ==
			 32 + 16 + 8 + 12 + 4 + 2 * FG_PATH_MAX + FG_ARGS_MAX + FG_FILENAME_MAX,
		 "fg_exec_event layout");
FG_STATIC_ASSERT(sizeof(struct fg_net_event) == 64, "fg_net_event layout");
