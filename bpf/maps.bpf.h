/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.bpf.h: every map of faasguard, in one place. Included by each .bpf.c file; the
 * definitions are __weak so the static linker (bpftool gen object) keeps one of each.
 * Sizes here are defaults: the agent may resize before load (bpf_map__set_max_entries).
 */
#pragma once

#include "abi/fg_abi.h"

/* Tracked cgroups: cgroup v2 id -> function slot. The only lookup an untracked task pays. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct fg_cgroup_val);
} fg_tracked SEC(".maps") __weak;

/*
 * The same entries again, as cgroup local storage: what sys_enter, the one program every syscall on
 * the node passes, looks at. Reaching it is a few pointer loads from the current task (no hashing),
 * cheaper than the fg_tracked lookup (docs/benchmarks.md). Kept equal to fg_tracked by the agent
 * (TrackCgroup and co., by cgroup fd) and by the exec program, which writes the entry of its own
 * cgroup after every exec (so a container inherited at mkdir appears here when its entrypoint
 * starts, and any entry the agent could not write is repaired at the next exec). Kernels without
 * cgroup local storage (before 6.2): the agent turns this map into a one-entry array and sys_enter
 * uses fg_tracked (fg_cg_local_on).
 */
struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fg_cgroup_val);
} fg_cg_local SEC(".maps") __weak;

/*
 * A mark on every task whose cgroup has an fg_cg_local entry: task local storage, so that
 * sys_enter's first test is one load from the task_struct (task->bpf_storage, on a page the syscall
 * entry has already touched) instead of three dependent loads down to the cgroup
 * (docs/benchmarks.md). A filter only: a marked task still goes through fg_cg_local, which decides.
 * Set by the kernel at fork (the child's cgroup is tracked), at migration into a tracked cgroup, at
 * exec in one, and by the agent's task iterator after it writes an fg_cg_local entry (tasks already
 * inside); removed when a task moves to an untracked cgroup (a stray mark, e.g. in a cgroup the
 * agent stopped tracking, only costs the cgroup loads). Kernels without task storage and task
 * iterators (before 6.7): the agent turns it into a one-entry array and sys_enter does not look at
 * it (fg_task_mark_on). docs/architecture.md, "The syscall hot path".
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} fg_task_mark SEC(".maps") __weak;

/* sys_enter's per-CPU decision cache (struct fg_cpu_cache). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_cpu_cache);
} fg_cpu_cache SEC(".maps") __weak;

/* Per-function configuration (mode, syscall action, allow-list generation), from the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct fg_fn_cfg);
} fg_fn_cfg SEC(".maps") __weak;

/* Per-function learned syscall sets and counters, written by the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct fg_fn_state);
} fg_fn_state SEC(".maps") __weak;

/* Learned (function, parent binary, binary, script) exec tuples. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_exec_key);
	__type(value, struct fg_seen_val);
} fg_execs SEC(".maps") __weak;

/* Path hash -> path text, filled on first sightings, so hashes in fg_execs can be named. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct fg_path_val);
} fg_paths SEC(".maps") __weak;

/* Learned network items (connect, send, bind, listen, accept) per function. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_net_key);
	__type(value, struct fg_seen_val);
} fg_net SEC(".maps") __weak;

/* Allowed syscalls, per function and generation (index fn_id * 2 + gen). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FG_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct fg_sys_allow);
} fg_sys_allow SEC(".maps") __weak;

/* Allowed execs, per function and generation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_exec_rule_key);
	__type(value, __u8);
} fg_exec_allow SEC(".maps") __weak;

/* Allowed destinations and ports, per function and generation: longest-prefix match. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fg_net_rule_key);
	__type(value, __u8);
} fg_net_allow SEC(".maps") __weak;

/* The agent's mark: ABI version, hash seed, heartbeat (struct fg_agent_val). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_agent_val);
} fg_agent SEC(".maps") __weak;

/* First sightings and violations to user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} fg_events SEC(".maps") __weak;

/* Per-CPU counters (enum fg_stat): drops and helper errors. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FG_STATS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fg_stats SEC(".maps") __weak;

/* Per-CPU scratch space for path walks (too large for the 512-byte stack). */
struct fg_scratch {
	char bin[2 * FG_PATH_MAX];    /* path is built backwards in the first half */
	char parent[2 * FG_PATH_MAX];
	char script[2 * FG_FILENAME_MAX]; /* the name given to exec, for scripts */
	struct fg_path_val pv;        /* staging value for fg_paths */
	char item[FG_PATH_MAX];       /* a violation's item text (fg_viol_req.item_len bytes) */
	__u64 walk[4];                /* struct fg_walk_state of the walk in progress */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3); /* FG_SCRATCH_TP, FG_SCRATCH_CGROUP, FG_SCRATCH_LSM */
	__type(key, __u32);
	__type(value, struct fg_scratch);
} fg_scratch SEC(".maps") __weak;

