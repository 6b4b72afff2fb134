// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.bpf.c: the floor of the syscall benchmark. An empty program on the tracepoint
 * faasguard's hot path uses (raw_tracepoint/sys_enter): what any program there costs, before
 * it does anything. bench/run loads and attaches it itself (fg-bench syscalls: "floor on").
 * With the file hooks attached faasguard has a second one, raw_tracepoint/sys_exit: the floor
 * of that pair is both empty programs ("floor both", configuration floor2).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sys_enter")
int fg_bench_floor(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int fg_bench_floor_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}
