#!/usr/bin/env python3
"""e2e (root): the agent killed at random points while it writes profiles, many times.

Every profile file afterwards is one complete version the agent meant to write (never a mix
or a torn file), the next agent loads every one of them (nothing quarantined), and the
temporary files of interrupted writes are cleaned up.
"""
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CTL, AgentTestCase  # noqa: E402

FUNCTIONS = 8
STEP = 3000        # each import adds this many exec items to the function
KILLS = 14


def profile(name, upto):
    return {
        "schemaVersion": 1,
        "function": {"platform": "custom", "namespace": "crash", "name": name},
        "mode": "MODE_LEARN",
        "containers": [{
            "name": "main",
            "execs": [{"path": f"/usr/lib/crash/tool-{i:05d}", "parent": "/bin/sh",
                       "sampleArgs": ["tool", "--with-a-long-argument-" + "x" * 64]}
                      for i in range(upto)],
        }],
    }


class CrashSafeStoreE2E(AgentTestCase):
    def test_sigkill_during_profile_writes(self):
        rng = random.Random(int(os.environ.get("FG_CRASH_SEED", "7")))
        names = [f"fn{i:02d}" for i in range(FUNCTIONS)]
        written = {n: 0 for n in names}  # highest version imported (exec count)
        pdir = None
        for k in range(KILLS):
            a = self.agent(extra=["--sync-interval", "1"]).start()
            pdir = os.path.join(a.state, "profiles")
            deadline = time.monotonic() + rng.uniform(0.3, 2.5)
            while time.monotonic() < deadline:
                n = rng.choice(names)
                written[n] += STEP
                path = os.path.join(self.tmp, f"{n}.json")
                with open(path, "w") as f:
                    json.dump(profile(n, written[n]), f)
                a.ctl("profile", "import", "--merge", path)
            if k % 2 == 0:
                # Every other kill lands inside a write: as soon as a temporary file shows.
                until = time.monotonic() + 5
                while time.monotonic() < until and not glob.glob(os.path.join(pdir, "*.tmp.*")):
                    pass
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait()
            a.log.close()
            self.check_files(pdir, written)
            sys.stderr.write(f"kill {k}: tmp now {len(glob.glob(os.path.join(pdir, '*.tmp.*')))}\n")
        # A last agent loads every file; nothing is quarantined; stale temporaries are gone.
        a = self.agent().start()
        listed = a.ctl("functions", "-o", "json").stdout
        for n in names:
            if os.path.exists(os.path.join(pdir, f"crash_{n}.json")):
                self.assertIn(f'"{n}"', listed)
        self.assertIn('"quarantined":0', a.logs())
        self.assertEqual(glob.glob(os.path.join(pdir, "*.tmp.*")), [])
        interrupted = sum(int(m) for ag in self.agents
                          for m in re.findall(r'"unfinished_writes_removed":(\d+)', ag.logs()))
        sys.stderr.write(f"{KILLS} kills, {interrupted} writes caught half done\n")
        self.assertGreater(interrupted, 0, "no kill landed inside a write: the test proves nothing")

    def check_files(self, pdir, written):
        for path in glob.glob(os.path.join(pdir, "crash_*.json")):
            name = os.path.basename(path)[len("crash_"):-len(".json")]
            with open(path) as f:
                text = f.read()
            try:
                doc = json.loads(text)
            except ValueError as e:
                self.fail(f"{path} is torn ({e}): {len(text)} bytes")
            execs = [x["path"] for c in doc.get("containers", []) for x in c.get("execs", [])]
            # One version: tool-00000 .. tool-(m*STEP-1), complete, for some m.
            self.assertEqual(len(execs) % STEP, 0, f"{path}: {len(execs)} execs")
            self.assertEqual(sorted(execs),
                             [f"/usr/lib/crash/tool-{i:05d}" for i in range(len(execs))], path)
            self.assertLessEqual(len(execs), written[name], path)


