#!/usr/bin/env python3
"""Egress by DNS name: what it costs, side by side in one run (docs/benchmarks.md, "DNS").

Configurations, interleaved round by round so that drift hits them alike:
  none       no agent: no faasguard program attached
  untracked  the agent runs (its cgroup_skb DNS programs attached at the root); the loop runs
             in no tracked cgroup
  learn      the loop runs under `faasguardctl run` in learn mode
  enforce    the same function in enforce mode (the name was learned)
Loops (bench/dns_loop.py): getaddrinfo + TCP connect + close against dnsmasq on loopback
("resolve-connect"), and 64-byte UDP datagrams to a port that is not DNS ("udp": the cost of
a packet of an untracked socket). Prints a table; --out DIR writes DIR/dns.json.

Usage: python3 bench/dns_bench.py --build-dir build [--rounds 5] [--n 2000] [--out DIR]
"""
import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOOP = os.path.join(HERE, "dns_loop.py")
PY = "/usr/bin/python3"


PROGS = ("fg_dns_query", "fg_dns_answer", "fg_connect4", "fg_sendmsg4")


def prog_ids(pid):
    """The ids of the BPF programs process pid holds open (from its fds' fdinfo)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def prog_stats(pid):
    """{program name: (run_time_ns, run_cnt)} of PROGS held by process pid."""
    out = {}
    mine = prog_ids(pid)
    for p in json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], check=True,
                                       capture_output=True, text=True).stdout):
        if p.get("name") in PROGS and p.get("id") in mine:
            t, n = out.get(p["name"], (0, 0))
            out[p["name"]] = (t + p.get("run_time_ns", 0), n + p.get("run_cnt", 0))
    return out


def stats_delta(before, after):
    return {k: (after[k][0] - before.get(k, (0, 0))[0], after[k][1] - before.get(k, (0, 0))[1])
            for k in after}


def wait_for(pred, timeout=20, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Env:
    def __init__(self, build):
        self.agent_bin = os.path.join(build, "agent", "faasguard-agent")
        self.ctl_bin = os.path.join(build, "agent", "faasguardctl")
        self.tmp = tempfile.mkdtemp(prefix="fgdnsbench.")
        self.dns_addr = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"
        hosts = os.path.join(self.tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.1.10 api.bench.test\n")
        conf = os.path.join(self.tmp, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("\n".join(["port=53", f"listen-address={self.dns_addr}", "bind-interfaces",
                               "no-resolv", "no-hosts", "no-poll", f"addn-hosts={hosts}",
                               "local=/bench.test/", "local-ttl=300", "user=root", "pid-file=",
                               "cache-size=0", ""]))
        self.dns = subprocess.Popen(["dnsmasq", "-k", "-C", conf])
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write(f"nameserver {self.dns_addr}\noptions attempts:1 timeout:2\n")
        # The TCP target and the UDP sink.
        self.tcp = socket.socket()
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(1024)
        self.port = self.tcp.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.udp_port = self.udp.getsockname()[1]
        threading.Thread(target=self._drain, daemon=True).start()
        self.agent = None
        self.sock = os.path.join(self.tmp, "agent.sock")

    def _accept(self):
        while True:
            try:
                c, _ = self.tcp.accept()
                c.close()
            except OSError:
                return

    def _drain(self):
        while True:
            try:
                self.udp.recv(2048)
            except OSError:
                return

    def start_agent(self):
        self.agent_log = open(os.path.join(self.tmp, "agent.log"), "w")
        self.agent = subprocess.Popen(
            [self.agent_bin, "--socket", self.sock, "--state-dir", os.path.join(self.tmp, "st"),
             "--bpf-pin-dir", "off", "--metrics-addr", "127.0.0.1:0", "--sync-interval", "1"],
            stdout=self.agent_log, stderr=subprocess.STDOUT)
        wait_for(lambda: "agent ready" in open(self.agent_log.name).read(), what="agent")

    def stop_agent(self):
        if self.agent:
            self.agent.terminate()
            self.agent.wait(timeout=20)
            self.agent_log.close()
            self.agent = None

    def ctl(self, *args):
        return subprocess.run([self.ctl_bin, "--socket", self.sock, *args], check=True,
                              capture_output=True, text=True).stdout

    def loop(self, what, n, function=None):
        target = (["resolve-connect", "api.bench.test", str(self.port)] if what == "resolve-connect"
                  else ["udp", "127.0.0.1", str(self.udp_port)])
        cmd = [PY, LOOP, self.resolv, *target, str(n)]
        if function:
            cmd = [self.ctl_bin, "--socket", self.sock, "run", "--function", function, "--"] + cmd
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])["ns_per_op"]

    def close(self):
        self.stop_agent()
        self.dns.terminate()
        self.dns.wait()
        self.tcp.close()
        self.udp.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000, help="resolve+connect iterations per loop")
    ap.add_argument("--udp-n", type=int, default=200000)
    ap.add_argument("--out")
    a = ap.parse_args()
    env = Env(a.build_dir)
    res = {k: [] for k in ("rc.none", "rc.untracked", "rc.learn", "rc.enforce", "udp.none",
                           "udp.untracked")}
    try:
        wait_for(lambda: subprocess.run([PY, LOOP, env.resolv, "resolve-connect",
                                         "api.bench.test", str(env.port), "1"],
                                        capture_output=True).returncode == 0, what="dnsmasq")
        for r in range(a.rounds):
            res["rc.none"].append(env.loop("resolve-connect", a.n))
            res["udp.none"].append(env.loop("udp", a.udp_n))
            env.start_agent()
            res["rc.untracked"].append(env.loop("resolve-connect", a.n))
            res["udp.untracked"].append(env.loop("udp", a.udp_n))
            fn = f"dnsbench{r}"
            res["rc.learn"].append(env.loop("resolve-connect", a.n, fn))
            time.sleep(2.5)  # two syncs: the learned name is in the profile
            env.ctl("mode", f"default/{fn}", "enforce")
            res["rc.enforce"].append(env.loop("resolve-connect", a.n, fn))
            env.stop_agent()
            print(f"round {r + 1}/{a.rounds}: " + ", ".join(
                f"{k} {v[-1] / 1000:.1f} us" for k, v in res.items()), file=sys.stderr)
        # Time inside the programs (kernel.bpf_stats_enabled: two clock reads per run, so only
        # in this pass, never while the loops above are timed).
        inside = {}
        env.start_agent()
        path = "/proc/sys/kernel/bpf_stats_enabled"
        old = open(path).read().strip()
        open(path, "w").write("1")
        try:
            b = prog_stats(env.agent.pid)
            env.loop("udp", a.udp_n)
            inside["udp.untracked"] = stats_delta(b, prog_stats(env.agent.pid))
            env.loop("resolve-connect", a.n, "dnsbench-stats")
            time.sleep(2.5)
            env.ctl("mode", "default/dnsbench-stats", "enforce")
            b = prog_stats(env.agent.pid)
            env.loop("resolve-connect", a.n, "dnsbench-stats")
            inside["rc.enforce"] = stats_delta(b, prog_stats(env.agent.pid))
        finally:
            open(path, "w").write(old)
            env.stop_agent()
    finally:
        env.close()
    med = {k: statistics.median(v) for k, v in res.items()}
    print("| pass | program | runs per op | ns per run | ns per op |\n| --- | --- | --- | --- | --- |")
    per_op = {"udp.untracked": a.udp_n, "rc.enforce": a.n}
    for pas, progs in inside.items():
        for name, (t, n) in sorted(progs.items()):
            if n:
                print(f"| {pas} | {name} | {n / per_op[pas]:.2f} | {t / n:.1f} | "
                      f"{t / per_op[pas]:.1f} |")
    rows = [
        ("resolve+connect, untracked × none", med["rc.untracked"] / med["rc.none"]),
        ("resolve+connect, learn × none", med["rc.learn"] / med["rc.none"]),
        ("resolve+connect, enforce × none", med["rc.enforce"] / med["rc.none"]),
        ("UDP datagram of an untracked socket, agent × none", med["udp.untracked"] / med["udp.none"]),
    ]
    print("| configuration | median ns/op | ratio |\n| --- | --- | --- |")
    for k in ("rc.none", "rc.untracked", "rc.learn", "rc.enforce", "udp.none", "udp.untracked"):
        print(f"| {k} | {med[k]:,.0f} | |")
    for name, ratio in rows:
        print(f"| {name} | | {ratio:.3f} |")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "dns.json"), "w") as f:
            json.dump({"rounds": res, "median": med, "ratios": dict(rows), "inside": inside}, f,
                      indent=1)


if __name__ == "__main__":
    main()
