#!/usr/bin/env python3
"""faasguard benchmarks: overhead and throughput, side by side with the kernel floor and a peer.

Run through bench/run (which installs what is needed, builds, and checks for root). One run
measures every configuration on this machine, interleaved, repeated, and writes to the run
directory:
  results.json   every sample and every derived number (machine-readable)
  summary.md     the human summary: each measurement next to its target, and whether it holds
  *.png          gnuplot plots (with the .dat files and .gp scripts that made them)
  logs/          agent, bpftrace and wrk output

Configurations (section 1, cost per syscall):
  none       no eBPF program attached at all
  floor      an empty raw_tracepoint/sys_enter program, loaded by the bench (bench/floor.bpf.c)
  floor2     the same and an empty raw_tracepoint/sys_exit program: the floor of the pair the
             agent attaches while some function profiles files (the file hooks)
  untracked  faasguard-agent running, 500 other functions tracked, this process untracked
  learn / monitor / enforce
             this process in a cgroup registered with the agent, its function in that mode
  bpftrace   the peer: `@[cgroup, args->id] = count()` on raw_syscalls:sys_enter

A round runs three environments (no agent, bpftrace, agent) in a rotating order; inside an
environment the configurations it offers are interleaved measurement by measurement, in a
rotating order, by one long-lived measuring process pinned to one CPU (it moves itself into
the cgroup of each configuration for the duration of one measurement). Added ns are paired by
round: median(config) - median(none) of the same round, then the median over rounds.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Targets (issue 7). Never relaxed: where one is missed, the hot path changes.
TARGETS = {
    "untracked_vs_floor": 1.2,    # untracked added ns <= 1.2x the floor's added ns
    "tracked_vs_floor": 2.0,      # learn and enforce added ns <= 2x the floor's
    "tracked_vs_bpftrace": 0.5,   # "far below bpftrace's": at most half of bpftrace's added ns
    "lost_execs": 0,              # at the machine's highest exec rate
    "http_enforce_vs_baseline": 0.97,
    "rss_1000_mib": 64.0,
    "idle_cpu_pct": 2.0,
}

PARAMS = {
    "quick": dict(rounds=1, sys_rounds=2, sys_reps=1, progtime_rounds=1, getppid_iters=20000, openat_iters=5000, batches=8,
                  storm_seconds=1.5, http_seconds=2, http_cycles=1, http_prog_seconds=1, idle_seconds=4, settle_quiet_s=3, cold_samples=5,
                  others=500, footprint_functions=1000, train_seconds=0.5, quiet_wait=15),
    "full": dict(rounds=3, sys_rounds=20, sys_reps=2, progtime_rounds=3, getppid_iters=20000, openat_iters=5000, batches=15,
                 storm_seconds=5, http_seconds=3, http_cycles=12, http_prog_seconds=3, idle_seconds=15, settle_quiet_s=5, cold_samples=20,
                 others=500, footprint_functions=1000, train_seconds=1.0, quiet_wait=600),
}

SYS_OPS = ["getppid", "openat"]  # "openat" = one openat + one close per iteration
OP_NAMES = {"getppid": "getppid", "openat": "openat+close"}
OP_SYSCALLS = {"getppid": 1, "openat": 2}
MODES = ["learn", "monitor", "enforce"]
HTTP_PATHS = {"greet": "/?name=bench", "healthz": "/healthz"}
HTTP_CONFIGS = ("baseline", "floor", "learn", "enforce")
HTTP_FN = "bench-http-0"  # fg-bench register --prefix bench-http --count 1


def unephemeral_port(offset):
    """A free loopback port below the kernel's ephemeral range: a fixed port inside it can be
    the local port of some outgoing connection when a server binds it (EADDRINUSE, seen)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for port in range(max(1024, low - 2000) + offset, low):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError(f"no free port below the ephemeral range ({low})")


HTTP_PORT = unephemeral_port(80)
CONNECT_PORT = unephemeral_port(11)

# CPU placement: the measured process on one CPU, the agent / peers / load generators on the
# other (2-core machine). Chosen at start from the CPUs we may use.
CPU_MEASURED = "1"
CPU_OTHER = "0"

T0 = time.time()


def log(msg):
    try:
        sys.stderr.write(f"[{time.time() - T0:7.1f}s] {msg}\n")
        sys.stderr.flush()
    except OSError:  # stderr gone (a closed pipe): keep going, the results still get written
        pass


def die_with_parent():
    """preexec_fn: the child gets SIGTERM if the bench dies (even by SIGKILL)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def rnd(x, n=1):
    return None if x is None else round(x, n)


def rotate(lst, k):
    k %= len(lst)
    return lst[k:] + lst[:k]


def run(cmd, check=True, timeout=300, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            dash = parts.index("-")
            if parts[dash + 1] == "cgroup2" and parts[3] == "/":
                return parts[4]
    raise RuntimeError("no cgroup v2 mount in /proc/self/mountinfo")


def remove_cgroup_tree(top):
    """Remove a cgroup directory tree, killing whatever is left inside."""
    if not os.path.isdir(top):
        return
    for dirpath, dirnames, _ in os.walk(top, topdown=False):
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                busy = f.read().strip()
            if busy and os.path.exists(os.path.join(dirpath, "cgroup.kill")):
                with open(os.path.join(dirpath, "cgroup.kill"), "w") as f:
                    f.write("1")
        except OSError:
            pass
        for _ in range(100):
            try:
                os.rmdir(dirpath)
                break
            except OSError:
                time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# Process statistics


def proc_cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat: exact; stat ticks as a fallback)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total
    except OSError:
        return None


def proc_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def settle(pid, limit_s, pct=3.0, quiet_s=1):
    """Wait (at most limit_s) until a process used less than pct% of a core in each of
    quiet_s consecutive 1-s windows: the agent saves every new profile at the sync after the
    registrations (every 2 s), which is not its idle state, so a single quiet second between
    the registrations and that sync does not count."""
    t = time.monotonic()
    quiet = 0
    while time.monotonic() - t < limit_s and quiet < quiet_s:
        m = CpuMeter(pid).start()
        time.sleep(1)
        c = m.stop()
        quiet = quiet + 1 if c is not None and c < pct else 0
    return time.monotonic() - t


class CpuMeter:
    """Share of one core a process used between start() and stop()."""

    def __init__(self, pid):
        self.pid = pid

    def start(self):
        self.c0, self.t0 = proc_cpu_ns(self.pid), time.monotonic_ns()
        return self

    def stop(self):
        c1, t1 = proc_cpu_ns(self.pid), time.monotonic_ns()
        if self.c0 is None or c1 is None:
            return None
        return 100.0 * (c1 - self.c0) / (t1 - self.t0)


def bpf_fdinfo_of(pid, kinds):
    """fdinfo fields ({key: value}) of each fd of process pid whose target is one of `kinds`
    ("anon_inode:bpf_link", "anon_inode:bpf-prog", "anon_inode:bpf-map")."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") not in kinds:
                continue
            info = {}
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    info[k.strip()] = v.strip()
            out.append(info)
        except OSError:
            pass
    return out


def bpf_links_of(pid):
    """Link ids of the BPF links process pid holds open."""
    return {int(i["link_id"]) for i in bpf_fdinfo_of(pid, ("anon_inode:bpf_link",))
            if "link_id" in i}


def bpf_progs_of(pid):
    """{prog id: name} of the BPF programs process pid holds (program fds, and links' programs)."""
    ids = {int(i["prog_id"]) for i in bpf_fdinfo_of(pid, ("anon_inode:bpf-prog",
                                                          "anon_inode:bpf_link"))
           if "prog_id" in i}
    out = {}
    for i in ids:
        try:
            out[i] = json.loads(run(["bpftool", "prog", "show", "id", str(i), "-j"]).stdout)
        except (RuntimeError, ValueError):
            pass
    return out


def one_prog(pid, names=None, wait_s=5.0):
    """The id of the one BPF program process pid holds (named one of `names`, when given).
    Polled: a peer that has just said it attached may not show its fds yet (seen once, with
    bpftrace, in a full run)."""
    t = time.monotonic()
    while True:
        ids = [i for i, p in bpf_progs_of(pid).items() if names is None or p.get("name") in names]
        if len(ids) == 1:
            return ids[0]
        if time.monotonic() - t > wait_s:
            raise RuntimeError(f"process {pid} holds {len(ids)} BPF programs named {names}, "
                               "not one")
        time.sleep(0.1)


