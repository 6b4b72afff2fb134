#!/usr/bin/env python3
"""The seccomp path of enforce mode through faasguardctl run (root): a function in enforce
runs under the filter compiled from its profile, so a syscall it never learned is refused
before it runs (EPERM: no side effect, the process goes on) and a sensitive one kills it
before it runs; sys_enter is detached while every tracked cgroup runs under its filter.
"""
import json
import os
import signal
import socket
import subprocess
import time
import unittest

from harness import CTL, AgentTestCase, wait_for

WORKLOAD = os.environ.get("FG_WORKLOAD", "build/tests/integration/fg_workload")
# What the function does when it learns: its output, a child, a wait on a file.
LEARN_STEPS = ["syscalls", "say", "hello", "fork-noop", "getrusage"]


class SeccompE2E(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.agent(extra=["--seccomp-root", "off"]).start()
        self.fn = "seccomp-fn"
        self.victims = os.path.join(self.tmp, "victims")
        os.makedirs(self.victims)

    def run_fn(self, *steps, check=False, timeout=60):
        return subprocess.run([CTL, "--socket", self.a.socket, "run", "--function", self.fn,
                               "--", WORKLOAD, *steps], capture_output=True, text=True,
                              timeout=timeout)

    def learn(self):
        r = self.run_fn(*LEARN_STEPS, "wait-file", "/", "say", "bye")
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(2.5)  # a sync interval: the kernel's sets are in the profile

    def victim(self, name, content="keep\n"):
        path = os.path.join(self.victims, name)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, 0o644)
        return path

    def status(self):
        return json.loads(self.a.ctl("status", "-o", "json").stdout)

    def test_untracked_the_attacks_work(self):
        """The baseline: without faasguard, each step has its side effect."""
        v1, v2, v3, v4 = (self.victim(n) for n in ("a", "b", "c", "d"))
        sleeper = subprocess.Popen(["sleep", "60"])
        self.procs.append(sleeper)
        r = subprocess.run([WORKLOAD, "try-unlink", v1, "try-chmod", v2, "try-rename", v3, v4,
                            "try-kill", str(sleeper.pid)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(v1))
        self.assertEqual(os.stat(v2).st_mode & 0o7777, 0o4777)
        self.assertFalse(os.path.exists(v3))
        self.assertEqual(sleeper.wait(timeout=10), -signal.SIGTERM)

    def test_refused_syscalls_have_no_side_effect_and_the_process_goes_on(self):
        self.learn()
        self.a.ctl("mode", self.fn, "enforce")
        v1, v2, v3, v5 = (self.victim(n) for n in ("a", "b", "c", "e"))
        v4 = self.victim("d", "other\n")  # rename over another file
        sleeper = subprocess.Popen(["sleep", "60"])
        self.procs.append(sleeper)
        r = self.run_fn(*LEARN_STEPS, "try-unlink", v1, "try-chmod", v2, "try-rename", v3, v4,
                        "try-kill", str(sleeper.pid), "child-unlink", v5, "say", "still-here")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for line in ("try-unlink EPERM", "try-chmod EPERM", "try-rename EPERM",
                     "try-kill EPERM", "child-unlink EPERM", "still-here"):
            self.assertIn(line, r.stdout)
        for v in (v1, v3, v5):
            self.assertTrue(os.path.exists(v), v)
        self.assertEqual(os.stat(v2).st_mode & 0o7777, 0o644)
        with open(v4) as f:
            self.assertEqual(f.read(), "other\n")
        self.assertIsNone(sleeper.poll(), "the signal was delivered")

    def test_a_harmless_unlearned_syscall_never_kills_under_the_defaults(self):
        r = self.run_fn("syscalls", "say", "hello")
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(2.5)
        self.a.ctl("mode", self.fn, "enforce")
        # getrusage was never learned: refused with EPERM, the function answers on.
        r = self.run_fn("syscalls", "say", "hello", "getrusage", "say", "after")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("survived", r.stdout)
        self.assertIn("after", r.stdout)

    def test_a_sensitive_syscall_kills_before_it_runs(self):
        self.learn()
        self.a.ctl("mode", self.fn, "enforce")
        for step in ("ptrace", "unshare"):
            r = self.run_fn(*LEARN_STEPS, step)
            self.assertEqual(r.returncode, 128 + signal.SIGSYS, (step, r.stdout, r.stderr))
            # LEARN_STEPS say "survived" once (getrusage); the refused step never does.
            self.assertEqual(r.stdout.count("survived"), 1, (step, r.stdout))
        # The kill is a violation the agent records (the SIGSYS exit names the syscall).
        def killed():
            vs = json.loads(self.a.ctl("violations", "-o", "json").stdout).get("violations", [])
            return {v.get("attempted") for v in vs} >= {"ptrace", "unshare"}
        wait_for(killed, what="SIGSYS kills recorded as violations")

    def test_sys_enter_is_detached_while_every_cgroup_runs_under_its_filter(self):
        go = os.path.join(self.tmp, "go")
        r = self.run_fn(*LEARN_STEPS, "wait-file", "/", "say", "bye")
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(2.5)
        self.assertFalse(self.status().get("syscallHookAttached", False),
                         "nothing is tracked: sys_enter need not run")
        # A learning function needs sys_enter while it runs.
        self.a.ctl("mode", self.fn, "learn")
        p = subprocess.Popen([CTL, "--socket", self.a.socket, "run", "--function", self.fn,
                              "--", WORKLOAD, *LEARN_STEPS, "wait-file", go],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        wait_for(lambda: self.status().get("syscallHookAttached", False), what="attached")
        open(go, "w").close()
        self.assertEqual(p.wait(timeout=30), 0)
        os.unlink(go)
        # Enforced through its filter: detached while it runs.
        self.a.ctl("mode", self.fn, "enforce")
        p = subprocess.Popen([CTL, "--socket", self.a.socket, "run", "--function", self.fn,
                              "--", WORKLOAD, *LEARN_STEPS, "wait-file", go],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        wait_for(lambda: self.status().get("trackedCgroups", 0) == 1, what="tracked")
        # Detached at the next sync (not at each unregister: cold starts would flap it).
        wait_for(lambda: not self.status().get("syscallHookAttached", False), what="detached")
        fn = json.loads(self.a.ctl("functions", self.fn, "-o", "json").stdout)
        replicas = fn["functions"][0].get("replicaDetails", []) if "functions" in fn else \
            fn.get("replicaDetails", [])
        self.assertEqual(len(replicas), 1, fn)
        self.assertTrue(replicas[0].get("seccompRevision"), fn)
        open(go, "w").close()
        self.assertEqual(p.wait(timeout=30), 0)


class BusyE2E(AgentTestCase):
    """Stability counts what the function did, not the connections it accepted."""

    def test_a_keep_alive_server_is_observed_while_busy(self):
        import http.client
        a = self.agent(extra=["--seccomp-root", "off"]).start()
        server = ("import http.server,sys\n"
                  "class H(http.server.BaseHTTPRequestHandler):\n"
                  "    protocol_version='HTTP/1.1'\n"
                  "    disable_nagle_algorithm=True\n"
                  "    def do_GET(self):\n"
                  "        b=b'x'*2000\n"
                  "        self.send_response(200);self.send_header('Content-Length',str(len(b)))\n"
                  "        self.end_headers();self.wfile.write(b)\n"
                  "    def log_message(self,*a): pass\n"
                  "s=http.server.HTTPServer(('127.0.0.1',0),H)\n"
                  "print(s.server_address[1],flush=True)\n"
                  "s.serve_forever()\n")
        p = subprocess.Popen([CTL, "--socket", a.socket, "run", "--function", "keepalive", "--",
                              "/usr/bin/python3", "-c", server], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        port = int(p.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deadline = time.time() + 6
        n = 0
        while time.time() < deadline:  # one connection, many requests
            conn.request("GET", "/")
            conn.getresponse().read()
            n += 1
        time.sleep(1.5)
        fn = json.loads(a.ctl("functions", "keepalive", "-o", "json").stdout)
        fn = fn["functions"][0] if "functions" in fn else fn
        lc = fn["lifecycle"]
        self.assertLessEqual(int(lc.get("requests", 0)), 1, lc)
        self.assertGreaterEqual(int(lc.get("busySeconds", 0)), 3, (n, lc))
        self.assertGreaterEqual(int(lc.get("observations", 0)), 3, lc)


if __name__ == "__main__":
    unittest.main()