class EventLossE2E(AgentTestCase):
    """A ring buffer made deliberately tiny (one page) and an exec + connect storm: nearly every
    event is lost, yet the profile ends complete (the kernel-side sets are the source of truth),
    and the losses are counted in status and in the metrics."""

    def test_learning_is_complete_when_the_ring_buffer_overflows(self):
        execs, ports = 150, 300
        os.chmod(self.tmp, 0o755)
        a = self.agent(extra=["--ringbuf-size", "4096"]).start()
        # Bursts until the kernel reports lost records (the reader is fast: a burst must beat
        # it); each burst uses new programs and new destinations, all of which must be learned.
        tools, dests, lost, bursts = set(), set(), 0, 0
        while lost == 0 and bursts < 6:
            bindir = os.path.join(self.tmp, f"bin{bursts}")
            os.makedirs(bindir)
            for i in range(execs):  # distinct programs: distinct exec items
                dst = os.path.join(bindir, f"tool{i:03d}")
                shutil.copy("/bin/true", dst)
                tools.add(dst)
            base = 40000 + bursts * ports
            dests |= set(range(base, base + ports))
            script = os.path.join(self.tmp, f"storm{bursts}.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\n"
                        f"for t in {bindir}/tool*; do $t & done\n"  # all at once, both CPUs
                        "python3 - <<'PY' &\n"
                        "import socket\n"
                        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                        f"for p in range({base}, {base + ports}):\n"
                        "    s.sendto(b'x', ('127.0.0.1', p))\n"
                        "PY\n"
                        "wait\n")
            os.chmod(script, 0o755)
            r = subprocess.run([CTL, "--socket", a.socket, "run", "--function", "storm", "--",
                                script], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            bursts += 1
            status = json.loads(a.ctl("status", "-o", "json").stdout)
            counters = {c["name"]: int(c.get("value", 0)) for c in status["counters"]}
            lost = counters.get("kernel_events_lost", 0)
        sys.stderr.write(f"{bursts} burst(s), {lost} records lost\n")
        self.assertGreater(lost, 0, f"no record lost in {bursts} bursts: the test proves nothing")
        prof = json.loads(a.ctl("profile", "show", "default/storm", "-o", "json").stdout)
        c = prof["containers"][0]
        learned = {x["path"] for x in c.get("execs", []) if "/tool" in x["path"]}
        self.assertEqual(learned, tools, "every exec learned, records lost or not")
        sent = {int(x["port"]) for x in c.get("egress", []) if x.get("protocol") == "PROTOCOL_UDP"}
        self.assertTrue(dests <= sent, f"{len(dests & sent)} of {len(dests)} UDP destinations")
        metrics = urllib.request.urlopen(a.metrics_url() + "/metrics", timeout=10).read().decode()
        m = re.search(r"^faasguard_kernel_events_lost_total (\d+)", metrics, re.M)
        self.assertIsNotNone(m, metrics[:2000])
        self.assertEqual(int(m.group(1)), lost)


BENCH = os.environ.get("FG_BENCH", "build/bench/fg-bench")


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            dash = parts.index("-")
            if parts[dash + 1] == "cgroup2" and parts[3] == "/":
                return parts[4]
    raise AssertionError("no cgroup v2 mount")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ResourceBoundsE2E(AgentTestCase):
    """10,000 cgroups created, tracked and destroyed: the kernel map and the agent's memory come
    back to their baseline; a full map is an error that says so, never silence."""

    def setUp(self):
        super().setUp()
        self.parent = os.path.join(cgroup2_mount(), f"fg-bounds-{os.getpid()}")
        os.makedirs(self.parent, exist_ok=True)

    def tearDown(self):
        for d in sorted(glob.glob(os.path.join(self.parent, "*")), reverse=True):
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        try:
            os.rmdir(self.parent)
        except OSError:
            pass
        super().tearDown()

    def bench(self, a, cmd, count, prefix="bound", functions=20, check=True):
        return subprocess.run([BENCH, cmd, "--socket", a.socket, "--cgroup-parent", self.parent,
                               "--prefix", prefix, "--count", str(count), "--functions",
                               str(functions)], capture_output=True, text=True, timeout=600,
                              check=check)

    def tracked(self, a):
        m = urllib.request.urlopen(a.metrics_url() + "/metrics", timeout=10).read().decode()
        found = re.search(r'^faasguard_kernel_map_entries\{map="fg_tracked"\} (\d+)', m, re.M)
        self.assertIsNotNone(found, m[:3000])
        status = json.loads(a.ctl("status", "-o", "json").stdout)
        return int(found.group(1)), int(status.get("trackedCgroups", 0))

    def test_ten_thousand_cgroups_come_and_go(self):
        a = self.agent().start()
        batch, batches = 2000, 5
        # One warm-up batch: the 20 functions' profiles and the allocator's pools exist after.
        self.bench(a, "register", batch)
        self.bench(a, "unregister", batch)
        time.sleep(1.5)
        base = rss_kib(a.proc.pid)
        self.assertEqual(self.tracked(a), (0, 0))
        peak = 0
        for _ in range(batches - 1):
            self.bench(a, "register", batch)
            kernel, agent = self.tracked(a)
            self.assertEqual((kernel, agent), (batch, batch))
            peak = max(peak, rss_kib(a.proc.pid))
            self.bench(a, "unregister", batch)
        time.sleep(1.5)
        self.assertEqual(self.tracked(a), (0, 0), "every cgroup left the kernel map")
        after = rss_kib(a.proc.pid)
        sys.stderr.write(f"agent RSS: {base} KiB after warm-up, peak {peak}, {after} at the end\n")
        self.assertLessEqual(after, base + 4096, "the agent's memory returns to its baseline")

    def test_a_full_map_is_reported(self):
        a = self.agent(extra=["--max-cgroups", "256"]).start()
        r = self.bench(a, "register", 300, functions=4, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("fg_tracked", r.stderr)
        self.assertIn("full", r.stderr)
        self.assertIn("--max-cgroups", r.stderr)
        kernel, _ = self.tracked(a)
        self.assertEqual(kernel, 256)
        self.bench(a, "unregister", 300, functions=4, check=False)
        a.ctl("functions")  # the agent serves on


if __name__ == "__main__":
    unittest.main()
