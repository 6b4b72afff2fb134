// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.bpf.c: the floor of the syscall benchmark. An empty program on the tracepoint
 * faasguard's hot path uses (raw_tracepoint/sys_enter): what any program there costs, before
 * it does anything. bench/run loads and attaches it itself (fg-bench syscalls: "floor on").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sys_enter")
int fg_bench_floor(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}