@contextlib.contextmanager
def bpf_stats_on():
    """kernel.bpf_stats_enabled on for the block (it adds two clock reads per program run, so
    it is never on while the overhead itself is measured), then as it was."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    with open(path, "w") as f:
        f.write("1")
    try:
        yield
    finally:
        with open(path, "w") as f:
            f.write(old)


def prog_run_stats(prog_id):
    """(run_time_ns, run_cnt) of a program (kernel.bpf_stats_enabled must be on)."""
    d = json.loads(run(["bpftool", "prog", "show", "id", str(prog_id), "-j"]).stdout)
    return d.get("run_time_ns", 0), d.get("run_cnt", 0)


def bpf_maps_of(pid):
    """(map id, memlock bytes) of every BPF map process pid holds open."""
    return {int(i["map_id"]): int(i.get("memlock", 0))
            for i in bpf_fdinfo_of(pid, ("anon_inode:bpf-map",)) if "map_id" in i}


class Quiet:
    def __init__(self, max_wait):
        self.max_wait = max_wait
        self.known_pids = set()
        self.waited = 0.0
        self.contaminated = 0

    @staticmethod
    def cpu_busy(seconds=0.15):
        """Share of all CPUs' time spent busy over a short window (0..1)."""
        def snap():
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return sum(v), v[3] + v[4]  # total, idle + iowait
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)

    def foreign_links(self):
        try:
            links = json.loads(run(["bpftool", "link", "show", "-j"], check=False).stdout or "[]")
        except (ValueError, subprocess.SubprocessError):
            return []
        ours = set()
        for pid in list(self.known_pids):
            ours |= bpf_links_of(pid)
        return [l for l in links
                if l.get("id") not in ours and (l.get("type") in ("raw_tracepoint", "tracing",
                                                                    "perf_event", "cgroup"))]

    def disturbed(self):
        """Why the machine is not quiet ("" when it is): foreign BPF links, or CPU busy while
        nothing of ours runs (someone else's build or tests)."""
        if self.foreign_links():
            return "foreign BPF programs are attached (another agent or test?)"
        busy = self.cpu_busy()
        if busy > self.BUSY:
            return f"the CPUs are {100 * busy:.0f}% busy with work that is not ours"
        return ""

    BUSY = 0.15  # of all CPUs, measured while our processes are idle

    def wait(self):
        """Wait (at most max_wait per call) until the machine is quiet."""
        t = time.monotonic()
        told = ""
        while True:
            why = self.disturbed()
            if not why:
                break
            if time.monotonic() - t > self.max_wait:
                self.waited += time.monotonic() - t
                return False
            if why != told:
                log(f"  {why}: waiting")
                told = why
            time.sleep(1)
        self.waited += time.monotonic() - t
        return True

    def measure(self, fn):
        """fn() -> dict; retried while foreign programs appear around it. Adds 'contaminated'."""
        attempts = 3 if self.max_wait >= 5 else 1
        for _ in range(attempts):
            clean_before = self.wait()
            r = fn()
            if clean_before and not self.foreign_links():
                r["contaminated"] = False
                return r
        self.contaminated += 1
        r["contaminated"] = True
        return r


# ---------------------------------------------------------------------------------------------
# The pieces: the measuring session, the agent, bpftrace, the sample function.


class Session:
    """fg-bench syscalls: the long-lived measuring process, pinned to CPU_MEASURED."""

    def __init__(self, bench, home):
        self.p = subprocess.Popen(["taskset", "-c", CPU_MEASURED, bench, "syscalls",
                                   "--home", home], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("the measuring process (fg-bench syscalls) exited")
        d = json.loads(line)
        if "error" in d:
            raise RuntimeError("fg-bench syscalls: " + d["error"])
        return d

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self._read()

    def floor(self, on):
        self.cmd("floor " + ("both" if on == "both" else "on" if on else "off"))

    def measure(self, label, op, iters, batches, cgroup="-"):
        return self.cmd(f"measure {label} {op} {iters} {batches} {cgroup}")

    def close(self):
        if self.p.poll() is None:
            try:
                self.cmd("quit")
            except (RuntimeError, BrokenPipeError, ValueError):
                pass
            self.p.wait(timeout=10)


class Agent:
    def __init__(self, binary, ctl, state, sock, logdir):
        self.binary, self.ctl_bin, self.state, self.sock = binary, ctl, state, sock
        self.logdir = logdir
        self.p = None
        self.n = 0

    def start(self):
        self.n += 1
        self.log_path = os.path.join(self.logdir, f"agent-{self.n}.log")
        self.log = open(self.log_path, "w")
        t = time.monotonic()
        self.p = subprocess.Popen(["taskset", "-c", CPU_OTHER, self.binary, "--state-dir",
                                   self.state, "--socket", self.sock, "--bpf-pin-dir", "off",
                                   "--metrics-addr", "off"],
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  preexec_fn=die_with_parent)
        while time.monotonic() - t < 60:
            with open(self.log_path) as f:
                if "agent ready" in f.read():
                    self.start_s = time.monotonic() - t
                    return self
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("the agent did not start:\n" + open(self.log_path).read()[-3000:])

    @property
    def pid(self):
        return self.p.pid

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self.p:
            self.log.close()
        self.p = None

    def ctl(self, *args, check=True):
        return run([self.ctl_bin, "--socket", self.sock, *args], check=check, timeout=120)

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "-o", "json").stdout)

    def counter(self, name):
        for c in self.ctl_json("status").get("counters", []):
            if c.get("name") == name:
                return int(c.get("value", 0))
        return 0

    def execs_counted(self, fn):
        """The kernel's exec counter of a function (profile containers[].counters.execs)."""
        p = self.ctl_json("profile", "show", f"default/{fn}")
        return sum(int(c.get("counters", {}).get("execs", 0)) for c in p.get("containers", []))

    def violations(self, fn):
        r = self.ctl_json("violations", f"default/{fn}", "--limit", "10000")
        return len(r.get("violations", []))


class Bpftrace:
    """The peer: per-cgroup syscall counts, as a bpftrace user would write it."""
    PROGRAM = "tracepoint:raw_syscalls:sys_enter { @[cgroup, args->id] = count(); }"

    def __init__(self, logdir, n):
        self.out_path = os.path.join(logdir, f"bpftrace-{n}.json")
        self.out = open(self.out_path, "w")
        self.p = subprocess.Popen(["taskset", "-c", CPU_OTHER, "bpftrace", "-f", "json", "-e",
                                   self.PROGRAM], stdout=self.out, preexec_fn=die_with_parent,
                                  stderr=open(os.path.join(logdir, f"bpftrace-{n}.err"), "w"))
        t = time.monotonic()
        while time.monotonic() - t < 60:
            if "attached_probes" in open(self.out_path).read():
                self.start_s = time.monotonic() - t
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("bpftrace did not attach; see " + self.out_path)

    def stop(self):
        """Stop it (SIGINT prints the map) and return the counts {(cgroup id, nr): n}."""
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.out.close()
        counts = {}
        with open(self.out_path) as f:
            for line in f:
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if d.get("type") == "map":
                    for k, v in d["data"].get("@", {}).items():
                        cg, nr = k.split(",")
                        counts[(int(cg), int(nr))] = v
        return counts


def wrk(url, seconds, logdir, tag):
    """wrk for a fixed time: requests/s, p99 latency (ms), errors."""
    r = run(["taskset", "-c", CPU_OTHER, "wrk", "-t1", "-c8", f"-d{seconds}s", "--latency",
             "--timeout", "5s", url], check=False, timeout=seconds + 60)
    with open(os.path.join(logdir, f"wrk-{tag}.txt"), "w") as f:
        f.write(r.stdout + r.stderr)
    rps = p99 = None
    errors = 0
    requests = 0
    for line in r.stdout.splitlines():
        s = line.strip()
        if s.startswith("Requests/sec:"):
            rps = float(s.split()[1])
        elif s.startswith("99%"):
            p99 = parse_duration_ms(s.split()[1])
        elif s.startswith("Non-2xx or 3xx responses:"):
            errors += int(s.split(":")[1])
        elif s.startswith("Socket errors:"):
            for part in s.split(":", 1)[1].split(","):
                errors += int(part.split()[1])
        elif "requests in" in s:
            requests = int(s.split()[0])
    return {"rps": rps, "p99_ms": p99, "errors": errors, "requests": requests,
            "exit": r.returncode}


