/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fg_file.h: the files a function opens (included by fg_abi.h; same rules: plain C, fixed-width
 * fields, explicit padding, sizes asserted on both sides).
 *
 * An open is learned and checked on the file the kernel opened: its path (the walk of
 * path.bpf.h, inside the task's mount namespace) and how it was opened. Learned items go to
 * fg_files (function, access, path hash -> seen) with the text in fg_paths; allow rules to
 * fg_file_allow, per function and generation, with fg_file_pol saying whether a generation
 * checks files at all and which prefix lengths its "path*" rules have.
 */
#pragma once

/* How a file was opened (fg_file_key.access, fg_file_allow values). */
#define FG_FILE_READ 0x1   /* opened for reading (FMODE_READ; an open for neither counts too) */
#define FG_FILE_WRITE 0x2  /* opened for writing (FMODE_WRITE) */
#define FG_FILE_CREATE 0x4 /* this open created the file (FMODE_CREATED) */
#define FG_FILE_TRUNC 0x8  /* this open truncated an existing regular file (O_TRUNC) */
#define FG_FILE_ACCESS 0xf
/* Not an access: the opened file is not a directory and has more than one hard link. Part of
 * an item's identity, so that such a file matches only items (and rules) that say so. */
#define FG_FILE_LINKED 0x10

/* A first sighting of a (path, access) of a function. Numbered apart from fg_event_type's
 * values so that branches adding event types merge; the integrator renumbers. */
#define FG_EV_FILE 13

/* fg_files: (function, access | FG_FILE_LINKED, path hash) -> struct fg_seen_val. */
struct fg_file_key {
	__u32 fn_id;
	__u32 access;
	__u64 hash;
};

/* fg_file_rule_key.kind bits */
#define FG_FILE_RULE_PREFIX 0x1 /* hash is the hash of the first prefix_len bytes of a plain path */
#define FG_FILE_RULE_LINKED 0x2 /* matches files with several links (FG_FILE_LINKED) */

/* fg_file_allow: an allowed path (exact, or a "path*" prefix) of a function and generation ->
 * __u32 FG_FILE_* access it allows. The accesses of every rule that matches add up. */
struct fg_file_rule_key {
	__u32 fn_id;
	__u8 gen;
	__u8 kind;        /* FG_FILE_RULE_* */
	__u16 prefix_len; /* FG_FILE_RULE_PREFIX: bytes of the path hashed */
	__u64 hash;
};

/* fg_file_pol.flags */
#define FG_FILE_POL_ON 0x1 /* the generation has file rules: opens are checked against them */

#define FG_FILE_PREFIX_WORDS (FG_PATH_MAX / 64)

/* fg_file_pol[fn_id * 2 + gen], written by the agent with the rules of a generation. A
 * section without file rules (a profile from before files were learned) is not checked. */
struct fg_file_pol {
	__u32 flags;  /* FG_FILE_POL_* */
	__u32 access; /* every access some rule allows (FG_FILE_*) */
	__u64 prefix_lens[FG_FILE_PREFIX_WORDS]; /* bit n: some prefix rule is n bytes long */
};

/* A violation of kind FG_VIOL_FILE: item = the path, item_hash its hash, item_flags the
 * path's FG_PATH_F_* in the low byte and the open's access (FG_FILE_*) from bit 8. */
#define FG_FILE_ITEM_ACCESS_SHIFT 8

struct fg_file_event {
	struct fg_event_hdr hdr;
	__u64 hash;
	__u32 access;     /* FG_FILE_* */
	__u16 path_len;
	__u16 path_flags; /* FG_PATH_F_* */
	char path[FG_PATH_MAX];
};

FG_STATIC_ASSERT(sizeof(struct fg_file_key) == 16, "fg_file_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_file_rule_key) == 16, "fg_file_rule_key layout");
FG_STATIC_ASSERT(sizeof(struct fg_file_pol) == 8 + 8 * FG_FILE_PREFIX_WORDS, "fg_file_pol layout");
FG_STATIC_ASSERT(sizeof(struct fg_file_event) == 32 + 16 + FG_PATH_MAX, "fg_file_event layout");
