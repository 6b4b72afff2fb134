#!/usr/bin/env python3
"""Enforce through seccomp, sys_enter detached: what the node pays (docs/benchmarks.md).

Configurations, interleaved round by round so that drift hits them alike:
  none          no agent: no faasguard program attached
  learning      the agent runs and one function learns (sys_enter attached): an untracked
                getppid loop pays the node-wide hook
  seccomp       the agent runs (--files off) and the only tracked functions are enforced
                through their seccomp filters (an idle one, sys_enter detached): an untracked
                loop, and the function's own loop under its filter
  seccomp_files the same with --files on (the default): the functions' file rules are
                checked at sys_exit, attached node-wide while they run: an untracked loop
HTTP (--http): the sample function's /healthz with wrk, untracked vs enforced through its
filter (the agent running, sys_enter detached): the enforce >= 97% of baseline target.

Usage: python3 bench/seccomp_bench.py --build-dir build [--rounds 5] [--n 2000000] [--http]
Prints a table; --out DIR writes DIR/seccomp.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import unephemeral_port  # noqa: E402


class Agent:
    def __init__(self, build, tmp):
        self.bin = os.path.join(build, "agent", "faasguard-agent")
        self.ctl_bin = os.path.join(build, "agent", "faasguardctl")
        self.sock = os.path.join(tmp, "agent.sock")
        self.state = os.path.join(tmp, "state")
        self.log = os.path.join(tmp, "agent.log")
        self.p = None

    def start(self, files=True):
        self.p = subprocess.Popen([self.bin, "--socket", self.sock, "--state-dir", self.state,
                                   "--bpf-pin-dir", "off", "--metrics-addr", "off",
                                   "--seccomp-root", "off", "--sync-interval", "1",
                                   "--files", "on" if files else "off"],
                                  stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(self.sock) and self.ctl("status", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("agent did not start: " + open(self.log).read()[-2000:])

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=20)

    def ctl(self, *args, check=True):
        return subprocess.run([self.ctl_bin, "--socket", self.sock, *args], capture_output=True,
                              text=True, check=check)

    def hook_attached(self):
        return json.loads(self.ctl("status", "-o", "json").stdout).get("syscallHookAttached",
                                                                        False)

    def file_hook_attached(self):
        st = json.loads(self.ctl("status", "-o", "json").stdout)
        return any(p.get("name") == "fg_sys_exit" for p in st.get("programs", []))


def loop(build, n, agent=None, function=None):
    cmd = [os.path.join(build, "bench", "fg-getppid-loop"), str(n)]
    if function:
        cmd = [agent.ctl_bin, "--socket", agent.sock, "run", "--function", function, "--"] + cmd
    return float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def wrk(url, seconds):
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", url], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.environ.get("FG_BUILD", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000000)
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--http-seconds", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    build = os.path.abspath(a.build_dir)
    tmp = tempfile.mkdtemp(prefix="fg-seccomp-bench.")
    agent = Agent(build, tmp)
    res = {k: [] for k in ("none", "learning_untracked", "seccomp_untracked", "seccomp_function",
                           "seccomp_files_untracked")}
    http = {"baseline": [], "enforce_seccomp": []}
    sleeper = None
    try:
        # Learn the loop (and a sleeper that keeps a learning cgroup tracked), then enforce.
        agent.start()
        loop(build, 1000, agent, "bench-loop")
        subprocess.run([agent.ctl_bin, "--socket", agent.sock, "run", "--function",
                        "bench-sleep", "--", "sleep", "0.1"], check=True)
        time.sleep(2.5)
        agent.ctl("mode", "bench-loop", "enforce")
        agent.ctl("mode", "bench-sleep", "enforce")
        agent.stop()
        for r in range(a.rounds):
            res["none"].append(loop(build, a.n))
            agent.start(files=False)
            agent.ctl("mode", "bench-sleep", "learn")
            sleeper = subprocess.Popen([agent.ctl_bin, "--socket", agent.sock, "run",
                                        "--function", "bench-sleep", "--", "sleep", "600"])
            while not agent.hook_attached():
                time.sleep(0.05)
            res["learning_untracked"].append(loop(build, a.n))
            sleeper.terminate()
            sleeper.wait()
            # Only enforced functions are tracked, each under its filter: sys_enter detached.
            agent.ctl("mode", "bench-sleep", "enforce")
            sleeper = subprocess.Popen([agent.ctl_bin, "--socket", agent.sock, "run",
                                        "--function", "bench-sleep", "--", "sleep", "600"])
            time.sleep(0.5)
            assert not agent.hook_attached(), "sys_enter should be detached"
            assert not agent.file_hook_attached(), "--files off: no sys_exit"
            res["seccomp_untracked"].append(loop(build, a.n))
            res["seccomp_function"].append(loop(build, a.n, agent, "bench-loop"))
            sleeper.terminate()
            sleeper.wait()
            agent.stop()
            # The same, files checked: sys_exit is attached while the enforced sleeper runs.
            agent.start(files=True)
            sleeper = subprocess.Popen([agent.ctl_bin, "--socket", agent.sock, "run",
                                        "--function", "bench-sleep", "--", "sleep", "600"])
            time.sleep(0.5)
            assert not agent.hook_attached(), "sys_enter should be detached"
            assert agent.file_hook_attached(), "a function with file rules: sys_exit"
            res["seccomp_files_untracked"].append(loop(build, a.n))
            sleeper.terminate()
            sleeper.wait()
            agent.stop()
            print(f"round {r + 1}/{a.rounds}: " + ", ".join(
                f"{k} {v[-1]:.1f}" for k, v in res.items()), file=sys.stderr, flush=True)
        if a.http:
            port = unephemeral_port(90)
            handler = os.path.join(ROOT, "examples", "hello-py", "handler.py")
            env = dict(os.environ, HELLO_QUIET="1")
            url = f"http://127.0.0.1:{port}/healthz"
            agent.start(files=False)
            fn = subprocess.Popen([agent.ctl_bin, "--socket", agent.sock, "run", "--function",
                                   "bench-http", "--", "/usr/bin/python3", handler, str(port)],
                                  env=env)
            time.sleep(2)
            wrk(url, 2)
            time.sleep(2.5)
            fn.terminate()
            fn.wait()
            agent.ctl("mode", "bench-http", "enforce")
            for r in range(a.rounds):
                base = subprocess.Popen(["/usr/bin/python3", handler, str(port)], env=env)
                time.sleep(1.5)
                http["baseline"].append(wrk(url, a.http_seconds))
                base.terminate()
                base.wait()
                fn = subprocess.Popen([agent.ctl_bin, "--socket", agent.sock, "run",
                                       "--function", "bench-http", "--", "/usr/bin/python3",
                                       handler, str(port)], env=env)
                time.sleep(1.5)
                assert not agent.hook_attached(), "sys_enter should be detached"
                http["enforce_seccomp"].append(wrk(url, a.http_seconds))
                fn.terminate()
                fn.wait()
            agent.stop()
    finally:
        if agent.p and agent.p.poll() is None:
            agent.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"getppid ns/call, median of {a.rounds} rounds of {a.n}:")
    for k, v in med.items():
        print(f"  {k:20s} {v:8.1f}  ({v / med['none']:.3f}x none)")
    out = {"getppid_ns": res, "median": med}
    if a.http:
        hb, he = statistics.median(http["baseline"]), statistics.median(http["enforce_seccomp"])
        print(f"/healthz req/s: baseline {hb:.0f}, enforce through seccomp {he:.0f} "
              f"({he / hb:.3f}x; target >= 0.97)")
        out["healthz_rps"] = http
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "seccomp.json"), "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