def parse_duration_ms(s):
    for unit, mul in (("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 6e4)):
        if s.endswith(unit):
            try:
                return float(s[: -len(unit)]) * mul
            except ValueError:
                continue
    return None


def wait_port(port, proc, timeout=20):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.P = dict(PARAMS[self.mode])
        if args.rounds:
            self.P["rounds"] = args.rounds
        if args.sys_rounds:
            self.P["sys_rounds"] = args.sys_rounds
        if args.quiet_wait is not None:
            self.P["quiet_wait"] = args.quiet_wait
        b = args.build_dir
        self.bench_bin = os.path.join(b, "bench", "fg-bench")
        self.agent_bin = os.path.join(b, "agent", "faasguard-agent")
        self.ctl_bin = os.path.join(b, "agent", "faasguardctl")
        for f in (self.bench_bin, self.agent_bin, self.ctl_bin):
            if not os.access(f, os.X_OK):
                raise RuntimeError(f"{f} is missing: build first (bench/run does)")
        self.out = args.out
        self.logdir = os.path.join(self.out, "logs")
        os.makedirs(self.logdir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="fgbench.")
        self.state = os.path.join(self.tmp, "state")
        self.sock = os.path.join(self.tmp, "agent.sock")
        self.cg = os.path.join(cgroup2_mount(), f"faasguard-bench-{os.getpid()}")
        self.home = os.path.join(self.cg, "home")
        for d in ("home", "others", "fn", "cold", "footprint"):
            os.makedirs(os.path.join(self.cg, d), exist_ok=True)
        self.agent = Agent(self.agent_bin, self.ctl_bin, self.state, self.sock, self.logdir)
        self.quiet = Quiet(self.P["quiet_wait"])
        self.session = None
        self.trained = False
        self.mounted_tracefs = False
        self.samples = {"syscalls": [], "exec": [], "connect": [], "unix": [], "http": [],
                        "http_prog": [],
                        "idle": [], "cold": [], "bpftrace_proof": [], "prog_time": []}

    # -- helpers ------------------------------------------------------------------------------

    def fn_cgroup(self, kind, mode):
        """The cgroup of bench function bench-<kind>-<mode>-0 (fg-bench register naming)."""
        return os.path.join(self.cg, "fn", f"bench-{kind}-{mode}-0")

    def register(self, parent, prefix, count):
        r = run([self.bench_bin, "register", "--socket", self.sock, "--cgroup-parent",
                 os.path.join(self.cg, parent), "--prefix", prefix, "--count", str(count)],
                timeout=600)
        return json.loads(r.stdout)

    def storm(self, kind, cgroup):
        secs = self.P["storm_seconds"]
        if kind == "exec":
            cmd = ["taskset", "-c", CPU_MEASURED if self.args.exec_workers == 1 else
                   f"{CPU_OTHER},{CPU_MEASURED}", self.bench_bin, "exec-storm", "--cgroup",
                   cgroup, "--seconds", str(secs), "--workers", str(self.args.exec_workers)]
        elif kind == "unix":
            cmd = ["taskset", "-c", CPU_MEASURED, self.bench_bin, "unix-storm", "--cgroup",
                   cgroup, "--seconds", str(secs), "--server-cpu", CPU_OTHER]
        else:
            cmd = ["taskset", "-c", CPU_MEASURED, self.bench_bin, "connect-storm", "--cgroup",
                   cgroup, "--seconds", str(secs), "--port", str(CONNECT_PORT),
                   "--server-cpu", CPU_OTHER]
        return json.loads(run(cmd, timeout=secs + 120).stdout)

    def start_function(self):
        """The sample function, one process for the whole HTTP section, in the cgroup of bench
        function bench-http-0: tracked while the agent runs, plain while it does not."""
        env = dict(os.environ, HELLO_QUIET="1")
        handler = os.path.join(ROOT, "examples", "hello-py", "handler.py")
        cg = self.http_cgroup()
        os.makedirs(cg, exist_ok=True)
        cmd = ["taskset", "-c", CPU_MEASURED, "sh", "-c",
               'echo $$ > "$1/cgroup.procs" && exec /usr/bin/python3 "$2" "$3"', "sh", cg,
               handler, str(HTTP_PORT)]
        logf = open(os.path.join(self.logdir, "function-http.log"), "a")
        p = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
        if not wait_port(HTTP_PORT, p):
            p.kill()
            raise RuntimeError("the sample function did not come up (logs/function-http.log)")
        return p

    def function_ended(self, p, when):
        """Why the sample function is gone: its exit, the end of its log, and what the agent
        recorded against it (a kill in enforce is a false positive to chase, not noise)."""
        msg = [f"the sample function ended during {when} (exit {p.returncode})"]
        try:
            with open(os.path.join(self.logdir, "function-http.log")) as f:
                msg.append("the end of logs/function-http.log:\n" + "".join(f.readlines()[-15:]))
        except OSError:
            pass
        if self.agent.p and self.agent.p.poll() is None:
            r = self.agent.ctl("violations", f"default/{HTTP_FN}", "--limit", "5", check=False)
            msg.append("the agent's last violations of it:\n" + r.stdout + r.stderr)
        return "\n".join(msg)

    def http_cgroup(self):
        return os.path.join(self.cg, "fn", HTTP_FN)

    @staticmethod
    def stop_function(p):
        # SIGINT: the handler ends on KeyboardInterrupt.
        p.send_signal(signal.SIGINT)
        try:
            return p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    # -- environments -------------------------------------------------------------------------

    def sys_measure(self, rnd_, env, label, op, cgroup="-"):
        iters = self.P["getppid_iters"] if op == "getppid" else self.P["openat_iters"]
        r = self.quiet.measure(
            lambda: dict(self.session.measure(label, op, iters, self.P["batches"], cgroup)))
        r.update(round=rnd_, env=env, config=label)
        self.samples["syscalls"].append(r)
        return r

    # Phase 1: cost per syscall. Many short rounds; in each, three environments in a rotating
    # order, and inside each environment its configurations interleaved.

    def sys_noagent(self, r):
        for k in range(self.P["sys_reps"]):
            for cfg in rotate(["none", "floor", "floor2"], k + r):
                self.session.floor({"none": False, "floor": True, "floor2": "both"}[cfg])
                for op in rotate(SYS_OPS, k):
                    self.sys_measure(r, "noagent", cfg, op)
        self.session.floor(False)

    def sys_bpftrace(self, r):
        self.quiet.wait()
        bt = Bpftrace(self.logdir, r)
        self.quiet.known_pids.add(bt.p.pid)
        try:
            for k in range(self.P["sys_reps"]):
                for op in rotate(SYS_OPS, k):
                    self.sys_measure(r, "bpftrace", "bpftrace", op)
        finally:
            self.quiet.known_pids.discard(bt.p.pid)
            counts = bt.stop()
        # Proof that the peer did its job: it counted this process's getppid calls.
        home_id = os.stat(self.home).st_ino
        self.samples["bpftrace_proof"].append({
            "round": r, "home_cgroup_id": home_id, "start_s": rnd(bt.start_s, 2),
            "getppid_counted": counts.get((home_id, 110), 0),
            # each measurement: a warm-up batch of a quarter, then the timed batches
            "getppid_made_at_least": self.P["sys_reps"] * (
                self.P["batches"] * self.P["getppid_iters"] + self.P["getppid_iters"] // 4)})

    def sys_agent(self, r):
        self.agent_up()
        try:
            for k in range(self.P["sys_reps"]):
                for cfg in rotate(["untracked"] + MODES, k + r):
                    cg = "-" if cfg == "untracked" else self.fn_cgroup("sys", cfg)
                    for op in rotate(SYS_OPS, k):
                        self.sys_measure(r, "agent", cfg, op, cg)
        finally:
            self.agent_down()

    # Diagnostic: time spent inside the sys_enter program per call, per configuration, from
    # the kernel's own BPF statistics (kernel.bpf_stats_enabled). It costs two clock reads per
    # run, so it never runs during the measurements above; it says where added ns go.

    def prog_time(self, r, cfg, prog_id, op, cgroup="-"):
        iters = self.P["getppid_iters"] if op == "getppid" else self.P["openat_iters"]

        def one():
            t0, c0 = prog_run_stats(prog_id)
            self.session.measure(cfg, op, iters, self.P["batches"], cgroup)
            t1, c1 = prog_run_stats(prog_id)
            return {"ns_per_run": (t1 - t0) / max(1, c1 - c0), "runs": c1 - c0}

        x = self.quiet.measure(one)
        x.update(round=r, config=cfg, op=op)
        self.samples["prog_time"].append(x)

    def sys_progtime(self):
        log("program time per call (bpf_stats): floor, bpftrace, faasguard in each mode")
        with bpf_stats_on():
            for r in range(self.P["progtime_rounds"]):
                self.session.floor(True)
                pid = one_prog(self.session.p.pid, ("fg_bench_floor",))
                for op in SYS_OPS:
                    self.prog_time(r, "floor", pid, op)
                self.session.floor(False)
                self.quiet.wait()
                bt = Bpftrace(self.logdir, f"stats-{r}")
                self.quiet.known_pids.add(bt.p.pid)
                try:
                    pid = one_prog(bt.p.pid)
                    for op in SYS_OPS:
                        self.prog_time(r, "bpftrace", pid, op)
                finally:
                    self.quiet.known_pids.discard(bt.p.pid)
                    bt.stop()
                self.agent_up()
                try:
                    pid = one_prog(self.agent.pid, ("fg_sys_enter", "fg_sys_enter_cg"))
                    for cfg in rotate(["untracked"] + MODES, r):
                        cg = "-" if cfg == "untracked" else self.fn_cgroup("sys", cfg)
                        for op in SYS_OPS:
                            self.prog_time(r, cfg, pid, op, cg)
                finally:
                    self.agent_down()

    # Phase 2: the workloads (storms, the sample function over HTTP, footprint, cold starts).

    def work_noagent(self, r):
        for kind in ("exec", "connect", "unix"):
            s = self.quiet.measure(lambda: self.storm(kind, self.home))
            s.update(round=r, config="none")
            self.samples[kind].append(s)

    # 4. The sample function over HTTP. One server process for the whole section, in the cgroup
    # of bench function bench-http-0, and short blocks of the four configurations in cycles:
    #   even cycles: floor, baseline | agent starts | enforce, learn
    #   odd cycles:  learn, enforce | agent stops  | baseline, floor
    # so each cycle holds one block of each, baseline and enforce are the two blocks next to
    # the cycle's one agent start or stop (seconds apart), and the ratios are paired by cycle.
    # This VM's throughput on this load drifts within minutes (docs/benchmarks.md, Method), so
    # the pairs must be close in time (even so single pairs swing: hence the interval in the
    # analysis); the same process in every configuration removes the start-to-start spread too.
    # Then a pass with kernel.bpf_stats_enabled (http_progtime) says where a request's time
    # inside eBPF programs goes, which wrk's numbers on this VM cannot resolve.

    def http_section(self):
        cycles = self.P["http_cycles"]
        p = self.start_function()
        agent = False
        try:
            for c in range(cycles):
                log(f"the sample function over HTTP: cycle {c + 1} of {cycles}")
                envs = ["noagent", "agent"] if c % 2 == 0 else ["agent", "noagent"]
                for env in envs:
                    if env == "agent" and not agent:
                        self.http_agent_up()
                        agent = True
                    elif env == "noagent" and agent:
                        self.agent_down()
                        agent = False
                    cfgs = ["floor", "baseline"] if env == "noagent" else ["enforce", "learn"]
                    if (env == envs[0]) == (env == "agent"):
                        cfgs.reverse()  # baseline / enforce next to the agent's start or stop
                    for cfg in cfgs:
                        self.http_block(c, cfg, p)
            # The agent's part first if it is up (no extra start), then the floor.
            if agent:
                self.http_progtime_agent(p)
                self.agent_down()
                agent = False
                self.http_progtime_floor()
            else:
                self.http_progtime_floor()
                self.http_agent_up()
                agent = True
                self.http_progtime_agent(p)
        finally:
            if agent:
                self.agent_down()
            self.stop_function(p)

    def http_agent_up(self):
        """The agent, in its steady state: the registrations' profile writes are over."""
        self.agent_up()
        settle(self.agent.pid, 30, quiet_s=self.P["settle_quiet_s"])

    def http_progtime_floor(self):
        log("the sample function: time inside eBPF programs per request (bpf_stats), floor")
        with bpf_stats_on():
            self.session.floor(True)
            try:
                fid = one_prog(self.session.p.pid, ("fg_bench_floor",))
                for name, path in HTTP_PATHS.items():
                    self.http_req_progtime("floor", name, path, {fid: "fg_bench_floor"})
            finally:
                self.session.floor(False)

    def http_progtime_agent(self, p):
        log("the sample function: time inside eBPF programs per request (bpf_stats), faasguard")
        progs = {i: d.get("name", str(i)) for i, d in bpf_progs_of(self.agent.pid).items()}
        with bpf_stats_on():
            for mode in ("learn", "enforce"):
                self.agent.ctl("mode", f"default/{HTTP_FN}", mode)
                for name, path in HTTP_PATHS.items():
                    self.http_req_progtime(mode, name, path, progs)
        if p.poll() is not None:
            raise RuntimeError(self.function_ended(p, "the bpf_stats pass"))

    def http_req_progtime(self, cfg, endpoint, path, progs):
        """One wrk run; each program's run time over it, per request. Every run of the programs
        on the machine counts (wrk's own syscalls too: they pay any sys_enter program)."""
        def snap():
            return {i: prog_run_stats(i) for i in progs}

        def one():
            s0 = snap()
            w = wrk(f"http://127.0.0.1:{HTTP_PORT}{path}", self.P["http_prog_seconds"],
                    self.logdir, f"progtime-{cfg}-{endpoint}")
            s1 = snap()
            n = max(1, w["requests"])
            per = {}
            for i, name in progs.items():
                runs, ns = s1[i][1] - s0[i][1], s1[i][0] - s0[i][0]
                if runs > 0:
                    per[name] = {"runs_per_request": rnd(runs / n, 2),
                                 "ns_per_run": rnd(ns / runs),
                                 "ns_per_request": rnd(ns / n)}
            return {"rps": w["rps"], "requests": w["requests"], "programs": per,
                    "ns_per_request": rnd(sum(x["ns_per_request"] for x in per.values()))}

        x = self.quiet.measure(one)
        x.update(config=cfg, endpoint=endpoint)
        self.samples["http_prog"].append(x)

    def http_block(self, c, cfg, p):
        """Both endpoints (rotating order), one wrk run each, in one configuration."""
        if cfg in ("learn", "enforce"):
            self.agent.ctl("mode", f"default/{HTTP_FN}", cfg)
            v0 = self.agent.violations(HTTP_FN)
        self.session.floor(cfg == "floor")
        try:
            ws = []
            for name, path in rotate(list(HTTP_PATHS.items()), c):
                w = self.quiet.measure(lambda: wrk(f"http://127.0.0.1:{HTTP_PORT}{path}",
                                                   self.P["http_seconds"], self.logdir,
                                                   f"c{c}-{cfg}-{name}"))
                w.update(round=c, config=cfg, endpoint=name)
                ws.append(w)
        finally:
            self.session.floor(False)
        if p.poll() is not None:
            raise RuntimeError(self.function_ended(p, cfg))
        v = self.agent.violations(HTTP_FN) - v0 if cfg in ("learn", "enforce") else 0
        for w in ws:
            w["violations"] = v  # the block's, both endpoints
            self.samples["http"].append(w)

    def agent_up(self):
        self.quiet.wait()
        self.agent.start()
        self.quiet.known_pids.add(self.agent.pid)
        t = time.monotonic()
        self.register("others", "bench-other", self.P["others"])
        self.reg_s = time.monotonic() - t
        for kind in ("sys", "exec", "conn"):
            for mode in MODES:
                self.register("fn", f"bench-{kind}-{mode}", 1)
        self.register("fn", "bench-http", 1)
        if not self.trained:
            self.train()

    def agent_down(self):
        self.quiet.known_pids.discard(self.agent.pid)
        self.agent.stop()
        # Cold-start functions are one-offs: do not let later agents load their profiles.
        pdir = os.path.join(self.state, "profiles")
        for f in os.listdir(pdir) if os.path.isdir(pdir) else []:
            if f.startswith("default_bench-cold-"):
                os.unlink(os.path.join(pdir, f))

    def train(self):
        """Learn mode for every bench function, with the very workloads measured; then each
        function goes to its mode (the modes persist in the profiles, across agent restarts)."""
        log("training: every bench function learns its workload, then switches mode")
        ts = self.P["train_seconds"]
        for mode in MODES:
            for _ in range(2):
                for op in SYS_OPS:
                    self.session.measure("train", op, 2000, 2, self.fn_cgroup("sys", mode))
            for kind, key in (("exec", "exec"), ("connect", "conn"), ("unix", "conn")):
                secs = self.P["storm_seconds"]
                self.P["storm_seconds"] = ts
                try:
                    self.storm(kind, self.fn_cgroup(key, mode))
                finally:
                    self.P["storm_seconds"] = secs
        for _ in range(2):  # twice: the second start is the steady state
            p = self.start_function()
            for name, path in HTTP_PATHS.items():
                wrk(f"http://127.0.0.1:{HTTP_PORT}{path}", max(1, int(ts)), self.logdir,
                    f"train-{name}")
            self.stop_function(p)
        time.sleep(1.5)  # one sync: the profiles hold what the kernel learned
        for kind in ("sys", "exec", "conn"):
            for mode in ("monitor", "enforce"):
                self.agent.ctl("mode", f"default/bench-{kind}-{mode}-0", mode)
        self.trained = True

    def work_agent(self, r):
        self.agent_up()
        try:
            configs = ["untracked"] + MODES
            # Agent footprint, idle (the others and the bench functions tracked, nothing runs).
            self.quiet.wait()
            settle(self.agent.pid, 30, quiet_s=self.P["settle_quiet_s"])
            m = CpuMeter(self.agent.pid).start()
            time.sleep(self.P["idle_seconds"])
            self.samples["idle"].append({
                "round": r, "cpu_pct": m.stop(), "rss_kib": proc_rss_kib(self.agent.pid),
                "tracked_functions": self.P["others"] + 9,
                "register_others_s": rnd(self.reg_s, 3),
                "agent_start_s": rnd(self.agent.start_s, 3)})

            for kind, key in (("exec", "exec"), ("connect", "conn"), ("unix", "conn")):
                for cfg in rotate(configs, r):
                    cg = self.home if cfg == "untracked" else self.fn_cgroup(key, cfg)
                    fn = f"bench-{key}-{cfg}-0"

                    def one():
                        lost0 = self.agent.counter("kernel_events_lost")
                        before = self.agent.execs_counted(fn) if cfg != "untracked" else 0
                        v0 = self.agent.violations(fn) if cfg != "untracked" else 0
                        m = CpuMeter(self.agent.pid).start()
                        s = self.storm(kind, cg)
                        s["agent_cpu_pct"] = m.stop()
                        s["agent_rss_kib"] = proc_rss_kib(self.agent.pid)
                        if cfg != "untracked":
                            s["violations"] = self.agent.violations(fn) - v0
                            if kind == "exec":
                                s["counted"] = self.agent.execs_counted(fn) - before
                                s["lost"] = s["execs"] - s["counted"]
                        s["kernel_events_lost"] = self.agent.counter("kernel_events_lost") - lost0
                        return s

                    s = self.quiet.measure(one)
                    s.update(round=r, config=cfg)
                    self.samples[kind].append(s)

            log(f"round {r + 1}: cold starts")
            c = json.loads(run([self.bench_bin, "cold-start", "--socket", self.sock,
                                "--cgroup-parent", os.path.join(self.cg, "cold"), "--prefix",
                                "bench-cold", "--samples", str(self.P["cold_samples"])],
                               timeout=600).stdout)
            c["round"] = r
            self.samples["cold"].append(c)
        finally:
            self.agent_down()

    def footprint_1000(self):
        n = self.P["footprint_functions"]
        log(f"agent footprint with {n} tracked functions")
        self.quiet.wait()
        self.agent.start()
        self.quiet.known_pids.add(self.agent.pid)
        try:
            rss0 = proc_rss_kib(self.agent.pid)
            maps0 = bpf_maps_of(self.agent.pid)
            t = time.monotonic()
            self.register("others", "bench-other", self.P["others"])
            self.register("footprint", "bench-fp", n - self.P["others"])
            reg_s = time.monotonic() - t
            status = self.agent.ctl_json("status")
            # Quiet over more than one sync interval (2 s): the profiles of the 1,000 new
            # functions are written at the first sync after they registered.
            settled_s = settle(self.agent.pid, 60, quiet_s=self.P["settle_quiet_s"])
            m = CpuMeter(self.agent.pid).start()
            time.sleep(self.P["idle_seconds"])
            cpu = m.stop()
            maps = bpf_maps_of(self.agent.pid)
            names = {}
            try:
                for mp in json.loads(run(["bpftool", "map", "show", "-j"]).stdout):
                    names[mp["id"]] = mp.get("name", "?")
            except (RuntimeError, ValueError):
                pass
            by_name = {}
            for mid, b in maps.items():
                nm = names.get(mid, str(mid))
                by_name[nm] = by_name.get(nm, 0) + b
            return {
                "functions": n, "tracked_cgroups": status.get("trackedCgroups"),
                "register_s": rnd(reg_s, 3), "settled_s": rnd(settled_s, 1),
                "rss_kib_before": rss0,
                "rss_kib": proc_rss_kib(self.agent.pid), "idle_cpu_pct": cpu,
                "kernel_map_bytes": sum(maps.values()),
                "kernel_map_bytes_before": sum(maps0.values()),
                "kernel_maps": dict(sorted(by_name.items(), key=lambda kv: -kv[1])),
            }
        finally:
            self.quiet.known_pids.discard(self.agent.pid)
            self.agent.stop()

    # -- the run ------------------------------------------------------------------------------

    def go(self):
        if not os.path.isdir("/sys/kernel/tracing/events"):
            run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            self.mounted_tracefs = True
        self.session = Session(self.bench_bin, self.home)
        self.quiet.known_pids.add(self.session.p.pid)
        try:
            if self.args.only_footprint:
                return self.footprint_1000()
            if not self.trained:
                self.agent_up()
                self.agent_down()
            for r in range(self.P["sys_rounds"]):
                log(f"cost per syscall: round {r + 1} of {self.P['sys_rounds']}")
                for env in rotate(["noagent", "bpftrace", "agent"], r):
                    getattr(self, "sys_" + env)(r)
            self.sys_progtime()
            if self.args.only_syscalls:
                return None
            for r in range(self.P["rounds"]):
                log(f"workloads: round {r + 1} of {self.P['rounds']}")
                for env in rotate(["noagent", "agent"], r):
                    getattr(self, "work_" + env)(r)
            self.http_section()
            footprint = self.footprint_1000()
        finally:
            self.session.close()
        return footprint

    def cleanup(self):
        """Every step runs whatever the others did."""
        steps = [lambda: self.session and self.session.close(), self.agent.stop,
                 lambda: remove_cgroup_tree(self.cg),
                 lambda: shutil.rmtree(self.tmp, ignore_errors=True)]
        if self.mounted_tracefs:
            steps.append(lambda: run(["umount", "/sys/kernel/tracing"], check=False))
        for step in steps:
            try:
                step()
            except Exception as e:  # noqa: BLE001 (cleanup goes on)
                log(f"cleanup: {e}")


# ---------------------------------------------------------------------------------------------
# Analysis: samples -> results (medians, ratios, targets)


def analyse_syscalls(b):
    """1. cost per syscall: per configuration and op, ns per iteration; added ns paired by
    round (median of the configuration minus median of none, same round); ratios."""
    P = b.P
    sc = {"configs": ["none", "floor", "floor2", "untracked"] + MODES + ["bpftrace"], "ops": {}}
    for op in SYS_OPS:
        per_round = {}
        for s in b.samples["syscalls"]:
            if s["op"] == op:
                per_round.setdefault(s["round"], {}).setdefault(s["config"], []).append(
                    s["median_ns"])
        cfgs = {}
        for cfg in sc["configs"]:
            allv = [v for rd in per_round.values() for v in rd.get(cfg, [])]
            added = []
            for rd in per_round.values():
                if cfg in rd and "none" in rd:
                    added.append(median(rd[cfg]) - median(rd["none"]))
            cfgs[cfg] = {"ns": rnd(median(allv)), "samples_ns": [rnd(v) for v in allv],
                         "added_ns_by_round": [rnd(a) for a in added],
                         "added_ns": rnd(median(added)) if cfg != "none" else 0.0}
        floor_added = cfgs["floor"]["added_ns"]
        floor2_added = cfgs["floor2"]["added_ns"]
        bt_added = cfgs["bpftrace"]["added_ns"]
        for cfg, c in cfgs.items():
            a = c["added_ns"]
            c["added_ns_per_syscall"] = rnd(a / OP_SYSCALLS[op]) if a is not None else None
            c["ratio_to_floor"] = (rnd(a / floor_added, 2) if a is not None and floor_added
                                   and floor_added > 0 else None)
            c["ratio_to_bpftrace"] = (rnd(a / bt_added, 2) if a is not None and bt_added
                                      and bt_added > 0 else None)
            c["ratio_to_floor2"] = (rnd(a / floor2_added, 2) if a is not None and floor2_added
                                    and floor2_added > 0 else None)
        sc["ops"][op] = {"name": OP_NAMES[op], "syscalls_per_iteration": OP_SYSCALLS[op],
                         "iterations_per_batch": P["getppid_iters" if op == "getppid"
                                                   else "openat_iters"],
                         "configs": cfgs}
    sc["bpftrace_proof"] = b.samples["bpftrace_proof"]
    pt = {}
    for op in SYS_OPS:
        pt[op] = {}
        for cfg in ["floor", "untracked"] + MODES + ["bpftrace"]:
            v = [x["ns_per_run"] for x in b.samples["prog_time"]
                 if x["op"] == op and x["config"] == cfg]
            pt[op][cfg] = rnd(median(v))
    sc["program_ns_per_run"] = pt
    return sc



def analyse(b, footprint, started, duration):
    P = b.P
    res = {"schema": 1, "mode": b.mode}
    res["machine"] = machine_info()
    res["run"] = {"started": started, "duration_s": rnd(duration, 1), "params": P,
                  "exec_workers": b.args.exec_workers, "git": git_rev(),
                  "cpu_measured": CPU_MEASURED, "cpu_other": CPU_OTHER,
                  "quiet_waited_s": rnd(b.quiet.waited, 1),
                  "contaminated_samples": b.quiet.contaminated}

    res["syscall_cost"] = analyse_syscalls(b)

    # 2, 3. storms
    def storm_section(kind, unit):
        out = {"configs": {}}
        for cfg in ["none", "untracked"] + MODES:
            runs = [s for s in b.samples[kind] if s["config"] == cfg]
            e = {"per_second": rnd(median([s["per_second"] for s in runs])), "runs": runs}
            if cfg not in ("none",):
                e["agent_cpu_pct"] = rnd(median([s.get("agent_cpu_pct") for s in runs]), 2)
            out["configs"][cfg] = e
        base = out["configs"]["none"]["per_second"]
        for cfg, e in out["configs"].items():
            e["ratio_to_none"] = rnd(e["per_second"] / base, 3) if base and e["per_second"] \
                else None
        out["unit"] = unit
        return out

    ex = storm_section("exec", "execs/s")
    tracked_runs = [s for s in b.samples["exec"] if s["config"] in MODES]
    ex["execs_total"] = sum(s["execs"] for s in tracked_runs)
    ex["counted_total"] = sum(s.get("counted", 0) for s in tracked_runs)
    ex["lost_total"] = sum(s.get("lost", 0) for s in tracked_runs)
    ex["failed_total"] = sum(s.get("failed", 0) for s in tracked_runs)
    ex["highest_rate"] = rnd(max([s["per_second"] for s in b.samples["exec"]] or [0]))
    ex["workers"] = b.args.exec_workers
    res["exec_storm"] = ex
    res["connect_storm"] = storm_section("connect", "connects/s")
    res["unix_storm"] = storm_section("unix", "Unix connects + datagrams/s")

    # 4. HTTP
    http = {"endpoints": {}, "wrk": "wrk -t1 -c8 --latency", "seconds": P["http_seconds"],
            "cycles": P["http_cycles"]}
    for name, path in HTTP_PATHS.items():
        e = {"path": path, "configs": {}}
        for cfg in HTTP_CONFIGS:
            runs = [s for s in b.samples["http"] if s["endpoint"] == name and s["config"] == cfg]
            e["configs"][cfg] = {"rps": rnd(median([s["rps"] for s in runs])),
                                 "p99_ms": rnd(median([s["p99_ms"] for s in runs]), 2),
                                 "runs": runs}
        for cfg, c in e["configs"].items():
            for ref in ("baseline", "floor"):
                rs = paired_ratios(c["runs"], e["configs"][ref]["runs"])
                c[f"ratio_to_{ref}"] = rnd(median(rs), 3) if rs else None
                c[f"ratios_to_{ref}_by_cycle"] = [rnd(x, 3) for x in rs]
            # The fast phases' throughput (best quarter of the runs) against the baseline's.
            bq, lo, hi = best_quarter_ratio([s["rps"] for s in c["runs"]],
                                            [s["rps"] for s in e["configs"]["baseline"]["runs"]])
            c["rps_best_quarter"] = rnd(best_quarter([s["rps"] for s in c["runs"]]))
            c["best_quarter_ratio_to_baseline"] = rnd(bq, 3)
            c["best_quarter_interval"] = [rnd(lo, 3), rnd(hi, 3)]
        http["endpoints"][name] = e
    # A block's violations are recorded on both endpoints' runs: count each block once.
    blocks = {(s["round"], s["config"]): s.get("violations", 0) for s in b.samples["http"]}
    http["violations"] = {m: sum(v for (_, cfg), v in blocks.items() if cfg == m)
                          for m in ("learn", "enforce")}
    # Where a request's time inside eBPF programs goes (bpf_stats pass), with its share of the
    # request's time at the rate of that run (1 / requests per second).
    http["program_time"] = [dict(x, share_pct=rnd(x["ns_per_request"] * x["rps"] / 1e7, 2))
                            for x in b.samples["http_prog"]]
    res["http"] = http

    # 5. footprint
    idle = b.samples["idle"]
    res["agent_footprint"] = {
        "idle": {"cpu_pct": rnd(median([s["cpu_pct"] for s in idle]), 3),
                 "rss_mib": rnd(median([s["rss_kib"] for s in idle]) / 1024, 1)
                 if idle else None,
                 "tracked_functions": idle[0]["tracked_functions"] if idle else None,
                 "runs": idle},
        "exec_storm": {cfg: {"cpu_pct": res["exec_storm"]["configs"][cfg].get("agent_cpu_pct"),
                             "rss_mib": rnd(median([s.get("agent_rss_kib") for s in
                                                    b.samples["exec"]
                                                    if s["config"] == cfg]) / 1024, 1)}
                       for cfg in ["untracked"] + MODES},
        "functions_1000": dict(footprint, rss_mib=rnd(footprint["rss_kib"] / 1024, 1),
                               kernel_map_mib=rnd(footprint["kernel_map_bytes"] / 2**20, 1)),
    }

    # 6. cold start
    cold = b.samples["cold"]
    reg = [x for c in cold for x in c["register_us"]]
    vis = [x for c in cold for x in c["visible_us"]]
    first = [x for c in cold for x in c["first_syscall_us"]]
    lag = [x for c in cold for x in c["visible_after_syscall_us"]]
    res["cold_start"] = {
        "samples": sum(c["samples"] for c in cold),
        "attributed": sum(c["attributed"] for c in cold),
        "failures": sum(c["failures"] for c in cold),
        "register_us_p50": rnd(pct(reg, 0.5)), "register_us_p99": rnd(pct(reg, 0.99)),
        "first_syscall_us_p50": rnd(pct(first, 0.5)),
        "visible_us_p50": rnd(pct(vis, 0.5)), "visible_us_p99": rnd(pct(vis, 0.99)),
        "visible_after_syscall_us_p50": rnd(pct(lag, 0.5)),
        "register_us": reg, "visible_us": vis, "first_syscall_us": first,
    }

    res["targets"] = targets(res)
    return res


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def targets(res):
    t = []

    def add(name, measured, target, holds, unit="", why=None):
        t.append({"name": name, "measured": measured, "target": target, "unit": unit,
                  "holds": bool(holds) if holds is not None else None})
        if why:
            t[-1]["why"] = why  # what "holds": null means here

    def within(value, limit, valid=True):
        """value <= limit; None (cannot tell) when the measurement is not usable."""
        return None if value is None or not valid else value <= limit

    for op, o in res["syscall_cost"]["ops"].items():
        c = o["configs"]
        fl = c["floor"]["added_ns"]
        ok = fl is not None and fl > 0

        def ratio(cfg):
            return c[cfg]["ratio_to_floor"]

        u = ratio("untracked")
        add(f"{o['name']}: untracked (500 others tracked) added ns vs the floor's",
            f"{c['untracked']['added_ns']} ns = {u}x floor ({fl} ns)",
            f"<= {TARGETS['untracked_vs_floor']}x floor",
            within(u, TARGETS["untracked_vs_floor"], ok))
        fl2 = c["floor2"]["added_ns"]
        u2 = c["untracked"]["ratio_to_floor2"]
        add(f"{o['name']}: untracked added ns vs floor2's (sys_enter + sys_exit, the pair "
            "attached while functions profile files)",
            f"{c['untracked']['added_ns']} ns = {u2}x floor2 ({fl2} ns)",
            f"<= {TARGETS['untracked_vs_floor']}x floor2",
            within(u2, TARGETS["untracked_vs_floor"], fl2 is not None and fl2 > 0))
        for m in ("learn", "enforce"):
            r = ratio(m)
            add(f"{o['name']}: {m} added ns vs the floor's",
                f"{c[m]['added_ns']} ns = {r}x floor", f"<= {TARGETS['tracked_vs_floor']}x floor",
                within(r, TARGETS["tracked_vs_floor"], ok))
            rb = c[m]["ratio_to_bpftrace"]
            add(f"{o['name']}: {m} added ns vs bpftrace's",
                f"{c[m]['added_ns']} ns = {rb}x bpftrace ({c['bpftrace']['added_ns']} ns)",
                f"<= {TARGETS['tracked_vs_bpftrace']}x bpftrace (far below)",
                within(rb, TARGETS["tracked_vs_bpftrace"]))
    ex = res["exec_storm"]
    add("exec storm: execs lost (storm's successful execs - kernel exec counter)",
        f"{ex['lost_total']} of {ex['execs_total']} (highest rate {ex['highest_rate']}/s)", "0",
        ex["lost_total"] == 0 and ex["execs_total"] > 0)
    for name, e in res["http"]["endpoints"].items():
        r = e["configs"]["enforce"]["ratio_to_baseline"]
        rs = e["configs"]["enforce"]["ratios_to_baseline_by_cycle"]
        lo, hi = median_interval(rs)
        en = e["configs"]["enforce"]
        bq = en.get("best_quarter_ratio_to_baseline")
        blo, bhi = en.get("best_quarter_interval") or (None, None)
        goal = TARGETS["http_enforce_vs_baseline"]
        # Two estimates, each with a 90 % interval: the median of the cycles' pairs (robust to
        # drift, wide: this VM's throughput moves between runs seconds apart) and the best
        # quarter of the runs (its fast phases; the slowdowns are one-sided). "yes" needs
        # both intervals at or above the target, "NO" either one wholly below it.
        ivs = [(lo, hi), (blo, bhi)]
        if len(rs) < 3 or any(x is None for iv in ivs for x in iv):
            holds = None  # quick mode's one cycle decides nothing
        elif all(a >= goal for a, _ in ivs):
            holds = True
        elif any(b < goal for _, b in ivs):
            holds = False
        else:
            holds = None
        add(f"HTTP {e['path']}: enforce req/s vs baseline",
            f"{en['rps']} vs {e['configs']['baseline']['rps']}: "
            f"{None if r is None else round(100 * r, 1)}% (median of {len(rs)} cycles' pairs; "
            f"90% interval {fmt_interval(lo, hi)}; range {spread(rs)}); best quarter of the runs "
            f"{en.get('rps_best_quarter')} vs {e['configs']['baseline'].get('rps_best_quarter')}: "
            f"{None if bq is None else round(100 * bq, 1)}% (90% interval "
            f"{fmt_interval(blo, bhi)})",
            f">= {int(100 * goal)}%", holds,
            why=None if holds is not None else
            f"not decided: {len(rs)} cycle(s), too few" if len(rs) < 3 else
            f"not decided: the 90% intervals (pairs {fmt_interval(lo, hi)}, best quarter "
            f"{fmt_interval(blo, bhi)}) do not lie on one side of {int(100 * goal)}%")
    fp = res["agent_footprint"]
    f1 = fp["functions_1000"]
    add(f"agent RSS with {f1['functions']} tracked functions", f"{f1['rss_mib']} MiB",
        f"<= {TARGETS['rss_1000_mib']:.0f} MiB",
        f1["rss_mib"] is not None and f1["rss_mib"] <= TARGETS["rss_1000_mib"])
    add(f"agent CPU when idle ({fp['idle']['tracked_functions']} functions tracked)",
        f"{fp['idle']['cpu_pct']}% of one core", f"< {TARGETS['idle_cpu_pct']}%",
        fp["idle"]["cpu_pct"] is not None and fp["idle"]["cpu_pct"] < TARGETS["idle_cpu_pct"])
    add(f"agent CPU when idle with {f1['functions']} tracked functions",
        f"{rnd(f1['idle_cpu_pct'], 3)}% of one core", f"< {TARGETS['idle_cpu_pct']}%",
        f1["idle_cpu_pct"] is not None and f1["idle_cpu_pct"] < TARGETS["idle_cpu_pct"])
    return t


def machine_info():
    info = {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_mib"] = int(f.readline().split()[1]) // 1024
        with open("/proc/cmdline") as f:
            cmd = f.read()
        info["virtualised"] = "hypervisor" in open("/proc/cpuinfo").read()
        info["pti"] = "pti=on" in cmd
        with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
            info["clocksource"] = f.read().strip()
    except OSError:
        pass
    for tool, args in (("bpftrace", ["--version"]), ("wrk", ["-v"]), ("gnuplot", ["--version"])):
        try:
            r = subprocess.run([tool, *args], capture_output=True, text=True, timeout=10)
            info[tool] = (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            info[tool] = None
    return info


def git_rev():
    try:
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "bpf"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return r.stdout.strip() + ("+bpf-changes" if dirty else "")
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# Summary and plots


def bootstrap_interval(draw, level=0.90, n=4000):
    """(lo, hi): the percentile interval of n values of draw(rng), each computed on resampled
    data (fixed seed, so that a results file always gives the same summary)."""
    import random
    rng = random.Random(7)
    vs = sorted(draw(rng) for _ in range(n))
    return vs[int((1 - level) / 2 * n)], vs[int((1 + level) / 2 * n) - 1]


def resample(rng, xs):
    return [rng.choice(xs) for _ in xs]


def median_interval(xs, level=0.90, n=4000):
    """(lo, hi): a bootstrap interval of the median of xs; (None, None) when xs is empty."""
    if not xs:
        return None, None
    return bootstrap_interval(lambda rng: median(resample(rng, xs)), level, n)


def fmt_interval(lo, hi):
    return "-" if lo is None else f"{100 * lo:.1f}-{100 * hi:.1f}%"


def best_quarter(xs):
    """The mean of the best quarter of xs (at least 3 values; all of them when fewer): the
    throughput of the machine's fast phases. This VM's slowdowns (phases of seconds, see
    docs/benchmarks.md) only ever take throughput away, so the best runs of a configuration are
    its least disturbed ones; None when xs is empty."""
    if not xs:
        return None
    top = sorted(xs, reverse=True)[:max(3, len(xs) // 4)]
    return sum(top) / len(top)


def best_quarter_ratio(xs, ref, level=0.90, n=4000):
    """(ratio, lo, hi): best_quarter(xs) / best_quarter(ref), and a bootstrap interval of it
    (each list resampled on its own, fixed seed); (None, None, None) when either is empty."""
    if not xs or not ref:
        return None, None, None
    lo, hi = bootstrap_interval(
        lambda rng: best_quarter(resample(rng, xs)) / best_quarter(resample(rng, ref)), level, n)
    return best_quarter(xs) / best_quarter(ref), lo, hi


def spread(xs):
    """'lo-hi' of a list of ratios, '-' when empty."""
    return f"{min(xs):.3f}-{max(xs):.3f}" if xs else "-"


def paired_ratios(runs, ref_runs):
    """Requests/s against a reference configuration, paired by round (the HTTP section's
    cycle): this round's median / the reference's median in the same round, per round."""
    ratios = []
    for r in sorted({x["round"] for x in runs}):
        a = median([x["rps"] for x in runs if x["round"] == r])
        b = median([x["rps"] for x in ref_runs if x["round"] == r])
        if a and b:
            ratios.append(a / b)
    return ratios


def summary_md(res):
    m, run_ = res["machine"], res["run"]
    L = []
    L.append(f"# faasguard benchmark ({res['mode']} run)\n")
    L.append(f"{run_['started']}, {run_['duration_s']} s; git {run_['git']}; kernel "
             f"{m.get('kernel')}, {m.get('cpus')} x {m.get('cpu_model')}, {m.get('mem_mib')} MiB; "
             f"{run_['params']['rounds']} round(s). Measured process pinned to CPU "
             f"{run_['cpu_measured']}, agent / peers / load generators to CPU {run_['cpu_other']}."
             f" Samples taken while foreign BPF programs were attached: "
             f"{run_['contaminated_samples']}.\n")
    L.append("## Targets\n")
    L.append("| measurement | measured | target | holds |")
    L.append("| --- | --- | --- | --- |")
    for t in res["targets"]:
        h = {True: "yes", False: "**NO**", None: t.get("why", "n/a (not measurable in this run)")}[
            t["holds"]]
        L.append(f"| {t['name']} | {t['measured']} | {t['target']} | {h} |")
    L.append("")
    L.append("## 1. Cost per syscall\n")
    for op, o in res["syscall_cost"]["ops"].items():
        L.append(f"**{o['name']}** ({o['syscalls_per_iteration']} syscall(s) per iteration; "
                 "ns per iteration, median over all samples; added = paired by round)\n")
        L.append("| configuration | ns/iteration | added ns | added ns per syscall | x floor | "
                 "x floor2 | x bpftrace |")
        L.append("| --- | --- | --- | --- | --- | --- | --- |")
        for cfg, c in o["configs"].items():
            L.append(f"| {cfg} | {c['ns']} | {c['added_ns']} | {c['added_ns_per_syscall']} | "
                     f"{c['ratio_to_floor']} | {c['ratio_to_floor2']} | "
                     f"{c['ratio_to_bpftrace']} |")
        L.append("")
    pt = res["syscall_cost"].get("program_ns_per_run", {})
    if pt:
        L.append("Time inside the sys_enter program per call, from the kernel's BPF statistics "
                 "(kernel.bpf_stats_enabled, a separate pass: it adds two clock reads per run):\n")
        cfgs = list(next(iter(pt.values())).keys())
        L.append("| op | " + " | ".join(cfgs) + " |")
        L.append("| --- |" + " --- |" * len(cfgs))
        for op, v in pt.items():
            L.append(f"| {OP_NAMES[op]} | " + " | ".join(str(v[c]) for c in cfgs) + " |")
        L.append("")
    for p in res["syscall_cost"]["bpftrace_proof"]:
        L.append(f"bpftrace (round {p['round'] + 1}) counted {p['getppid_counted']} getppid calls "
                 f"of the measuring cgroup (>= {p['getppid_made_at_least']} made); attached in "
                 f"{p['start_s']} s.")
    L.append("")
    for key, title in (("exec_storm", "2. exec storm"), ("connect_storm", "3. connect storm"),
                       ("unix_storm", "3b. Unix socket storm")):
        s = res[key]
        L.append(f"## {title}\n")
        extra = " | execs | counted by the kernel | lost | failed" if key == "exec_storm" else ""
        L.append(f"| configuration | {s['unit']} (median) | x none | agent CPU %{extra} |")
        L.append("| --- | --- | --- | ---" + (" | --- | --- | --- | ---" if extra else "") + " |")
        for cfg, e in s["configs"].items():
            row = f"| {cfg} | {e['per_second']} | {e['ratio_to_none']} | " \
                  f"{e.get('agent_cpu_pct', '-')}"
            if extra:
                runs = e["runs"]
                if cfg in MODES:
                    row += (f" | {sum(r['execs'] for r in runs)} | "
                            f"{sum(r.get('counted', 0) for r in runs)} | "
                            f"{sum(r.get('lost', 0) for r in runs)} | "
                            f"{sum(r.get('failed', 0) for r in runs)}")
                else:
                    row += f" | {sum(r['execs'] for r in runs)} | - | - | " \
                           f"{sum(r.get('failed', 0) for r in runs)}"
            L.append(row + " |")
        L.append("")
    L.append("## 4. The sample function over HTTP (wrk -t1 -c8)\n")
    h = res["http"]
    L.append(f"One server process throughout; {h['cycles']} cycles, each with one {h['seconds']}-s "
             "wrk run per endpoint in each configuration, baseline and enforce on either side of "
             "the cycle's one agent start or stop. Requests/s and p99: medians of every run. "
             "Ratios: paired by cycle (a cycle's run over the same cycle's reference), the median "
             "over cycles, and the range over cycles. baseline: no eBPF; floor: only the bench's "
             "empty sys_enter program (what any syscall hook costs this function here). "
             f"Violations reported by the agent: learn {h['violations']['learn']}, enforce "
             f"{h['violations']['enforce']}.\n")
    L.append("Best quarter: the mean of a configuration's best quarter of runs (at least 3), "
             "the machine's fast phases (its slowdowns only take throughput away), over the "
             "baseline's, with a 90% bootstrap interval.\n")
    L.append("| endpoint | configuration | requests/s | x baseline | range | x floor | "
             "best quarter req/s | x baseline (90% interval) | p99 ms |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, e in h["endpoints"].items():
        for cfg, c in e["configs"].items():
            iv = c.get("best_quarter_interval") or [None, None]
            L.append(f"| {e['path']} | {cfg} | {c['rps']} | {c['ratio_to_baseline']} | "
                     f"{spread(c['ratios_to_baseline_by_cycle'])} | {c['ratio_to_floor']} | "
                     f"{c.get('rps_best_quarter')} | {c.get('best_quarter_ratio_to_baseline')} "
                     f"({fmt_interval(*iv)}) | {c['p99_ms']} |")
    L.append("")
    L.append("Time inside eBPF programs per request (`kernel.bpf_stats_enabled`, one wrk run per "
             "row after the measured blocks; every run of the programs on the machine counts, "
             "wrk's syscalls too). Share: of a request's time at that run's rate.\n")
    L.append("| endpoint | configuration | ns per request | share | programs: runs per request "
             "x ns per run |")
    L.append("| --- | --- | --- | --- | --- |")
    for x in h["program_time"]:
        progs = sorted(x["programs"].items(), key=lambda kv: -kv[1]["ns_per_request"])
        desc = ", ".join(f"{n} {v['runs_per_request']} x {v['ns_per_run']}" for n, v in progs
                         if v["ns_per_request"] >= 1)
        L.append(f"| {HTTP_PATHS[x['endpoint']]} | {x['config']} | {x['ns_per_request']} | "
                 f"{x['share_pct']}% | {desc} |")
    L.append("")
    fp = res["agent_footprint"]
    f1 = fp["functions_1000"]
    L.append("## 5. Agent footprint\n")
    L.append("| state | RSS MiB | CPU % of one core |")
    L.append("| --- | --- | --- |")
    L.append(f"| idle, {fp['idle']['tracked_functions']} functions tracked | "
             f"{fp['idle']['rss_mib']} | {fp['idle']['cpu_pct']} |")
    for cfg, e in fp["exec_storm"].items():
        L.append(f"| exec storm, storm {cfg} | {e['rss_mib']} | {e['cpu_pct']} |")
    L.append(f"| {f1['functions']} functions tracked (idle) | {f1['rss_mib']} | "
             f"{rnd(f1['idle_cpu_pct'], 3)} |")
    L.append("")
    L.append(f"Kernel map memory (memlock of the agent's maps): {f1['kernel_map_mib']} MiB "
             f"({f1['kernel_map_bytes']} bytes; before registering: "
             f"{f1['kernel_map_bytes_before']}); registering {f1['functions']} functions took "
             f"{f1['register_s']} s.\n")
    L.append("| map | bytes |")
    L.append("| --- | --- |")
    for k, v in f1["kernel_maps"].items():
        L.append(f"| {k} | {v} |")
    L.append("")
    c = res["cold_start"]
    L.append("## 6. Cold-start registration\n")
    L.append(f"{c['attributed']} of {c['samples']} cold starts had their first syscall attributed "
             f"({c['failures']} failures). From the mkdir of the cgroup: registered (RPC "
             f"returned, kernel map written) p50 {c['register_us_p50']} us, p99 "
             f"{c['register_us_p99']} us; first syscall made p50 {c['first_syscall_us_p50']} us; "
             f"visible in the profile through the API p50 {c['visible_us_p50']} us, p99 "
             f"{c['visible_us_p99']} us ({c['visible_after_syscall_us_p50']} us after the "
             "syscall).\n")
    return "\n".join(L) + "\n"


def plots(res, out):
    """gnuplot: one .dat and one .gp per figure, rendered to PNG."""
    figs = []

    def write(name, dat, gp):
        with open(os.path.join(out, name + ".dat"), "w") as f:
            f.write(dat)
        with open(os.path.join(out, name + ".gp"), "w") as f:
            f.write(f"set terminal pngcairo size 1000,560 font 'Sans,10'\n"
                    f"set output '{name}.png'\n" + gp)
        r = subprocess.run(["gnuplot", name + ".gp"], cwd=out, capture_output=True, text=True)
        if r.returncode != 0:
            log(f"gnuplot {name}: {r.stderr.strip()}")
        else:
            figs.append(name + ".png")

    # 1. added ns per syscall, per configuration, both ops
    sc = res["syscall_cost"]
    cfgs = [c for c in sc["configs"] if c != "none"]
    dat = "config getppid openat_close\n"
    for cfg in cfgs:
        vals = [sc["ops"][op]["configs"][cfg]["added_ns_per_syscall"] for op in SYS_OPS]
        dat += f"{cfg} " + " ".join("NaN" if v is None else str(v) for v in vals) + "\n"
    fl = sc["ops"]["getppid"]["configs"]["floor"]["added_ns_per_syscall"] or 0
    write("syscall_cost", dat, f"""
set title 'Cost added per syscall (ns, median of paired differences to no eBPF)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'ns added per syscall'
set key top left
set grid ytics
set yrange [0:*]
set arrow from graph 0, first {fl * TARGETS['untracked_vs_floor']} to graph 1, first {fl * TARGETS['untracked_vs_floor']} nohead dt 2 lc rgb '#777777'
set arrow from graph 0, first {fl * TARGETS['tracked_vs_floor']} to graph 1, first {fl * TARGETS['tracked_vs_floor']} nohead dt 3 lc rgb '#aa0000'
set label '1.2x floor (getppid)' at graph 0.01, first {fl * TARGETS['untracked_vs_floor']} offset 0,0.6 tc rgb '#777777'
set label '2x floor (getppid)' at graph 0.01, first {fl * TARGETS['tracked_vs_floor']} offset 0,0.6 tc rgb '#aa0000'
plot 'syscall_cost.dat' using 2:xtic(1) title 'getppid', '' using 3 title 'openat+close (per syscall)'
""")

    # 2/3. storms
    dat = "config exec connect\n"
    for cfg in ["none", "untracked"] + MODES:
        e = res["exec_storm"]["configs"][cfg]["per_second"]
        c = res["connect_storm"]["configs"][cfg]["per_second"]
        dat += f"{cfg} {e if e is not None else 'NaN'} {c if c is not None else 'NaN'}\n"
    write("storms", dat, """
set multiplot layout 1,2
set style data histograms
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key off
set title 'exec storm (fork + exec /bin/true)'
set ylabel 'execs per second'
plot 'storms.dat' using 2:xtic(1) lc rgb '#3366aa'
set title 'connect storm (loopback TCP)'
set ylabel 'connects per second'
plot 'storms.dat' using 3:xtic(1) lc rgb '#33aa66'
unset multiplot
""")

    # 4. HTTP
    dat = "config greet_rps greet_p99 healthz_rps healthz_p99\n"
    for cfg in HTTP_CONFIGS:
        vals = []
        for name in HTTP_PATHS:
            c = res["http"]["endpoints"][name]["configs"][cfg]
            vals += [c["rps"], c["p99_ms"]]
        dat += f"{cfg} " + " ".join("NaN" if v is None else str(v) for v in vals) + "\n"
    write("http", dat, """
set multiplot layout 2,2
set style data histograms
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key off
set title 'GET /?name=bench (fork sh + wc): requests/s'
plot 'http.dat' using 2:xtic(1) lc rgb '#3366aa'
set title 'GET /?name=bench: p99 latency (ms)'
plot 'http.dat' using 3:xtic(1) lc rgb '#aa6633'
set title 'GET /healthz: requests/s'
plot 'http.dat' using 4:xtic(1) lc rgb '#3366aa'
set title 'GET /healthz: p99 latency (ms)'
plot 'http.dat' using 5:xtic(1) lc rgb '#aa6633'
unset multiplot
""")

    # 5. footprint
    fp = res["agent_footprint"]
    rows = [("idle", fp["idle"]["rss_mib"], fp["idle"]["cpu_pct"])]
    for cfg, e in fp["exec_storm"].items():
        rows.append((f"exec-storm-{cfg}", e["rss_mib"], e["cpu_pct"]))
    f1 = fp["functions_1000"]
    rows.append((f"{f1['functions']}-functions", f1["rss_mib"], rnd(f1["idle_cpu_pct"], 3)))
    dat = "state rss_mib cpu_pct\n" + "".join(
        f"{n} {'NaN' if r is None else r} {'NaN' if c is None else c}\n" for n, r, c in rows)
    write("footprint", dat, f"""
set multiplot layout 1,2
set style data histograms
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key off
set xtics rotate by -30
set title 'agent RSS (MiB); target <= {TARGETS['rss_1000_mib']:.0f} MiB with 1,000 functions'
plot 'footprint.dat' using 2:xtic(1) lc rgb '#6633aa'
set title 'agent CPU (% of one core); target < {TARGETS['idle_cpu_pct']}% idle'
plot 'footprint.dat' using 3:xtic(1) lc rgb '#aa3366'
unset multiplot
""")

    # 6. cold start: sorted latencies (a CDF)
    c = res["cold_start"]
    reg, vis = sorted(c["register_us"]), sorted(c["visible_us"])
    n = max(len(reg), 1)
    dat = "frac register_us visible_us\n" + "".join(
        f"{(i + 1) / n:.4f} {reg[i]} {vis[i] if i < len(vis) else 'NaN'}\n" for i in range(len(reg)))
    write("cold_start", dat, """
set title 'Cold start: from mkdir of the cgroup (CDF over all samples)'
set xlabel 'microseconds since the cgroup was created'
set ylabel 'fraction of cold starts'
set grid
set key bottom right
set logscale x
plot 'cold_start.dat' using 2:1 with steps lw 2 title 'registered (kernel covers it)', \
     '' using 3:1 with steps lw 2 title 'first syscall visible through the API'
""")
    return figs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (< 2 minutes)")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--out", help="run directory (default bench/results/<timestamp>)")
    ap.add_argument("--rounds", type=int, help="override the number of workload rounds")
    ap.add_argument("--sys-rounds", type=int, help="override the number of syscall-cost rounds")
    ap.add_argument("--exec-workers", type=int, default=os.cpu_count() or 2,
                    help="parallel fork+exec loops in the exec storm (default: one per CPU)")
    ap.add_argument("--quiet-wait", type=float,
                    help="seconds to wait for a quiet machine before each measurement")
    ap.add_argument("--only-syscalls", action="store_true",
                    help="development: run and print only the cost-per-syscall section")
    ap.add_argument("--only-footprint", action="store_true",
                    help="development: run and print only the 1,000-function footprint")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it loads eBPF programs and creates cgroups)")
    global CPU_MEASURED, CPU_OTHER
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        CPU_OTHER, CPU_MEASURED = str(cpus[0]), str(cpus[1])
    else:
        CPU_OTHER = CPU_MEASURED = str(cpus[0])
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    if not args.out:
        args.out = os.path.join(ROOT, "bench", "results",
                                datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(args.out, exist_ok=True)
    log(f"{'quick' if args.quick else 'full'} run, results in {args.out}")
    b = Bench(args)

    def on_signal(sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        footprint = b.go()
    finally:
        b.cleanup()
    if args.only_footprint:
        with open(os.path.join(args.out, "footprint.json"), "w") as f:
            json.dump(footprint, f, indent=1)
        print(json.dumps({k: v for k, v in footprint.items() if k != "kernel_maps"}, indent=1))
        return
    if args.only_syscalls:
        sc = analyse_syscalls(b)
        with open(os.path.join(args.out, "syscalls.json"), "w") as f:
            json.dump(sc, f, indent=1)
        for op, o in sc["ops"].items():
            print(o["name"])
            for cfg, c in o["configs"].items():
                print(f"  {cfg:10} ns {c['ns']:8}  added {c['added_ns']:7}  x floor "
                      f"{c['ratio_to_floor']}  by round {c['added_ns_by_round']}")
        print("program ns per run:", json.dumps(sc["program_ns_per_run"]))
        return
    res = analyse(b, footprint, started, time.time() - T0)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = summary_md(res)
    figs = plots(res, args.out)
    md += "\n" + "".join(f"![{os.path.splitext(p)[0]}]({p})\n" for p in figs)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"done in {time.time() - T0:.0f} s: {args.out}/results.json, summary.md, "
        f"{len(figs)} plots")


if __name__ == "__main__":
    main()
