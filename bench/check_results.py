#!/usr/bin/env python3
"""The bench's ctest entry: run `bench/run --quick` and check that it completed and that its
results.json parses and holds every section. Thresholds are never asserted here: benchmarks
are not timed tests (docs/benchmarks.md)."""
import argparse
import json
import os
import subprocess
import sys

SECTIONS = {
    "machine": [],
    "run": ["duration_s", "params"],
    "syscall_cost": ["ops"],
    "exec_storm": ["configs", "lost_total", "execs_total"],
    "connect_storm": ["configs"],
    "http": ["endpoints"],
    "agent_footprint": ["idle", "exec_storm", "functions_1000"],
    "cold_start": ["samples", "attributed"],
    "targets": [],
}
SYSCALL_CONFIGS = ["none", "floor", "floor2", "untracked", "learn", "monitor", "enforce", "bpftrace"]
STORM_CONFIGS = ["none", "untracked", "learn", "monitor", "enforce"]


def check(path):
    with open(path) as f:
        res = json.load(f)
    errors = []
    for sec, keys in SECTIONS.items():
        if sec not in res:
            errors.append(f"section {sec} is missing")
            continue
        for k in keys:
            if k not in res[sec]:
                errors.append(f"{sec}.{k} is missing")
    if errors:
        return errors
    for op in ("getppid", "openat"):
        cfgs = res["syscall_cost"]["ops"].get(op, {}).get("configs", {})
        for c in SYSCALL_CONFIGS:
            if cfgs.get(c, {}).get("ns") is None:
                errors.append(f"syscall_cost {op}: no measurement for {c}")
    for sec in ("exec_storm", "connect_storm"):
        for c in STORM_CONFIGS:
            if res[sec]["configs"].get(c, {}).get("per_second") is None:
                errors.append(f"{sec}: no rate for {c}")
    for name, e in res["http"]["endpoints"].items():
        for c in ("baseline", "floor", "learn", "enforce"):
            if e["configs"].get(c, {}).get("rps") is None:
                errors.append(f"http {name}: no requests/s for {c}")
            elif e["configs"][c].get("ratio_to_baseline") is None:
                errors.append(f"http {name}: no paired ratio for {c}")
            elif None in (e["configs"][c].get("best_quarter_interval") or [None]):
                errors.append(f"http {name}: no best-quarter ratio for {c}")
    seen = {(x.get("config"), x.get("endpoint")) for x in res["http"].get("program_time", [])
            if x.get("ns_per_request") is not None}
    for name in res["http"]["endpoints"]:
        for c in ("floor", "learn", "enforce"):
            if (c, name) not in seen:
                errors.append(f"http {name}: no program time per request for {c}")
    if res["agent_footprint"]["functions_1000"].get("rss_mib") is None:
        errors.append("agent_footprint: no RSS with 1,000 functions")
    if res["cold_start"]["samples"] == 0:
        errors.append("cold_start: no samples")
    for t in res["targets"]:
        for k in ("name", "measured", "target", "holds"):
            if k not in t:
                errors.append(f"target {t} lacks {k}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", help="bench/run to start in quick mode first")
    ap.add_argument("--build-dir")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.run:
        # Correctness only: do not wait long for a quiet machine (numbers are not checked).
        cmd = [args.run, "--quick", "--no-setup", "--quiet-wait", "2", "--out", args.out]
        if args.build_dir:
            cmd += ["--build-dir", args.build_dir]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            sys.exit(f"bench/run --quick failed with exit code {r.returncode}")
    errors = check(os.path.join(args.out, "results.json"))
    for name in ("summary.md",):
        if not os.path.exists(os.path.join(args.out, name)):
            errors.append(f"{name} was not written")
    if errors:
        sys.exit("bench results are incomplete:\n  " + "\n  ".join(errors))
    print("bench quick run: complete, results.json has every section")


if __name__ == "__main__":
    main()