/* --- Files opened (files.bpf.c, abi/fg_file.h) --------------------------------------------- */

/* Learned (function, access, path hash) of the files each function opened -> seen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_file_key);
	__type(value, struct fg_seen_val);
} fg_files SEC(".maps") __weak;

/* Allowed paths (exact, and "path*" prefixes) per function and generation -> access allowed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_file_rule_key);
	__type(value, __u32);
} fg_file_allow SEC(".maps") __weak;

/* Per function and generation (fn_id * 2 + gen): whether opens are checked, prefix lengths. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FG_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct fg_file_pol);
} fg_file_pol SEC(".maps") __weak;
/* ---- Egress by DNS name (bpf/dns.bpf.c, bpf/abi/fg_dns.h) ---- */
#include "abi/fg_dns.h"

/* Addresses from the DNS answers each function received -> the names they answer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct fg_dns_bind_key);
	__type(value, struct fg_dns_bind_val);
} fg_dns_binds SEC(".maps") __weak;

/* Queries sent and not answered yet (an answer binds only when it answers one of them). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct fg_dns_pend_key);
	__type(value, struct fg_dns_pend_val);
} fg_dns_pending SEC(".maps") __weak;

/* Learned queries (name, qtype) and NXDOMAIN answers per function. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct fg_dns_query_key);
	__type(value, struct fg_seen_val);
} fg_dns_queries SEC(".maps") __weak;

/* Learned named egress (name, connect/send, protocol, port) per function. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct fg_dns_conn_key);
	__type(value, struct fg_dns_conn_val);
} fg_dns_conns SEC(".maps") __weak;

/* Name hash -> text, so the agent can name the hashes it finds (least recently used go). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct fg_dns_name_val);
} fg_dns_names SEC(".maps") __weak;

/* Allowed names (query, and egress per protocol and port) per function and generation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_dns_rule_key);
	__type(value, __u8);
} fg_dns_allow SEC(".maps") __weak;

/* The DNS parser's per-CPU workspace. A socket's packets are parsed in process context and in
 * softirq (which can interrupt it on the same CPU), so each CPU has FG_DNS_SLOTS of them, each
 * taken with an atomic exchange of `busy`. */
#define FG_DNS_SLOTS 4
struct fg_dns_scratch {
	__u64 busy;
	struct fg_dns_msg m;
	struct fg_dns_name_val nv; /* staging value for fg_dns_names */
	/* staging value for fg_dns_binds (bytes: a lock has no place in a per-CPU map) */
	__u64 bind[sizeof(struct fg_dns_bind_val) / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FG_DNS_SLOTS);
	__type(key, __u32);
	__type(value, struct fg_dns_scratch);
} fg_dns_scratch SEC(".maps") __weak;

/* --- Sockets: Unix peers, socket kinds and options, inbound (sock.bpf.c, fg_sock.h) --- */

/* Learned socket items per function (struct fg_sock_key, gen 0) -> struct fg_seen_val. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_sock_key);
	__type(value, struct fg_seen_val);
} fg_socks SEC(".maps") __weak;

/* Allowed socket items, per function and generation (struct fg_sock_key). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_sock_key);
	__type(value, __u8);
} fg_sock_allow SEC(".maps") __weak;

/* The cluster's CIDRs (--cluster-cidr): an inbound peer inside one is of class "cluster". */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fg_cidr_key);
	__type(value, __u8);
} fg_cluster SEC(".maps") __weak;

/* Per-CPU scratch space to resolve a name (a "#!" script's, a Unix socket's) to an absolute
 * path against the working directory. Slots FG_NAME_TP and FG_NAME_LSM as in fg_scratch;
 * the cgroup hooks, which can be preempted, claim one of the others (busy) for one run. */
struct fg_name_scratch {
	char cwd[2 * FG_PATH_MAX];  /* the working directory, walked backwards */
	char out[2 * FG_PATH_MAX];  /* the resolved name, from out[0] */
	char name[FG_PATH_MAX];     /* the name as given */
	__u64 walk[4];              /* struct fg_walk_state of the walk in progress */
	__u32 at, ups, step, pad2;  /* loop state of the resolution (name.bpf.c) */
	struct fg_path_val pv;      /* staging value for fg_paths */
	__u32 busy;                 /* claimed by a cgroup hook's run */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 6); /* FG_NAME_TP, FG_NAME_LSM, then 4 for the cgroup hooks */
	__type(key, __u32);
	__type(value, struct fg_name_scratch);
} fg_name_scr SEC(".maps") __weak;
